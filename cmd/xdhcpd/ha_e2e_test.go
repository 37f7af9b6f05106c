package main

// End-to-end HA load-balancing interop (issue 5 §4): the real xdhcpd binary
// and real Kea 2.2 as the two halves of an HA pair, each in its own network
// namespace attached to a bridge in a client namespace where perfdhcp
// broadcasts (relayed, giaddr 198.18.0.1) so that every query reaches both
// servers:
//
//	cli: br0 198.18.0.1/24 ── hv1 ─ s1: eth0 198.18.0.11/24 (server1, primary)
//	                       └─ hv2 ─ s2: eth0 198.18.0.12/24 (server2, secondary)
//
// The data path of every xdhcpd is a parameter (haOpts.datapath): the XDP
// variants are the same tests with "auto" instead of "udp".

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/ha/lbhash"
	"github.com/xdhcp/xdhcp/internal/keafmt"
	"github.com/xdhcp/xdhcp/internal/keatest"
	"github.com/xdhcp/xdhcp/internal/testenv"
)

const (
	haKeaHooks = keatest.HooksDir
	haCliAddr  = "198.18.0.1"

	// Shortened HA timers (milliseconds) so that failover takes seconds.
	haHeartbeatDelay   = 1000
	haMaxResponseDelay = 3000
	haMaxAckDelay      = 2000
)

var (
	haSrvAddr = [2]string{"198.18.0.11", "198.18.0.12"}
	haNames   = [2]string{"server1", "server2"}
	// haPools are the HA_server1 / HA_server2 pools of subnet 1.
	haPools = [2][2]netip.Addr{
		{netip.MustParseAddr("198.19.0.10"), netip.MustParseAddr("198.19.127.250")},
		{netip.MustParseAddr("198.19.128.10"), netip.MustParseAddr("198.19.255.250")},
	}
)

// haOpts parameterises a pair test.
type haOpts struct {
	kinds    [2]string // "kea" or "xdhcpd" for server1, server2
	datapath string    // xdhcpd's user-context.xdhcp.datapath (see haDatapaths)
	failover bool      // kill the victim, check partner-down, restart, resync
	victim   int       // index of the server killed in the failover phase
}

// haLab is the client namespace with its bridge and the two server namespaces.
type haLab struct {
	cli *testenv.Netns
	srv [2]*testenv.Netns
}

func newHALab(t *testing.T) *haLab {
	t.Helper()
	l := &haLab{cli: testenv.NewNetns(t)}
	l.cli.Run(t, "ip", "link", "add", "br0", "type", "bridge")
	l.cli.Run(t, "ip", "addr", "add", haCliAddr+"/24", "dev", "br0")
	l.cli.Run(t, "ip", "link", "set", "br0", "up")
	for i := range l.srv {
		l.srv[i] = testenv.NewNetns(t)
		port := fmt.Sprintf("hv%d", i+1)
		testenv.Veth(t, l.cli, port, "", l.srv[i], "eth0", haSrvAddr[i]+"/24",
			"numrxqueues", "2", "numtxqueues", "2")
		l.cli.Run(t, "ip", "link", "set", port, "master", "br0")
		// Kernel UDP senders on veth leave partial checksums (offload).
		_ = l.srv[i].Command("ethtool", "-K", "eth0", "tx", "off").Run()
	}
	_ = l.cli.Command("ethtool", "-K", "br0", "tx", "off").Run()
	// Kea opens no socket on a link without carrier: wait for LOWER_UP.
	deadline := time.Now().Add(10 * time.Second)
	for _, ns := range l.srv {
		for {
			out, _ := ns.Command("ip", "link", "show", "eth0").CombinedOutput()
			if strings.Contains(string(out), "LOWER_UP") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("eth0 in %s has no carrier: %s", ns.Name, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return l
}

// haNode is one server of the pair.
type haNode struct {
	t      *testing.T
	idx    int
	kind   string
	ns     *testenv.Netns
	dir    string
	cfg    string
	sock   string
	leases string

	x   *proc        // xdhcpd
	kea *keatest.Kea // kea-dhcp4

	mc modeConf // the relationship's mode and parameters (ha_modes_e2e_test.go)
}

// modeConf is what a non-load-balancing pair test sets in the template.
type modeConf struct {
	mode    string         // "" = load-balancing
	unacked int            // max-unacked-clients
	extraHA map[string]any // further HA keys (wait-backup-ack)
}

func (n *haNode) name() string { return haNames[n.idx] }

func (n *haNode) String() string { return n.name() + "(" + n.kind + ")" }

// haConfigJSON is the pair's shared configuration (internal/keatest's
// HA-pair template) with this-server-name set, in Kea 2.2's syntax so that
// either server can be real Kea.
func haConfigJSON(n *haNode, datapath string) []byte {
	p := keatest.HAPair{
		Name:             n.name(),
		URLs:             [2]string{fmt.Sprintf("http://%s:8000/", haSrvAddr[0]), fmt.Sprintf("http://%s:8000/", haSrvAddr[1])},
		Socket:           n.sock,
		Leases:           n.leases,
		Hooks:            haKeaHooks,
		Threads:          2,
		QueueSize:        256,
		ValidLifetime:    86400,
		HeartbeatDelay:   haHeartbeatDelay,
		MaxResponseDelay: haMaxResponseDelay,
		MaxAckDelay:      haMaxAckDelay,
		SyncTimeout:      10000,
		Subnet:           "198.19.0.0/16",
		Relays:           []string{haCliAddr},
		Router:           "198.19.0.1",
		Loggers: []keatest.Logger{
			{Name: "kea-dhcp4", Severity: "WARN", Output: "stdout"},
			{Name: "kea-dhcp4.ha-hooks", Severity: "INFO", Output: "stdout"},
		},
		Mode:              n.mc.mode,
		MaxUnackedClients: n.mc.unacked,
		ExtraHA:           n.mc.extraHA,
	}
	if n.mc.mode == "" { // other modes: keatest.SinglePool, every query is the primary's
		for i, r := range haPools {
			p.Pools = append(p.Pools, keatest.Pool{Range: r[0].String() + " - " + r[1].String(), Class: "HA_" + haNames[i]})
		}
	}
	if n.kind == "xdhcpd" {
		p.Datapath = datapath
	}
	b, err := p.Render()
	if err != nil {
		panic(err)
	}
	if n.kind == "xdhcpd" {
		// /metrics for checkHAScrape, in the node's own namespace.
		dp, _ := json.Marshal(datapath)
		old := `"xdhcp": { "datapath": ` + string(dp) + ` }`
		if !bytes.Contains(b, []byte(old)) {
			panic("keatest's ha-pair template changed: cannot add prometheus.listen")
		}
		b = bytes.Replace(b, []byte(old), []byte(`"xdhcp": { "datapath": `+string(dp)+`, "prometheus": { "listen": "127.0.0.1:9547" } }`), 1)
	}
	return b
}

func newHANode(t *testing.T, idx int, kind string, ns *testenv.Netns, datapath string) *haNode {
	t.Helper()
	return newModeNode(t, idx, kind, ns, datapath, modeConf{})
}

// newModeNode is newHANode for a relationship configured by mc.
func newModeNode(t *testing.T, idx int, kind string, ns *testenv.Netns, datapath string, mc modeConf) *haNode {
	t.Helper()
	dir := t.TempDir()
	n := &haNode{t: t, idx: idx, kind: kind, ns: ns, dir: dir, mc: mc,
		cfg:    filepath.Join(dir, haNames[idx]+".json"),
		sock:   filepath.Join(dir, haNames[idx]+".sock"),
		leases: filepath.Join(dir, haNames[idx]+"-leases4.csv")}
	if err := os.WriteFile(n.cfg, haConfigJSON(n, datapath), 0o644); err != nil {
		t.Fatal(err)
	}
	if kind == "kea" {
		t.Cleanup(func() {
			n.killKea()
			if t.Failed() {
				b, _ := os.ReadFile(filepath.Join(n.dir, "kea.out"))
				t.Logf("%s log (last 4 KiB):\n%s", n, tail(b, 4096))
			}
		})
	}
	return n
}

// start runs the server and waits for its control socket.
func (n *haNode) start() {
	n.t.Helper()
	if n.kind == "xdhcpd" {
		n.x = startXdhcpd(n.t, n.ns, n.cfg, n.sock)
		return
	}
	k, err := keatest.Start(keatest.Options{Dir: n.dir, ConfigPath: n.cfg, Socket: n.sock, Netns: n.ns.Name})
	if err != nil {
		n.t.Fatal(err)
	}
	n.kea = k
}

// kill sends SIGKILL and waits for the process to go.
func (n *haNode) kill() {
	n.t.Helper()
	if n.kind == "kea" {
		n.killKea()
		return
	}
	if n.x == nil || n.x.cmd.ProcessState != nil {
		return
	}
	_ = n.x.cmd.Process.Signal(syscall.SIGKILL)
	err := <-n.x.done
	n.x.done <- err
}

func (n *haNode) killKea() {
	if n.kea == nil {
		return
	}
	if err := n.kea.Kill(); err != nil {
		n.t.Error(err)
	}
	n.kea = nil
}

// haCtl sends one command on a unix control socket and decodes one answer
// (Kea may keep the connection open; json.Decoder does not need EOF).
func haCtl(sock, command string, args any) (*reply, error) {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := map[string]any{"command": command}
	if args != nil {
		req["arguments"] = args
	}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, err
	}
	var r reply
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s reply: %w", command, err)
	}
	return &r, nil
}

// haStatus is the HA part of status-get.
type haStatus struct {
	Local, Partner    string
	Interrupted       bool
	Analyzed, Unacked int
	ConnectingClients int
	LocalScopes       []string
	err               error
}

func (n *haNode) status() haStatus {
	r, err := haCtl(n.sock, "status-get", nil)
	if err != nil {
		return haStatus{err: err}
	}
	var st struct {
		HA []struct {
			Servers struct {
				Local struct {
					State  string   `json:"state"`
					Scopes []string `json:"scopes"`
				} `json:"local"`
				Remote struct {
					LastState   string `json:"last-state"`
					Interrupted bool   `json:"communication-interrupted"`
					Analyzed    int    `json:"analyzed-packets"`
					Unacked     int    `json:"unacked-clients"`
					Connecting  int    `json:"connecting-clients"`
				} `json:"remote"`
			} `json:"ha-servers"`
		} `json:"high-availability"`
	}
	if err := json.Unmarshal(r.Arguments, &st); err != nil || len(st.HA) == 0 {
		return haStatus{err: fmt.Errorf("status-get without high-availability: %s", r.Arguments)}
	}
	h := st.HA[0].Servers
	return haStatus{Local: h.Local.State, LocalScopes: h.Local.Scopes, Partner: h.Remote.LastState,
		Interrupted: h.Remote.Interrupted, Analyzed: h.Remote.Analyzed, Unacked: h.Remote.Unacked,
		ConnectingClients: h.Remote.Connecting}
}

// stat reads one statistic (0 when the server does not have it yet).
func (n *haNode) stat(name string) int64 {
	n.t.Helper()
	r, err := haCtl(n.sock, "statistic-get", map[string]any{"name": name})
	if err != nil {
		n.t.Fatalf("%s statistic-get %s: %v", n, name, err)
	}
	var m map[string][][]any
	if err := json.Unmarshal(r.Arguments, &m); err != nil {
		n.t.Fatalf("%s statistic %s: %s %v", n, name, r.Arguments, err)
	}
	if len(m[name]) == 0 {
		return 0
	}
	v, _ := m[name][0][0].(float64)
	return int64(v)
}

// haLease is what the pair tests compare of a lease.
type haLease struct {
	IP    string `json:"ip-address"`
	HW    string `json:"hw-address"`
	CID   string `json:"client-id"`
	State int    `json:"state"`
}

// leaseMap is lease4-get-all as ip → lease.
func (n *haNode) leaseMap() map[string]haLease {
	n.t.Helper()
	r, err := haCtl(n.sock, "lease4-get-all", nil)
	if err != nil {
		n.t.Fatalf("%s lease4-get-all: %v", n, err)
	}
	if r.Result == 3 {
		return map[string]haLease{}
	}
	if r.Result != 0 {
		n.t.Fatalf("%s lease4-get-all: result %d %s", n, r.Result, r.Text)
	}
	var a struct {
		Leases []haLease `json:"leases"`
	}
	if err := json.Unmarshal(r.Arguments, &a); err != nil {
		n.t.Fatalf("%s lease4-get-all: %v", n, err)
	}
	m := make(map[string]haLease, len(a.Leases))
	for _, l := range a.Leases {
		m[l.IP] = l
	}
	return m
}

// waitStates polls both servers until each is in want or d passes, and
// returns how long it took.
func waitStates(t *testing.T, nodes [2]*haNode, want string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		s0, s1 := nodes[0].status(), nodes[1].status()
		if s0.Local == want && s1.Local == want {
			return time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("after %s: %s is %q (partner %q, %v), %s is %q (partner %q, %v); want both %s",
				d, nodes[0], s0.Local, s0.Partner, s0.err, nodes[1], s1.Local, s1.Partner, s1.err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// poolOf returns 0 or 1 for the HA_server1 / HA_server2 pool holding a, or -1.
func poolOf(a netip.Addr) int {
	for i, p := range haPools {
		if !a.Less(p[0]) && !p[1].Less(a) {
			return i
		}
	}
	return -1
}

// hashOwner is the index of the server whose scope a client is in (the
// RFC 3074 hash of its client identifier, else of its hardware address).
func hashOwner(t *testing.T, l haLease) int {
	t.Helper()
	key := l.CID
	if key == "" {
		key = l.HW
	}
	b, err := keafmt.ClientIDFromText(key)
	if err != nil {
		t.Fatalf("lease %s: bad identifier %q: %v", l.IP, key, err)
	}
	return lbhash.Owner(lbhash.Hash(b), 2)
}

// checkOwnership asserts that every lease a server holds came from the pool
// of the client's HA scope (HA_<hash owner>) and returns the lease count per
// pool.
func checkOwnership(t *testing.T, n *haNode, leases map[string]haLease) [2]int {
	t.Helper()
	var per [2]int
	bad := 0
	for _, l := range leases {
		a, err := netip.ParseAddr(l.IP)
		if err != nil {
			t.Fatalf("%s: lease address %q", n, l.IP)
		}
		p, o := poolOf(a), hashOwner(t, l)
		if p < 0 || p != o {
			if bad++; bad <= 5 {
				t.Errorf("%s: lease %s for %s is in pool %d but the client is in %s's scope", n, l.IP, l.HW, p, haNames[o])
			}
			continue
		}
		per[p]++
	}
	if bad > 0 {
		t.Errorf("%s: %d leases outside their client's HA pool", n, bad)
	}
	return per
}

// compareLeaseSets asserts that both servers hold the same (address, client) set.
func compareLeaseSets(t *testing.T, nodes [2]*haNode) int {
	t.Helper()
	a, b := nodes[0].leaseMap(), nodes[1].leaseMap()
	var diffs []string
	for ip, la := range a {
		lb, ok := b[ip]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s (%s) only at %s", ip, la.HW, nodes[0]))
		case la.HW != lb.HW:
			diffs = append(diffs, fmt.Sprintf("%s: %s at %s, %s at %s", ip, la.HW, nodes[0], lb.HW, nodes[1]))
		}
	}
	for ip, lb := range b {
		if _, ok := a[ip]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s (%s) only at %s", ip, lb.HW, nodes[1]))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		t.Errorf("lease stores differ in %d addresses (%d at %s, %d at %s), e.g.:\n  %s",
			len(diffs), len(a), nodes[0], len(b), nodes[1], strings.Join(diffs[:min(len(diffs), 8)], "\n  "))
	}
	return len(a)
}

// checkNoDoubleLease asserts over both lease files that no address was ever
// leased to two different clients (lifetimes are long: no expiry here).
func checkNoDoubleLease(t *testing.T, nodes [2]*haNode) {
	t.Helper()
	owners := map[string]map[string]bool{}
	rows := 0
	for _, n := range nodes {
		for _, r := range readLeaseFile(t, n.leases) {
			rows++
			if r.valid <= 0 {
				continue
			}
			if owners[r.addr] == nil {
				owners[r.addr] = map[string]bool{}
			}
			owners[r.addr][r.hw] = true
		}
	}
	bad := 0
	for a, hws := range owners {
		if len(hws) > 1 {
			if bad++; bad <= 5 {
				t.Errorf("address %s leased to %d clients: %v", a, len(hws), keys(hws))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d addresses leased to more than one client", bad)
	}
	t.Logf("lease files: %d rows, %d addresses, none leased to two clients: %v", rows, len(owners), bad == 0)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// haPerf runs the perfdhcp load in the client namespace: no server
// address, so the relayed broadcast reaches both servers.
// perfdhcp cycles -R client MACs up from its base MAC: extra "-b mac=..."
// brings new clients.
func haPerf(t *testing.T, l *haLab, secs int, extra ...string) perfResult {
	t.Helper()
	args := append([]string{"-4", "-l", "br0", "-r", "200", "-p", fmt.Sprint(secs), "-R", "2000"}, extra...)
	return runPerfdhcp(t, l.cli, args...)
}

func answered(r perfResult) float64 {
	if r.DiscoverSent == 0 {
		return 0
	}
	return float64(r.AckReceived) / float64(r.DiscoverSent)
}

func requireHA(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "kea-dhcp4", "perfdhcp", "ethtool")
	for _, lib := range []string{"libdhcp_ha.so", "libdhcp_lease_cmds.so"} {
		if _, err := os.Stat(filepath.Join(haKeaHooks, lib)); err != nil {
			if testenv.Required() {
				t.Fatalf("missing kea hook %s", lib)
			}
			t.Skipf("needs kea hook %s", lib)
		}
	}
	testenv.Short(t, "runs an HA pair with perfdhcp for 15-45 s")
}

// runHAPair is issue 5 §4 (a)/(b)/(d): both servers reach load-balancing,
// perfdhcp's DORAs are >= 99 % answered, each server answers only its own
// half, and every lease is in both stores; with opts.failover also (c).
func runHAPair(t *testing.T, opts haOpts) {
	requireHA(t)
	lab := newHALab(t)
	var nodes [2]*haNode
	for i := range nodes {
		nodes[i] = newHANode(t, i, opts.kinds[i], lab.srv[i], opts.datapath)
	}
	t0 := time.Now()
	for _, n := range nodes {
		n.start()
	}
	lb := waitStates(t, nodes, "load-balancing", 30*time.Second)
	t.Logf("%s + %s: both load-balancing %.1fs after start (%.1fs after both control sockets answered)",
		nodes[0], nodes[1], time.Since(t0).Seconds(), lb.Seconds())

	// (a) load-balancing under perfdhcp.
	var before [2]int64
	for i, n := range nodes {
		before[i] = n.stat("pkt4-ack-sent")
	}
	res := haPerf(t, lab, 10)
	var acks [2]int64
	for i, n := range nodes {
		acks[i] = n.stat("pkt4-ack-sent") - before[i]
	}
	t.Logf("load-balancing: DISCOVER %d, OFFER %d, REQUEST %d, ACK %d (%.2f%% answered); ACKs sent %s %d, %s %d",
		res.DiscoverSent, res.OfferReceived, res.RequestSent, res.AckReceived, 100*answered(res),
		nodes[0], acks[0], nodes[1], acks[1])
	if answered(res) < 0.99 {
		t.Errorf("only %.2f%% of %d DORA exchanges answered (want >= 99%%)\n%s", 100*answered(res), res.DiscoverSent, res.Output)
	}
	if acks[0] == 0 || acks[1] == 0 {
		t.Errorf("both servers must answer their half: ACKs %d and %d", acks[0], acks[1])
	}
	if sum := acks[0] + acks[1]; sum < int64(res.AckReceived) || sum > int64(res.RequestSent) {
		t.Errorf("servers sent %d ACKs, perfdhcp sent %d REQUESTs and received %d ACKs", sum, res.RequestSent, res.AckReceived)
	}
	// On the XDP path the partner's half dies in the kernel: each xdhcpd
	// drops about as many DISCOVERs and REQUESTs as the partner answered.
	if opts.datapath == "xdp" {
		for i, n := range nodes {
			if n.kind != "xdhcpd" {
				continue
			}
			mode, c := xdpCounters(t, n.sock)
			partner := int64(res.RequestSent) - acks[i] // the partner's clients' DISCOVERs (and as many REQUESTs)
			t.Logf("%s on %s: %d dropped in the kernel as the partner's, %d redirected to AF_XDP", n, mode, c["bpf_drop_partner"], c["bpf_redirect_ours"])
			if c["bpf_drop_partner"] < partner*2*95/100 || c["bpf_drop_partner"] > partner*2*105/100+10 {
				t.Errorf("%s dropped %d of the partner's queries in the kernel, expected about %d", n, c["bpf_drop_partner"], 2*partner)
			}
			checkHAScrape(t, n, c["bpf_drop_partner"])
		}
	}
	var per [2][2]int
	for i, n := range nodes {
		per[i] = checkOwnership(t, n, n.leaseMap())
	}
	// Each server's ACKs cover at least the leases of its own pool (repeat
	// clients of perfdhcp's -R range are ACKed again).
	for i := range nodes {
		if acks[i] < int64(per[i][i]) {
			t.Errorf("%s sent %d ACKs but its pool holds %d leases", nodes[i], acks[i], per[i][i])
		}
	}
	total := compareLeaseSets(t, nodes)
	t.Logf("lease stores identical: %d leases (%d in server1's pool, %d in server2's)", total, per[0][0], per[0][1])
	checkNoDoubleLease(t, nodes)
	if t.Failed() || !opts.failover {
		return
	}

	// (c) failover: kill the victim, the survivor reaches partner-down and
	// then answers everyone; the victim comes back, syncs, both balance.
	victim, surv := nodes[opts.victim], nodes[1-opts.victim]
	leasesBefore := checkOwnership(t, surv, surv.leaseMap())
	during := make(chan perfResult, 1)
	victim.kill()
	killed := time.Now()
	// Load while the failure is detected (the partner's queries feed the
	// unacked-client detector; they go unanswered until partner-down).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	pd := exec.CommandContext(ctx, "ip", "netns", "exec", lab.cli.Name,
		"perfdhcp", "-4", "-l", "br0", "-r", "200", "-p", "5", "-R", "2000")
	go func() {
		out, _ := pd.CombinedOutput()
		during <- perfResult{Output: string(out)}
	}()
	t.Cleanup(func() { // a Fatal below must not leave perfdhcp running
		cancel()
		<-during
	})
	var firstCR time.Duration
	var atDown haStatus
	for {
		st := surv.status()
		el := time.Since(killed)
		if st.Local == "communication-recovery" && firstCR == 0 {
			firstCR = el
		}
		if st.Local == "partner-down" {
			atDown = st
			break
		}
		if el > 20*time.Second {
			t.Fatalf("%s not in partner-down %s after %s was killed: %+v", surv, el, victim, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	down := time.Since(killed)
	t.Logf("%s killed: %s communication-recovery after %.2fs, partner-down after %.2fs (max-response-delay %d ms, heartbeat-delay %d ms); at partner-down: analyzed-packets %d, unacked-clients %d, connecting-clients %d, scopes %v",
		victim, surv, firstCR.Seconds(), down.Seconds(), haMaxResponseDelay, haHeartbeatDelay,
		atDown.Analyzed, atDown.Unacked, atDown.ConnectingClients, atDown.LocalScopes)
	// Contact was last made at most one heartbeat period before the kill;
	// partner-down follows max-response-delay after it, give or take one
	// heartbeat-delay (the state machine runs after each heartbeat).
	lo := time.Duration(haMaxResponseDelay-haHeartbeatDelay)*time.Millisecond - 500*time.Millisecond
	hi := time.Duration(haMaxResponseDelay+haHeartbeatDelay)*time.Millisecond + 1500*time.Millisecond
	if down < lo || down > hi {
		t.Errorf("partner-down %.2fs after the kill, want within [%.1fs, %.1fs]", down.Seconds(), lo.Seconds(), hi.Seconds())
	}
	if !slices.Equal(atDown.LocalScopes, haNames[:]) {
		t.Errorf("%s in partner-down serves scopes %v, want both", surv, atDown.LocalScopes)
	}
	d := <-during
	during <- d
	t.Logf("perfdhcp during the failover: %s", perfSummary(d.Output))

	// New clients (another MAC range) as well as the known ones: both
	// halves need addresses the survivor never leased before.
	beforeS := surv.stat("pkt4-ack-sent")
	res = haPerf(t, lab, 10, "-b", "mac=00:0c:01:02:13:04")
	ackS := surv.stat("pkt4-ack-sent") - beforeS
	t.Logf("partner-down: DISCOVER %d, ACK %d (%.2f%% answered); %s sent %d ACKs",
		res.DiscoverSent, res.AckReceived, 100*answered(res), surv, ackS)
	if answered(res) < 0.99 {
		t.Errorf("in partner-down only %.2f%% of %d DORA exchanges answered (want >= 99%%)\n%s", 100*answered(res), res.DiscoverSent, res.Output)
	}
	if ackS < int64(res.AckReceived) {
		t.Errorf("%s sent %d ACKs, perfdhcp received %d: someone else answered", surv, ackS, res.AckReceived)
	}
	leasesAfter := checkOwnership(t, surv, surv.leaseMap())
	t.Logf("%s leases per pool: before the kill %v, after partner-down load %v", surv, leasesBefore, leasesAfter)
	if leasesAfter[opts.victim] <= leasesBefore[opts.victim] {
		t.Errorf("%s gave no new lease from %s's pool to %s's clients", surv, victim.name(), victim.name())
	}

	restarted := time.Now()
	victim.start()
	back := waitStates(t, nodes, "load-balancing", 30*time.Second)
	t.Logf("%s restarted: both load-balancing %.2fs after its control socket answered (%.2fs after exec)",
		victim, back.Seconds(), time.Since(restarted).Seconds())
	total = compareLeaseSets(t, nodes)
	t.Logf("after resync: lease stores identical, %d leases", total)
	for _, n := range nodes {
		checkOwnership(t, n, n.leaseMap())
	}

	// Both halves served again.
	for i, n := range nodes {
		before[i] = n.stat("pkt4-ack-sent")
	}
	res = haPerf(t, lab, 4)
	for i, n := range nodes {
		acks[i] = n.stat("pkt4-ack-sent") - before[i]
	}
	t.Logf("load-balancing again: DISCOVER %d, ACK %d (%.2f%% answered); ACKs %s %d, %s %d",
		res.DiscoverSent, res.AckReceived, 100*answered(res), nodes[0], acks[0], nodes[1], acks[1])
	if answered(res) < 0.99 || acks[0] == 0 || acks[1] == 0 {
		t.Errorf("after recovery: %.2f%% answered, ACKs %d / %d", 100*answered(res), acks[0], acks[1])
	}
	compareLeaseSets(t, nodes)
	checkNoDoubleLease(t, nodes)
}

// perfSummary is the REQUEST-ACK line of a perfdhcp output.
func perfSummary(out string) string {
	var parts []string
	for _, b := range strings.Split(out, "***") {
		if m := reSent.FindStringSubmatch(b); m != nil {
			parts = append(parts, "sent "+m[1])
		}
		if m := reReceived.FindStringSubmatch(b); m != nil {
			parts = append(parts, "received "+m[1])
		}
	}
	return strings.Join(parts, ", ") + " (DISCOVER-OFFER, then REQUEST-ACK)"
}

// haDatapaths are the xdhcpd data paths every pair test runs on: the UDP
// path, and the XDP path forced ("xdp": a failure to attach fails the test
// instead of silently serving over UDP), where the kernel drops the
// partner's queries and HA drives the bucket map.
var haDatapaths = []string{"udp", "xdp"}

func forDatapaths(t *testing.T, opts haOpts) {
	for _, dp := range haDatapaths {
		t.Run(dp, func(t *testing.T) {
			o := opts
			o.datapath = dp
			runHAPair(t, o)
		})
	}
}

// TestHAKeaPrimaryXdhcpdSecondary: (a) Kea server1 + xdhcpd server2 balance
// perfdhcp's load; then (c) Kea is SIGKILLed, xdhcpd goes partner-down and
// answers everyone, Kea comes back, syncs from xdhcpd, both balance again.
func TestHAKeaPrimaryXdhcpdSecondary(t *testing.T) {
	forDatapaths(t, haOpts{kinds: [2]string{"kea", "xdhcpd"}, failover: true, victim: 0})
}

// TestHAXdhcpdPrimaryKeaSecondary: (b) roles reversed.
func TestHAXdhcpdPrimaryKeaSecondary(t *testing.T) {
	forDatapaths(t, haOpts{kinds: [2]string{"xdhcpd", "kea"}})
}

// TestHATwoXdhcpd: (d) = (a) and (c) with two xdhcpd; server1 is killed.
func TestHATwoXdhcpd(t *testing.T) {
	forDatapaths(t, haOpts{kinds: [2]string{"xdhcpd", "xdhcpd"}, failover: true, victim: 0})
}
