package server

import (
	"testing"

	"github.com/xdhcp/xdhcp/userspace/stats"
)

func TestQueueDropsOldest(t *testing.T) {
	tests := []struct {
		name     string
		limit    int
		pushes   int
		wantKept []int
	}{
		{name: "under the limit", limit: 4, pushes: 3, wantKept: []int{0, 1, 2}},
		{name: "exactly full", limit: 4, pushes: 4, wantKept: []int{0, 1, 2, 3}},
		{name: "overflow drops oldest", limit: 3, pushes: 5, wantKept: []int{2, 3, 4}},
		{name: "limit one keeps newest", limit: 1, pushes: 4, wantKept: []int{3}},
		{name: "grows past the initial ring", limit: 200, pushes: 250, wantKept: seq(50, 250)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := stats.New()
			full := reg.Cell(StatQueueFull)
			q := newQueue(tt.limit, reg.NewShard(), full)
			released := map[int]bool{}
			for i := range tt.pushes {
				id := i
				if !q.push(Packet{Data: []byte{byte(id)}, Release: func([]byte) { released[id] = true }}) {
					t.Fatalf("push %d refused", i)
				}
			}
			q.close()
			var got []int
			for j, ok := q.pop(); ok; j, ok = q.pop() {
				got = append(got, int(j.Data[0]))
			}
			if !equalInts(got, tt.wantKept) {
				t.Fatalf("popped %v, want %v", got, tt.wantKept)
			}
			drops := int64(tt.pushes - len(tt.wantKept))
			wantStats(t, reg, map[string]int64{
				StatQueueFull: drops, "pkt4-receive-drop": drops, "pkt4-received": drops,
			})
			for i := range tt.pushes - len(tt.wantKept) {
				if !released[i] {
					t.Errorf("dropped packet %d was not released", i)
				}
			}
			if len(released) != int(drops) {
				t.Errorf("%d packets released, want %d (only the dropped ones)", len(released), drops)
			}
		})
	}
}

func TestQueueClosed(t *testing.T) {
	reg := stats.New()
	q := newQueue(4, reg.NewShard(), reg.Cell(StatQueueFull))
	q.push(Packet{Data: []byte{1}})
	q.close()
	released := false
	if q.push(Packet{Release: func([]byte) { released = true }}) {
		t.Fatal("push after close accepted")
	}
	if !released {
		t.Error("refused packet not released")
	}
	if j, ok := q.pop(); !ok || len(j.Data) != 1 || j.Data[0] != 1 {
		t.Fatalf("pop after close = %v, %v; want the queued packet", j.Data, ok)
	}
	if _, ok := q.pop(); ok {
		t.Fatal("pop on a closed, empty queue returned a job")
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
