package ha

import (
	"context"
	"slices"
	"testing"
	"time"
)

// syncReplies are captured Kea 2.2 answers (ha-wire) for a sync from an
// empty partner.
var syncReplies = map[string]string{
	"dhcp-disable":            `[ { "result": 0, "text": "DHCPv4 service disabled for 60 seconds" } ]`,
	"lease4-get-page":         `[ { "arguments": { "count": 0, "leases": [  ] }, "result": 3, "text": "0 IPv4 lease(s) found." } ]`,
	"ha-sync-complete-notify": `[ { "result": 0, "text": "Server successfully notified about the synchronization completion." } ]`,
	"dhcp-enable":             `[ { "result": 0, "text": "DHCP service successfully enabled" } ]`,
	"ha-reset":                `[ { "result": 0, "text": "HA state machine reset." } ]`,
	"lease4-update":           `[ { "result": 0, "text": "IPv4 lease added." } ]`,
	"lease4-del":              `[ { "result": 0, "text": "IPv4 lease deleted." } ]`,
}

func TestStateMachineTransitions(t *testing.T) {
	tests := []struct {
		name        string
		primary     bool
		from        State
		partner     State
		interrupted bool
		maxUnacked  uint32
		delayed     uint32
		noSync      bool
		overflowed  bool
		unsent      [2]uint64
		skew        time.Duration
		paused      bool
		want        State
		wantCmds    []string // commands sent to the partner, in order
	}{
		{name: "waiting/partner waiting/primary syncs then ready", primary: true, from: StateWaiting, partner: StateWaiting, want: StateReady,
			wantCmds: []string{"dhcp-disable", "lease4-get-page", "ha-sync-complete-notify"}},
		{name: "waiting/partner waiting/secondary stays", from: StateWaiting, partner: StateWaiting, want: StateWaiting},
		{name: "waiting/partner load-balancing syncs, ready, load-balancing", from: StateWaiting, partner: StateLoadBalancing, want: StateLoadBalancing,
			wantCmds: []string{"dhcp-disable", "lease4-get-page", "ha-sync-complete-notify"}},
		{name: "waiting/partner ready/no sync", noSync: true, from: StateWaiting, partner: StateReady, want: StateReady},
		{name: "waiting/partner syncing stays", from: StateWaiting, partner: StateSyncing, want: StateWaiting},
		{name: "waiting/partner terminated stays", from: StateWaiting, partner: StateTerminated, want: StateWaiting},
		{name: "waiting/partner undefined stays", from: StateWaiting, partner: stateUndefined, want: StateWaiting},
		{name: "waiting/unavailable not interrupted", from: StateWaiting, partner: StateUnavailable, want: StateWaiting},
		{name: "waiting/unavailable interrupted", from: StateWaiting, partner: StateUnavailable, interrupted: true, maxUnacked: 10, want: StatePartnerDown},
		{name: "syncing/unavailable interrupted", from: StateSyncing, partner: StateUnavailable, interrupted: true, maxUnacked: 10, want: StatePartnerDown},
		{name: "syncing/terminated", from: StateSyncing, partner: StateTerminated, want: StateTerminated},
		{name: "ready/partner load-balancing", from: StateReady, partner: StateLoadBalancing, want: StateLoadBalancing},
		{name: "ready/partner communication-recovery", from: StateReady, partner: StateCommunicationRecovery, want: StateLoadBalancing},
		{name: "ready/partner ready/primary", primary: true, from: StateReady, partner: StateReady, want: StateLoadBalancing},
		{name: "ready/partner ready/secondary", from: StateReady, partner: StateReady, want: StateReady},
		{name: "ready/partner in-maintenance", from: StateReady, partner: StateInMaintenance, want: StatePartnerInMaintenance},
		{name: "ready/partner partner-in-maintenance", from: StateReady, partner: StatePartnerInMaintenance, want: StateInMaintenance},
		{name: "ready/partner terminated", from: StateReady, partner: StateTerminated, want: StateTerminated},
		{name: "ready/partner partner-down stays", from: StateReady, partner: StatePartnerDown, want: StateReady},
		{name: "lb/partner lb stays", from: StateLoadBalancing, partner: StateLoadBalancing, want: StateLoadBalancing},
		{name: "lb/partner partner-down resyncs", noSync: true, from: StateLoadBalancing, partner: StatePartnerDown, want: StateReady},
		{name: "lb/unavailable → communication-recovery", from: StateLoadBalancing, partner: StateUnavailable, delayed: 100, want: StateCommunicationRecovery},
		{name: "lb/unavailable no backlog stays", from: StateLoadBalancing, partner: StateUnavailable, want: StateLoadBalancing},
		{name: "lb/unavailable interrupted few unacked", from: StateLoadBalancing, partner: StateUnavailable, interrupted: true, maxUnacked: 10, delayed: 100, want: StateCommunicationRecovery},
		{name: "lb/unavailable interrupted max-unacked 0", from: StateLoadBalancing, partner: StateUnavailable, interrupted: true, want: StatePartnerDown},
		{name: "lb/partner terminated", from: StateLoadBalancing, partner: StateTerminated, want: StateTerminated},
		{name: "lb/partner in-maintenance", from: StateLoadBalancing, partner: StateInMaintenance, want: StatePartnerInMaintenance},
		{name: "lb/partner hot-standby invalid", from: StateLoadBalancing, partner: StateHotStandby, want: StateWaiting},
		{name: "lb/skew 61s terminates", from: StateLoadBalancing, partner: StateLoadBalancing, skew: 61 * time.Second, want: StateTerminated},
		{name: "lb/skew 45s only warns", from: StateLoadBalancing, partner: StateLoadBalancing, skew: -45 * time.Second, want: StateLoadBalancing},
		{name: "lb/paused stays", from: StateLoadBalancing, partner: StateTerminated, paused: true, want: StateLoadBalancing},
		{name: "comm-recovery/partner back, empty backlog", from: StateCommunicationRecovery, partner: StateLoadBalancing, delayed: 100, want: StateLoadBalancing},
		{name: "comm-recovery/partner back, overflow → ha-reset", noSync: true, from: StateCommunicationRecovery, partner: StateCommunicationRecovery, delayed: 100, overflowed: true, want: StateLoadBalancing,
			wantCmds: []string{"ha-reset"}},
		{name: "comm-recovery/partner waiting, overflow", from: StateCommunicationRecovery, partner: StateWaiting, delayed: 100, overflowed: true, want: StateWaiting},
		{name: "comm-recovery/partner waiting, no overflow", from: StateCommunicationRecovery, partner: StateWaiting, delayed: 100, want: StateCommunicationRecovery},
		{name: "comm-recovery/unavailable interrupted", from: StateCommunicationRecovery, partner: StateUnavailable, interrupted: true, delayed: 100, want: StatePartnerDown},
		{name: "comm-recovery/partner partner-down", noSync: true, from: StateCommunicationRecovery, partner: StatePartnerDown, delayed: 100, want: StateReady},
		{name: "partner-down/partner ready no unsent", from: StatePartnerDown, partner: StateReady, want: StateLoadBalancing},
		{name: "partner-down/partner ready same unsent", from: StatePartnerDown, partner: StateReady, unsent: [2]uint64{5, 5}, want: StateLoadBalancing},
		{name: "partner-down/partner ready new unsent resyncs", noSync: true, from: StatePartnerDown, partner: StateReady, unsent: [2]uint64{0, 5}, want: StateReady},
		{name: "partner-down/partner load-balancing stays", from: StatePartnerDown, partner: StateLoadBalancing, want: StatePartnerDown},
		{name: "partner-down/partner waiting stays", from: StatePartnerDown, partner: StateWaiting, want: StatePartnerDown},
		{name: "partner-down/partner terminated", from: StatePartnerDown, partner: StateTerminated, want: StateTerminated},
		{name: "partner-in-maintenance/unavailable", from: StatePartnerInMaintenance, partner: StateUnavailable, want: StatePartnerDown},
		{name: "partner-in-maintenance/partner in-maintenance stays", from: StatePartnerInMaintenance, partner: StateInMaintenance, want: StatePartnerInMaintenance},
		{name: "in-maintenance stays", from: StateInMaintenance, partner: StateUnavailable, interrupted: true, want: StateInMaintenance},
		{name: "terminated stays", from: StateTerminated, partner: StateReady, want: StateTerminated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := newFakePeer(t, maps(syncReplies))
			env := newTestService(t, fp.srv.URL+"/", func(c *Config) {
				c.MaxUnackedClients = tt.maxUnacked
				c.DelayedUpdatesLimit = tt.delayed
				c.SyncLeases = !tt.noSync
				if tt.primary {
					c.ThisServerName = "server1"
					c.Peers[0].URL, c.Peers[1].URL = "http://127.0.0.1:0/", fp.srv.URL+"/"
				}
			})
			s := env.s
			s.mu.Lock()
			s.transitionLocked(tt.from)
			s.partnerState = tt.partner
			s.partnerUnsent = tt.unsent
			s.skew = tt.skew
			s.overflowed = tt.overflowed
			s.paused = tt.paused
			s.mu.Unlock()
			if tt.interrupted {
				env.clock.Add(s.cfg.MaxResponseDelay + time.Second)
			}
			s.runModel(context.Background())
			if got := s.State(); got != tt.want.String() {
				t.Fatalf("state = %s, want %s", got, tt.want)
			}
			if got := fp.commands(); !slices.Equal(got, tt.wantCmds) {
				t.Fatalf("commands to partner = %v, want %v", got, tt.wantCmds)
			}
		})
	}
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestHeartbeatDrivesMachine feeds heartbeat results through the real HTTP
// client and checks state, partner info and the contact clock.
func TestHeartbeatDrivesMachine(t *testing.T) {
	fp := newFakePeer(t, maps(syncReplies))
	env := newTestService(t, fp.srv.URL+"/", func(c *Config) { c.MaxUnackedClients = 0 })
	s := env.s
	ctx := context.Background()
	steps := []struct {
		reply       string // "" = connection refused (peer closed)
		advance     time.Duration
		want        State
		wantPartner string
	}{
		{reply: keaHeartbeat("waiting", env.clock.Now(), []string{}, 0), want: StateWaiting, wantPartner: "waiting"},
		{reply: keaHeartbeat("ready", env.clock.Now(), []string{}, 0), want: StateReady, wantPartner: "ready"},
		{reply: keaHeartbeat("load-balancing", env.clock.Now(), []string{"server1"}, 0), want: StateLoadBalancing, wantPartner: "load-balancing"},
		{reply: `[ { "result": 0, "text": "HA peer status returned.", "arguments": { "state": "bogus", "date-time": "x" } } ]`, want: StateCommunicationRecovery, wantPartner: "unavailable"},
		{reply: keaHeartbeat("load-balancing", env.clock.Now(), []string{"server1"}, 0), want: StateLoadBalancing, wantPartner: "load-balancing"},
		{reply: `{ "result": 401, "text": "Unauthorized" }`, advance: time.Second, want: StatePartnerDown, wantPartner: "unavailable"},
	}
	for i, st := range steps {
		fp.set("ha-heartbeat", st.reply)
		env.clock.Add(st.advance)
		s.heartbeat(ctx)
		s.runModel(ctx)
		if got := s.State(); got != st.want.String() {
			t.Fatalf("step %d: state %s, want %s", i, got, st.want)
		}
		if got := s.PartnerState(); got != st.wantPartner {
			t.Fatalf("step %d: partner %s, want %s", i, got, st.wantPartner)
		}
	}
	for _, r := range fp.requests() {
		if r.Command == "ha-heartbeat" && (r.Host != "127.0.0.1" || r.Path != "/" || r.Header.Get("Content-Type") != "application/json") {
			t.Fatalf("heartbeat request host %q path %q content-type %q", r.Host, r.Path, r.Header.Get("Content-Type"))
		}
	}
}
