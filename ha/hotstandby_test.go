package ha

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// hotStandby makes the test service's relationship hot-standby: server1
// primary, server2 standby; this is server2 unless primary.
func hotStandby(primary bool) func(*Config) {
	return func(c *Config) {
		c.Mode = ModeHotStandby
		c.DelayedUpdatesLimit = 0 // Kea's default outside load-balancing, and required
		c.Peers[1].Role = RoleStandby
		if primary {
			c.ThisServerName = "server1"
			c.Peers[1].URL, c.Peers[0].URL = c.Peers[0].URL, "http://127.0.0.1:0/"
		}
	}
}

// TestHotStandbyScopesPerState: Kea's QueryFilter in hot-standby
// (query_filter.cc): every balanced query is in the primary's scope
// (HA_server1), whatever its hash or identifier; the primary serves it in
// its normal state, the standby only in partner-down and
// partner-in-maintenance (serveFailoverScopes: the primary's scope). The
// bucket table is all or nothing: the standby's normal table is all
// "partner", so that the XDP program drops its queries (drop_partner).
func TestHotStandbyScopesPerState(t *testing.T) {
	tests := []struct {
		primary bool
		state   State
		auto    bool
		scopes  []string
		serve   bool
		service bool // DHCP on (Kea's adjustNetworkState)
	}{
		{true, StateWaiting, true, []string{}, false, false},
		{true, StateSyncing, true, []string{}, false, false},
		{true, StateReady, true, []string{}, false, false},
		{true, StateHotStandby, true, []string{"server1"}, true, true},
		{true, StatePartnerDown, true, []string{"server1"}, true, true},
		{true, StatePartnerDown, false, []string{"server1"}, true, true},
		{true, StatePartnerInMaintenance, true, []string{"server1"}, true, true},
		{true, StateTerminated, true, []string{"server1"}, true, true},
		{false, StateWaiting, true, []string{}, false, false},
		{false, StateHotStandby, true, []string{}, false, true},
		{false, StatePartnerDown, true, []string{"server1"}, true, true},
		{false, StatePartnerDown, false, []string{}, false, true},
		{false, StatePartnerInMaintenance, true, []string{"server1"}, true, true},
		{false, StateInMaintenance, true, []string{}, false, false},
		{false, StateTerminated, true, []string{}, false, true},
	}
	for _, tt := range tests {
		role := map[bool]string{true: "primary", false: "standby"}[tt.primary]
		t.Run(role+"/"+tt.state.String(), func(t *testing.T) {
			env := newTestService(t, "http://127.0.0.1:1/", func(c *Config) {
				hotStandby(tt.primary)(c)
				c.Peers[0].AutoFailover, c.Peers[1].AutoFailover = tt.auto, tt.auto
			})
			s := env.s
			s.mu.Lock()
			s.transitionLocked(tt.state)
			s.mu.Unlock()
			st := s.Status()[0]
			if st.HAMode != "hot-standby" || st.HAServers.Local.Role != role || !slices.Equal(st.HAServers.Local.Scopes, tt.scopes) {
				t.Fatalf("status local %+v mode %s, want role %s scopes %v", st.HAServers.Local, st.HAMode, role, tt.scopes)
			}
			if hb := s.heartbeatReply(); hb.State != tt.state.String() || !slices.Equal(hb.Scopes, tt.scopes) {
				t.Fatalf("heartbeat reply %+v, want state %s scopes %v", hb, tt.state, tt.scopes)
			}
			if serviceEnabled(tt.state) != tt.service {
				t.Fatalf("service in %s: %v, want %v", tt.state, serviceEnabled(tt.state), tt.service)
			}
			b, _ := env.buckets.get()
			if n := countServed(b); (tt.serve && n != 256) || (!tt.serve && n != 0) {
				t.Fatalf("bucket table serves %d buckets, want all (%v) or none", n, tt.serve)
			}
			for _, mac := range []string{primaryMAC, secondaryMAC} {
				for _, mt := range []dhcpv4.MessageType{dhcpv4.MessageTypeDiscover, dhcpv4.MessageTypeRequest} {
					class, serve := s.Scope(query(t, mt, mac, 0))
					if class != "HA_server1" || serve != (tt.serve && tt.service) {
						t.Fatalf("%s %s: %q %v, want HA_server1 %v", mt, mac, class, serve, tt.serve && tt.service)
					}
				}
			}
			// No identifier: load-balancing cannot hash it, hot-standby
			// does not need to (inScopeInternal's candidate is 0).
			m := query(t, dhcpv4.MessageTypeDiscover, primaryMAC, 0)
			m.ClientHWAddr = nil
			if class, serve := s.Scope(m); class != "HA_server1" || serve != (tt.serve && tt.service) {
				t.Fatalf("no identifier: %q %v", class, serve)
			}
		})
	}
}

// TestHotStandbyStandbyFailover: the standby's shouldPartnerDown is the
// unacked-client verdict (ha_service.cc HAService::shouldPartnerDown: DHCP
// on and role standby), so an interrupted primary whose clients still get
// answers (or who has none) is not declared down; while interrupted the
// table serves every bucket so that the kernel hands the queries up to
// Scope, which counts them; more than max-unacked-clients unacked clients
// take the standby to partner-down, where it serves the primary's scope.
// Hot-standby has no communication-recovery (delayed-updates-limit 0).
func TestHotStandbyStandbyFailover(t *testing.T) {
	fp := newFakePeer(t, maps(syncReplies))
	env := newTestService(t, fp.srv.URL+"/", func(c *Config) {
		hotStandby(false)(c)
		c.MaxUnackedClients = 2
		c.MaxAckDelay = 2 * time.Second
		c.MaxResponseDelay = 3 * time.Second
	})
	s := env.s
	ctx := context.Background()
	fp.set("ha-heartbeat", keaHeartbeat("hot-standby", env.clock.Now(), []string{"server1"}, 0))
	s.mu.Lock()
	s.transitionLocked(StateHotStandby)
	s.mu.Unlock()
	s.heartbeat(ctx)
	s.runModel(ctx)
	if b, _ := env.buckets.get(); s.State() != "hot-standby" || countServed(b) != 0 {
		t.Fatalf("in touch: state %s, %d buckets served; want hot-standby, none", s.State(), countServed(b))
	}

	fp.set("ha-heartbeat", `{ "result": 1, "text": "down" }`)
	env.clock.Add(time.Second)
	s.heartbeat(ctx)
	s.runModel(ctx)
	if s.State() != "hot-standby" || s.PartnerState() != "unavailable" {
		t.Fatalf("failed heartbeat, not interrupted: %s / partner %s, want hot-standby / unavailable", s.State(), s.PartnerState())
	}
	env.clock.Add(3 * time.Second) // past max-response-delay
	s.heartbeat(ctx)
	s.runModel(ctx)
	if s.State() != "hot-standby" {
		t.Fatalf("interrupted without unacked clients: %s, want hot-standby (the standby waits for unacked clients)", s.State())
	}
	if b, _ := env.buckets.get(); countServed(b) != 256 {
		t.Fatalf("interrupted: %d buckets served, want all (the queries must reach the detector)", countServed(b))
	}
	for i, mac := range []string{primaryMAC, secondaryMAC, "52:54:00:00:00:03"} {
		if _, serve := s.Scope(query(t, dhcpv4.MessageTypeDiscover, mac, 5)); serve {
			t.Fatalf("client %d served before partner-down", i)
		}
	}
	rem := s.Status()[0].HAServers.Remote
	if rem == nil || rem.Role != "primary" || !rem.CommunicationInterrupted || rem.UnackedClients != 3 || rem.UnackedClientsLeft != 0 {
		t.Fatalf("status remote %+v", rem)
	}
	s.runModel(ctx)
	if s.State() != "partner-down" {
		t.Fatalf("3 unacked clients > max-unacked-clients 2: %s, want partner-down", s.State())
	}
	if _, serve := s.Scope(query(t, dhcpv4.MessageTypeDiscover, primaryMAC, 0)); !serve {
		t.Fatal("partner-down standby does not serve the primary's clients")
	}
	if got := s.Status()[0].HAServers.Local.Scopes; !slices.Equal(got, []string{"server1"}) {
		t.Fatalf("partner-down scopes %v, want [server1]", got)
	}

	// The primary comes back ready: the standby returns to hot-standby
	// (partnerDownStateHandler, getNormalState) and serves nothing again.
	fp.set("ha-heartbeat", keaHeartbeat("ready", env.clock.Now(), []string{}, 0))
	s.heartbeat(ctx)
	s.runModel(ctx)
	if b, _ := env.buckets.get(); s.State() != "hot-standby" || countServed(b) != 0 {
		t.Fatalf("primary ready again: %s, %d buckets; want hot-standby, none", s.State(), countServed(b))
	}
}

// TestHotStandbyPrimaryFailover: the primary's shouldPartnerDown is time
// alone (its standby answers no one, so there is nothing to analyze):
// partner-down once max-response-delay passed without a heartbeat.
func TestHotStandbyPrimaryFailover(t *testing.T) {
	fp := newFakePeer(t, maps(syncReplies))
	env := newTestService(t, fp.srv.URL+"/", func(c *Config) {
		hotStandby(true)(c)
		c.MaxUnackedClients = 10
		c.MaxResponseDelay = 3 * time.Second
	})
	s := env.s
	ctx := context.Background()
	fp.set("ha-heartbeat", keaHeartbeat("hot-standby", env.clock.Now(), []string{}, 0))
	s.mu.Lock()
	s.transitionLocked(StateHotStandby)
	s.mu.Unlock()
	s.heartbeat(ctx)
	s.runModel(ctx)
	fp.set("ha-heartbeat", `{ "result": 1, "text": "down" }`)
	env.clock.Add(2 * time.Second)
	s.heartbeat(ctx)
	s.runModel(ctx)
	if s.State() != "hot-standby" {
		t.Fatalf("not yet interrupted: %s, want hot-standby", s.State())
	}
	env.clock.Add(2 * time.Second)
	s.runModel(ctx)
	if s.State() != "partner-down" {
		t.Fatalf("interrupted, no client analyzed: %s, want partner-down", s.State())
	}
	if _, _, a := s.det.counts(); a != 0 {
		t.Fatalf("the primary analyzed %d packets, want none (it serves them all)", a)
	}
	if b, _ := env.buckets.get(); countServed(b) != 256 {
		t.Fatalf("partner-down primary serves %d buckets, want all", countServed(b))
	}
}

// TestHotStandbyStartup: primary and standby waiting → syncing → ready →
// hot-standby as Kea's handlers take them (the standby follows the
// primary's hot-standby from ready), the lease updates of the normal
// state go out (shouldSendLeaseUpdates: HOT_STANDBY) and a
// load-balancing partner is invalid in hot-standby mode.
func TestHotStandbyStartup(t *testing.T) {
	fp := newFakePeer(t, maps(syncReplies))
	env := newTestService(t, fp.srv.URL+"/", hotStandby(false))
	s := env.s
	ctx := context.Background()
	fp.set("ha-heartbeat", keaHeartbeat("hot-standby", env.clock.Now(), []string{"server1"}, 0))
	s.heartbeat(ctx)
	s.runModel(ctx)
	if s.State() != "hot-standby" {
		t.Fatalf("standby after the primary's hot-standby: %s (commands %v)", s.State(), fp.commands())
	}
	if updatePolicyFor(StateHotStandby) != updateSend {
		t.Fatal("hot-standby does not send lease updates")
	}
	fp.set("ha-heartbeat", keaHeartbeat("load-balancing", env.clock.Now(), []string{"server1"}, 0))
	s.heartbeat(ctx)
	s.runModel(ctx)
	if s.State() != "waiting" {
		t.Fatalf("load-balancing partner in hot-standby mode: %s, want waiting (isPartnerStateInvalid)", s.State())
	}
	raw, _ := json.Marshal(s.Status())
	t.Logf("status-get high-availability: %s", raw)
}
