package pipeline

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// gatedEngine is offerEngine whose Handle waits for a token (a database
// commit in flight).
type gatedEngine struct {
	offerEngine
	gate    chan struct{}
	running atomic.Int64
}

func (e *gatedEngine) Handler(*stats.Shard) func(*dhcp.Request) *dhcp.Reply {
	return func(r *dhcp.Request) *dhcp.Reply {
		e.running.Add(1)
		<-e.gate
		return e.handle(r)
	}
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !f(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLanesWorkerKeepsReceiving: with lanes the transport worker returns
// from Process while the engine waits on its commit, several commits are in
// flight at once, and a reply leaves only after its engine call returned
// (and, with HA, after the partner answered), through the owner's Complete.
func TestLanesWorkerKeepsReceiving(t *testing.T) {
	reg := stats.New()
	rep := &heldReplicator{}
	e := &gatedEngine{gate: make(chan struct{})}
	p := newPipeline(t, Config{Stats: reg, Replicator: rep, Lanes: 4}, e)
	out := &sink{}
	var woken atomic.Int64
	w := p.NewWorker(out, func() { woken.Add(1) })
	for i := byte(1); i <= 3; i++ {
		w.Process(msg(t, dhcpv4.MessageTypeRequest, i, i, 0xac), &Meta{}) // returns at once
	}
	waitFor(t, "three engine calls in flight", func() bool { return e.running.Load() == 3 })
	w.Complete()
	if len(out.sent()) != 0 || rep.calls != 0 {
		t.Fatalf("sent %v, replicated %d before any commit returned", out.sent(), rep.calls)
	}
	e.gate <- struct{}{}
	waitFor(t, "the update", func() bool { return rep.held() == 1 })
	w.Complete()
	if len(out.sent()) != 0 {
		t.Fatal("ACK sent before the partner answered")
	}
	rep.settle(1, nil)
	waitFor(t, "wake", func() bool { return woken.Load() > 0 })
	w.Complete()
	if len(out.sent()) != 1 {
		t.Fatalf("sent %v after commit and partner", out.sent())
	}
	e.gate <- struct{}{}
	e.gate <- struct{}{}
	waitFor(t, "updates", func() bool { return rep.held() == 2 })
	rep.settle(2, nil)
	waitFor(t, "all sent", func() bool { w.Complete(); return len(out.sent()) == 3 })
	if p.Parked() != 0 {
		t.Fatalf("parked %d", p.Parked())
	}
}

// TestLanesQueueBounded: with every lane busy and the queue full, the next
// query is dropped and counted, never queued without bound.
func TestLanesQueueBounded(t *testing.T) {
	reg := stats.New()
	e := &gatedEngine{gate: make(chan struct{})}
	p := newPipeline(t, Config{Stats: reg, Lanes: 1}, e)
	w := p.NewWorker(&sink{}, func() {})
	n := 1 + laneQueue + 5
	for i := range n {
		w.Process(msg(t, dhcpv4.MessageTypeDiscover, byte(i), byte(i), byte(i>>8)), &Meta{})
		if i == 0 {
			waitFor(t, "the lane busy", func() bool { return e.running.Load() == 1 })
		}
	}
	wantStats(t, reg, map[string]int64{StatLaneFull: 5, "pkt4-receive-drop": 5})
	for range 1 + laneQueue {
		e.gate <- struct{}{}
	}
	waitFor(t, "drained", func() bool { w.Complete(); return p.Parked() == 0 })
}
