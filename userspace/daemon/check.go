package daemon

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/ha"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/logging"
	"github.com/xdhcp/xdhcp/userspace/netstate"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// Check is `xdhcpd -t`: it loads the configuration at path and runs every
// check that New runs on a configuration, on throw-away objects: nothing
// is bound, no lease file or log output is opened, no goroutine is left.
// The warnings are config.Load's and the start-up lints' (Lint).
func Check(path string) ([]config.Warning, error) {
	cfg, warnings, err := config.Load(path)
	if err != nil {
		return warnings, err
	}
	warnings = append(warnings, Lint(cfg)...)
	if err := checkConfig(cfg); err != nil {
		return warnings, err
	}
	// kea-dhcp4 -t checks interface names against the host too.
	return warnings, cfg.CheckSystem(config.HostSystem())
}

// Lint is the warnings New logs at start-up beyond config.Load's.
func Lint(cfg *config.Config) []config.Warning {
	return config.LintHAPools(cfg)
}

// checkConfig runs New's checks that depend only on the configuration:
// the loggers' severities (setupLogging), the HA relationship as
// setupHA and ha.New check it (Kea's HAConfig::validate: roles, modes,
// URLs, TLS files, basic-auth-password-file), and the engine's build
// (buildEngine). config-test runs it too.
func checkConfig(cfg *config.Config) error {
	c := cfg.Dhcp4
	for _, l := range c.Loggers {
		if _, err := logging.Level(l.Severity); err != nil {
			return fmt.Errorf("loggers: logger %s: %w", l.Name, err)
		}
	}
	store, _, err := lease.Open(lease.Options{Persist: false})
	if err != nil {
		return fmt.Errorf("check: memory lease store: %w", err)
	}
	defer store.Close()
	if c.HA != nil {
		if err := checkHA(c, store); err != nil {
			return err
		}
	}
	if _, err := dhcp.New(cfg, dhcp.Deps{Store: store, Stats: stats.New(), Logger: zerolog.Nop()}); err != nil {
		return err
	}
	return nil
}

// checkHA builds (and drops, unstarted) the HA service as setupHA does.
func checkHA(c *config.Dhcp4, store *lease.Store) error {
	ns := netstate.New()
	defer ns.Stop()
	svc, err := newHAService(c, ha.Deps{Leases: store, DHCP: haNetState{ns}, Buckets: &bucketRelay{}, Logger: zerolog.Nop()})
	if err != nil {
		return err
	}
	svc.Stop()
	return nil
}
