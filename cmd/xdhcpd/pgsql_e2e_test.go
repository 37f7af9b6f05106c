package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
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

// pgServer is one DHCP server (xdhcpd or kea-dhcp4) on a PostgreSQL lease
// database, serving 198.19.0.0/16 (id 1) on xd0 (198.18.0.2) to a relay at
// 198.18.0.1 (a client namespace, see lab).
type pgServer struct {
	dir, cfgPath, sock string
}

// pgDHCPConfig writes the configuration both servers run with: the same
// text for kea-dhcp4 and xdhcpd (lease_cmds hook, lease-database
// postgresql on db). extra is appended to the Dhcp4 map.
func pgDHCPConfig(t *testing.T, name string, db *pgtest.Cluster, pool string, valid int, extra string) *pgServer {
	t.Helper()
	dir := shortDir(t)
	s := &pgServer{dir: dir, cfgPath: filepath.Join(dir, name+".json"), sock: filepath.Join(dir, "ctrl.sock")}
	ld, _ := json.Marshal(db.KeaConfig())
	cfg := fmt.Sprintf(`{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "xd0" ], "dhcp-socket-type": "udp" },
  "control-socket": { "socket-type": "unix", "socket-name": %q },
  "lease-database": %s,
  "multi-threading": { "enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 256 },
  "hooks-libraries": [ { "library": %q } ],
  "valid-lifetime": %d,
  "subnet4": [ {
      "id": 1, "subnet": "198.19.0.0/16",
      "pools": [ { "pool": %q } ],
      "relay": { "ip-addresses": [ "198.18.0.1" ] }
  } ],
  "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": %q } ], "severity": "INFO" } ]%s
} }
`, s.sock, ld, leaseCmdsHook, valid, pool, filepath.Join(dir, name+".log"), extra)
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// lab is a server namespace (xd0, 198.18.0.2) and a client namespace
// (xc0, 198.18.0.1, the relay address) joined by a veth pair.
func lab(t *testing.T) (srv, cli *testenv.Netns) {
	srv, cli = testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srv, "xd0", "198.18.0.2/24", cli, "xc0", "198.18.0.1/24")
	cli.Run(t, "ethtool", "-K", "xc0", "tx", "off")
	return srv, cli
}

func startPgKea(t *testing.T, ns *testenv.Netns, s *pgServer) *keatest.Kea {
	t.Helper()
	bin := requireKea(t)
	k, err := keatest.Start(keatest.Options{Bin: bin, Dir: s.dir, ConfigPath: s.cfgPath, Socket: s.sock, Netns: ns.Name})
	if err != nil {
		l, _ := os.ReadFile(filepath.Join(s.dir, "kea.log"))
		t.Fatalf("%v\n%s", err, tail(l, 4096))
	}
	t.Cleanup(func() { _ = k.Stop(10 * time.Second) })
	return k
}

// relayConn is a relay agent's socket at 198.18.0.1:67 in ns.
func relayConn(t *testing.T, ns *testenv.Netns) *net.UDPConn {
	t.Helper()
	var conn *net.UDPConn
	if err := ns.Do(func() (err error) {
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(198, 18, 0, 1), Port: 67})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// dora runs one relayed DISCOVER/REQUEST exchange for mac with the server
// at 198.18.0.2 (each step tried tries times, 2 s apart) and returns the
// ACKed address.
func dora(conn *net.UDPConn, mac net.HardwareAddr, tries int) (netip.Addr, error) {
	srv := &net.UDPAddr{IP: net.IPv4(198, 18, 0, 2), Port: 67}
	relay := net.IPv4(198, 18, 0, 1)
	exchange := func(req *dhcpv4.DHCPv4, want dhcpv4.MessageType) (*dhcpv4.DHCPv4, error) {
		for range tries {
			if _, err := conn.WriteToUDP(req.ToBytes(), srv); err != nil {
				return nil, err
			}
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 1500)
			for {
				n, _, err := conn.ReadFromUDP(buf)
				if err != nil {
					break // timeout: send again
				}
				r, err := dhcpv4.FromBytes(buf[:n])
				if err != nil || r.TransactionID != req.TransactionID {
					continue
				}
				if r.MessageType() != want {
					return r, fmt.Errorf("got %s, want %s", r.MessageType(), want)
				}
				return r, nil
			}
		}
		return nil, errors.New("no answer")
	}
	d, err := dhcpv4.NewDiscovery(mac, dhcpv4.WithRelay(relay), dhcpv4.WithBroadcast(false))
	if err != nil {
		return netip.Addr{}, err
	}
	offer, err := exchange(d, dhcpv4.MessageTypeOffer)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%s: DISCOVER: %w", mac, err)
	}
	req, err := dhcpv4.NewRequestFromOffer(offer, dhcpv4.WithRelay(relay), dhcpv4.WithBroadcast(false))
	if err != nil {
		return netip.Addr{}, err
	}
	ack, err := exchange(req, dhcpv4.MessageTypeAck)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%s: REQUEST %v: %w", mac, offer.YourIPAddr, err)
	}
	a, _ := netip.AddrFromSlice(ack.YourIPAddr.To4())
	return a, nil
}

// relayDORA runs dora for each MAC from a relay socket in ns and returns
// the ACKed addresses; a failed exchange fails the test.
func relayDORA(t *testing.T, ns *testenv.Netns, macs []net.HardwareAddr) map[string]netip.Addr {
	t.Helper()
	conn := relayConn(t, ns)
	defer conn.Close()
	out := map[string]netip.Addr{}
	for _, mac := range macs {
		a, err := dora(conn, mac, 3)
		if err != nil {
			t.Fatal(err)
		}
		out[mac.String()] = a
	}
	return out
}

func macsFrom(base byte, n int) []net.HardwareAddr {
	var out []net.HardwareAddr
	for i := range n {
		out = append(out, net.HardwareAddr{0x0a, 0x12, base, 0, 0, byte(i)})
	}
	return out
}

// getAll returns lease4-get-all's leases, sorted by address, with the
// fields Kea and xdhcpd both report.
func getAll(t *testing.T, sock string) []map[string]any {
	t.Helper()
	r, err := ctlCmd(sock, `{"command":"lease4-get-all"}`)
	if err != nil {
		t.Fatal(err)
	}
	if r.Result != 0 && r.Result != 3 {
		t.Fatalf("lease4-get-all: %d %s", r.Result, r.Text)
	}
	var a struct {
		Leases []map[string]any `json:"leases"`
	}
	if len(r.Arguments) > 0 {
		if err := json.Unmarshal(r.Arguments, &a); err != nil {
			t.Fatal(err)
		}
	}
	sort.Slice(a.Leases, func(i, j int) bool {
		x, _ := netip.ParseAddr(a.Leases[i]["ip-address"].(string))
		y, _ := netip.ParseAddr(a.Leases[j]["ip-address"].(string))
		return x.Less(y)
	})
	return a.Leases
}

// TestPgSQLKeaInterchangeable (issue 12 item 3): xdhcpd and real Kea 2.2
// take turns on one PostgreSQL lease database. Leases xdhcpd wrote are read
// back unchanged by Kea's lease4-get-all and the reverse, and clients
// renewing with the other server get the address they had.
func TestPgSQLKeaInterchangeable(t *testing.T) {
	testenv.RequireRoot(t)
	requireKea(t)
	db := pgtest.Start(t)
	ns, cli := lab(t)
	xs := pgDHCPConfig(t, "xdhcpd", db, "198.19.0.10 - 198.19.0.250", 3600, "")
	ks := pgDHCPConfig(t, "kea", db, "198.19.0.10 - 198.19.0.250", 3600, "")

	// xdhcpd allocates; lease4-add adds one lease with every field set.
	x := startXdhcpd(t, ns, xs.cfgPath, xs.sock)
	first := relayDORA(t, cli, macsFrom(1, 10))
	mustCmd(t, xs.sock, `{"command":"lease4-add","arguments":{"ip-address":"198.19.1.1","hw-address":"0a:12:09:00:00:01",
		"client-id":"01:0a:12:09:00:00:01","subnet-id":1,"valid-lft":7200,"hostname":"full.example.org.","fqdn-fwd":true,
		"user-context":{"tag":"from-xdhcpd"}}}`, 0)
	fromX := getAll(t, xs.sock)
	if err := x.stop(t); err != nil {
		t.Fatalf("xdhcpd exit: %v", err)
	}

	// Kea reads the same leases.
	k := startPgKea(t, ns, ks)
	fromKea := getAll(t, ks.sock)
	if len(fromX) != 11 || !jsonEqual(fromX, fromKea) {
		t.Fatalf("xdhcpd wrote %d leases\n%v\nKea reads\n%v", len(fromX), fromX, fromKea)
	}
	// The same clients renew (a new DORA) with Kea: same addresses.
	again := relayDORA(t, cli, macsFrom(1, 10))
	for mac, a := range first {
		if again[mac] != a {
			t.Errorf("%s had %v from xdhcpd, got %v from Kea", mac, a, again[mac])
		}
	}
	// Kea allocates for new clients and adds a lease of its own.
	second := relayDORA(t, cli, macsFrom(2, 10))
	mustCmd(t, ks.sock, `{"command":"lease4-add","arguments":{"ip-address":"198.19.1.2","hw-address":"0a:12:09:00:00:02",
		"subnet-id":1,"valid-lft":7200,"hostname":"kea.example.org.","user-context":{"tag":"from-kea"}}}`, 0)
	fromKea = getAll(t, ks.sock)
	if err := k.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	// xdhcpd reads Kea's leases unchanged and renews Kea's clients.
	startXdhcpd(t, ns, xs.cfgPath, xs.sock)
	fromX = getAll(t, xs.sock)
	if len(fromKea) != 22 || !jsonEqual(fromX, fromKea) {
		t.Fatalf("Kea wrote %d leases\n%v\nxdhcpd reads\n%v", len(fromKea), fromKea, fromX)
	}
	for mac, a := range relayDORA(t, cli, append(macsFrom(1, 10), macsFrom(2, 10)...)) {
		want, ok := first[mac]
		if !ok {
			want = second[mac]
		}
		if a != want {
			t.Errorf("%s renewed with xdhcpd to %v, had %v", mac, a, want)
		}
	}
	// Statistics: Kea's lease4_stat (schema triggers) and xdhcpd's gauge.
	if got, want := db.Query(t, "SELECT leases FROM lease4_stat WHERE subnet_id = 1 AND state = 0"), "22"; got != want {
		t.Errorf("lease4_stat = %s, want %s", got, want)
	}
	if got := statistic(t, xs.sock, "subnet[1].assigned-addresses"); got != 22 {
		t.Errorf("xdhcpd subnet[1].assigned-addresses = %d, want 22", got)
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// auditHijacks installs a trigger that records every update of a lease4
// row that hands an address to another hardware address, with the old
// lease's state and expiry. A row whose old lease was state 0 and not yet
// expired is an address taken from a client that still held it.
func auditHijacks(t *testing.T, db *pgtest.Cluster) {
	db.Exec(t, `CREATE TABLE xdt_audit (address bigint, old_hw bytea, new_hw bytea, old_state bigint,
			old_expire timestamptz, at timestamptz DEFAULT now());
		CREATE FUNCTION xdt_audit_f() RETURNS trigger AS $$ BEGIN
			IF OLD.hwaddr IS DISTINCT FROM NEW.hwaddr THEN
				INSERT INTO xdt_audit (address, old_hw, new_hw, old_state, old_expire)
				VALUES (OLD.address, OLD.hwaddr, NEW.hwaddr, OLD.state, OLD.expire);
			END IF;
			RETURN NEW; END $$ LANGUAGE plpgsql;
		CREATE TRIGGER xdt_audit_t BEFORE UPDATE ON lease4 FOR EACH ROW EXECUTE FUNCTION xdt_audit_f();`)
}

// sharedLoad runs perfdhcp in both client namespaces at once against a
// pool of 200 addresses both servers serve from one database, with
// disjoint client MACs, until the pool is exhausted; then checks that no
// address went to two clients: every ACK is a distinct row, and no update
// ever took an unexpired lease from its holder.
func sharedLoad(t *testing.T, db *pgtest.Cluster, cliA, cliB *testenv.Netns, sockA, sockB string) {
	t.Helper()
	errs := make(chan error, 2)
	for i, ns := range []*testenv.Netns{cliA, cliB} {
		go func() {
			out, err := ns.Command("perfdhcp", "-4", "-r", "150", "-p", "4", "-R", "20000",
				"-b", fmt.Sprintf("mac=0a:%02x:00:00:00:00", i+1), "-l", "xc0", "198.18.0.2").CombinedOutput()
			var ee interface{ ExitCode() int }
			if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
				err = fmt.Errorf("perfdhcp in %s: %v\n%s", ns.Name, err, out)
			} else {
				err = nil
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ackA, ackB := statistic(t, sockA, "pkt4-ack-sent"), statistic(t, sockB, "pkt4-ack-sent")
	nakA, nakB := statistic(t, sockA, "pkt4-nak-sent"), statistic(t, sockB, "pkt4-nak-sent")
	rows := db.Query(t, "SELECT count(*), count(DISTINCT hwaddr) FROM lease4 WHERE state = 0")
	hijacks := db.Query(t, "SELECT count(*) FROM xdt_audit WHERE old_state = 0 AND old_expire > at")
	t.Logf("ACKs %d + %d, NAKs %d + %d; lease4 rows|distinct clients %s; hijacks %s", ackA, ackB, nakA, nakB, rows, hijacks)
	if ackA == 0 || ackB == 0 {
		t.Fatalf("a server ACKed nothing (A %d, B %d): no contention tested", ackA, ackB)
	}
	if want := fmt.Sprintf("%d|%d", ackA+ackB, ackA+ackB); rows != want {
		t.Errorf("rows|distinct clients = %s, want %s (one row per ACK): an address went to two clients", rows, want)
	}
	if hijacks != "0" {
		t.Errorf("%s updates took an unexpired lease from its client:\n%s", hijacks,
			db.Query(t, "SELECT address, encode(old_hw,'hex'), encode(new_hw,'hex'), old_expire, at FROM xdt_audit LIMIT 10"))
	}
	if ackA+ackB < 190 {
		t.Errorf("only %d of 200 addresses handed out under load", ackA+ackB)
	}
}

// TestPgSQLSharedDatabaseTwoXdhcpd (issue 12 item 4): two xdhcpd without
// HA serve one subnet from one database under perfdhcp load from two
// directions; no address goes to two clients; a lost race is a NAK for
// that client only (docs/kea/lease-database.md §4).
func TestPgSQLSharedDatabaseTwoXdhcpd(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "perfdhcp", "ethtool")
	db := pgtest.Start(t)
	auditHijacks(t, db)
	srvA, cliA := lab(t)
	srvB, cliB := lab(t)
	a := pgDHCPConfig(t, "a", db, "198.19.0.10 - 198.19.0.209", 3600, "")
	b := pgDHCPConfig(t, "b", db, "198.19.0.10 - 198.19.0.209", 3600, "")
	startXdhcpd(t, srvA, a.cfgPath, a.sock)
	startXdhcpd(t, srvB, b.cfgPath, b.sock)
	sharedLoad(t, db, cliA, cliB, a.sock, b.sock)
}

// TestPgSQLSharedDatabaseWithKea (issue 12 item 4): xdhcpd beside real
// Kea 2.2 on one database, same load and checks.
func TestPgSQLSharedDatabaseWithKea(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "perfdhcp", "ethtool")
	requireKea(t)
	db := pgtest.Start(t)
	auditHijacks(t, db)
	srvA, cliA := lab(t)
	srvB, cliB := lab(t)
	a := pgDHCPConfig(t, "a", db, "198.19.0.10 - 198.19.0.209", 3600, "")
	b := pgDHCPConfig(t, "kea", db, "198.19.0.10 - 198.19.0.209", 3600, "")
	startXdhcpd(t, srvA, a.cfgPath, a.sock)
	startPgKea(t, srvB, b)
	sharedLoad(t, db, cliA, cliB, a.sock, b.sock)
}

// usePgSQL points an HA node's configuration at db (its own database):
// the pair template's memfile lease-database is replaced, nothing else.
func usePgSQL(t *testing.T, n *haNode, db *pgtest.Cluster) {
	t.Helper()
	b, err := os.ReadFile(n.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", n.cfg, err)
	}
	m["Dhcp4"]["lease-database"] = db.KeaConfig()
	if b, err = json.MarshalIndent(m, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runHAPairPgSQL (issue 12 item 6): an HA load-balancing pair where each
// member has its own PostgreSQL database. Lease updates reach the
// partner's database, both databases end up with the same leases, and a
// member whose database was emptied gets everything back by the HA sync
// (lease4-get-page from the partner, written through lease4-update).
func runHAPairPgSQL(t *testing.T, kinds [2]string) {
	requireHA(t)
	cluster := pgtest.Start(t)
	dbs := [2]*pgtest.Cluster{cluster.CreateDatabase(t, "server1"), cluster.CreateDatabase(t, "server2")}
	lab := newHALab(t)
	var nodes [2]*haNode
	for i := range nodes {
		nodes[i] = newHANode(t, i, kinds[i], lab.srv[i], "udp")
		usePgSQL(t, nodes[i], dbs[i])
	}
	for _, n := range nodes {
		n.start()
	}
	waitStates(t, nodes, "load-balancing", 30*time.Second)
	res := haPerf(t, lab, 5)
	t.Logf("load-balancing on two databases: DISCOVER %d, ACK %d (%.2f%%); ACKs sent %s %d, %s %d; parked drops %d/%d, HA drops %d/%d",
		res.DiscoverSent, res.AckReceived, 100*answered(res), nodes[0], nodes[0].stat("pkt4-ack-sent"), nodes[1], nodes[1].stat("pkt4-ack-sent"),
		nodes[0].statOr("pkt4-dropped-parking-lot-full"), nodes[1].statOr("pkt4-dropped-parking-lot-full"),
		nodes[0].statOr("pkt4-dropped-ha-sync-failed"), nodes[1].statOr("pkt4-dropped-ha-sync-failed"))
	if answered(res) < 0.99 {
		t.Errorf("only %.2f%% of %d DORA exchanges answered", 100*answered(res), res.DiscoverSent)
	}
	var per [2][2]int
	for i, n := range nodes {
		per[i] = checkOwnership(t, n, n.leaseMap())
	}
	if per[0][0] == 0 || per[0][1] == 0 {
		t.Fatalf("leases per pool %v: both servers must have served", per)
	}
	total := compareLeaseSets(t, nodes)
	q := "SELECT count(*) FROM lease4"
	if a, b := dbs[0].Query(t, q), dbs[1].Query(t, q); a != fmt.Sprint(total) || b != a {
		t.Errorf("database rows %s and %s, lease4-get-all %d", a, b, total)
	}
	// Empty server2's database while it is down; it syncs from server1.
	nodes[1].kill()
	dbs[1].Exec(t, "DELETE FROM lease4")
	nodes[1].start()
	waitStates(t, nodes, "load-balancing", 60*time.Second)
	if got := compareLeaseSets(t, nodes); got != total {
		t.Errorf("after sync %d leases, want %d", got, total)
	}
	if got := dbs[1].Query(t, q); got != fmt.Sprint(total) {
		t.Errorf("server2's database has %s rows after sync, want %d", got, total)
	}
	// Kea's lease4_stat (maintained by the schema's triggers for every
	// writer) agrees with the rows in both databases.
	for i, db := range dbs {
		if got := db.Query(t, "SELECT (SELECT coalesce(sum(leases), 0) FROM lease4_stat) = (SELECT count(*) FROM lease4 WHERE state IN (0, 1))"); got != "t" {
			t.Errorf("%s: lease4_stat does not match lease4: %s", nodes[i], db.Query(t, "SELECT * FROM lease4_stat"))
		}
	}
	t.Logf("both databases hold the same %d leases, also after server2's database was emptied and synced", total)
}

func TestHAPgSQLTwoXdhcpd(t *testing.T) { runHAPairPgSQL(t, [2]string{"xdhcpd", "xdhcpd"}) }

func TestHAPgSQLXdhcpdKea(t *testing.T) { runHAPairPgSQL(t, [2]string{"xdhcpd", "kea"}) }

// TestPgSQLPerfdhcp: one xdhcpd on a PostgreSQL lease database answers
// perfdhcp's DORAs (relayed over a veth pair); every ACK is a row.
func TestPgSQLPerfdhcp(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "perfdhcp", "ethtool")
	db := pgtest.Start(t)
	srv, cli := lab(t)
	s := pgDHCPConfig(t, "x", db, "198.19.0.10 - 198.19.255.250", 3600, "")
	startXdhcpd(t, srv, s.cfgPath, s.sock)
	rate := 200
	// Statements per DORA: every statement runs in its own transaction
	// (autocommit), so pg_stat_database's commit count measures them.
	xacts := func() int64 {
		var n int64
		fmt.Sscan(db.SuperExec(t, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"), &n)
		return n
	}
	x0 := xacts()
	res := runPerfdhcp(t, cli, "-4", "-r", fmt.Sprint(rate), "-p", "5", "-R", "50000", "-l", "xc0", "198.18.0.2")
	acks := statistic(t, s.sock, "pkt4-ack-sent")
	t.Logf("perfdhcp at %d/s: DISCOVER %d, OFFER %d, REQUEST %d, ACK %d; server ACKs %d; about %.1f statements per DORA", rate,
		res.DiscoverSent, res.OfferReceived, res.RequestSent, res.AckReceived, acks, float64(xacts()-x0)/float64(max(acks, 1)))
	if ratio := float64(res.AckReceived) / float64(res.DiscoverSent); ratio < 0.99 {
		t.Errorf("only %.2f%% answered", 100*ratio)
	}
	if got := db.Query(t, "SELECT count(*) FROM lease4"); got != fmt.Sprint(acks) {
		t.Errorf("%s rows for %d ACKs", got, acks)
	}
}

// statOr is a statistic's value, -1 when the server does not have it.
func (n *haNode) statOr(name string) int64 {
	r, err := haCtl(n.sock, "statistic-get", map[string]any{"name": name})
	if err != nil || r.Result != 0 {
		return -1
	}
	var m map[string][][]any
	if json.Unmarshal(r.Arguments, &m) != nil || len(m[name]) == 0 {
		return -1
	}
	v, _ := m[name][0][0].(float64)
	return int64(v)
}

// TestPgSQLConnectionLost (issue 12, bad input): the database goes away
// while xdhcpd runs. With on-fail stop-retry-exit and retries the service
// is disabled (origin db-connection: queries are dropped as
// pkt4-dropped-service-disabled), no ACK goes out for a lease that could
// not be committed, and serving resumes once the server is back. With
// Kea's default max-reconnect-tries 0 xdhcpd exits with status 1
// (docs/kea/lease-database.md §5).
func TestPgSQLConnectionLost(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ethtool")
	db := pgtest.Start(t)
	srv, cli := lab(t)
	s := pgDHCPConfig(t, "x", db, "198.19.0.10 - 198.19.0.250", 3600, "")
	setLeaseDB(t, s.cfgPath, map[string]any{"max-reconnect-tries": 100, "reconnect-wait-time": 200, "on-fail": "stop-retry-exit"})
	x := startXdhcpd(t, srv, s.cfgPath, s.sock)
	conn := relayConn(t, cli)
	if _, err := dora(conn, macsFrom(3, 1)[0], 3); err != nil {
		t.Fatal(err)
	}
	acks := statistic(t, s.sock, "pkt4-ack-sent")
	if err := db.Stop(); err != nil {
		t.Fatal(err)
	}
	mac := macsFrom(3, 2)[1]
	if a, err := dora(conn, mac, 2); err == nil {
		t.Fatalf("%s got %v with the database down", mac, a)
	}
	if got := statistic(t, s.sock, "pkt4-ack-sent"); got != acks {
		t.Fatalf("ACKs went from %d to %d with the database down", acks, got)
	}
	if got := statistic(t, s.sock, "pkt4-dropped-service-disabled"); got == 0 {
		t.Errorf("no query dropped as service-disabled: the network state was not disabled")
	}
	db.Restart(t)
	var got netip.Addr
	for i := 0; ; i++ {
		a, err := dora(conn, mac, 1)
		if err == nil {
			got = a
			break
		}
		if i == 10 {
			t.Fatalf("not serving 20 s after the database came back: %v", err)
		}
	}
	if row := db.Query(t, fmt.Sprintf("SELECT encode(hwaddr, 'hex') FROM lease4 WHERE address = %d", addrNum(got))); row != strings.ReplaceAll(mac.String(), ":", "") {
		t.Errorf("ACKed %v to %s but the row holds %q", got, mac, row)
	}
	logb, _ := os.ReadFile(filepath.Join(s.dir, "x.log")) // the configuration's logger output
	for _, want := range []string{"DHCP4_DB_RECONNECT_LOST_CONNECTION", "DHCP4_DB_RECONNECT_SUCCEEDED"} {
		if !strings.Contains(string(logb), want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if err := x.stop(t); err != nil {
		t.Errorf("xdhcpd exit: %v", err)
	}

	// Kea's defaults: no reconnection; the server exits with status 1.
	setLeaseDB(t, s.cfgPath, map[string]any{"max-reconnect-tries": 0, "reconnect-wait-time": 0})
	x = startXdhcpd(t, srv, s.cfgPath, s.sock)
	db.Stop()
	defer db.Restart(t)
	_, _ = dora(conn, macsFrom(3, 3)[2], 1)
	if code := exitCode(t, x, 15*time.Second); code != 1 {
		t.Fatalf("exit status %d after losing the database with max-reconnect-tries 0, want 1", code)
	}
}

// TestPgSQLStartRefused (issue 12, bad input): as Kea 2.2, xdhcpd does not
// start on an unreachable database, a wrong password or a schema version
// other than 13.0, and says why.
func TestPgSQLStartRefused(t *testing.T) {
	db := pgtest.Start(t)
	for _, c := range []struct {
		name string
		set  map[string]any
		sql  string
		want string
	}{
		{"unreachable", map[string]any{"host": t.TempDir()}, "", "cannot open PostgreSQL database"},
		{"password", map[string]any{"password": "wrong"}, "", "password authentication failed"},
		{"schema", nil, "UPDATE schema_version SET version = 14, minor = 0", "PostgreSQL schema version mismatch: need version: 13.0 found version: 14.0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.sql != "" {
				db.Exec(t, c.sql)
				defer db.Exec(t, "UPDATE schema_version SET version = 13, minor = 0")
			}
			dir := shortDir(t)
			ld := db.KeaConfig()
			for k, v := range c.set {
				ld[k] = v
			}
			ldj, _ := json.Marshal(ld)
			cfg := filepath.Join(dir, "x.json")
			os.WriteFile(cfg, []byte(`{"Dhcp4": {"interfaces-config": {"interfaces": []}, "lease-database": `+string(ldj)+`,
				"subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}]}}`), 0o644)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, xdhcpdBin, "-c", cfg).CombinedOutput()
			if err == nil {
				t.Fatalf("xdhcpd started:\n%s", out)
			}
			if !strings.Contains(string(out), c.want) {
				t.Fatalf("output lacks %q:\n%s", c.want, out)
			}
			t.Logf("refused in %v: %s", time.Since(start).Round(time.Millisecond), lastLine(string(out)))
		})
	}
}

func addrNum(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// setLeaseDB sets keys of the configuration's lease-database.
func setLeaseDB(t *testing.T, cfgPath string, set map[string]any) {
	t.Helper()
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	ld := m["Dhcp4"]["lease-database"].(map[string]any)
	for k, v := range set {
		ld[k] = v
	}
	b, _ = json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPgSQLForeignRows (issue 12 item 2): the database is the truth. Rows
// another server wrote after xdhcpd started (here inserted with SQL as
// kea-dhcp4 writes them) are never handed out while live; expired ones are
// reused, and the rest reclaimed by leases-reclaim, as Kea's reclamation
// reads GET_LEASE4_EXPIRE (docs/kea/lease-database.md §3).
func TestPgSQLForeignRows(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ethtool")
	db := pgtest.Start(t)
	srv, cli := lab(t)
	s := pgDHCPConfig(t, "x", db, "198.19.0.10 - 198.19.0.19", 3600, "")
	startXdhcpd(t, srv, s.cfgPath, s.sock)
	base := addrNum(netip.MustParseAddr("198.19.0.10"))
	live := map[uint32]bool{}
	for i := range uint32(10) {
		when := "now() + interval '1 hour'"
		if i%2 == 1 {
			when = "now() - interval '10 minutes'"
		} else {
			live[base+i] = true
		}
		db.Exec(t, fmt.Sprintf(`INSERT INTO lease4 (address, hwaddr, client_id, valid_lifetime, expire, subnet_id, fqdn_fwd, fqdn_rev, hostname, state, user_context)
			VALUES (%d, '\x0affff0000%02x', '', 3600, %s, 1, false, false, 'other-%d', 0, '')`, base+i, i, when, i))
	}
	conn := relayConn(t, cli)
	got := map[netip.Addr]bool{}
	for _, mac := range macsFrom(4, 3) {
		a, err := dora(conn, mac, 3)
		if err != nil {
			t.Fatal(err)
		}
		if live[addrNum(a)] || got[a] {
			t.Fatalf("%s got %v, which another server's live lease holds (or already handed out)", mac, a)
		}
		got[a] = true
		if row := db.Query(t, fmt.Sprintf("SELECT encode(hwaddr,'hex') FROM lease4 WHERE address = %d", addrNum(a))); row != strings.ReplaceAll(mac.String(), ":", "") {
			t.Fatalf("row of %v holds %s, want %s", a, row, mac)
		}
	}
	r := mustCmd(t, s.sock, `{"command":"leases-reclaim","arguments":{"remove":false}}`, 0)
	t.Logf("leases-reclaim: %s", r.Text)
	if n := db.Query(t, "SELECT count(*) FROM lease4 WHERE state = 2"); n != "2" {
		t.Errorf("%s leases expired-reclaimed, want the 2 expired rows not reused\n%s", n,
			db.Query(t, "SELECT address, state, expire < now() FROM lease4 ORDER BY address"))
	}
	if n := db.Query(t, "SELECT count(*) FROM lease4 WHERE state = 0 AND expire > now()"); n != "8" {
		t.Errorf("%s live leases, want 5 foreign + 3 new", n)
	}
	if st := db.Query(t, "SELECT leases FROM lease4_stat WHERE subnet_id = 1 AND state = 0"); st != "8" {
		t.Errorf("lease4_stat state 0 = %s, want 8", st)
	}
	// The pool is exhausted now except for the 2 reclaimed addresses:
	// two more clients get exactly those, a third gets nothing.
	for _, mac := range macsFrom(5, 2) {
		a, err := dora(conn, mac, 3)
		if err != nil {
			t.Fatal(err)
		}
		if live[addrNum(a)] || got[a] {
			t.Fatalf("%s got %v, already held", mac, a)
		}
		got[a] = true
	}
	if a, err := dora(conn, macsFrom(6, 1)[0], 1); err == nil {
		t.Fatalf("an 11th client got %v from a 10-address pool", a)
	}
}

// TestPgSQLLeaseCmdsCompareKea (issue 12 item 3): the lease4-* cases of
// TestCtlCompareKea, with Kea 2.2 and xdhcpd each on a PostgreSQL database
// of its own: the same replies as memfile gives (same known differences).
func TestPgSQLLeaseCmdsCompareKea(t *testing.T) {
	requireKea(t)
	cluster := pgtest.Start(t)
	ks, xs := newCtlServer(t, "kea"), newCtlServer(t, "xdhcpd")
	for _, s := range []*ctlServer{ks, xs} {
		db := cluster.CreateDatabase(t, "cmp_"+s.name)
		b, err := os.ReadFile(s.cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		memfile := fmt.Sprintf(`"lease-database": { "type": "memfile", "name": %q, "lfc-interval": 0 }`, s.leases)
		ld, _ := json.Marshal(db.KeaConfig())
		if !strings.Contains(string(b), memfile) {
			t.Fatalf("%s: no memfile lease-database to replace", s.cfgPath)
		}
		if err := os.WriteFile(s.cfgPath, []byte(strings.Replace(string(b), memfile, `"lease-database": `+string(ld), 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startKea(t, ks)
	startXdhcpd(t, nil, xs.cfgPath, xs.sock)
	var report []string
	unexpected, n := 0, 0
	for _, c := range ctlCases() {
		m := reCommand.FindStringSubmatch(c.payload)
		if m == nil || !strings.HasPrefix(m[1], "lease4-") {
			continue
		}
		n++
		kout, _ := rawCmd(ks.sock, expand(c.payload, ks), c.closeWrite, 12*time.Second)
		xout, _ := rawCmd(xs.sock, expand(c.payload, xs), c.closeWrite, 12*time.Second)
		kv, kerr := decodeReply(kout, ks)
		xv, xerr := decodeReply(xout, xs)
		var diffs []string
		if kerr != nil || xerr != nil {
			diffs = append(diffs, fmt.Sprintf("raw: %q (kea) vs %q (xdhcpd)", trunc(kout), trunc(xout)))
		} else {
			compareValues(m[1], "", kv, xv, c.mode, &diffs)
		}
		for _, d := range diffs {
			path := d[:strings.Index(d, ":")]
			if why, ok := knownDiffs[c.name+"|"+path]; ok {
				report = append(report, fmt.Sprintf("known  %-32s %s  [%s]", c.name, d, why))
				continue
			}
			unexpected++
			report = append(report, fmt.Sprintf("DIFF   %-32s %s", c.name, d))
		}
	}
	t.Logf("kea-dhcp4 vs xdhcpd on PostgreSQL, %d lease4-* cases:\n%s", n, strings.Join(report, "\n"))
	if n < 20 {
		t.Fatalf("only %d lease4-* cases found", n)
	}
	if unexpected > 0 {
		t.Errorf("%d unexplained differences between Kea's and xdhcpd's replies on PostgreSQL", unexpected)
	}
}
