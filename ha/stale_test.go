package ha

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// slowPartner is a partner wired as the daemon wires it (real lease store
// and lease commands behind its peer listener) whose first lease4-update
// or lease4-del is read, then held past the sender's timeout, then
// applied: what a partner under load does to a request it already
// received.
type slowPartner struct {
	env     *daemonEnv
	url     string
	applied atomic.Int32
	held    atomic.Bool // the held request was applied
}

func newSlowPartner(t *testing.T, hold time.Duration) *slowPartner {
	t.Helper()
	ln := listenLocal(t)
	p := &slowPartner{url: "http://" + ln.Addr().String() + "/"}
	p.env = newDaemonEnv(t, "http://127.0.0.1:1/", testSubnets{}, func(c *Config) {
		c.ThisServerName = "server1"
		c.Peers[0].URL, c.Peers[1].URL = p.url, "http://127.0.0.1:1/"
		c.HeartbeatDelay = time.Hour
	})
	inner := control.NewDispatcher()
	registerDaemonCommands(inner, p.env.s, p.env.leases, testSubnets{}, p.env.sw)
	var first atomic.Bool
	for _, cmd := range []string{"lease4-update", "lease4-del"} {
		p.env.disp.Register(cmd, func(ctx context.Context, req *control.Request) control.Response {
			defer p.applied.Add(1)
			if first.CompareAndSwap(false, true) {
				time.Sleep(hold)
				defer p.held.Store(true)
			}
			return inner.Run(ctx, req)
		})
	}
	if err := p.env.s.Serve(t.Context(), ln); err != nil {
		t.Fatal(err)
	}
	return p
}

// hostnameAt is the partner's lease of addr ("" = none).
func (p *slowPartner) hostnameAt(addr string) string {
	l, ok := p.env.leases.Get(netip.MustParseAddr(addr))
	if !ok {
		return ""
	}
	return l.Hostname
}

// replicateWait runs one Replicate and waits for its outcome.
func replicateWait(t *testing.T, s *Service, c lease.Change) error {
	t.Helper()
	d := newDoneRec()
	s.Replicate([]lease.Change{c}, d.done)
	return d.wait(t, 0)
}

// TestStaleUpdateNeverOverwrites (issue 10 item 1): the partner holds a
// written lease update past our timeout, then applies it. Our update
// fails (the ACK is dropped), and whatever we send next for that address,
// a lease4-update or a lease4-del, directly or through the backlog replay
// (Service.send), is applied after it or not at all: the partner never
// ends up with the stale lease over a newer one we had acknowledged.
func TestStaleUpdateNeverOverwrites(t *testing.T) {
	const addr = "192.0.2.40"
	v := func(tag string) *lease.Lease { return testLease(addr, tag) }
	for _, tc := range []struct {
		name   string
		second lease.Change // sent while the partner still holds v1
		want   string       // the partner's lease once everything settled
	}{
		{"update", lease.Change{Old: v("v1"), New: v("v2")}, "v3"},
		{"delete", lease.Change{Old: v("v1")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newSlowPartner(t, 600*time.Millisecond)
			s := newUnstartedService(t, p.url, nil)
			updateClient(s).SetTimeout(150 * time.Millisecond)
			setStates(s, StateLoadBalancing, StateLoadBalancing)

			err := replicateWait(t, s, lease.Change{New: v("v1")})
			if !errors.Is(err, ErrUpdateFailed) {
				t.Fatalf("v1: %v, want a timeout", err)
			}
			setStates(s, StateLoadBalancing, StateLoadBalancing) // the failure marked the partner unavailable
			if err := replicateWait(t, s, tc.second); err == nil {
				t.Fatal("the second change was acknowledged while the partner still held v1 (it would be overwritten)")
			}
			waitUntil(t, "the partner to apply the stale v1", p.held.Load)
			third := lease.Change{Old: v("v1"), New: v("v3")}
			if tc.want == "" {
				third = lease.Change{Old: v("v1")}
			}
			setStates(s, StateLoadBalancing, StateLoadBalancing)
			if err := replicateWait(t, s, third); err != nil {
				t.Fatalf("third change: %v", err)
			}
			time.Sleep(100 * time.Millisecond) // nothing stale may land after it
			if got := p.hostnameAt(addr); got != tc.want {
				t.Fatalf("partner holds %q, want %q (applied %d)", got, tc.want, p.applied.Load())
			}
		})
	}
}

// TestStaleUpdateBacklogReplay: the same through communication-recovery:
// v1 times out, v2 is queued in the backlog, the partner comes back and
// the replay sends v2 on v1's connection. Either v2 is applied after v1,
// or the replay fails and takes Kea's way out (ha-reset, waiting, a full
// sync); never is v1 applied over v2.
func TestStaleUpdateBacklogReplay(t *testing.T) {
	const addr = "192.0.2.41"
	p := newSlowPartner(t, 600*time.Millisecond)
	s := newUnstartedService(t, p.url, func(c *Config) { c.DelayedUpdatesLimit = 10 })
	updateClient(s).SetTimeout(150 * time.Millisecond)
	setStates(s, StateLoadBalancing, StateLoadBalancing)
	if err := replicateWait(t, s, lease.Change{New: testLease(addr, "v1")}); err == nil {
		t.Fatal("v1 acknowledged despite the partner holding it")
	}
	setStates(s, StateCommunicationRecovery, StateUnavailable)
	if err := replicateWait(t, s, lease.Change{Old: testLease(addr, "v1"), New: testLease(addr, "v2")}); err != nil {
		t.Fatalf("queueing v2: %v", err)
	}
	s.mu.Lock()
	s.partnerState = StateLoadBalancing
	s.mu.Unlock()
	s.step(context.Background()) // the replay, right away: v1 is still held
	waitUntil(t, "the partner to apply v1", p.held.Load)
	time.Sleep(100 * time.Millisecond)
	switch st, got := s.State(), p.hostnameAt(addr); {
	case st == StateLoadBalancing.String() && got == "v2":
		// replayed after the stale answer
	case st == StateWaiting.String() && got == "v1":
		// replay failed: ha-reset sent, the partner resynchronises
		if c := s.Counters()["backlog-replay-failed"]; c != 1 {
			t.Fatalf("backlog-replay-failed = %d", c)
		}
	default:
		t.Fatalf("state %s with the partner holding %q: the stale v1 overwrote v2 or the replay lost it", st, got)
	}
}

// waitUntil polls cond for at most 5 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
