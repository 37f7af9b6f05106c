package config

import "testing"

// TestHARestrictCommandsDefault: xdhcpd defaults restrict-commands to true
// (Kea 2.2 defaults to false); an explicit value, either way, is kept.
func TestHARestrictCommandsDefault(t *testing.T) {
	ha := func(extra string) string {
		return wrap(`"hooks-libraries": [ { "library": "libdhcp_ha.so", "parameters": { "high-availability": [ { "this-server-name": "a", "mode": "load-balancing", ` +
			extra + `"peers": [ { "name": "a", "url": "http://192.0.2.1:8000/", "role": "primary" }, { "name": "b", "url": "http://192.0.2.2:8000/", "role": "secondary" } ] } ] } } ]`)
	}
	for _, tt := range []struct {
		name, extra string
		want        bool
	}{
		{"absent", ``, true},
		{"explicit false opts out", `"restrict-commands": false, `, false},
		{"explicit true", `"restrict-commands": true, `, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse("t.json", []byte(ha(tt.extra)))
			if err != nil {
				t.Fatal(err)
			}
			if c.Dhcp4.HA == nil || c.Dhcp4.HA.RestrictCommands != tt.want {
				t.Fatalf("restrict-commands = %+v, want %v", c.Dhcp4.HA, tt.want)
			}
		})
	}
	if c, _, err := Load(seedFile); err != nil || !c.Dhcp4.HA.RestrictCommands {
		t.Fatalf("seed file (no restrict-commands): err %v, restrict-commands should default to true", err)
	}
}
