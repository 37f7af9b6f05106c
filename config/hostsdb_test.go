package config

import (
	"strings"
	"testing"
)

// TestHostsDatabases: Kea 2.2's parameters and defaults
// (src/lib/database/dbaccess_parser.cc DbAccessParser::parse;
// docs/kea/hosts-db.md §1), hosts-database before hosts-databases.
func TestHostsDatabases(t *testing.T) {
	cfg, warns, err := Parse("t.json", []byte(wrap(`
  "hosts-database": { "type": "postgresql", "name": "kea", "user": "u", "password": "p", "readonly": true },
  "hosts-databases": [
    { "type": "postgresql", "name": "inv", "host": "/run/pg", "port": 6543, "connect-timeout": 9,
      "max-reconnect-tries": 3, "reconnect-wait-time": 500, "on-fail": "serve-retry-continue" },
    { "type": "mysql", "name": "m" } ]`)))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Msg, "type 'mysql' is not implemented") {
		t.Errorf("warnings %v, want one for mysql", warns)
	}
	h := cfg.Dhcp4.HostsDatabases
	if len(h) != 3 {
		t.Fatalf("got %d hosts databases", len(h))
	}
	a, b := h[0], h[1]
	if a.Name != "kea" || a.Host != "localhost" || a.Port != 5432 || a.ConnectTimeout != 5 || a.MaxReconnectTries != 0 ||
		a.ReconnectWaitTime != 0 || a.OnFail != "stop-retry-exit" || !a.ReadOnly || a.User != "u" || a.Password != "p" {
		t.Errorf("hosts-database = %+v", a)
	}
	if b.Name != "inv" || b.Host != "/run/pg" || b.Port != 6543 || b.ConnectTimeout != 9 || b.MaxReconnectTries != 3 ||
		b.ReconnectWaitTime != 500 || b.OnFail != "serve-retry-continue" || b.ReadOnly {
		t.Errorf("hosts-databases[0] = %+v", b)
	}
	if h[2].Type != "mysql" {
		t.Errorf("hosts-databases[1] = %+v", h[2])
	}

	for _, tt := range []struct{ body, want string }{
		{`"hosts-database": { "name": "kea" }`, "must include the keyword 'type'"},
		{`"hosts-database": { "type": "memfile", "name": "kea" }`, "unknown backend database type: memfile"},
		{`"hosts-database": { "type": "postgresql" }`, "missing 'name'"},
		{`"hosts-database": { "type": "postgresql", "name": "k", "on-fail": "never" }`, "unsupported value 'never' for on-fail"},
		{`"hosts-database": { "type": "postgresql", "name": "k", "port": 70000 }`, "out of range"},
		{`"hosts-database": { "type": "postgresql", "name": "k", "max-reconnect-tries": -1 }`, "out of range"},
		{`"hosts-database": { "type": "postgresql", "name": "k", "lfc-interval": 1 }`, "lfc-interval"},
	} {
		_, _, err := Parse("t.json", []byte(wrap(tt.body)))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.body, err, tt.want)
		}
	}
}
