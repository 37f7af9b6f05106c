package ha

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// TestSyncSendsLeaseUpdates covers the engine hook per state and failure.
func TestSyncSendsLeaseUpdates(t *testing.T) {
	l1 := &lease.Lease{Addr: netip.MustParseAddr("192.0.2.10"), HWAddr: []byte{0, 0xc, 1, 2, 3, 4}, ClientID: []byte{1, 0, 0xc, 1, 2, 3, 4},
		ValidLifetime: 4000, CLTT: 1795589026, SubnetID: 1}
	l2 := l1.Clone()
	l2.Addr = netip.MustParseAddr("192.0.2.11")
	tests := []struct {
		name       string
		state      State
		delReply   string
		changes    []lease.Change
		wantErr    bool
		wantCmds   []string
		wantUnsent uint64
		wantQueued int
		wantState  State
	}{
		{name: "add in load-balancing", state: StateLoadBalancing, changes: []lease.Change{{New: l1}}, wantCmds: []string{"lease4-update"}, wantState: StateLoadBalancing},
		{name: "move: del then update", state: StateLoadBalancing, changes: []lease.Change{{Old: l1, New: l2}}, wantCmds: []string{"lease4-del", "lease4-update"}, wantState: StateLoadBalancing},
		{name: "release, partner lacks it (3 = ok)", state: StateLoadBalancing, delReply: `[ { "result": 3, "text": "IPv4 lease not found." } ]`, changes: []lease.Change{{Old: l1}}, wantCmds: []string{"lease4-del"}, wantState: StateLoadBalancing},
		{name: "partner rejects", state: StateLoadBalancing, delReply: `[ { "result": 1, "text": "no" } ]`, changes: []lease.Change{{Old: l1}}, wantErr: true, wantCmds: []string{"lease4-del"}, wantState: StateCommunicationRecovery},
		{name: "partner-down counts unsent", state: StatePartnerDown, changes: []lease.Change{{New: l1}, {New: l2}}, wantUnsent: 1, wantState: StatePartnerDown},
		{name: "waiting counts unsent", state: StateWaiting, changes: []lease.Change{{New: l1}}, wantUnsent: 1, wantState: StateLoadBalancing},                                // then syncs: partner is load-balancing
		{name: "communication-recovery queues", state: StateCommunicationRecovery, changes: []lease.Change{{Old: l1, New: l2}}, wantQueued: 2, wantState: StateLoadBalancing}, // backlog replayed
		{name: "partner-in-maintenance sends", state: StatePartnerInMaintenance, changes: []lease.Change{{New: l1}}, wantCmds: []string{"lease4-update"}, wantState: StatePartnerInMaintenance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := newFakePeer(t, maps(syncReplies))
			if tt.delReply != "" {
				fp.set("lease4-del", tt.delReply)
			}
			env := newTestService(t, fp.srv.URL+"/", nil)
			s := env.s
			s.mu.Lock()
			s.transitionLocked(tt.state)
			s.partnerState = StateLoadBalancing
			s.mu.Unlock()
			err := s.Sync(context.Background(), tt.changes)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrUpdateFailed)) {
				t.Fatalf("err %v, wantErr %v", err, tt.wantErr)
			}
			if got := strings.Join(fp.commands(), ","); got != strings.Join(tt.wantCmds, ",") {
				t.Fatalf("commands %s, want %v", got, tt.wantCmds)
			}
			s.mu.Lock()
			unsent, queued := s.unsent, len(s.backlog)
			s.mu.Unlock()
			s.runModel(context.Background())
			if unsent != tt.wantUnsent || queued != tt.wantQueued || s.State() != tt.wantState.String() {
				t.Fatalf("unsent %d queued %d state %s, want %d %d %s", unsent, queued, s.State(), tt.wantUnsent, tt.wantQueued, tt.wantState)
			}
			for _, r := range fp.requests() {
				if r.Command != "lease4-update" && r.Command != "lease4-del" {
					continue
				}
				if r.Command == "lease4-update" && !strings.Contains(string(r.Args), `"force-create":true`) ||
					strings.Contains(string(r.Args), "cltt") || (len(r.Args) > 0 && !strings.Contains(string(r.Args), `"expire":`)) {
					t.Fatalf("%s args %s", r.Command, r.Args)
				}
			}
		})
	}
}

// TestStartStopNoLeak runs the full service against a fake partner and
// checks heartbeats flow and Stop leaves no goroutines behind.
func TestStartStopNoLeak(t *testing.T) {
	fp := newFakePeer(t, maps(syncReplies))
	fp.set("ha-heartbeat", keaHeartbeat("load-balancing", time.Now(), []string{"server1"}, 0))
	before := runtime.NumGoroutine()
	env := newTestService(t, fp.srv.URL+"/", nil)
	env.s.now = time.Now
	env.s.lastPoke.Store(time.Now().UnixNano())
	url := startListener(t, env)
	deadline := time.Now().Add(5 * time.Second)
	for env.s.State() != "load-balancing" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if env.s.State() != "load-balancing" {
		t.Fatalf("state %s, want load-balancing", env.s.State())
	}
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"command":"ha-heartbeat","service":["dhcp4"]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"state":"load-balancing"`) || !strings.Contains(string(b), `"scopes":["server2"]`) {
		t.Fatalf("heartbeat reply %s", b)
	}
	http.DefaultClient.CloseIdleConnections()
	env.s.Stop()
	fp.srv.CloseClientConnections()
	deadline = time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Stop, %d before\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
