package config

import (
	"os"
	"testing"
)

func FuzzParse(f *testing.F) {
	if seed, err := os.ReadFile(seedFile); err == nil {
		f.Add(seed)
	}
	for _, s := range []string{
		`{ "Dhcp4": { } }`,
		`{ "Dhcp4": { "subnet4": [ { "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.1 - 192.0.2.9" } ], "reservations": [ { "hw-address": "aa:bb:cc:dd:ee:ff", "ip-address": "192.0.2.5" } ] } ] } }`,
		`{ "Dhcp4": { "option-def": [ { "name": "x", "code": 222, "type": "record", "record-types": "uint8,fqdn" } ], "option-data": [ { "name": "x", "data": "1, a.b" } ] } }`,
		"# c\n{ \"Dhcp4\": { /* x */ \"valid-lifetime\": 1, } // y\n}",
		`{ "Dhcp4": <?include "/nonexistent"?> }`,
		`{ "Dhcp4": { "server-hostname": "\u00e9\ud83d\ude00" } }`,
		`[[[[[[[[[[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := Parse("fuzz.json", data)
		if err == nil && c.Dhcp4 == nil {
			t.Fatal("nil Dhcp4 without error")
		}
		if err == nil {
			_ = c.Tree()
			var b nopWriter
			if err := c.WriteKea22(&b); err != nil {
				t.Fatal(err)
			}
		}
	})
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
