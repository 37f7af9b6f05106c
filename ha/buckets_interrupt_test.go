package ha

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// tableRecorder is a BucketSetter keeping every table pushed, in order.
type tableRecorder struct {
	mu     sync.Mutex
	tables [][256]bool
}

func (r *tableRecorder) SetBuckets(b [256]bool) error {
	r.mu.Lock()
	r.tables = append(r.tables, b)
	r.mu.Unlock()
	return nil
}

func (r *tableRecorder) all() [][256]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][256]bool(nil), r.tables...)
}

func countServed(b [256]bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// TestBucketsAllWhileInterrupted: while communication with the partner is
// interrupted the pushed table serves every bucket (so that the XDP filter
// hands the partner's queries to user space, where Scope drops them after
// feeding the unacked-client detector); when a heartbeat succeeds again the
// normal table for the state is restored.
func TestBucketsAllWhileInterrupted(t *testing.T) {
	fp := newFakePeer(t, maps(syncReplies))
	rec := &tableRecorder{}
	env := newTestService(t, fp.srv.URL+"/", func(c *Config) {
		c.MaxUnackedClients = 3
		c.DelayedUpdatesLimit = 100
		c.MaxResponseDelay = 3 * time.Second
	})
	s := env.s
	s.deps.Buckets = rec
	ctx := context.Background()
	own := Buckets([2]bool{false, true}) // server2 = secondary

	// Load-balancing with the partner in touch: the secondary's half only.
	fp.set("ha-heartbeat", keaHeartbeat("load-balancing", env.clock.Now(), []string{"server1"}, 0))
	s.mu.Lock()
	s.transitionLocked(StateLoadBalancing)
	s.mu.Unlock()
	s.heartbeat(ctx)
	s.runModel(ctx)
	tabs := rec.all()
	if len(tabs) == 0 || tabs[len(tabs)-1] != own {
		t.Fatalf("in touch: last table serves %d buckets, want the secondary's 128", countServed(tabs[len(tabs)-1]))
	}

	// The partner fails; not yet interrupted: communication-recovery, own half.
	fp.set("ha-heartbeat", `{ "result": 401, "text": "Unauthorized" }`)
	env.clock.Add(time.Second)
	s.heartbeat(ctx)
	s.runModel(ctx)
	if s.State() != "communication-recovery" {
		t.Fatalf("state %s, want communication-recovery", s.State())
	}
	tabs = rec.all()
	if tabs[len(tabs)-1] != own {
		t.Fatalf("failed but not interrupted: table serves %d buckets, want 128", countServed(tabs[len(tabs)-1]))
	}
	n := len(tabs)

	// Interrupted: every bucket goes to user space, the state does not change.
	env.clock.Add(s.cfg.MaxResponseDelay)
	s.heartbeat(ctx)
	s.runModel(ctx)
	if s.State() != "communication-recovery" {
		t.Fatalf("state %s, want communication-recovery (3 unacked clients allowed)", s.State())
	}
	tabs = rec.all()
	if len(tabs) != n+1 || countServed(tabs[n]) != 256 {
		t.Fatalf("interrupted: tables pushed %d (want %d), last serves %d buckets, want 256", len(tabs), n+1, countServed(tabs[len(tabs)-1]))
	}
	// Scope still drops the partner's queries (and feeds the detector).
	if _, serve := s.Scope(query(t, dhcpv4.MessageTypeDiscover, primaryMAC, 10)); serve {
		t.Fatal("partner-scope query served while interrupted in communication-recovery")
	}
	if _, unacked, analyzed := s.det.counts(); unacked != 1 || analyzed != 1 {
		t.Fatalf("detector: %d unacked, %d analyzed; want 1, 1", unacked, analyzed)
	}
	// A second failed heartbeat does not push again.
	s.heartbeat(ctx)
	if got := len(rec.all()); got != n+1 {
		t.Fatalf("pushed %d tables, want %d (no change while still interrupted)", got, n+1)
	}

	// Contact is back: the normal table returns.
	fp.set("ha-heartbeat", keaHeartbeat("load-balancing", env.clock.Now(), []string{"server1"}, 0))
	s.heartbeat(ctx)
	tabs = rec.all()
	if tabs[len(tabs)-1] != own {
		t.Fatalf("contact back: table serves %d buckets, want the secondary's 128", countServed(tabs[len(tabs)-1]))
	}
	s.runModel(ctx)
	if s.State() != "load-balancing" {
		t.Fatalf("state %s, want load-balancing", s.State())
	}
	if last := rec.all(); last[len(last)-1] != own {
		t.Fatal("load-balancing again: not the secondary's half")
	}
}

// TestBucketsAllWhenInterruptedByTime: the running loop switches the table
// when max-response-delay passes without a heartbeat (no heartbeat needs to
// complete at that moment), and restores it on the next success.
func TestBucketsAllWhenInterruptedByTime(t *testing.T) {
	fp := newFakePeer(t, maps(syncReplies))
	rec := &tableRecorder{}
	env := newTestService(t, fp.srv.URL+"/", func(c *Config) {
		c.HeartbeatDelay = time.Hour // only the watch timer can act
		c.MaxResponseDelay = 200 * time.Millisecond
	})
	s := env.s
	s.now = time.Now // the watch timer runs on real time
	s.deps.Buckets = rec
	s.lastPoke.Store(time.Now().UnixNano())
	s.mu.Lock()
	s.transitionLocked(StateLoadBalancing)
	s.mu.Unlock()
	if err := s.Serve(context.Background(), listenLocal(t)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		tabs := rec.all()
		if countServed(tabs[len(tabs)-1]) == 256 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("table not switched to all buckets after max-response-delay")
		}
		time.Sleep(10 * time.Millisecond)
	}
	fp.set("ha-heartbeat", keaHeartbeat("load-balancing", time.Now(), []string{"server1"}, 0))
	s.heartbeat(context.Background())
	if tabs := rec.all(); tabs[len(tabs)-1] != Buckets([2]bool{false, true}) {
		t.Fatal("table not restored after a successful heartbeat")
	}
}

func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
