package config

import (
	"errors"
	"strings"
	"testing"
)

// wrap puts body inside {"Dhcp4": { ... }} on the first line.
func wrap(body string) string { return `{ "Dhcp4": { ` + body + ` } }` }

func TestParseErrors(t *testing.T) {
	sub := `"subnet4": [ { "subnet": "192.0.2.0/24", `
	tests := []struct {
		name    string
		in      string
		wantErr string // substring; "" = must succeed
		at      string // where the error points: the first match of this text with "|" removed, at the "|"
	}{
		{"empty dhcp4", wrap(``), "", ""},
		{"unknown global", wrap(`"unknown-param": 1`), `got unexpected keyword "unknown-param" in Dhcp4 map.`, `|"unknown-param"`},
		{"other top level", `{ "Dhcp4": {}, "Dhcp6": {} }`, `got unexpected keyword "Dhcp6" in toplevel map.`, `|"Dhcp6"`},
		{"no dhcp4", `{ }`, `must contain a Dhcp4 map`, `|{ }`},
		{"unknown pool key", wrap(sub + `"pools": [ { "pool": "192.0.2.1-192.0.2.5", "foo": 1 } ] } ]`), `got unexpected keyword "foo" in pools map.`, `|"foo"`},
		{"unknown reservation key", wrap(sub + `"reservations": [ { "hw-address": "aa:bb:cc:dd:ee:ff", "x": 1 } ] } ]`), `got unexpected keyword "x" in reservations map.`, `|"x"`},
		{"unknown subnet key", wrap(sub + `"bogus": true } ]`), `got unexpected keyword "bogus" in subnet4 map.`, ""},
		{"duplicate key", wrap(`"valid-lifetime": 1, "valid-lifetime": 2`), `duplicate valid-lifetime entries in Dhcp4 map (previous at t.json:1:32)`, `"valid-lifetime": |2`},
		{"wrong type", wrap(`"valid-lifetime": "x"`), `expected integer, got string (parameter valid-lifetime)`, `|"x"`},
		{"negative", wrap(`"valid-lifetime": -1`), `out of range`, `|-1`},
		{"bad prefix", wrap(sub[:len(sub)-len(`"192.0.2.0/24", `)] + `"192.0.2.0/33" } ]`), `invalid subnet syntax`, ""},
		{"pool outside", wrap(sub + `"pools": [ { "pool": "192.0.3.1 - 192.0.3.5" } ] } ]`), `does not match the prefix of a subnet`, `|{ "pool"`},
		{"pool overlap", wrap(sub + `"pools": [ { "pool": "192.0.2.1-192.0.2.5" }, { "pool": "192.0.2.0/29" } ] } ]`), `overlaps with an existing pool`, ""},
		{"bad pool", wrap(sub + `"pools": [ { "pool": "192.0.2.9-192.0.2.5" } ] } ]`), `Failed to create pool defined by: 192.0.2.9-192.0.2.5`, ""},
		{"id clash", wrap(`"subnet4": [ { "subnet": "192.0.2.0/24" }, { "subnet": "192.0.3.0/24", "id": 1 } ]`), `ID of the new IPv4 subnet '1' is already in use`, `|{ "subnet": "192.0.3.0/24"`},
		{"id clash shared first", wrap(`"subnet4": [ { "subnet": "192.0.3.0/24", "id": 1 } ], "shared-networks": [ { "name": "a", "subnet4": [ { "subnet": "192.0.4.0/24" } ] } ]`), `ID of the new IPv4 subnet '1' is already in use`, `|{ "subnet": "192.0.3.0/24"`},
		{"min above valid", wrap(sub + `"valid-lifetime": 100, "min-valid-lifetime": 200 } ]`), `min-valid-lifetime (200) is not less than valid-lifetime (100)`, ""},
		{"max below valid", wrap(`"valid-lifetime": 100, "max-valid-lifetime": 50`), `max-valid-lifetime (50) is not greater`, ""},
		// Kea checks the percents only where calculate-tee-times is true,
		// in a subnet or shared network (TestTeePercentsSameVerdictAsKea).
		{"t1 above t2", wrap(`"calculate-tee-times": true, "t1-percent": 0.9, "t2-percent": 0.5, ` + sub + `"id": 1 } ]`), `must be less than t2-percent`, ""},
		{"t2 is 1", wrap(`"calculate-tee-times": true, "t2-percent": 1.0, ` + sub + `"id": 1 } ]`), `must be greater than 0.0 and less than 1.0`, ""},
		{"t1 vs inherited t2", wrap(`"calculate-tee-times": true, "t2-percent": 0.4, ` + sub + `"t1-percent": 0.45 } ]`), `must be less than t2-percent`, ""},
		{"t1 above t2 without calculate-tee-times", wrap(`"t1-percent": 0.9, "t2-percent": 0.5, ` + sub + `"id": 1 } ]`), "", ""},
		{"two identifiers", wrap(sub + `"reservations": [ { "hw-address": "aa:bb:cc:dd:ee:ff", "client-id": "01:02" } ] } ]`), `mutually exclusive`, ""},
		{"no identifier", wrap(sub + `"reservations": [ { "ip-address": "192.0.2.5" } ] } ]`), `one of the supported identifiers must be specified`, ""},
		{"reservation outside", wrap(sub + `"reservations": [ { "hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "192.0.3.1" } ] } ]`), `is not within the IPv4 subnet`, ""},
		{"duplicate reserved ip", wrap(sub + `"reservations": [ { "hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "192.0.2.5" }, { "hw-address": "aa:bb:cc:dd:ee:fe", "ip-address": "192.0.2.5" } ] } ]`), `already a reservation for this address`, ""},
		{"duplicate ip allowed", wrap(`"ip-reservations-unique": false, ` + sub + `"reservations": [ { "hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "192.0.2.5" }, { "hw-address": "aa:bb:cc:dd:ee:fe", "ip-address": "192.0.2.5" } ] } ]`), "", ""},
		{"duplicate host", wrap(sub + `"reservations": [ { "hw-address": "aa:bb:cc:dd:ee:ff" }, { "hw-address": "AA:BB:CC:DD:EE:FF" } ] } ]`), `already been added`, ""},
		{"duplicate class", wrap(`"client-classes": [ { "name": "a" }, { "name": "a" } ]`), `Client Class: a has already been defined`, `}, |{ "name": "a" }`},
		{"unknown class key", wrap(`"client-classes": [ { "name": "a", "x": 1 } ]`), `got unexpected keyword "x" in client-classes map.`, `|"x"`},
		{"duplicate network", wrap(`"shared-networks": [ { "name": "n" }, { "name": "n" } ]`), `A shared network with name n already exists`, ""},
		{"mt negative", wrap(`"multi-threading": { "thread-pool-size": -1 }`), `out of range`, ""},
		{"logger name", wrap(`"loggers": [ { "name": "foo" } ]`), `must start with kea-dhcp4`, ""},
		{"logger severity", wrap(`"loggers": [ { "name": "kea-dhcp4", "severity": "LOUD" } ]`), `unknown severity value 'LOUD'`, ""},
		{"logger both spellings", wrap(`"loggers": [ { "name": "kea-dhcp4", "output_options": [], "output-options": [] } ]`), `duplicate output-options`, ""},
		{"unknown hook", wrap(`"hooks-libraries": [ { "library": "/x/libdhcp_flex_id.so" } ]`), `hooks library "/x/libdhcp_flex_id.so" is not supported`, ""},
		{"lease db sql", wrap(`"lease-database": { "type": "mysql" }`), `memfile or postgresql`, ""},
		{"reservation-mode and flag", wrap(`"reservation-mode": "all", "reservations-global": true`), `invalid use of both 'reservation-mode'`, ""},
		{"xdhcp unknown", wrap(`"user-context": { "xdhcp": { "turbo": true }, "other": 1 }`), `got unexpected keyword "turbo" in user-context xdhcp map.`, ""},
		{"xdhcp datapath", wrap(`"user-context": { "xdhcp": { "datapath": "dpdk" } }`), `datapath must be one of`, ""},
		{"xdhcp rate key", wrap(`"user-context": { "xdhcp": { "rate-limits": { "client-rat": 2 } } }`), `got unexpected keyword "client-rat"`, ""},
		{"xdhcp burst 0", wrap(`"user-context": { "xdhcp": { "rate-limits": { "client-burst": 0 } } }`), `out of range`, ""},
		{"xdhcp offer", wrap(`"user-context": { "xdhcp": { "offer-lifetime": -1 } }`), `out of range`, ""},
		{"xdhcp mode", wrap(`"user-context": { "xdhcp": { "control-socket-mode": "0999" } }`), `octal file mode`, ""},
		{"xdhcp unknown group", wrap(`"user-context": { "xdhcp": { "control-socket-group": "no-such-group-xdhcp" } }`), `control-socket-group "no-such-group-xdhcp": no such group`, `|"no-such-group-xdhcp"`},
		{"xdhcp empty group", wrap(`"user-context": { "xdhcp": { "control-socket-group": "" } }`), `empty group name`, `|""`},
		{"xdhcp group type", wrap(`"user-context": { "xdhcp": { "control-socket-group": 5 } }`), `expected string, got number (parameter control-socket-group)`, `|5`},
		{"xdhcp group by gid", wrap(`"user-context": { "xdhcp": { "control-socket-group": "4242" } }`), "", ""},
		{"option unknown name", wrap(`"option-data": [ { "name": "nosuch", "data": "1" } ]`), `definition for the option 'dhcp4.nosuch' having code '0' does not exist`, `|{ "name": "nosuch"`},
		{"option bad address", wrap(`"option-data": [ { "name": "routers", "data": "1.2.3" } ]`), `failed to convert string to address '1.2.3'`, `|{ "name": "routers"`},
		{"option redefine std", wrap(`"option-def": [ { "name": "foo", "code": 3, "type": "uint8" } ]`), `unable to override definition of option '3' in standard option space 'dhcp4'`, `|{ "name": "foo"`},
		{"option uint8 range", wrap(`"option-def": [ { "name": "foo", "code": 121, "type": "uint8" } ], "option-data": [ { "name": "foo", "data": "300" } ]`), `in the range of 0..255`, ""},
		{"option name code mismatch", wrap(`"option-data": [ { "name": "routers", "code": 6, "data": "1.2.3.4" } ]`), `does not match the option definition`, ""},
		{"option code no def", wrap(`"option-data": [ { "code": 200, "data": "01" } ]`), `having code '200' does not exist`, ""},
		{"option mixed hex", wrap(`"option-data": [ { "code": 200, "csv-format": false, "data": "01 02:03" } ]`), `not a valid string of hexadecimal digits`, ""},
		{"ha url hostname", wrap(`"hooks-libraries": [ { "library": "libdhcp_ha.so", "parameters": { "high-availability": [ { "this-server-name": "a", "mode": "load-balancing", "peers": [ { "name": "a", "url": "http://a.example:8000/", "role": "primary" }, { "name": "b", "url": "http://192.0.2.2:8000/", "role": "secondary" } ] } ] } } ]`), `host must be a literal IP address`, ""},
		{"ha no this", wrap(`"hooks-libraries": [ { "library": "libdhcp_ha.so", "parameters": { "high-availability": [ { "this-server-name": "c", "mode": "load-balancing", "peers": [ { "name": "a", "url": "http://192.0.2.1:8000/", "role": "primary" }, { "name": "b", "url": "http://192.0.2.2:8000/", "role": "secondary" } ] } ] } } ]`), `no peer configuration specified for the 'c'`, ""},
		{"ha two primaries", wrap(`"hooks-libraries": [ { "library": "libdhcp_ha.so", "parameters": { "high-availability": [ { "this-server-name": "a", "mode": "load-balancing", "peers": [ { "name": "a", "url": "http://192.0.2.1:8000/", "role": "primary" }, { "name": "b", "url": "http://192.0.2.2:8000/", "role": "primary" } ] } ] } } ]`), `multiple primary servers specified`, ""},
		{"ha tls peer overrides one file", wrap(`"hooks-libraries": [ { "library": "libdhcp_ha.so", "parameters": { "high-availability": [ { "this-server-name": "a", "mode": "load-balancing", "trust-anchor": "/ca.pem", "cert-file": "/c.pem", "key-file": "/k.pem", "peers": [ { "name": "a", "url": "https://192.0.2.1:8000/", "role": "primary", "cert-file": "/a.pem" }, { "name": "b", "url": "https://192.0.2.2:8000/", "role": "secondary" } ] } ] } } ]`), "", ""},
		{"ha tls incomplete after merge", wrap(`"hooks-libraries": [ { "library": "libdhcp_ha.so", "parameters": { "high-availability": [ { "this-server-name": "a", "mode": "load-balancing", "trust-anchor": "/ca.pem", "cert-file": "/c.pem", "peers": [ { "name": "a", "url": "https://192.0.2.1:8000/", "role": "primary" }, { "name": "b", "url": "https://192.0.2.2:8000/", "role": "secondary" } ] } ] } } ]`), `bad TLS config for server a: key-file parameter is missing or empty: all or none of TLS parameters must be set`, ""},
		{"ha heartbeat too big", wrap(`"hooks-libraries": [ { "library": "libdhcp_ha.so", "parameters": { "high-availability": [ { "this-server-name": "a", "mode": "load-balancing", "heartbeat-delay": 70000, "peers": [] } ] } } ]`), `out of range`, ""},
		{"ha unknown key", wrap(`"hooks-libraries": [ { "library": "libdhcp_ha.so", "parameters": { "high-availability": [ { "bogus": 1 } ] } } ]`), `got unexpected keyword "bogus" in high-availability map.`, ""},
		{"syntax missing colon", `{ "Dhcp4" { } }`, `syntax error, unexpected "{", expecting ":"`, `"Dhcp4" |{`},
		{"syntax double comma", wrap(`"valid-lifetime": 1,, "renew-timer": 2`), `syntax error`, ""},
		{"unterminated comment", wrap(`/* x`), `comment not closed`, `|/*`},
		{"bad word", wrap(`"authoritative": yes`), `invalid word "yes"`, `|yes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse("t.json", []byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got none", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not *config.Error", err)
			}
			if ce.Pos.File != "t.json" {
				t.Errorf("error file = %q, want t.json", ce.Pos.File)
			}
			if tt.at != "" {
				want := posOf(t, tt.in, tt.at)
				if ce.Pos.Line != want.Line || ce.Pos.Col != want.Col {
					t.Errorf("error %q at %d:%d, want %d:%d", err, ce.Pos.Line, ce.Pos.Col, want.Line, want.Col)
				}
			}
		})
	}
}

func TestUnimplementedWarnings(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		warns []string // substrings, in order
	}{
		{"defaults are silent", `"ddns-send-updates": true, "parked-packet-limit": 256, "dhcp-ddns": { "enable-updates": false }`, nil},
		{"ddns global", `"ddns-send-updates": false`, []string{`"ddns-send-updates" in Dhcp4`}},
		{"dhcp-ddns enabled", `"dhcp-ddns": { "enable-updates": true }`, []string{`"dhcp-ddns"`}},
		{"hosts-database TLS", `"hosts-database": { "type": "postgresql", "name": "kea", "cert-file": "/c" }`, []string{`"cert-file" in hosts-database`}},
		{"subnet 4o6", `"subnet4": [ { "subnet": "192.0.2.0/24", "4o6-interface": "eth1", "store-extended-info": true, "cache-threshold": 0.25 } ]`, []string{`"4o6-interface" in subnet4`}},
		{"re-detect", `"interfaces-config": { "re-detect": false }`, []string{`"re-detect" in interfaces-config`}},
		{"trailing comma", `"valid-lifetime": 5,`, []string{"Extraneous comma"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warns, err := Parse("t.json", []byte(wrap(tt.body)))
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) != len(tt.warns) {
				t.Fatalf("got %d warnings %v, want %d", len(warns), warns, len(tt.warns))
			}
			for i, w := range warns {
				if !strings.Contains(w.Msg, tt.warns[i]) {
					t.Errorf("warning %d = %q, want %q", i, w.Msg, tt.warns[i])
				}
				if w.Pos.Line != 1 || w.Pos.Col == 0 {
					t.Errorf("warning %d has no position: %v", i, w.Pos)
				}
			}
		})
	}
	for _, k := range []string{"ddns-send-updates", "dhcp-ddns", "hosts-database.cert-file", "interfaces-config.re-detect", "4o6-subnet"} {
		found := false
		for _, u := range Unimplemented() {
			found = found || u == k
		}
		if !found {
			t.Errorf("Unimplemented() lacks %q", k)
		}
	}
}

// posOf returns the line:col of the "|" in marker, located at the first
// occurrence of marker (without "|") in in.
func posOf(t *testing.T, in, marker string) Pos {
	t.Helper()
	bar := strings.Index(marker, "|")
	i := strings.Index(in, strings.Replace(marker, "|", "", 1))
	if bar < 0 || i < 0 {
		t.Fatalf("marker %q not found in input", marker)
	}
	off := i + bar
	line := 1 + strings.Count(in[:off], "\n")
	col := off - strings.LastIndex(in[:off], "\n")
	return Pos{Line: line, Col: col}
}
