package ha

import (
	"encoding/json"
	"testing"

	"github.com/xdhcp/xdhcp/internal/hamodes"
)

// TestValidateModeFixtures runs Validate on the relationships of
// config/testdata/ha-modes (see config's TestHAModeFixtures; the first
// line of each is Kea 2.2's HAConfig::validate text, checked against real
// kea-dhcp4 by userspace/daemon's TestHAModeFixturesKea): the same
// combinations are refused with the same texts.
func TestValidateModeFixtures(t *testing.T) {
	for _, f := range hamodes.Load(t) {
		t.Run(f.Name(), func(t *testing.T) {
			want := f.Want
			cfg := fixtureConfig(t, f.Body)
			err := cfg.Validate()
			switch {
			case want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case want != "" && (err == nil || err.Error() != want):
				t.Fatalf("error %v, want %q", err, want)
			}
		})
	}
}

// fixtureConfig converts a fixture's relationship the way the daemon does
// for the keys these fixtures use, with Kea's mode-dependent default of
// delayed-updates-limit (ha_config_parser.cc, HA_CONFIG_LB_DEFAULTS).
func fixtureConfig(t *testing.T, body []byte) Config {
	t.Helper()
	var doc struct {
		Dhcp4 struct {
			Hooks []struct {
				Parameters struct {
					HA []struct {
						This    string  `json:"this-server-name"`
						Mode    string  `json:"mode"`
						Wait    bool    `json:"wait-backup-ack"`
						Delayed *uint32 `json:"delayed-updates-limit"`
						Peers   []struct{ Name, URL, Role string }
					} `json:"high-availability"`
				} `json:"parameters"`
			} `json:"hooks-libraries"`
		}
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	h := doc.Dhcp4.Hooks[1].Parameters.HA[0]
	cfg := DefaultConfig()
	cfg.ThisServerName, cfg.Mode, cfg.WaitBackupAck = h.This, h.Mode, h.Wait
	cfg.DelayedUpdatesLimit = 0
	if h.Mode == ModeLoadBalancing {
		cfg.DelayedUpdatesLimit = 100
	}
	if h.Delayed != nil {
		cfg.DelayedUpdatesLimit = *h.Delayed
	}
	for _, p := range h.Peers {
		cfg.Peers = append(cfg.Peers, Peer{Name: p.Name, URL: p.URL, Role: p.Role, AutoFailover: true})
	}
	return cfg
}
