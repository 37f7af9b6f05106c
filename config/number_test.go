package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/xdhcp/xdhcp/internal/keatest"
	"github.com/xdhcp/xdhcp/internal/testenv"
)

// numberCases are literals as Kea 2.2's lexer (dhcp4_lexer.ll: {int} and
// the floating point rule, longest match, integer on a tie) and grammar
// (dhcp4_parser.yy: t1-percent FLOAT, valid-lifetime INTEGER) take them.
// ok is kea-dhcp4 -t's verdict, observed on Kea 2.2.0 and checked again by
// TestNumbersSameVerdictAsKea.
var numberCases = []struct {
	key, lit string
	ok       bool
	msg      string
}{
	{"t1-percent", ".5", true, ""},
	{"t1-percent", "+.5", true, ""},
	{"t1-percent", "00.5", true, ""},
	{"t1-percent", "0.5", true, ""},
	{"t1-percent", "5e-1", true, ""},
	{"t1-percent", ".25e+0", true, ""},
	{"t1-percent", ".", false, "Failed to convert . to a floating point."},
	{"t1-percent", "+", false, "Failed to convert + to a floating point."},
	{"t1-percent", "-", false, "Failed to convert - to a floating point."},
	{"t1-percent", ".e1", false, "Failed to convert .e1 to a floating point."},
	{"t1-percent", "1", false, "unexpected integer, expecting floating point"},
	{"t1-percent", "5.5.5", false, "syntax error"},
	{"valid-lifetime", "4000", true, ""},
	{"valid-lifetime", "-0", true, ""},
	{"valid-lifetime", "+5", false, "expected integer"},
	{"valid-lifetime", "5.", false, "expected integer"},
	{"valid-lifetime", "5e0", false, "expected integer"},
	{"valid-lifetime", "99999999999999999999", false, "Failed to convert 99999999999999999999 to an integer."},
}

func numberConfig(key, lit string) string {
	return fmt.Sprintf(`{"Dhcp4": {%q: %s, "lease-database": {"type": "memfile", "persist": false}}}`, key, lit)
}

func TestNumbersAsKeaLexes(t *testing.T) {
	for _, tc := range numberCases {
		_, _, err := Parse("n.json", []byte(numberConfig(tc.key, tc.lit)))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %s: err = %v, want ok=%v", tc.key, tc.lit, err, tc.ok)
			continue
		}
		if err != nil && tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %s: err = %v, want %q", tc.key, tc.lit, err, tc.msg)
		}
	}
	c, _, err := Parse("n.json", []byte(numberConfig("t1-percent", ".5")))
	if err != nil || *c.Dhcp4.T1Percent != 0.5 {
		t.Fatalf("t1-percent .5: %v", err)
	}
	// A float is written back as valid JSON (config-write, config-get).
	if got := c.Root().Get("Dhcp4").Get("t1-percent").Str; got != "0.5" {
		t.Errorf("stored as %q", got)
	}
}

func TestNumbersSameVerdictAsKea(t *testing.T) {
	kea := testenv.RequireCommand(t, "kea-dhcp4")[0]
	for _, tc := range numberCases {
		err := keatest.Check(kea, []byte(numberConfig(tc.key, tc.lit)))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %s: kea-dhcp4 -t: %v, want ok=%v", tc.key, tc.lit, err, tc.ok)
		}
	}
}

// cacheCases are lease caching settings with kea-dhcp4 -t's verdict
// (observed on Kea 2.2.0; TestCacheParamsSameVerdictAsKea checks again):
// cache-threshold must be in (0, 1) where a shared network or subnet uses
// it (a global value only matters once a network or subnet inherits it);
// cache-max-age takes any integer.
var cacheCases = []struct {
	name, body string
	ok         bool
}{
	{"global threshold with a subnet", `"cache-threshold": 0.25, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ]`, true},
	{"global threshold 1.5 with a subnet", `"cache-threshold": 1.5, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ]`, false},
	{"global threshold 1.5, no subnet", `"cache-threshold": 1.5`, true},
	{"global 1.5 overridden by the subnet", `"cache-threshold": 1.5, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "cache-threshold": 0.5 } ]`, true},
	{"subnet threshold 0.0", `"subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "cache-threshold": 0.0 } ]`, false},
	{"shared network threshold 1.0", `"shared-networks": [ { "name": "a", "cache-threshold": 1.0, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ] } ]`, false},
	{"threshold as an integer", `"cache-threshold": 1`, false},
	{"max-age -1", `"cache-max-age": -1, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ]`, true},
	{"max-age 0", `"subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "cache-max-age": 0 } ]`, true},
	{"max-age as a float", `"cache-max-age": 5.0`, false},
	{"store-extended-info as a string", `"store-extended-info": "yes"`, false},
}

func cacheConfigText(body string) string {
	return `{"Dhcp4": {` + body + `, "lease-database": {"type": "memfile", "persist": false}}}`
}

func TestCacheParams(t *testing.T) {
	for _, tc := range cacheCases {
		_, _, err := Parse("c.json", []byte(cacheConfigText(tc.body)))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	c, _, err := Parse("c.json", []byte(cacheConfigText(`"cache-max-age": -1, "store-extended-info": true, "shared-networks": [ { "name": "a", "cache-threshold": 0.3,
		"subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" }, { "id": 2, "subnet": "198.51.100.0/24", "cache-threshold": 0.7, "store-extended-info": false } ] } ]`)))
	if err != nil {
		t.Fatal(err)
	}
	r1, r2 := c.Dhcp4.Resolve(c.Dhcp4.AllSubnets()[0]), c.Dhcp4.Resolve(c.Dhcp4.AllSubnets()[1])
	if *r1.CacheThreshold != 0.3 || *r2.CacheThreshold != 0.7 || *r1.CacheMaxAge != 0xffffffff || !*r1.StoreExtendedInfo || *r2.StoreExtendedInfo {
		t.Errorf("resolved %v/%v/%v %v/%v", *r1.CacheThreshold, *r1.CacheMaxAge, *r1.StoreExtendedInfo, *r2.CacheThreshold, *r2.StoreExtendedInfo)
	}
	if d := c.Dhcp4.Resolve(&Subnet4{}); d.CacheThreshold != nil || !*d.StoreExtendedInfo {
		t.Errorf("a bare subnet resolves %v %v", d.CacheThreshold, *d.StoreExtendedInfo)
	}
}

func TestCacheParamsSameVerdictAsKea(t *testing.T) {
	kea := testenv.RequireCommand(t, "kea-dhcp4")[0]
	for _, tc := range cacheCases {
		err := keatest.Check(kea, []byte(cacheConfigText(tc.body)))
		if (err == nil) != tc.ok {
			t.Errorf("%s: kea-dhcp4 -t: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// teeCases are t1-percent/t2-percent settings with kea-dhcp4 -t's verdict
// (observed on Kea 2.2.0; TestTeePercentsSameVerdictAsKea checks again):
// BaseNetworkParser::parseTeePercents checks them only in a shared network
// or subnet (globals are copied in) where calculate-tee-times is true.
var teeCases = []struct {
	name, body string
	ok         bool
}{
	{"global 1.5, no subnet", `"t1-percent": 1.5`, true},
	{"global 1.5, a subnet, no calculation", `"t1-percent": 1.5, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ]`, true},
	{"global 1.5, calculated", `"t1-percent": 1.5, "calculate-tee-times": true, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ]`, false},
	{"subnet 1.5, no calculation", `"subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "t1-percent": 1.5 } ]`, true},
	{"subnet 1.5, calculated there", `"subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "t1-percent": 1.5, "calculate-tee-times": true } ]`, false},
	{"subnet 1.5, calculated globally", `"calculate-tee-times": true, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "t1-percent": 1.5 } ]`, false},
	{"t1 above t2, no calculation", `"t1-percent": 0.9, "t2-percent": 0.5, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ]`, true},
	{"t1 above t2, calculated", `"t1-percent": 0.9, "t2-percent": 0.5, "calculate-tee-times": true, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ]`, false},
	{"t1 above the default t2", `"t1-percent": 0.9, "calculate-tee-times": true, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ]`, false},
	{"t1 above the default t2, no calculation", `"t1-percent": 0.9, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ]`, true},
	{"shared network t2 1.0, calculated", `"calculate-tee-times": true, "shared-networks": [ { "name": "a", "t2-percent": 1.0, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ] } ]`, false},
	{"subnet turns the calculation off", `"calculate-tee-times": true, "t2-percent": 1.0, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "calculate-tee-times": false } ]`, true},
}

func TestTeePercents(t *testing.T) {
	for _, tc := range teeCases {
		_, _, err := Parse("c.json", []byte(cacheConfigText(tc.body)))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestTeePercentsSameVerdictAsKea(t *testing.T) {
	kea := testenv.RequireCommand(t, "kea-dhcp4")[0]
	for _, tc := range teeCases {
		err := keatest.Check(kea, []byte(cacheConfigText(tc.body)))
		if (err == nil) != tc.ok {
			t.Errorf("%s: kea-dhcp4 -t: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
