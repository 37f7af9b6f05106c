package ha

import (
	"context"
	"testing"
	"time"
)

// TestShouldPartnerDownFollowsNetworkState (issue 10 item 2): with
// communication interrupted and too few unacked clients for a failure,
// load-balancing stays in communication-recovery; but when the DHCP
// service is disabled (an operator's dhcp-disable, or the partner's),
// there is no traffic to analyse and Kea 2.2's shouldPartnerDown
// (ha_service.cc: !network_state_->isServiceEnabled() → true) goes to
// partner-down.
func TestShouldPartnerDownFollowsNetworkState(t *testing.T) {
	for _, tc := range []struct {
		origin string // "" = service enabled
		want   State
	}{
		{"", StateCommunicationRecovery},
		{"user", StatePartnerDown},
		{"ha-partner", StatePartnerDown},
	} {
		t.Run("disabled by "+tc.origin, func(t *testing.T) {
			fp := newFakePeer(t, maps(syncReplies))
			env := newTestService(t, fp.srv.URL+"/", func(c *Config) {
				c.MaxUnackedClients = 10
				c.DelayedUpdatesLimit = 100
			})
			s := env.s
			setStates(s, StateLoadBalancing, StateUnavailable)
			if tc.origin != "" {
				env.dhcp.DisableDHCP(0, tc.origin)
			}
			env.clock.Add(s.cfg.MaxResponseDelay + time.Second)
			s.step(context.Background())
			if got := s.State(); got != tc.want.String() {
				t.Fatalf("state %s, want %s", got, tc.want)
			}
		})
	}
}
