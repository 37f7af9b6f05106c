package config

import (
	"strings"
	"testing"

	"github.com/xdhcp/xdhcp/internal/hamodes"
)

// TestHAModeFixtures: every mode/role/parameter combination Kea 2.2's
// HAConfig::validate (ha_config.cc) refuses is refused with Kea's text;
// the valid hot-standby, passive-backup and backup-server configurations
// load.
func TestHAModeFixtures(t *testing.T) {
	for _, fx := range hamodes.Load(t) {
		f, want := fx.Path, fx.Want
		t.Run(fx.Name(), func(t *testing.T) {
			c, _, err := Load(f)
			if want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.Dhcp4.HA == nil || c.Dhcp4.HA.This() == nil {
					t.Fatalf("no HA relationship: %+v", c.Dhcp4.HA)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want %q", err, want)
			}
		})
	}
}
