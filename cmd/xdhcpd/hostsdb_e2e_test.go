package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/internal/keatest"
	"github.com/xdhcp/xdhcp/internal/pgtest"
	"github.com/xdhcp/xdhcp/internal/testenv"
)

// The hosts-database tests run real kea-dhcp4 and xdhcpd, one after the
// other, on the same throw-away PostgreSQL database (Kea 2.2's schema from
// kea-admin), with reservations inserted by SQL the way an operator does
// (docs/kea/hosts-db.md §6), and compare what each server answers.

const (
	hdbServer = "198.18.0.1"
	hdbRelay  = "198.18.0.2"
)

// hdbSQL inserts the database reservations (subnet 1 = 198.18.0.0/24).
const hdbSQL = `
-- A: by hw-address, with everything a DHCPv4 host row carries.
INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname,
                   dhcp4_client_classes, dhcp4_next_server, dhcp4_server_hostname, dhcp4_boot_file_name)
VALUES (DECODE(REPLACE('02:00:5e:00:00:0a', ':', ''), 'hex'),
        (SELECT type FROM host_identifier_type WHERE name = 'hw-address'), 1,
        (SELECT ('198.18.0.10'::inet - '0.0.0.0'::inet)), 'host-a', 'gold',
        (SELECT ('198.18.0.9'::inet - '0.0.0.0'::inet)), 'tftp-a', 'boot-a.pxe');
INSERT INTO dhcp4_options (code, formatted_value, space, host_id, scope_id)
VALUES (6, '198.18.0.53, 198.18.0.54', 'dhcp4', currval('hosts_host_id_seq'),
        (SELECT scope_id FROM dhcp_option_scope WHERE scope_name = 'host'));
INSERT INTO dhcp4_options (code, value, persistent, host_id, scope_id)
VALUES (19, '\x01'::bytea, true, currval('hosts_host_id_seq'),
        (SELECT scope_id FROM dhcp_option_scope WHERE scope_name = 'host'));
-- B: by client-id.
INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname)
VALUES (DECODE('01020000000b0b', 'hex'),
        (SELECT type FROM host_identifier_type WHERE name = 'client-id'), 1,
        (SELECT ('198.18.0.11'::inet - '0.0.0.0'::inet)), 'host-b');
-- C: by circuit-id (relay agent option 82, sub-option 1).
INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address)
VALUES ('port-c'::bytea, (SELECT type FROM host_identifier_type WHERE name = 'circuit-id'), 1,
        (SELECT ('198.18.0.12'::inet - '0.0.0.0'::inet)));
-- D: also reserved in the configuration (198.18.0.20), which wins.
INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname)
VALUES (DECODE('02005e00000d', 'hex'), 0, 1, (SELECT ('198.18.0.21'::inet - '0.0.0.0'::inet)), 'db-d');
-- E: the first pool address, reserved for a client that never asks.
INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address)
VALUES (DECODE('02005e00000e', 'hex'), 0, 1, (SELECT ('198.18.0.100'::inet - '0.0.0.0'::inet)));
-- G: a global reservation (subnet id 0), hostname only.
INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, hostname)
VALUES (DECODE('02005e000010', 'hex'), 0, 0, 'global-g');
`

func hdbConfig(dir string, db map[string]any, leasesInDB bool) string {
	dbj, _ := json.Marshal(db)
	leases := fmt.Sprintf(`{ "type": "memfile", "name": %q, "lfc-interval": 0 }`, filepath.Join(dir, "leases4.csv"))
	if leasesInDB {
		leases = string(dbj) // the same database: Kea's lease4 beside hosts
	}
	return fmt.Sprintf(`{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "xd0" ], "dhcp-socket-type": "udp" },
  "control-socket": { "socket-type": "unix", "socket-name": %q },
  "lease-database": %s,
  "hosts-database": %s,
  "valid-lifetime": 600,
  "reservations-global": true,
  "reservations-in-subnet": true,
  "client-classes": [ { "name": "gold", "option-data": [ { "name": "domain-name", "data": "gold.example" } ] } ],
  "option-data": [ { "name": "domain-name-servers", "data": "198.18.0.1" } ],
  "subnet4": [ {
    "id": 1, "subnet": "198.18.0.0/24",
    "pools": [ { "pool": "198.18.0.100 - 198.18.0.150" } ],
    "option-data": [ { "name": "routers", "data": "198.18.0.1" } ],
    "reservations": [ { "hw-address": "02:00:5e:00:00:0d", "ip-address": "198.18.0.20", "hostname": "cfg-d" } ]
  } ],
  "loggers": [ { "name": "kea-dhcp4", "severity": "INFO", "output_options": [ { "output": %q } ] } ]
} }`, filepath.Join(dir, "ctrl.sock"), leases, dbj, filepath.Join(dir, "server.log"))
}

type hdbRun struct {
	t    *testing.T
	name string
	conn *net.UDPConn
}

// startHDB starts kea-dhcp4 or xdhcpd in a namespace of its own with
// hdbConfig, a relay socket in another.
func startHDB(t *testing.T, kea bool, db *pgtest.Cluster, leasesInDB bool) *hdbRun {
	t.Helper()
	srvNS, cliNS := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srvNS, "xd0", hdbServer+"/24", cliNS, "xc0", hdbRelay+"/24")
	dir := shortDir(t)
	cfgPath := filepath.Join(dir, "server.json")
	if err := os.WriteFile(cfgPath, []byte(hdbConfig(dir, db.KeaConfig(), leasesInDB)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &hdbRun{t: t}
	if err := cliNS.Do(func() (err error) {
		r.conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(hdbRelay), Port: 67})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.conn.Close() })
	sock := filepath.Join(dir, "ctrl.sock")
	if kea {
		r.name = "kea-dhcp4"
		bin := requireKea(t)
		k, err := keatest.Start(keatest.Options{Bin: bin, Dir: dir, ConfigPath: cfgPath, Socket: sock, Netns: srvNS.Name})
		if err != nil {
			l, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			o, _ := os.ReadFile(filepath.Join(dir, "kea.out"))
			t.Fatalf("%v\n%s\n%s", err, tail(l, 4096), tail(o, 2048))
		}
		t.Cleanup(func() {
			if t.Failed() {
				l, _ := os.ReadFile(filepath.Join(dir, "server.log"))
				t.Logf("kea-dhcp4 log:\n%s", tail(l, 4096))
			}
			_ = k.Stop(10 * time.Second)
		})
	} else {
		r.name = "xdhcpd"
		startXdhcpd(t, srvNS, cfgPath, sock)
	}
	return r
}

// exchange relays m and returns the reply with m's xid (nil after 3 s).
func (r *hdbRun) exchange(m *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	r.t.Helper()
	m.GatewayIPAddr = net.ParseIP(hdbRelay).To4()
	m.HopCount = 1
	if _, err := r.conn.WriteToUDP(m.ToBytes(), &net.UDPAddr{IP: net.ParseIP(hdbServer), Port: 67}); err != nil {
		r.t.Fatal(err)
	}
	buf := make([]byte, 1500)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		r.conn.SetReadDeadline(deadline)
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return nil
		}
		rep, err := dhcpv4.FromBytes(buf[:n])
		if err == nil && rep.TransactionID == m.TransactionID {
			return rep
		}
	}
	return nil
}

// hdbClient is one client of the script.
type hdbClient struct {
	name    string
	hw      net.HardwareAddr
	cid     []byte // option 61, nil: none
	circuit string // option 82.1, "": none
}

func hdbMsg(t *testing.T, c hdbClient, mt dhcpv4.MessageType, xid byte, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	all := append([]dhcpv4.Modifier{dhcpv4.WithMessageType(mt), dhcpv4.WithHwAddr(c.hw),
		dhcpv4.WithTransactionID(dhcpv4.TransactionID{0x4b, c.hw[5], xid, 0x01}),
		dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer,
			dhcpv4.OptionHostName, dhcpv4.OptionDomainName)}, mods...)
	if c.cid != nil {
		all = append(all, dhcpv4.WithOption(dhcpv4.OptClientIdentifier(c.cid)))
	}
	if c.circuit != "" {
		sub := append([]byte{1, byte(len(c.circuit))}, c.circuit...)
		all = append(all, dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.OptionRelayAgentInformation, sub)))
	}
	m, err := dhcpv4.New(all...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// summary is what the comparison looks at in a reply: type, addresses,
// the BOOTP fields a host row sets, and every option (lease times are the
// configuration's, so equal too).
func summary(m *dhcpv4.DHCPv4) string {
	if m == nil {
		return "no reply"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s yiaddr=%s siaddr=%s sname=%q file=%q", m.MessageType(), m.YourIPAddr, m.ServerIPAddr, m.ServerHostName, m.BootFileName)
	var codes []int
	for c := range m.Options {
		codes = append(codes, int(c))
	}
	sort.Ints(codes)
	for _, c := range codes {
		if c == int(dhcpv4.OptionRelayAgentInformation.Code()) {
			continue // echoed relay information is not under test
		}
		fmt.Fprintf(&b, " %d=%x", c, m.Options[uint8(c)])
	}
	return b.String()
}

var hdbClients = []hdbClient{
	{name: "A hw-address", hw: net.HardwareAddr{2, 0, 0x5e, 0, 0, 0x0a}},
	{name: "B client-id", hw: net.HardwareAddr{2, 0, 0x5e, 0, 0, 0x0b}, cid: []byte{1, 2, 0, 0, 0, 0x0b, 0x0b}},
	{name: "C circuit-id", hw: net.HardwareAddr{2, 0, 0x5e, 0, 0, 0x0c}, circuit: "port-c"},
	{name: "D config beats database", hw: net.HardwareAddr{2, 0, 0x5e, 0, 0, 0x0d}},
	{name: "F not reserved", hw: net.HardwareAddr{2, 0, 0x5e, 0, 0, 0x0f}},
	{name: "G global", hw: net.HardwareAddr{2, 0, 0x5e, 0, 0, 0x10}},
}

// runHDBScript is DISCOVER/REQUEST for each client, then a database
// change (A's hostname and address) and A again: the next query sees it.
func runHDBScript(t *testing.T, r *hdbRun, db *pgtest.Cluster) []string {
	var out []string
	dora := func(c hdbClient, round byte) {
		off := r.exchange(hdbMsg(t, c, dhcpv4.MessageTypeDiscover, round))
		out = append(out, fmt.Sprintf("%s OFFER: %s", c.name, summary(off)))
		if off == nil {
			return
		}
		ack := r.exchange(hdbMsg(t, c, dhcpv4.MessageTypeRequest, round+1,
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(off.YourIPAddr)),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP(hdbServer)))))
		out = append(out, fmt.Sprintf("%s ACK: %s", c.name, summary(ack)))
	}
	for _, c := range hdbClients {
		dora(c, 1)
	}
	db.Exec(t, `UPDATE hosts SET hostname = 'host-a2', ipv4_address = ('198.18.0.30'::inet - '0.0.0.0'::inet)
	            WHERE hostname = 'host-a'`)
	dora(hdbClients[0], 3)
	db.Exec(t, `UPDATE hosts SET hostname = 'host-a', ipv4_address = ('198.18.0.10'::inet - '0.0.0.0'::inet)
	            WHERE hostname = 'host-a2'`)
	return out
}

// TestHostsDatabaseSameAsKea: the same SQL-inserted reservations give the
// same OFFER and ACK from real kea-dhcp4 and from xdhcpd on the same
// database: hw-address, client-id and circuit-id hosts with address,
// hostname, client class, next-server/server-hostname/boot-file-name and
// dhcp4_options (formatted and binary, persistent), a configuration
// reservation winning over the database's, a database-reserved pool
// address skipped for another client (Kea's addressReserved), a global
// (subnet id 0) host, and a row changed between two queries.
func TestHostsDatabaseSameAsKea(t *testing.T) {
	testenv.RequireRoot(t)
	requireKea(t)
	for _, leasesInDB := range []bool{false, true} {
		name := "leases in memfile"
		if leasesInDB {
			name = "leases in the same database"
		}
		t.Run(name, func(t *testing.T) { hostsSameAsKea(t, leasesInDB) })
	}
}

// hostsSameAsKea is TestHostsDatabaseSameAsKea with the lease database in
// a memfile of each server's or in the hosts' database (lease4 emptied
// between the servers, so each starts from the same state).
func hostsSameAsKea(t *testing.T, leasesInDB bool) {
	db := pgtest.Start(t)
	db.Exec(t, hdbSQL)

	var got [2][]string
	for i, kea := range []bool{true, false} {
		if leasesInDB {
			db.Exec(t, "DELETE FROM lease4")
		}
		ok := t.Run(map[bool]string{true: "kea-dhcp4", false: "xdhcpd"}[kea], func(t *testing.T) {
			r := startHDB(t, kea, db, leasesInDB)
			got[i] = runHDBScript(t, r, db)
			for _, l := range got[i] {
				t.Log(l)
			}
			if leasesInDB {
				// The leases went to lease4, beside the hosts.
				if n := db.Query(t, "SELECT count(*) FROM lease4"); n != "6" {
					t.Errorf("lease4 holds %s leases, want 6, one per client (A keeps one row after its reserved address moved)", n)
				}
			}
		})
		if !ok {
			return
		}
	}
	kea, xd := got[0], got[1]
	if len(kea) != len(xd) {
		t.Fatalf("kea %d lines, xdhcpd %d", len(kea), len(xd))
	}
	for i := range kea {
		if kea[i] != xd[i] {
			t.Errorf("differs:\n  kea:    %s\n  xdhcpd: %s", kea[i], xd[i])
		}
	}
	// The script's facts, independent of the comparison (Kea must show
	// them too, or the test would prove nothing).
	want := []string{
		"A hw-address ACK: ACK yiaddr=198.18.0.10 siaddr=198.18.0.9 sname=\"tftp-a\" file=\"boot-a.pxe\"",
		"B client-id ACK: ACK yiaddr=198.18.0.11",
		"C circuit-id ACK: ACK yiaddr=198.18.0.12",
		"D config beats database ACK: ACK yiaddr=198.18.0.20",
		"A hw-address ACK: ACK yiaddr=198.18.0.30",
	}
	for _, w := range want {
		found := false
		for _, l := range xd {
			found = found || strings.HasPrefix(l, w)
		}
		if !found {
			t.Errorf("xdhcpd: no line starting %q", w)
		}
	}
	for _, l := range xd {
		if strings.Contains(l, "yiaddr=198.18.0.100 ") {
			t.Errorf("198.18.0.100 is reserved for E in the database but was handed out: %s", l)
		}
	}
	for _, sub := range []struct{ line, host string }{{"A hw-address ACK", "host-a"}, {"G global ACK", "global-g"}} {
		found := false
		for _, l := range xd {
			found = found || (strings.HasPrefix(l, sub.line) && strings.Contains(l, fmt.Sprintf(" 12=%x", sub.host)))
		}
		if !found {
			t.Errorf("xdhcpd: %s without hostname %q", sub.line, sub.host)
		}
	}
}

// TestHostsDatabaseUnreachable: with the database down, kea-dhcp4 and
// xdhcpd both refuse to start, xdhcpd saying why (docs/kea/hosts-db.md §2).
func TestHostsDatabaseUnreachable(t *testing.T) {
	testenv.RequireRoot(t)
	bin := requireKea(t)
	db := pgtest.Start(t)
	if err := db.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, server := range []string{bin, xdhcpdBin} {
		dir := shortDir(t)
		cfgPath := filepath.Join(dir, "server.json")
		// No namespace needed: the server exits before it opens sockets.
		cfg := strings.Replace(hdbConfig(dir, db.KeaConfig(), false), `"interfaces": [ "xd0" ]`, `"interfaces": [ ]`, 1)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(server, "-c", cfgPath)
		cmd.Env = append(os.Environ(), "KEA_PIDFILE_DIR="+dir, "KEA_LOCKFILE_DIR="+dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s exited 0 with the hosts database down", filepath.Base(server))
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("%s still running 30 s after start with the hosts database down", filepath.Base(server))
		}
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		all := out.String() + string(log)
		var errs []string
		for _, l := range strings.Split(all, "\n") {
			if strings.Contains(l, "ERROR") || strings.Contains(l, "FATAL") || strings.Contains(l, "unable to open") {
				errs = append(errs, l)
			}
		}
		t.Logf("%s:\n%s", filepath.Base(server), strings.Join(errs, "\n"))
		if !strings.Contains(all, "nable to open database") {
			t.Errorf("%s's error does not say the database cannot be opened:\n%s", filepath.Base(server), tail([]byte(all), 2048))
		}
	}
}

// TestHostsDatabaseLost: the hosts database goes away while the server
// runs, with Kea's defaults (max-reconnect-tries 0, on-fail
// stop-retry-exit): the next lookup finds it gone and the server shuts
// down with a non-zero status, kea-dhcp4 and xdhcpd alike
// (docs/kea/hosts-db.md §7).
func TestHostsDatabaseLost(t *testing.T) {
	testenv.RequireRoot(t)
	keaBin := requireKea(t)
	db := pgtest.Start(t)
	db.Exec(t, hdbSQL)
	for _, bin := range []string{keaBin, xdhcpdBin} {
		name := filepath.Base(bin)
		t.Run(name, func(t *testing.T) {
			srvNS, cliNS := testenv.NewNetns(t), testenv.NewNetns(t)
			testenv.Veth(t, srvNS, "xd0", hdbServer+"/24", cliNS, "xc0", hdbRelay+"/24")
			dir := shortDir(t)
			cfgPath := filepath.Join(dir, "server.json")
			if err := os.WriteFile(cfgPath, []byte(hdbConfig(dir, db.KeaConfig(), false)), 0o644); err != nil {
				t.Fatal(err)
			}
			r := &hdbRun{t: t, name: name}
			if err := cliNS.Do(func() (err error) {
				r.conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(hdbRelay), Port: 67})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer r.conn.Close()
			k, err := keatest.Start(keatest.Options{Bin: bin, Dir: dir, ConfigPath: cfgPath, Socket: filepath.Join(dir, "ctrl.sock"), Netns: srvNS.Name})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Stop(10 * time.Second)
			if off := r.exchange(hdbMsg(t, hdbClients[0], dhcpv4.MessageTypeDiscover, 1)); off == nil {
				t.Fatalf("%s: no OFFER with the database up", name)
			}
			if err := db.Stop(); err != nil {
				t.Fatal(err)
			}
			defer db.Restart(t)
			// Each DISCOVER makes a lookup; the first to fail starts the
			// shutdown. Bounded: at most 10 tries.
			for i := 0; i < 10 && !k.Exited(); i++ {
				if rep := r.exchange(hdbMsg(t, hdbClients[0], dhcpv4.MessageTypeDiscover, byte(2+i))); rep != nil {
					t.Errorf("%s answered %s with the hosts database down", name, rep.MessageType())
				}
			}
			code, err := k.Wait(20 * time.Second)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			l, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			o, _ := os.ReadFile(filepath.Join(dir, "kea.out"))
			var lines []string
			for _, s := range strings.Split(string(l)+string(o), "\n") {
				if strings.Contains(s, "RECONNECT") || strings.Contains(s, "shutting down") || strings.Contains(s, "ERROR") || strings.Contains(s, `"error"`) {
					lines = append(lines, s)
				}
			}
			t.Logf("%s exited %d:\n%s", name, code, strings.Join(lines, "\n"))
			if code == 0 {
				t.Errorf("%s exited 0 after losing its hosts database with reconnection off", name)
			}
		})
	}
}
