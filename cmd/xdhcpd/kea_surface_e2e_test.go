package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/ha/lbhash"
	"github.com/xdhcp/xdhcp/internal/keatest"
	"github.com/xdhcp/xdhcp/internal/testenv"
)

// The Kea 2.2 surface tests run one relayed client against real kea-dhcp4
// and against xdhcpd, each alone in a namespace of its own with the same
// configuration file, and compare what each server answers, writes in its
// memfile, returns from lease4-get and sends its HA partner in
// lease4-update. The partner is a fake (fakePartner) that says it is in
// load-balancing and records the updates, so both servers serve their
// half of the clients at once and replicate to it.

const (
	surfaceServer  = "198.18.0.1"
	surfaceRelay   = "198.18.0.2"
	surfaceURL     = "http://198.18.0.1:8001/"
	surfacePartner = "198.18.0.1:8002"
	// surfaceValid is short so that a renewal can be inside and outside the
	// cache limit within seconds: 0.25 × 20 = 5 s.
	surfaceValid = 20
)

// surfaceCaches are the two ways to reuse a lease for 5 s that the test
// runs: Kea's threshold (0.25 × 20 s) and its max age.
var surfaceCaches = []struct{ name, params string }{
	{"cache-threshold", `"cache-threshold": 0.25`},
	{"cache-max-age", `"cache-max-age": 5`},
}

// surfaceConfig is the one configuration both servers run; cache is the
// lease caching parameters (global level), each of which makes a lease
// reusable for 5 s.
func surfaceConfig(dir, cache string) string {
	return fmt.Sprintf(`{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "xd0" ], "dhcp-socket-type": "udp" },
  "control-socket": { "socket-type": "unix", "socket-name": %q },
  "lease-database": { "type": "memfile", "name": %q, "lfc-interval": 0 },
  "multi-threading": { "enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 16 },
  "valid-lifetime": %d, "calculate-tee-times": true,
  "store-extended-info": true, %s,
  "client-classes": [ { "name": "remote-dead01", "test": "relay4[2].hex == 0xDEAD01",
      "option-data": [ { "name": "domain-name", "data": "remote.example" } ] } ],
  "hooks-libraries": [
    { "library": %q },
    { "library": %q, "parameters": { "high-availability": [ {
        "this-server-name": "server1", "mode": "load-balancing",
        "heartbeat-delay": 1000, "max-response-delay": 60000, "max-ack-delay": 10000,
        "max-unacked-clients": 0, "sync-leases": false,
        "multi-threading": { "enable-multi-threading": true, "http-dedicated-listener": true,
                             "http-listener-threads": 1, "http-client-threads": 1 },
        "peers": [
          { "name": "server1", "url": %q, "role": "primary", "auto-failover": true },
          { "name": "server2", "url": "http://%s/", "role": "secondary", "auto-failover": true } ] } ] } } ],
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
      "pools": [ { "pool": "192.0.2.10 - 192.0.2.100" } ],
      "relay": { "ip-addresses": [ %q ] },
      "reservations": [ { "circuit-id": "'eth9'", "ip-address": "192.0.2.200" } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": %q } ], "severity": "INFO" } ],
  "user-context": { "xdhcp": { "datapath": "udp" } }
} }
`, filepath.Join(dir, "ctrl.sock"), filepath.Join(dir, "leases4.csv"), surfaceValid, cache,
		filepath.Join(keatest.HooksDir, keatest.HookLeaseCmds), filepath.Join(keatest.HooksDir, keatest.HookHA),
		surfaceURL, surfacePartner, surfaceRelay, filepath.Join(dir, "server.log"))
}

// fakePartner answers a load-balancing server as its partner in state
// load-balancing and records every lease4-update's arguments.
type fakePartner struct {
	mu      sync.Mutex
	updates []map[string]any
	cmds    []string
}

func (f *fakePartner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Command   string         `json:"command"`
		Arguments map[string]any `json:"arguments"`
	}
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &req)
	f.mu.Lock()
	f.cmds = append(f.cmds, req.Command)
	if req.Command == "lease4-update" {
		f.updates = append(f.updates, req.Arguments)
	}
	f.mu.Unlock()
	var ans any = map[string]any{"result": 0, "text": "ok"}
	switch req.Command {
	case "ha-heartbeat":
		ans = map[string]any{"result": 0, "text": "HA peer status returned.", "arguments": map[string]any{
			"state": "load-balancing", "date-time": time.Now().UTC().Format(http.TimeFormat),
			"scopes": []string{"server2"}, "unsent-update-count": 0}}
	case "lease4-update":
		ans = map[string]any{"result": 0, "text": "IPv4 lease updated."}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode([]any{ans})
}

func (f *fakePartner) leaseUpdates() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.updates...)
}

// surfaceRun is one server under test.
type surfaceRun struct {
	t       *testing.T
	name    string
	dir     string
	sock    string
	leases  string
	partner *fakePartner
	conn    *net.UDPConn // the relay's socket, in the client namespace
}

// startSurface starts kea-dhcp4 (kea=true) or xdhcpd on surfaceConfig in a
// fresh namespace pair and waits until it is in load-balancing.
func startSurface(t *testing.T, kea bool, cache string) *surfaceRun {
	t.Helper()
	testenv.RequireRoot(t)
	srvNS, cliNS := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srvNS, "xd0", surfaceServer+"/24", cliNS, "xc0", surfaceRelay+"/24")
	dir := shortDir(t)
	s := &surfaceRun{t: t, dir: dir, sock: filepath.Join(dir, "ctrl.sock"), leases: filepath.Join(dir, "leases4.csv"), partner: &fakePartner{}}
	cfgPath := filepath.Join(dir, "server.json")
	if err := os.WriteFile(cfgPath, []byte(surfaceConfig(dir, cache)), 0o644); err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	if err := srvNS.Do(func() (err error) { ln, err = net.Listen("tcp4", surfacePartner); return err }); err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s.partner, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	if err := cliNS.Do(func() (err error) {
		s.conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(surfaceRelay), Port: 67})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.conn.Close() })
	if kea {
		s.name = "kea-dhcp4"
		bin, err := keatest.Installed(keatest.HookLeaseCmds, keatest.HookHA)
		if err != nil {
			if testenv.Required() {
				t.Fatalf("XDHCP_REQUIRE_ROOT_TESTS=1 but %v", err)
			}
			t.Skipf("needs %v", err)
		}
		k, err := keatest.Start(keatest.Options{Bin: bin, Dir: dir, ConfigPath: cfgPath, Socket: s.sock, Netns: srvNS.Name})
		if err != nil {
			l, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			t.Fatalf("%v\n%s", err, tail(l, 4096))
		}
		t.Cleanup(func() {
			if t.Failed() {
				l, _ := os.ReadFile(filepath.Join(dir, "server.log"))
				t.Logf("kea-dhcp4 log:\n%s", tail(l, 4096))
			}
			_ = k.Stop(10 * time.Second)
		})
	} else {
		s.name = "xdhcpd"
		startXdhcpd(t, srvNS, cfgPath, s.sock)
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.haState() != "load-balancing" {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach load-balancing with the fake partner (state %q, partner saw %v)", s.name, s.haState(), s.partner.cmds)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return s
}

func (s *surfaceRun) haState() string {
	r, err := ctlCmd(s.sock, `{"command":"ha-heartbeat"}`)
	if err != nil || r.Result != 0 {
		return ""
	}
	var a struct {
		State string `json:"state"`
	}
	_ = json.Unmarshal(r.Arguments, &a)
	return a.State
}

// exchange relays m to the server and returns its reply (nil after 3 s).
func (s *surfaceRun) exchange(m *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	s.t.Helper()
	m.GatewayIPAddr = net.ParseIP(surfaceRelay).To4()
	m.HopCount = 1
	if _, err := s.conn.WriteToUDP(m.ToBytes(), &net.UDPAddr{IP: net.ParseIP(surfaceServer), Port: 67}); err != nil {
		s.t.Fatal(err)
	}
	buf := make([]byte, 1500)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		s.conn.SetReadDeadline(deadline)
		n, _, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return nil
		}
		r, err := dhcpv4.FromBytes(buf[:n])
		if err == nil && r.TransactionID == m.TransactionID {
			return r
		}
	}
	return nil
}

// leaseGet is lease4-get's arguments for a, without cltt (a time).
func (s *surfaceRun) leaseGet(a net.IP) map[string]any {
	s.t.Helper()
	r, err := ctlCmd(s.sock, fmt.Sprintf(`{"command":"lease4-get","arguments":{"ip-address":%q}}`, a))
	if err != nil || r.Result != 0 {
		s.t.Fatalf("%s lease4-get %s: %v %+v", s.name, a, err, r)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Arguments, &m); err != nil {
		s.t.Fatal(err)
	}
	delete(m, "cltt")
	return m
}

// userContextColumns returns the raw user_context column of each row for
// addr in the memfile, in file order.
func (s *surfaceRun) userContextColumns(addr string) []string {
	s.t.Helper()
	f, err := os.Open(s.leases)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), ",")
		if len(cols) >= 11 && cols[0] == addr {
			out = append(out, cols[10])
		}
	}
	return out
}

// surfaceMAC returns a hardware address whose load-balancing hash belongs
// to server1 (lbhash is Kea's; the first that does).
func surfaceMAC(last byte) net.HardwareAddr {
	for i := 0; i < 256; i++ {
		hw := net.HardwareAddr{0x02, 0x00, 0x5e, byte(i), 0x10, last}
		if lbhash.Owner(lbhash.Hash(hw), 2) == 0 {
			return hw
		}
	}
	panic("no server1 MAC")
}

func surfaceMsg(t *testing.T, mt dhcpv4.MessageType, hw net.HardwareAddr, xid byte, rai []byte, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	all := append([]dhcpv4.Modifier{dhcpv4.WithMessageType(mt), dhcpv4.WithHwAddr(hw),
		dhcpv4.WithTransactionID(dhcpv4.TransactionID{0x5a, hw[3], hw[5], xid}),
		dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionDomainName)}, mods...)
	if rai != nil {
		all = append(all, dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.OptionRelayAgentInformation, rai)))
	}
	m, err := dhcpv4.New(all...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func optU32(m *dhcpv4.DHCPv4, c dhcpv4.OptionCode) uint32 {
	if b := m.Options.Get(c); len(b) == 4 {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

// surfaceOutcome is what one server did in the scripted exchange; the test
// compares two of them field by field.
type surfaceOutcome struct {
	Yiaddr       string
	AckLft       uint32
	ResYiaddr    string // the circuit-id reservation's client
	ResDomain    string // domain-name from the relay4[2] class
	UserContext  []string
	LeaseGet     map[string]any
	Updates      []map[string]any // lease4-update arguments, expire removed
	ReusedLft    uint32           // the renewal inside the threshold
	ReusedT1     uint32
	ReusedT2     uint32
	OfferLft     uint32 // an OFFER to the bound client inside the threshold
	OfferAge     int64
	ReusedRows   int // memfile rows added by it
	ReusedUpdate int // lease4-updates sent for it
	AfterLft     uint32
	AfterRows    int
	AfterUpdate  int
	ReusedAge    int64 // seconds between the ACK and the cached renewal (test clock)
}

// runSurfaceScript drives the exchange: a relayed DORA with option 82
// (remote-id before circuit-id), a renewal inside the cache threshold, one
// outside it, and a DORA of a client reserved by circuit-id.
func runSurfaceScript(t *testing.T, s *surfaceRun) surfaceOutcome {
	var o surfaceOutcome
	rai := []byte{2, 3, 0xde, 0xad, 0x01, 1, 4, 'e', 't', 'h', '7'}
	hw := surfaceMAC(1)
	off := s.exchange(surfaceMsg(t, dhcpv4.MessageTypeDiscover, hw, 1, rai))
	if off == nil {
		t.Fatalf("%s: no OFFER", s.name)
	}
	ack := s.exchange(surfaceMsg(t, dhcpv4.MessageTypeRequest, hw, 2, rai,
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(off.YourIPAddr)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(off.ServerIdentifier()))))
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("%s: no ACK: %v", s.name, ack)
	}
	acked := time.Now()
	o.Yiaddr, o.AckLft = ack.YourIPAddr.String(), optU32(ack, dhcpv4.OptionIPAddressLeaseTime)
	o.ResDomain = string(ack.Options.Get(dhcpv4.OptionDomainName))
	waitUpdates(t, s, 1)
	rows0 := len(s.userContextColumns(o.Yiaddr))

	// Inside the threshold (age about 2 s of 5): the lease is reused.
	time.Sleep(2 * time.Second)
	renew := func(xid byte) *dhcpv4.DHCPv4 {
		r := s.exchange(surfaceMsg(t, dhcpv4.MessageTypeRequest, hw, xid, rai, dhcpv4.WithClientIP(ack.YourIPAddr)))
		if r == nil || r.MessageType() != dhcpv4.MessageTypeAck {
			t.Fatalf("%s: no ACK to the renewal: %v", s.name, r)
		}
		return r
	}
	r := renew(3)
	o.ReusedAge = int64(time.Since(acked).Round(time.Second) / time.Second)
	o.ReusedLft, o.ReusedT1, o.ReusedT2 = optU32(r, dhcpv4.OptionIPAddressLeaseTime), optU32(r, dhcpv4.OptionRenewTimeValue), optU32(r, dhcpv4.OptionRebindingTimeValue)
	// A DISCOVER from the bound client is offered the remaining lifetime
	// too (renewLease4 runs as a fake allocation).
	if off := s.exchange(surfaceMsg(t, dhcpv4.MessageTypeDiscover, hw, 6, rai)); off == nil || off.YourIPAddr.String() != o.Yiaddr {
		t.Fatalf("%s: no OFFER of its address to the bound client: %v", s.name, off)
	} else {
		o.OfferLft, o.OfferAge = optU32(off, dhcpv4.OptionIPAddressLeaseTime), int64(time.Since(acked).Round(time.Second)/time.Second)
	}
	time.Sleep(300 * time.Millisecond) // an update, if one were sent, arrives
	o.ReusedRows = len(s.userContextColumns(o.Yiaddr)) - rows0
	o.ReusedUpdate = len(s.partner.leaseUpdates()) - 1

	// Outside it (age about 7 s): written and replicated.
	time.Sleep(time.Until(acked.Add(7 * time.Second)))
	r = renew(4)
	o.AfterLft = optU32(r, dhcpv4.OptionIPAddressLeaseTime)
	waitUpdates(t, s, 2)
	o.AfterRows = len(s.userContextColumns(o.Yiaddr)) - rows0
	o.AfterUpdate = len(s.partner.leaseUpdates()) - 1

	o.UserContext = s.userContextColumns(o.Yiaddr)
	o.LeaseGet = s.leaseGet(ack.YourIPAddr)
	for _, u := range s.partner.leaseUpdates() {
		c := map[string]any{}
		for k, v := range u {
			if k != "expire" {
				c[k] = v
			}
		}
		o.Updates = append(o.Updates, c)
	}

	// A client reserved by circuit-id 'eth9' gets its address.
	hw2 := surfaceMAC(2)
	rai2 := []byte{1, 4, 'e', 't', 'h', '9'}
	off2 := s.exchange(surfaceMsg(t, dhcpv4.MessageTypeDiscover, hw2, 5, rai2))
	if off2 == nil {
		t.Fatalf("%s: no OFFER for the circuit-id reservation", s.name)
	}
	o.ResYiaddr = off2.YourIPAddr.String()
	return o
}

func waitUpdates(t *testing.T, s *surfaceRun, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(s.partner.leaseUpdates()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d lease4-updates reached the partner, want %d (commands %v)", s.name, len(s.partner.leaseUpdates()), n, s.partner.cmds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKeaSurfaceSameAsKea runs the script against kea-dhcp4 and xdhcpd and
// wants the same outcome: option 82 stored as Kea 2.2 stores it (the
// memfile's user_context column, lease4-get, the lease4-update payload),
// the renewal inside the cache limit (cache-threshold, or cache-max-age)
// answered with the remaining lifetime
// and T1/T2 from it, neither written nor replicated, the one outside it
// written and replicated, and classification on relay4[2] and a
// circuit-id reservation unaffected.
func TestKeaSurfaceSameAsKea(t *testing.T) {
	testenv.RequireRoot(t)
	for _, c := range surfaceCaches {
		t.Run(c.name, func(t *testing.T) { surfaceCompare(t, c.params) })
	}
}

func surfaceCompare(t *testing.T, cache string) {
	k := runSurfaceScript(t, startSurface(t, true, cache))
	x := runSurfaceScript(t, startSurface(t, false, cache))
	t.Logf("kea-dhcp4: %+v", k)
	t.Logf("xdhcpd:    %+v", x)

	// Kea's own outcome, so that the comparison compares something.
	wantCtx := `{ "ISC": { "relay-agent-info": "0x0104657468370203DEAD01" } }`
	if len(k.UserContext) == 0 || !strings.Contains(k.UserContext[0], "relay-agent-info") {
		t.Fatalf("kea-dhcp4 stored no extended info: %q", k.UserContext)
	}
	if got := k.LeaseGet["user-context"]; !reflect.DeepEqual(got, mustJSON(t, wantCtx)) {
		t.Errorf("kea-dhcp4 user-context %v, want %s", got, wantCtx)
	}
	if k.ReusedRows != 0 || k.ReusedUpdate != 0 || k.AfterRows != 1 || k.AfterUpdate != 1 {
		t.Errorf("kea-dhcp4 did not cache as expected: %+v", k)
	}

	// Time-dependent: the reused lifetime is the valid lifetime minus the
	// lease's age, T1/T2 follow from it (both servers' second boundaries
	// differ, so the age is checked on each against the test clock).
	for _, o := range []surfaceOutcome{k, x} {
		if age := int64(surfaceValid) - int64(o.ReusedLft); age < o.ReusedAge-1 || age > o.ReusedAge+1 {
			t.Errorf("reused lifetime %d for an age of about %d s", o.ReusedLft, o.ReusedAge)
		}
		if age := int64(surfaceValid) - int64(o.OfferLft); age < o.OfferAge-1 || age > o.OfferAge+1 {
			t.Errorf("offered lifetime %d for an age of about %d s", o.OfferLft, o.OfferAge)
		}
		if o.ReusedT1 != uint32(math.Round(0.5*float64(o.ReusedLft))) || o.ReusedT2 != uint32(math.Round(0.875*float64(o.ReusedLft))) {
			t.Errorf("T1/T2 %d/%d for the reused lifetime %d", o.ReusedT1, o.ReusedT2, o.ReusedLft)
		}
	}
	k.ReusedLft, x.ReusedLft, k.ReusedT1, x.ReusedT1, k.ReusedT2, x.ReusedT2, k.ReusedAge, x.ReusedAge = 0, 0, 0, 0, 0, 0, 0, 0
	k.OfferLft, x.OfferLft, k.OfferAge, x.OfferAge = 0, 0, 0, 0
	if !reflect.DeepEqual(k, x) {
		kj, _ := json.MarshalIndent(k, "", " ")
		xj, _ := json.MarshalIndent(x, "", " ")
		t.Errorf("outcomes differ\nkea-dhcp4: %s\nxdhcpd:    %s", kj, xj)
	}
}

func mustJSON(t *testing.T, s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}
