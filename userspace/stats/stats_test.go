package stats

import (
	"sync"
	"testing"
)

func TestShardsSumAndReset(t *testing.T) {
	r := New()
	a, b := r.NewShard(), r.NewShard()
	var wg sync.WaitGroup
	for _, s := range []*Shard{a, b} {
		wg.Add(1)
		go func(s *Shard) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				s.Inc(Pkt4Received)
			}
			s.Add(Pkt4AckSent, 5)
		}(s)
	}
	wg.Wait()
	if got := r.Get(Pkt4Received); got != 2000 {
		t.Fatalf("pkt4-received %d, want 2000", got)
	}
	if !r.Reset("pkt4-received") || r.Get(Pkt4Received) != 0 {
		t.Fatal("reset did not zero the counter")
	}
	a.Inc(Pkt4Received) // counting goes on from the reset point
	if got := r.Get(Pkt4Received); got != 1 {
		t.Fatalf("after reset and one more: %d", got)
	}
	c := r.Cell("subnet[1].assigned-addresses")
	c.Add(3)
	if r.Cell("subnet[1].assigned-addresses") != c {
		t.Fatal("Cell does not return the same cell for a name")
	}
	snap := r.Snapshot()
	if snap["pkt4-ack-sent"] != 10 || snap["subnet[1].assigned-addresses"] != 3 || snap["pkt4-nak-sent"] != 0 {
		t.Fatalf("snapshot %v", snap)
	}
	if r.Reset("no-such-statistic") {
		t.Fatal("reset of an unknown name reported success")
	}
	r.ResetAll()
	for name, v := range r.Snapshot() {
		if v != 0 {
			t.Errorf("%s = %d after ResetAll", name, v)
		}
	}
	names := r.Names()
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("names not sorted: %v", names)
		}
	}
}

func TestCounterNames(t *testing.T) {
	seen := map[string]bool{}
	for c := Counter(0); c < NumCounters; c++ {
		n := c.Name()
		if n == "" || seen[n] {
			t.Fatalf("counter %d has an empty or duplicate name %q", c, n)
		}
		seen[n] = true
	}
}
