package daemon

import (
	"strings"
	"testing"

	"github.com/xdhcp/xdhcp/config"
)

// TestKernelRenewBlockers: kernel renewals are on only where the kernel can
// answer exactly as user space: the knob, lease caching at some level,
// memfile leases, no hook library beyond HA and lease_cmds.
func TestKernelRenewBlockers(t *testing.T) {
	wrap := func(global, subnet string) string {
		return `{ "Dhcp4": { "interfaces-config": { "interfaces": [ "eth0" ] }, ` + global + `
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", ` + subnet + ` "pools": [ { "pool": "192.0.2.10 - 192.0.2.20" } ] } ] } }`
	}
	cases := []struct {
		name, js string
		want     string // substring of the reasons; "" = on
	}{
		{"global threshold", wrap(`"cache-threshold": 0.25,`, ""), ""},
		{"subnet max-age", wrap("", `"cache-max-age": 60,`), ""},
		{"no caching", wrap("", ""), "lease caching"},
		{"knob off", wrap(`"cache-threshold": 0.25, "user-context": { "xdhcp": { "kernel-renew": false } },`, ""), "kernel-renew is false"},
		{"class on the xid", wrap(`"cache-threshold": 0.25, "client-classes": [ { "name": "odd", "test": "substring(pkt4.transid, 3, 1) == 0x01" } ],`, ""), "pkt4.transid"},
		{"lease_cmds and ha are fine", wrap(`"cache-threshold": 0.25, "hooks-libraries": [ { "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so" } ],`, ""), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, _, err := config.Parse("t.json", []byte(c.js))
			if err != nil {
				t.Fatal(err)
			}
			why := strings.Join(kernelRenewBlockers(cfg.Dhcp4), "; ")
			if (c.want == "") != (why == "") || !strings.Contains(why, c.want) {
				t.Fatalf("blockers %q, want %q", why, c.want)
			}
		})
	}
	// A lease database other than memfile (a backend another process can
	// write) turns it off; config accepts only memfile today, so set it here.
	cfg, _, err := config.Parse("t.json", []byte(wrap(`"cache-threshold": 0.25,`, "")))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dhcp4.LeaseDatabase.Type = "postgresql"
	if why := strings.Join(kernelRenewBlockers(cfg.Dhcp4), "; "); !strings.Contains(why, "lease-database") {
		t.Fatalf("postgresql: blockers %q", why)
	}
}
