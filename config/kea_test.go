package config

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/xdhcp/xdhcp/internal/keatest"
	"github.com/xdhcp/xdhcp/internal/testenv"
)

// keaHooksDir is where Debian installs Kea 2.2's hook libraries. The seed
// names /opt/lib/kea/hooks/, which Kea -t must be able to dlopen, so the
// Kea round-trip test rewrites that directory (and nothing else).
const keaHooksDir = keatest.HooksDir + "/"

// keaCheck runs `kea-dhcp4 -t` on body and returns its error output, or ""
// when Kea accepts the file.
func keaCheck(t *testing.T, kea, body string) string {
	t.Helper()
	if err := keatest.Check(kea, []byte(body)); err != nil {
		return err.Error()
	}
	return ""
}

func TestWriteKea22AcceptedByKea(t *testing.T) {
	kea := testenv.RequireCommand(t, "kea-dhcp4")[0]
	if _, err := os.Stat(keaHooksDir + HookHA); err != nil {
		t.Skipf("kea HA hook not installed: %v", err)
	}
	c, _, err := Load(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteKea22(&buf); err != nil {
		t.Fatal(err)
	}
	out := strings.ReplaceAll(buf.String(), "/opt/lib/kea/hooks/", keaHooksDir)
	if strings.Contains(out, "output-options") || !strings.Contains(out, `"output_options"`) {
		t.Fatalf("loggers not written with output_options:\n%s", out)
	}
	if msg := keaCheck(t, kea, out); msg != "" {
		t.Fatalf("kea-dhcp4 -t refused WriteKea22 output: %s\n%s", msg, out)
	}
	// And the written file loads back into the same typed config.
	c2, _, err := Parse("rewritten.json", []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if c2.Dhcp4.HA.ThisServerName != "server2" || len(c2.Dhcp4.Subnet4[0].Pools) != 4 {
		t.Errorf("round trip lost data")
	}
}

func TestBadConfigsRefusedByBoth(t *testing.T) {
	kea := testenv.RequireCommand(t, "kea-dhcp4")[0]
	sub := `"subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", `
	tests := []struct {
		name string
		body string
	}{
		{"unknown keyword", wrap(`"unknown-param": 1`)},
		{"duplicate key", wrap(`"valid-lifetime": 1, "valid-lifetime": 2`)},
		{"wrong type", wrap(`"valid-lifetime": "x"`)},
		{"pool outside subnet", wrap(sub + `"pools": [ { "pool": "192.0.3.1 - 192.0.3.5" } ] } ]`)},
		{"overlapping pools", wrap(sub + `"pools": [ { "pool": "192.0.2.1-192.0.2.5" }, { "pool": "192.0.2.4-192.0.2.9" } ] } ]`)},
		{"subnet id clash", wrap(`"subnet4": [ { "subnet": "192.0.2.0/24" }, { "subnet": "192.0.3.0/24", "id": 1 } ]`)},
		{"min above valid", wrap(sub + `"valid-lifetime": 100, "min-valid-lifetime": 200 } ]`)},
		{"two identifiers", wrap(sub + `"reservations": [ { "hw-address": "aa:bb:cc:dd:ee:ff", "client-id": "01:02" } ] } ]`)},
		{"reservation outside subnet", wrap(sub + `"reservations": [ { "hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "192.0.3.1" } ] } ]`)},
		{"duplicate class", wrap(`"client-classes": [ { "name": "a" }, { "name": "a" } ]`)},
		{"redefine standard option", wrap(`"option-def": [ { "name": "foo", "code": 3, "type": "uint8" } ]`)},
		{"bad option data", wrap(`"option-data": [ { "name": "routers", "data": "1.2.3" } ]`)},
		{"unknown option", wrap(`"option-data": [ { "name": "nosuch", "data": "1" } ]`)},
		{"second top-level key", `{ "Dhcp4": { }, "Dhcp6": { } }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Parse("t.json", []byte(tt.body)); err == nil {
				t.Errorf("xdhcp accepted %s", tt.body)
			}
			if msg := keaCheck(t, kea, tt.body); msg == "" {
				t.Errorf("kea-dhcp4 accepted %s", tt.body)
			}
		})
	}
	// Control: the wrapper itself is valid for both.
	if _, _, err := Parse("t.json", []byte(wrap(sub+`"pools": [ { "pool": "192.0.2.10 - 192.0.2.20" } ] } ]`))); err != nil {
		t.Fatal(err)
	}
	if msg := keaCheck(t, kea, wrap(sub+`"pools": [ { "pool": "192.0.2.10 - 192.0.2.20" } ] } ]`)); msg != "" {
		t.Fatalf("kea refused the control config: %s", msg)
	}
}
