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
