package daemon

import (
	"strings"
	"testing"

	"github.com/xdhcp/xdhcp/config"
)

func hostsCfg(t *testing.T, hosts string) *config.Config {
	t.Helper()
	cfg, _, err := config.Parse("t.json", []byte(`{ "Dhcp4": { "interfaces-config": { "interfaces": [ "eth0" ] }`+hosts+` } }`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestHostsDatabaseNeedsRestart: the hosts-database connections are
// opened at start, so a reload that changes them is refused, and one that
// only moves them in the file (positions) is not.
func TestHostsDatabaseNeedsRestart(t *testing.T) {
	one := `, "hosts-database": { "type": "postgresql", "name": "kea", "user": "kea" }`
	d := &Daemon{cfg: hostsCfg(t, one)}
	if err := d.restartOnly(hostsCfg(t, "\n\n   "+one)); err != nil {
		t.Errorf("same hosts-database at another position: %v", err)
	}
	for _, next := range []string{
		"",
		`, "hosts-database": { "type": "postgresql", "name": "other", "user": "kea" }`,
		one + `, "hosts-databases": [ { "type": "postgresql", "name": "inv" } ]`,
	} {
		err := d.restartOnly(hostsCfg(t, next))
		if err == nil || !strings.Contains(err.Error(), "hosts-database(s) requires a restart") {
			t.Errorf("%q: %v, want a restart refusal", next, err)
		}
	}
}

// TestNoHostsNoSources: without hosts-database nothing is opened and the
// engine gets no host source (a nil Sources must not become a non-nil
// interface).
func TestNoHostsNoSources(t *testing.T) {
	d := &Daemon{}
	if err := d.openHosts(hostsCfg(t, "").Dhcp4); err != nil || d.hosts != nil {
		t.Fatalf("openHosts without hosts-database: %v, %v", d.hosts, err)
	}
	d.hosts.Close() // a nil Sources closes
}
