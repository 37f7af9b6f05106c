package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestLintHAPoolsSeed: the seed configuration splits every pool between
// the servers (classes "<x> and member('HA_server<n>')"): no warning.
func TestLintHAPoolsSeed(t *testing.T) {
	c, _, err := Load(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	if w := LintHAPools(c); len(w) != 0 {
		t.Fatalf("seed: %d warnings: %v", len(w), w)
	}
}

// TestLintHAPools (issue 10 item 4): in load-balancing mode, every pool
// both servers may allocate from warns at its position; the conservative
// rule accepts only HA_<server> and a class whose test is a top-level
// "and" with member('HA_<server>') as a conjunct.
func TestLintHAPools(t *testing.T) {
	doc := func(mode, test, poolClass string) string {
		cls := ""
		if test != "" {
			cls = fmt.Sprintf(`"client-classes": [ { "name": "c", "test": %q } ], `, test)
		}
		pc := ""
		if poolClass != "" {
			pc = fmt.Sprintf(`, "client-class": %q`, poolClass)
		}
		role2 := "secondary"
		if mode == "hot-standby" {
			role2 = "standby"
		}
		return wrap(cls + `"hooks-libraries": [ { "library": "libdhcp_ha.so", "parameters": { "high-availability": [ { "this-server-name": "server1", "mode": "` + mode + `", ` +
			`"peers": [ { "name": "server1", "url": "http://192.0.2.1:8000/", "role": "primary" }, { "name": "server2", "url": "http://192.0.2.2:8000/", "role": "` + role2 + `" } ] } ] } } ], ` +
			`"subnet4": [ { "id": 7, "subnet": "192.0.2.0/24", "pools": [
			{ "pool": "192.0.2.10 - 192.0.2.20"` + pc + ` } ] } ]`)
	}
	for _, tt := range []struct {
		name, mode, test, poolClass string
		warn                        bool
	}{
		{name: "no class", mode: "load-balancing", warn: true},
		{name: "HA_server1", mode: "load-balancing", poolClass: "HA_server1"},
		{name: "HA_server2", mode: "load-balancing", poolClass: "HA_server2"},
		{name: "HA_ of no server", mode: "load-balancing", poolClass: "HA_server3", warn: true},
		{name: "and member", mode: "load-balancing", test: "member('x') and member('HA_server2')", poolClass: "c"},
		{name: "member first, spaced", mode: "load-balancing", test: "member( 'HA_server1' )  and  option[60].text == 'a and b'", poolClass: "c"},
		{name: "parenthesised or inside and", mode: "load-balancing", test: "(member('a') or member('b')) and member('HA_server1')", poolClass: "c"},
		{name: "whole test in parentheses", mode: "load-balancing", test: "(member('a') and member('HA_server1'))", poolClass: "c"},
		{name: "or at the top", mode: "load-balancing", test: "member('a') or member('b') and member('HA_server1')", poolClass: "c", warn: true},
		{name: "or of member", mode: "load-balancing", test: "member('HA_server1') or member('HA_server2')", poolClass: "c", warn: true},
		{name: "not member", mode: "load-balancing", test: "not member('HA_server1')", poolClass: "c", warn: true},
		{name: "member in a string", mode: "load-balancing", test: "option[60].text == 'x' and option[61].text == 'member(''HA_server1'')'", poolClass: "c", warn: true},
		{name: "other class", mode: "load-balancing", test: "member('x')", poolClass: "c", warn: true},
		{name: "hot-standby: no lint", mode: "hot-standby"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse("t.json", []byte(doc(tt.mode, tt.test, tt.poolClass)))
			if err != nil {
				t.Fatal(err)
			}
			w := LintHAPools(c)
			if got := len(w) > 0; got != tt.warn {
				t.Fatalf("warnings %v, want warn=%v", w, tt.warn)
			}
			if !tt.warn {
				return
			}
			if len(w) != 1 || w[0].Pos.File != "t.json" || w[0].Pos.Line != 2 || w[0].Pos.Col == 0 {
				t.Fatalf("want one warning at the pool (t.json:2:n), got %+v", w)
			}
			if !strings.Contains(w[0].Msg, "pool 192.0.2.10 - 192.0.2.20 of subnet 7") || !strings.Contains(w[0].Msg, "HA_server1 / HA_server2") {
				t.Fatalf("message %q", w[0].Msg)
			}
		})
	}
}
