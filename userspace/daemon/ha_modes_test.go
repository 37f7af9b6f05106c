package daemon

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/internal/keatest"
	"github.com/xdhcp/xdhcp/internal/testenv"

	"github.com/xdhcp/xdhcp/internal/hamodes"
)

// TestHAModeFixturesKea: every configuration of
// config/testdata/ha-modes that xdhcpd refuses, real kea-dhcp4 2.2 refuses
// too, with the same text (HA_CONFIGURATION_FAILED, from
// HAConfig::validate in ha_config.cc); those xdhcpd accepts convert and
// validate as the daemon does (haConfig, ha.Config.Validate).
func TestHAModeFixturesKea(t *testing.T) {
	for _, fx := range hamodes.Load(t) {
		f, want := fx.Path, fx.Want
		t.Run(fx.Name(), func(t *testing.T) {
			cfg, _, err := config.Load(f)
			if want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if _, err := haConfig(cfg.Dhcp4.HA, 2); err != nil {
					t.Fatalf("ha config refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("xdhcpd: error %v, want %q", err, want)
			}
			kea := keaRefusal(t, f)
			if kea != want {
				t.Fatalf("kea-dhcp4 refuses with %q, xdhcpd with %q", kea, want)
			}
		})
	}
}

// keaRefusal starts kea-dhcp4 on the configuration and returns the text
// of its HA_CONFIGURATION_FAILED message (the HA hook's load fails before
// any socket is opened).
func keaRefusal(t *testing.T, path string) string {
	t.Helper()
	testenv.RequireCommand(t, "kea-dhcp4")
	if _, err := os.Stat(filepath.Join(keatest.HooksDir, "libdhcp_ha.so")); err != nil {
		if testenv.Required() {
			t.Fatal("missing kea hook libdhcp_ha.so")
		}
		t.Skip("needs kea hook libdhcp_ha.so")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kea-dhcp4", "-c", path)
	cmd.Env = append(os.Environ(), "KEA_PIDFILE_DIR="+dir, "KEA_LOCKFILE_DIR="+dir, "KEA_LOGGER_DESTINATION=stderr")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("kea-dhcp4 accepted the configuration (still running after 10 s):\n%s", out)
	}
	if err == nil {
		t.Fatalf("kea-dhcp4 exited 0:\n%s", out)
	}
	const tag = "failed to configure High Availability hooks library: "
	for _, line := range strings.Split(string(out), "\n") {
		if _, text, ok := strings.Cut(line, tag); ok {
			return text
		}
	}
	t.Fatalf("no HA_CONFIGURATION_FAILED in kea-dhcp4's output:\n%s", out)
	return ""
}
