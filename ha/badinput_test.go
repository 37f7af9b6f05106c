package ha

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// garbage are answers a broken or hostile partner may give, each a body of
// an HTTP 200 reply. The last one is a well-formed success with arguments
// of the wrong type: Kea 2.2 takes it as a successful lease update
// (verifyAsyncResponse passes it, logFailedLeaseUpdates ignores arguments
// that are not a map), and so do we; it fails a heartbeat and a sync page.
var garbage = map[string]string{
	"not json":         `SSH-2.0-OpenSSH_9.6`,
	"truncated":        `[ { "result": 0, "text": "HA peer st`,
	"empty list":       `[ ]`,
	"list of strings":  `[ "ok" ]`,
	"result not int":   `[ { "result": "0", "text": "x" } ]`,
	"map, no result":   `{ "text": "hello" }`,
	"number":           `42`,
	"html":             `<html><body>502 Bad Gateway</body></html>`,
	"args of the type": `[ { "result": 0, "text": "x", "arguments": [ 1, 2 ] } ]`,
}

// TestPartnerGarbage (issue 10 "bad input"): whatever a partner answers,
// the reaction is Kea 2.2's (ha_service.cc, verifyAsyncResponse throwing
// in each callback): a heartbeat fails (partner unavailable), a lease
// update fails (the reply is dropped, the partner unavailable), a sync
// fails; each is counted and logged once, and nothing crashes.
func TestPartnerGarbage(t *testing.T) {
	for name, body := range garbage {
		t.Run(name, func(t *testing.T) {
			var logs testenv.LogBuffer
			replies := maps(syncReplies)
			for _, c := range []string{"ha-heartbeat", "lease4-update", "lease4-get-page", "dhcp-disable"} {
				replies[c] = body
			}
			fp := newFakePeer(t, replies)
			env := newTestServiceDeps(t, fp.srv.URL+"/", nil, func(d *Deps) { d.Logger = zerolog.New(&logs) })
			s := env.s
			t.Cleanup(s.updates.Close)
			ctx := context.Background()

			setStates(s, StateLoadBalancing, StateLoadBalancing)
			s.heartbeat(ctx)
			if got := s.PartnerState(); got != StateUnavailable.String() {
				t.Errorf("heartbeat: partner %s, want unavailable", got)
			}

			updateOK := name == "args of the type"
			setStates(s, StateLoadBalancing, StateLoadBalancing)
			d := newDoneRec()
			s.Replicate([]lease.Change{{New: testLease("192.0.2.30", "x")}}, d.done)
			if err := d.wait(t, 20*time.Millisecond); updateOK != (err == nil) || !updateOK && !errors.Is(err, ErrUpdateFailed) {
				t.Errorf("lease update: %v, want success %v", err, updateOK)
			}
			if got, want := s.PartnerState(), map[bool]State{true: StateLoadBalancing, false: StateUnavailable}[updateOK]; got != want.String() {
				t.Errorf("after the lease update: partner %s, want %s", got, want)
			}

			setStates(s, StateSyncing, StateLoadBalancing)
			s.doSyncing(ctx)
			if got := s.State(); got != StateSyncing.String() {
				t.Errorf("sync: state %s, want syncing (retried on the next run)", got)
			}

			c, l := s.Counters(), logs.String()
			for k, msg := range map[string]string{"heartbeat-failed": "ha heartbeat failed",
				"lease-update-failed": "ha lease update failed", "sync-failed": "ha lease database synchronization failed"} {
				want := 1
				if updateOK && k == "lease-update-failed" {
					want = 0
				}
				if c[k] != int64(want) {
					t.Errorf("%s = %d, want %d", k, c[k], want)
				}
				if n := strings.Count(l, msg); n != want {
					t.Errorf("%q logged %d times, want %d:\n%s", msg, n, want, l)
				}
			}
		})
	}
}

// TestPartnerInvalidState: a partner claiming a state of another HA mode
// (hot-standby towards a load-balancing server) sends us to waiting, as
// Kea 2.2's handlers do after isPartnerStateInvalid; the warning is logged
// once however many heartbeats repeat it, and each is counted.
func TestPartnerInvalidState(t *testing.T) {
	var logs testenv.LogBuffer
	fp := newFakePeer(t, maps(syncReplies))
	env := newTestServiceDeps(t, fp.srv.URL+"/", nil, func(d *Deps) { d.Logger = zerolog.New(&logs) })
	s := env.s
	setStates(s, StateLoadBalancing, StateLoadBalancing)
	fp.set("ha-heartbeat", keaHeartbeat("hot-standby", env.clock.Now(), []string{"server1"}, 0))
	for range 3 {
		s.heartbeat(context.Background())
		s.runModel(context.Background())
	}
	if got := s.State(); got != StateWaiting.String() {
		t.Fatalf("state %s, want waiting", got)
	}
	if got := s.Counters()["partner-state-invalid"]; got != 3 {
		t.Errorf("partner-state-invalid = %d, want 3", got)
	}
	if n := strings.Count(logs.String(), "ha partner reports a state invalid for this HA mode"); n != 1 {
		t.Errorf("warning logged %d times, want once", n)
	}
}

// TestPartnerSlowHeartbeat: a partner answering a heartbeat after the
// request timeout (Kea: TIMEOUT_DEFAULT_HTTP_CLIENT_REQUEST) is a failed
// heartbeat (partner unavailable, counted, logged once); its late answer
// does not leak into the next heartbeat, which succeeds.
func TestPartnerSlowHeartbeat(t *testing.T) {
	var logs testenv.LogBuffer
	fp := newFakePeer(t, maps(syncReplies))
	var slow atomic.Bool
	slow.Store(true)
	inner := fp.srv.Config.Handler
	fp.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			time.Sleep(300 * time.Millisecond)
		}
		inner.ServeHTTP(w, r)
	})
	env := newTestServiceDeps(t, fp.srv.URL+"/", nil, func(d *Deps) { d.Logger = zerolog.New(&logs) })
	s := env.s
	s.reqTimeout = 100 * time.Millisecond
	fp.set("ha-heartbeat", keaHeartbeat("load-balancing", env.clock.Now(), []string{"server1"}, 0))
	setStates(s, StateLoadBalancing, StateLoadBalancing)
	s.heartbeat(context.Background())
	if got := s.PartnerState(); got != StateUnavailable.String() {
		t.Fatalf("slow heartbeat: partner %s, want unavailable", got)
	}
	slow.Store(false)
	time.Sleep(300 * time.Millisecond) // the late answer is written meanwhile
	s.heartbeat(context.Background())
	if got := s.PartnerState(); got != StateLoadBalancing.String() {
		t.Fatalf("next heartbeat: partner %s, want load-balancing", got)
	}
	if got := s.Counters()["heartbeat-failed"]; got != 1 {
		t.Errorf("heartbeat-failed = %d, want 1", got)
	}
	if n := strings.Count(logs.String(), "ha heartbeat failed"); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}
}

// TestPartnerInvalidStatePerMode: Kea 2.2's isPartnerStateInvalid
// (ha_service.cc) depends on the mode: in hot-standby a partner in
// hot-standby is normal and one in load-balancing or
// communication-recovery is not; in load-balancing the reverse.
func TestPartnerInvalidStatePerMode(t *testing.T) {
	tests := []struct {
		mode    func(*Config)
		partner string
		invalid bool
	}{
		{nil, "load-balancing", false},
		{nil, "communication-recovery", false},
		{nil, "hot-standby", true},
		{hotStandby(false), "hot-standby", false},
		{hotStandby(false), "load-balancing", true},
		{hotStandby(false), "communication-recovery", true},
	}
	for _, tt := range tests {
		var logs testenv.LogBuffer
		fp := newFakePeer(t, maps(syncReplies))
		env := newTestServiceDeps(t, fp.srv.URL+"/", tt.mode, func(d *Deps) { d.Logger = zerolog.New(&logs) })
		fp.set("ha-heartbeat", keaHeartbeat(tt.partner, env.clock.Now(), []string{"server1"}, 0))
		env.s.heartbeat(context.Background())
		got := env.s.Counters()["partner-state-invalid"]
		logged := strings.Contains(logs.String(), "ha partner reports a state invalid for this HA mode")
		if (got == 1) != tt.invalid || logged != tt.invalid {
			t.Errorf("mode %s, partner %s: partner-state-invalid = %d, logged %v; want invalid %v",
				env.s.cfg.Mode, tt.partner, got, logged, tt.invalid)
		}
	}
}
