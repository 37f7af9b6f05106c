package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// haModeFixture is one configuration of testdata/ha-modes: its first line
// is "// want: <Kea's HAConfig::validate text>" for a combination Kea 2.2
// refuses, "// accepted" otherwise. userspace/daemon's
// TestHAModeFixturesKea checks the texts against real kea-dhcp4, ha's
// TestValidateModeFixtures against ha.Config.Validate.
func haModeFixtures(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("testdata/ha-modes/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		out[f] = strings.TrimPrefix(first, "// want: ")
		if first == "// accepted" {
			out[f] = ""
		}
	}
	return out
}

// TestHAModeFixtures: every mode/role/parameter combination Kea 2.2's
// HAConfig::validate (ha_config.cc) refuses is refused with Kea's text;
// the valid hot-standby, passive-backup and backup-server configurations
// load.
func TestHAModeFixtures(t *testing.T) {
	for f, want := range haModeFixtures(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
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
