package config

import (
	"strings"
	"testing"
)

// TestLeaseDatabasePostgreSQL: Kea 2.2's PostgreSQL keywords and defaults
// (docs/kea/lease-database.md §1).
func TestLeaseDatabasePostgreSQL(t *testing.T) {
	cfg, warns, err := Parse("t.json", []byte(`{"Dhcp4": {"lease-database": {
		"type": "postgresql", "name": "kea", "host": "/run/pg", "port": 5433,
		"user": "kea", "password": "secret", "connect-timeout": 3,
		"max-reconnect-tries": 4, "reconnect-wait-time": 500, "on-fail": "serve-retry-continue"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Fatalf("warnings %v", warns)
	}
	ld := cfg.Dhcp4.LeaseDatabase
	ld.Pos = Pos{}
	want := LeaseDatabase{Type: "postgresql", Name: "kea", Persist: true, LFCInterval: 3600, Host: "/run/pg", Port: 5433,
		User: "kea", Password: "secret", ConnectTimeout: 3, MaxReconnectTries: 4, ReconnectWaitTime: 500, OnFail: "serve-retry-continue"}
	if ld != want {
		t.Fatalf("got %+v\nwant %+v", ld, want)
	}

	cfg, _, err = Parse("t.json", []byte(`{"Dhcp4": {"lease-database": {"type": "postgresql", "name": "kea"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if ld := cfg.Dhcp4.LeaseDatabase; ld.Host != "localhost" || ld.ConnectTimeout != 5 || ld.OnFail != "stop-retry-exit" || ld.MaxReconnectTries != 0 {
		t.Fatalf("defaults %+v", ld)
	}
}

// TestLeaseDatabasePostgreSQLWarnings: what Kea 2.2's PostgreSQL lease
// manager ignores gets a warning; what kea-dhcp4 -t refuses is an error
// with its text (checked against kea-dhcp4 2.2.0 -t: readonly in
// lease-database is "got unexpected keyword", a bad on-fail a syntax
// error, TLS keys pass).
func TestLeaseDatabasePostgreSQLWarnings(t *testing.T) {
	_, warns, err := Parse("t.json", []byte(`{"Dhcp4": {"lease-database": {
		"type": "postgresql", "name": "kea", "trust-anchor": "/ca.pem", "cert-file": "/c.pem"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	all := ""
	for _, w := range warns {
		all += w.String() + "\n"
	}
	for _, want := range []string{"Attempt to configure TLS (unsupported for PostgreSQL): trust-anchor, cert-file"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	for _, c := range []struct{ body, want string }{
		{`{"type": "postgresql"}`, "must specify a name for the database"},
		{`{"type": "postgresql", "name": "k", "on-fail": "retry"}`, "expecting stop-retry-exit or serve-retry-exit or serve-retry-continue"},
		{`{"type": "postgresql", "name": "k", "port": 70000}`, "out of range"},
		{`{"type": "postgresql", "name": "k", "readonly": false}`, `got unexpected keyword "readonly" in lease-database map.`},
		{`{"type": "oracle"}`, "unknown backend database type: oracle"},
	} {
		_, _, err := Parse("t.json", []byte(`{"Dhcp4": {"lease-database": `+c.body+`}}`))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.body, err, c.want)
		}
	}
}
