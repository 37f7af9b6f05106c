package ha

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/ha/peer/peertest"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// grant is one Replicate of a new lease for addr tagged tag; it returns
// the done recorder.
func grant(s *Service, addr, tag string) *doneRec {
	d := newDoneRec()
	s.Replicate([]lease.Change{{New: testLease(addr, tag)}}, d.done)
	return d
}

// addrOf is the i-th test address (198.18.0.0/15, up to 65536 of them).
func addrOf(i int) string { return fmt.Sprintf("198.18.%d.%d", i/256, i%256) }

// appliedTags is what the partner applied, its hostnames in order.
func appliedTags(p *peertest.RawPeer) []string {
	var tags []string
	for _, r := range p.AppliedSeen() {
		tags = append(tags, r.Hostname)
	}
	return tags
}

// TestRecoverReplaysWholeBacklog (issue 10 item 1): communication-recovery
// sends the whole backlog, oldest first, before load-balancing (Kea 2.2
// ha_service.cc, communicationRecoveryHandler → sendLeaseUpdatesFromBacklog),
// while the DHCP path keeps granting leases during the replay and the state
// switch. Every grant acknowledged to the engine (done(nil), the ACK
// leaves) reaches the partner: queued ones are replayed, later ones sent
// directly; none is cleared unsent at the switch (Kea's doOnExit clear
// loses what a packet thread pushes between the last pop and the exit).
func TestRecoverReplaysWholeBacklog(t *testing.T) {
	const limit, queued, during = 100, 40, 60
	p := peertest.NewRawPeer(t, "")
	p.SetDelay(func() time.Duration { return time.Millisecond })
	s := newUnstartedService(t, p.URL(), func(c *Config) { c.DelayedUpdatesLimit = limit })
	setStates(s, StateCommunicationRecovery, StateUnavailable)
	var want []string
	for i := range queued {
		tag := fmt.Sprintf("q%d", i)
		if err := grant(s, addrOf(i), tag).wait(t, 0); err != nil {
			t.Fatalf("queueing %s: %v", tag, err)
		}
		want = append(want, tag)
	}
	s.mu.Lock()
	s.partnerState = StateLoadBalancing // the partner is back
	s.mu.Unlock()

	// Grants during the replay and the switch, each waited for.
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range during {
			tag := fmt.Sprintf("d%d", i)
			if err := grant(s, addrOf(queued+i), tag).wait(t, 0); err == nil {
				mu.Lock()
				acked = append(acked, tag)
				mu.Unlock()
			}
			time.Sleep(time.Millisecond)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s.step(ctx) // one communication-recovery handler run
	wg.Wait()
	if got := s.State(); got != StateLoadBalancing.String() {
		t.Fatalf("state %s, want load-balancing", got)
	}
	applied := appliedTags(p)
	if !slices.Equal(applied[:queued], want) {
		t.Fatalf("backlog replayed as %v, want %v", applied[:min(queued, len(applied))], want)
	}
	for _, tag := range acked {
		if !slices.Contains(applied, tag) {
			t.Errorf("grant %s was acknowledged but never reached the partner (applied %v)", tag, applied)
		}
	}
	if len(acked) != during {
		t.Errorf("%d of %d grants acknowledged", len(acked), during)
	}
	if c := s.Counters(); c["backlog-cleared-unsent"] != 0 || c["backlog-replay-overlong"] != 0 {
		t.Errorf("counters %v", c)
	}
}

// TestRecoverOverflowDuringReplay: the backlog fills up again while it is
// being replayed (the partner is slow). Kea 2.2 would go on to
// load-balancing, having refused the overflowing updates; here the
// overflow is seen and the servers take Kea's way out for an overflow:
// ha-reset, then waiting and a full synchronisation.
func TestRecoverOverflowDuringReplay(t *testing.T) {
	const limit = 5
	p := peertest.NewRawPeer(t, "")
	var s *Service
	var n atomic.Int32
	p.SetDelay(func() time.Duration {
		if n.Add(1) == 1 { // while the first backlog update is in flight
			for i := range 2 * limit {
				grant(s, addrOf(100+i), fmt.Sprintf("late%d", i))
			}
		}
		return 0
	})
	s = newUnstartedService(t, p.URL(), func(c *Config) { c.DelayedUpdatesLimit = limit })
	setStates(s, StateCommunicationRecovery, StateUnavailable)
	for i := range limit {
		grant(s, addrOf(i), fmt.Sprintf("q%d", i))
	}
	s.mu.Lock()
	s.partnerState = StateLoadBalancing
	s.mu.Unlock()
	s.step(context.Background())
	if got := s.State(); got != StateWaiting.String() {
		t.Fatalf("state %s, want waiting", got)
	}
	var cmds []string
	for _, r := range p.RequestsSeen() {
		cmds = append(cmds, r.Command)
	}
	if len(cmds) == 0 || cmds[len(cmds)-1] != "ha-reset" {
		t.Fatalf("commands %v, want the replay to end with ha-reset", cmds)
	}
	if got := s.Counters()["backlog-overflow-dropped"]; got == 0 {
		t.Error("backlog-overflow-dropped not counted")
	}
}

// TestRecoverReplayFails: a backlog update the partner refuses ends the
// replay with ha-reset and waiting (ha_service.cc,
// communicationRecoveryHandler: !sendLeaseUpdatesFromBacklog → sendHAReset
// → waiting); when ha-reset fails too the server stays in
// communication-recovery with the partner unavailable (Kea: no
// transition when sendHAReset fails).
func TestRecoverReplayFails(t *testing.T) {
	for _, resetOK := range []bool{true, false} {
		t.Run(fmt.Sprintf("ha-reset ok=%v", resetOK), func(t *testing.T) {
			replies := maps(syncReplies)
			replies["lease4-update"] = `[ { "result": 1, "text": "unable to update lease" } ]`
			if !resetOK {
				replies["ha-reset"] = `[ { "result": 1, "text": "no" } ]`
			}
			fp := newFakePeer(t, replies)
			s := newUnstartedService(t, fp.srv.URL+"/", func(c *Config) { c.DelayedUpdatesLimit = 10 })
			setStates(s, StateCommunicationRecovery, StateUnavailable)
			grant(s, addrOf(1), "a")
			grant(s, addrOf(2), "b")
			s.mu.Lock()
			s.partnerState = StateLoadBalancing
			s.mu.Unlock()
			s.step(context.Background())
			want, wantPartner := StateWaiting, StateLoadBalancing
			if !resetOK {
				want, wantPartner = StateCommunicationRecovery, StateUnavailable
			}
			if got := s.State(); got != want.String() {
				t.Fatalf("state %s, want %s", got, want)
			}
			if got := s.PartnerState(); got != wantPartner.String() {
				t.Fatalf("partner %s, want %s", got, wantPartner)
			}
			if got := fp.commands(); !slices.Equal(got, []string{"lease4-update", "ha-reset"}) {
				t.Fatalf("commands %v, want one lease4-update then ha-reset", got)
			}
			if got := s.Counters()["backlog-replay-failed"]; got != 1 {
				t.Errorf("backlog-replay-failed = %d", got)
			}
		})
	}
}

// TestRecoverBacklogClearedCounted: leaving communication-recovery for
// another state than load-balancing clears the backlog as Kea does
// (doOnExit), counted, logged and added to the unsent-update-count the
// partner reads.
func TestRecoverBacklogClearedCounted(t *testing.T) {
	fp := newFakePeer(t, maps(syncReplies))
	s := newUnstartedService(t, fp.srv.URL+"/", func(c *Config) { c.DelayedUpdatesLimit = 10 })
	setStates(s, StateCommunicationRecovery, StateUnavailable)
	grant(s, addrOf(1), "a")
	grant(s, addrOf(2), "b")
	s.mu.Lock()
	s.partnerState = StatePartnerDown // Kea: communication-recovery → waiting
	s.mu.Unlock()
	s.step(context.Background())
	if got := s.Counters()["backlog-cleared-unsent"]; got != 2 {
		t.Fatalf("backlog-cleared-unsent = %d, want 2", got)
	}
	// The partner learns of them from our heartbeat's unsent-update-count
	// (and synchronises from us if it is in partner-down).
	if hb := s.heartbeatReply(); hb.UnsentUpdateCount != 2 {
		t.Fatalf("heartbeat reply %+v: want unsent-update-count 2", hb)
	}
}

// TestRecoverResetDuringReplay: the partner's ha-reset (or any transition)
// clears the backlog while an update of it is in flight; the replay stops
// without touching the cleared backlog.
func TestRecoverResetDuringReplay(t *testing.T) {
	p := peertest.NewRawPeer(t, "")
	var s *Service
	var n atomic.Int32
	p.SetDelay(func() time.Duration {
		if n.Add(1) == 1 {
			res := s.cmdReset(context.Background(), nil) // the partner's ha-reset arrives
			if res.Text != "HA state machine reset." {
				t.Errorf("ha-reset: %+v", res)
			}
		}
		return 0
	})
	s = newUnstartedService(t, p.URL(), func(c *Config) { c.DelayedUpdatesLimit = 10 })
	setStates(s, StateCommunicationRecovery, StateUnavailable)
	for i := range 3 {
		grant(s, addrOf(i), fmt.Sprintf("q%d", i))
	}
	s.mu.Lock()
	s.partnerState = StateLoadBalancing
	s.mu.Unlock()
	s.step(context.Background())
	if got := s.State(); got != StateWaiting.String() {
		t.Fatalf("state %s, want waiting (the ha-reset)", got)
	}
	if got := s.Counters()["backlog-cleared-unsent"]; got != 3 {
		t.Errorf("backlog-cleared-unsent = %d, want 3", got)
	}
}
