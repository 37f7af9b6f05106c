package hostdb

import (
	"context"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/internal/pgtest"
)

// addHostSQL is the row an operator inserts for a reservation, in the form
// docs/kea/hosts-db.md §6 quotes (Kea 2.2 has no open-source command).
const addHostSQL = `
INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname,
                   dhcp4_client_classes, dhcp4_next_server, dhcp4_server_hostname, dhcp4_boot_file_name)
VALUES (DECODE(REPLACE('1a:1b:1c:1d:1e:1f', ':', ''), 'hex'),
        (SELECT type FROM host_identifier_type WHERE name = 'hw-address'),
        1, (SELECT ('192.0.2.100'::inet - '0.0.0.0'::inet)), 'myhost',
        'gold, voip', (SELECT ('192.0.2.9'::inet - '0.0.0.0'::inet)), 'tftp.example', 'pxe.0');
INSERT INTO dhcp4_options (code, formatted_value, space, host_id, scope_id)
VALUES (6, '192.0.2.53,192.0.2.54', 'dhcp4', currval('hosts_host_id_seq'),
        (SELECT scope_id FROM dhcp_option_scope WHERE scope_name = 'host'));
INSERT INTO dhcp4_options (code, value, persistent, host_id, scope_id)
VALUES (15, 'example.org'::bytea, true, currval('hosts_host_id_seq'),
        (SELECT scope_id FROM dhcp_option_scope WHERE scope_name = 'host'));
INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, hostname)
VALUES (DECODE('01aabbccddeeff', 'hex'),
        (SELECT type FROM host_identifier_type WHERE name = 'client-id'), 0, 'global-host');
INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address)
VALUES ('relay-port-7'::bytea,
        (SELECT type FROM host_identifier_type WHERE name = 'circuit-id'), 1,
        (SELECT ('192.0.2.101'::inet - '0.0.0.0'::inet)));
`

func dbConfig(c *pgtest.Cluster) *config.HostsDatabase {
	return &config.HostsDatabase{Type: "postgresql", Name: c.DBName, Host: c.Host, Port: c.Port,
		User: c.User, Password: c.Password, ConnectTimeout: 5, OnFail: "stop-retry-exit"}
}

func stdDefs(t *testing.T) *config.OptionDefs {
	t.Helper()
	cfg, _, err := config.Parse("t.json", []byte(`{"Dhcp4": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Dhcp4.Defs
}

// TestGet4KeaRows reads reservations inserted as an operator does and
// checks every column Kea's PgSqlHostExchange / PgSqlOptionExchange read
// (pgsql_host_data_source.cc) arrives as Kea interprets it.
func TestGet4KeaRows(t *testing.T) {
	c := pgtest.Start(t)
	c.Exec(t, addHostSQL)
	ctx := context.Background()
	p, err := Open(ctx, dbConfig(c), stdDefs(t), 2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	hw := []byte{0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f}
	cid := []byte{1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	got, err := p.Get4(ctx, []uint32{1, 0}, map[string][]byte{
		config.IDHWAddress: hw, config.IDClientID: cid, config.IDCircuitID: []byte("relay-port-7")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d hosts, want 3: %+v", len(got), got)
	}
	by := map[string]config.SubnetReservation{}
	for _, g := range got {
		by[g.Reservation.IdentifierType] = g
	}
	h := by[config.IDHWAddress]
	r := h.Reservation
	if h.SubnetID != 1 || !reflect.DeepEqual(r.Identifier, hw) || r.IPAddress != netip.MustParseAddr("192.0.2.100") ||
		r.Hostname != "myhost" || !reflect.DeepEqual(r.ClientClasses, []string{"gold", "voip"}) ||
		r.NextServer == nil || *r.NextServer != netip.MustParseAddr("192.0.2.9") ||
		r.ServerHostname == nil || *r.ServerHostname != "tftp.example" || r.BootFileName == nil || *r.BootFileName != "pxe.0" {
		t.Errorf("hw-address host = %+v (subnet %d)", r, h.SubnetID)
	}
	if len(r.OptionData) != 2 {
		t.Fatalf("options = %+v", r.OptionData)
	}
	if o := r.OptionData[0]; o.Code != 6 || !reflect.DeepEqual(o.Wire, []byte{192, 0, 2, 53, 192, 0, 2, 54}) || o.AlwaysSend || o.Space != "dhcp4" {
		t.Errorf("option 6 (formatted) = %+v", o)
	}
	if o := r.OptionData[1]; o.Code != 15 || string(o.Wire) != "example.org" || !o.AlwaysSend {
		t.Errorf("option 15 (binary, persistent) = %+v", o)
	}
	if g := by[config.IDClientID]; g.SubnetID != 0 || g.Reservation.Hostname != "global-host" || g.Reservation.IPAddress.IsValid() {
		t.Errorf("global client-id host = %+v (subnet %d)", g.Reservation, g.SubnetID)
	}
	if g := by[config.IDCircuitID]; g.SubnetID != 1 || g.Reservation.IPAddress != netip.MustParseAddr("192.0.2.101") {
		t.Errorf("circuit-id host = %+v", g.Reservation)
	}

	// Only the asked subnets: subnet 2 has none of them.
	if got, err := p.Get4(ctx, []uint32{2}, map[string][]byte{config.IDHWAddress: hw}); err != nil || len(got) != 0 {
		t.Errorf("subnet 2: %+v %v", got, err)
	}
	// By address (GET_HOST_SUBID_ADDR).
	if r, err := p.GetAll4ByAddr(ctx, 1, netip.MustParseAddr("192.0.2.100")); err != nil || len(r) != 1 || !reflect.DeepEqual(r[0].Identifier, hw) {
		t.Errorf("GetAll4ByAddr(1, .100) = %+v, %v", r, err)
	}
	if r, err := p.GetAll4ByAddr(ctx, 2, netip.MustParseAddr("192.0.2.100")); err != nil || len(r) != 0 {
		t.Errorf("GetAll4ByAddr(2, .100) = %+v, %v", r, err)
	}

	// No cache: a change is seen by the next lookup.
	c.Exec(t, `UPDATE hosts SET hostname = 'renamed' WHERE hostname = 'myhost'`)
	got, err = p.Get4(ctx, []uint32{1}, map[string][]byte{config.IDHWAddress: hw})
	if err != nil || len(got) != 1 || got[0].Reservation.Hostname != "renamed" {
		t.Errorf("after UPDATE: %+v %v", got, err)
	}
	c.Exec(t, `DELETE FROM hosts WHERE hostname = 'renamed'`)
	if got, err = p.Get4(ctx, []uint32{1}, map[string][]byte{config.IDHWAddress: hw}); err != nil || len(got) != 0 {
		t.Errorf("after DELETE: %+v %v", got, err)
	}
}

// TestOpenErrors: an unreachable database and a foreign schema version
// stop the start with Kea's words (docs/kea/hosts-db.md §2).
func TestOpenErrors(t *testing.T) {
	c := pgtest.Start(t)
	ctx := context.Background()

	bad := dbConfig(c)
	bad.Password = "wrong"
	if _, err := Open(ctx, bad, nil, 1, Options{}); err == nil || !strings.Contains(err.Error(), "unable to open database") {
		t.Errorf("wrong password: %v", err)
	}
	c.SuperExec(t, `UPDATE schema_version SET version = 12, minor = 0`)
	if _, err := Open(ctx, dbConfig(c), nil, 1, Options{}); err == nil || !strings.Contains(err.Error(), "schema version mismatch: need version: 13.0 found version: 12.0") {
		t.Errorf("schema 12.0: %v", err)
	}
	c.SuperExec(t, `UPDATE schema_version SET version = 13, minor = 0`)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := Open(ctx, dbConfig(c), nil, 1, Options{}); err == nil || !strings.Contains(err.Error(), "unable to open database") {
		t.Errorf("stopped server: %v", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("Open on a stopped server took %v", d)
	}
}

// TestReadOnly: readonly sessions cannot write (the backend never does);
// without it they can.
func TestReadOnly(t *testing.T) {
	c := pgtest.Start(t)
	ctx := context.Background()
	for _, ro := range []bool{true, false} {
		db := dbConfig(c)
		db.ReadOnly = ro
		p, err := Open(ctx, db, nil, 1, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.pool.Exec(ctx, `INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id) VALUES ('\x01'::bytea, 0, 9)`)
		p.Close()
		if ro && (err == nil || !strings.Contains(err.Error(), "read-only transaction")) {
			t.Errorf("readonly: write error %v, want a read-only transaction error", err)
		}
		if !ro && err != nil {
			t.Errorf("read-write: %v", err)
		}
	}
}
