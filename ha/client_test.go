package ha

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

func TestClientReplies(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		timeout    time.Duration
		wantComm   bool // communication failure
		wantResult int
		wantText   string
	}{
		{name: "captured heartbeat", handler: reply200(keaHeartbeat("load-balancing", time.Now(), []string{"server1"}, 0)), wantResult: 0, wantText: "HA peer status returned."},
		{name: "captured unsupported", handler: reply200(`[ { "result": 2, "text": "'no-such-command' command not supported." } ]`), wantResult: 2, wantText: "'no-such-command' command not supported."},
		{name: "map body is failure", handler: reply200(`{ "result": 401, "text": "Unauthorized" }`), wantResult: 1, wantText: "Unauthorized"},
		{name: "garbage", handler: reply200(`<html>oops</html>`), wantComm: true},
		{name: "empty list", handler: reply200(`[ ]`), wantComm: true},
		{name: "empty body", handler: reply200(``), wantComm: true},
		{name: "list of garbage", handler: reply200(`[ "x" ]`), wantComm: true},
		{name: "hang", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}, timeout: 200 * time.Millisecond, wantComm: true},
		{name: "closed connection", handler: func(w http.ResponseWriter, r *http.Request) {
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
		}, wantComm: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c, err := newPeerClient(&Peer{Name: "server1", URL: srv.URL + "/"}, nil, 1, false)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			to := tt.timeout
			if to == 0 {
				to = 2 * time.Second
			}
			a, err := c.call(context.Background(), "ha-heartbeat", nil, to)
			var ce *CommError
			if tt.wantComm {
				if !errors.As(err, &ce) {
					t.Fatalf("err %v, want CommError", err)
				}
				return
			}
			if err != nil || a.Result != tt.wantResult || a.Text != tt.wantText {
				t.Fatalf("got %+v %v, want %d %q", a, err, tt.wantResult, tt.wantText)
			}
		})
	}
}

func reply200(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

// TestClientRequestShape checks what Kea's listener gets: POST /, Host
// without port, JSON content type, basic auth of the target peer, the
// envelope, one reused connection.
func TestClientRequestShape(t *testing.T) {
	var conns, reqs int
	var got []*http.Request
	var bodies []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r)
		bodies = append(bodies, string(b))
		reqs++
		reply200(`[ { "result": 0 } ]`)(w, r)
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns++
		}
	}
	srv.Start()
	defer srv.Close()
	c, _ := newPeerClient(&Peer{Name: "server1", URL: srv.URL + "/", BasicAuthUser: "kea-ha", BasicAuthPassword: "secret"}, nil, 1, false)
	defer c.close()
	for i := 0; i < 3; i++ {
		if _, err := c.expect(context.Background(), "ha-heartbeat", nil, time.Second, 0); err != nil {
			t.Fatal(err)
		}
	}
	if conns != 1 || reqs != 3 {
		t.Fatalf("%d connections for %d requests, want 1 persistent", conns, reqs)
	}
	r := got[0]
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Host != "127.0.0.1" ||
		r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Authorization") != "Basic a2VhLWhhOnNlY3JldA==" ||
		r.Header.Get("User-Agent") != "" || r.ContentLength <= 0 || len(r.TransferEncoding) != 0 {
		t.Fatalf("request %s %s host %q headers %v", r.Method, r.URL.Path, r.Host, r.Header)
	}
	if bodies[0] != `{"command":"ha-heartbeat","service":["dhcp4"]}` {
		t.Fatalf("body %s", bodies[0])
	}
}

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
