package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/xdhcp/xdhcp/internal/keatest"
	"github.com/xdhcp/xdhcp/internal/testenv"
)

// renewLoad is the part of dhcpload -renewals -json the test reads.
type renewLoad struct {
	RequestAck struct{ Sent, Received uint64 } `json:"request_ack"`
	RenewAck   struct{ Sent, Received uint64 } `json:"renew_ack"`
	Violations map[string]uint64               `json:"violations"`
	Malformed  uint64                          `json:"malformed"`
}

// TestKernelRenewE2E: xdhcpd on the XDP path with lease caching answers
// renewals in the kernel once it has answered one reused renewal per
// client in user space; dhcpload validates every ACK; Kea's statistics
// count the kernel's ACKs (pkt4-ack-sent, pkt4-request-received); no lease
// row is written for them; dhcp-disable stops the kernel answering.
func TestKernelRenewE2E(t *testing.T) {
	testenv.RequireBPF(t)
	dl := filepath.Join(t.TempDir(), "dhcpload")
	if out, err := exec.Command("go", "build", "-o", dl, "../dhcpload").CombinedOutput(); err != nil {
		t.Fatalf("build dhcpload: %v\n%s", err, out)
	}
	srvNS, cliNS := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srvNS, "xd0", "198.18.0.2/24", cliNS, "xc0", "198.18.0.1/24")
	cliNS.Run(t, "ethtool", "-K", "xc0", "tx", "off")
	// XDP_TX frames cross a veth pair only into a peer with an XDP program.
	detach := xdpPassIn(t, cliNS, "xc0")
	defer detach()
	cfg, sock, leases := e2eConfig(t.TempDir(), "xd0", "198.18.0.1", "xdp")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`"valid-lifetime": 3600,`), []byte(`"valid-lifetime": 3600, "calculate-tee-times": true, "cache-threshold": 0.5,
  "hooks-libraries": [ { "library": "`+filepath.Join(keatest.HooksDir, keatest.HookLeaseCmds)+`" } ],`), 1)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startXdhcpd(t, srvNS, cfg, sock)

	// 1,000 clients at 2,000 renewals/s: 2 per client per second, under
	// the default per-client rate limit (4/s), which applies to renewals
	// the kernel answers too.
	start := func(secs int, mac string, out, stderr *strings.Builder) *exec.Cmd {
		cmd := cliNS.Command(dl, "-i", "xc0", "-mode", "packet", "-renewals", "-server", "198.18.0.2", "-giaddr", "198.18.0.1",
			"-rate", "2000", "-duration", fmt.Sprintf("%ds", secs), "-clients", "1000", "-mac-base", mac,
			"-pool", "198.19.0.10-198.19.255.250", "-json")
		cmd.Stdout, cmd.Stderr = out, stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	run := func(secs int, mac string) renewLoad {
		t.Helper()
		var outB, stderr strings.Builder
		_ = start(secs, mac, &outB, &stderr).Wait()
		out := []byte(outB.String())
		var r renewLoad
		if i := bytes.IndexByte(out, '{'); i < 0 || json.Unmarshal(out[i:], &r) != nil {
			t.Fatalf("dhcpload: %q %s", out, stderr.String())
		}
		t.Logf("dhcpload: warm-up %d/%d, renewals %d/%d, violations %v, malformed %d", r.RequestAck.Received, r.RequestAck.Sent,
			r.RenewAck.Received, r.RenewAck.Sent, r.Violations, r.Malformed)
		return r
	}
	fileSize := func() int64 {
		fi, err := os.Stat(leases)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}

	_, c0 := xdpCounters(t, sock)
	acks0, reqs0 := statistic(t, sock, "pkt4-ack-sent"), statistic(t, sock, "pkt4-request-received")
	r := run(5, "02:00:7e:00:00:00")
	_, c1 := xdpCounters(t, sock)
	acks1, reqs1 := statistic(t, sock, "pkt4-ack-sent"), statistic(t, sock, "pkt4-request-received")
	kernel := c1["bpf_tx_renew"] - c0["bpf_tx_renew"]
	t.Logf("kernel ACKs %d, misses %d/%d/%d (miss/mismatch/stale), pkt4-ack-sent +%d, pkt4-request-received +%d",
		kernel, c1["bpf_renew_miss"]-c0["bpf_renew_miss"], c1["bpf_renew_mismatch"]-c0["bpf_renew_mismatch"],
		c1["bpf_renew_stale"]-c0["bpf_renew_stale"], acks1-acks0, reqs1-reqs0)
	if r.RenewAck.Sent == 0 || float64(r.RenewAck.Received) < 0.99*float64(r.RenewAck.Sent) {
		t.Fatalf("renewals: %d of %d acked", r.RenewAck.Received, r.RenewAck.Sent)
	}
	if len(r.Violations) != 0 || r.Malformed != 0 {
		t.Fatalf("invalid replies: violations %v, malformed %d", r.Violations, r.Malformed)
	}
	// The first reused renewal of each client is user space's; most after it the kernel's.
	if kernel < int64(r.RenewAck.Received)/2 {
		t.Fatalf("the kernel answered %d of %d renewals", kernel, r.RenewAck.Received)
	}
	// Kea's counters include the kernel's ACKs: every ACK the clients saw was counted.
	if got := acks1 - acks0; got < int64(r.RequestAck.Received+r.RenewAck.Received) {
		t.Errorf("pkt4-ack-sent +%d, the clients received %d ACKs", got, r.RequestAck.Received+r.RenewAck.Received)
	}
	if got := reqs1 - reqs0; got < int64(r.RequestAck.Sent+r.RenewAck.Received) {
		t.Errorf("pkt4-request-received +%d, fewer than the %d REQUESTs answered", got, r.RequestAck.Sent+r.RenewAck.Received)
	}

	// A second run with the same clients: everything reused, so no lease row written.
	f0 := fileSize()
	r = run(3, "02:00:7e:00:00:00")
	_, c4 := xdpCounters(t, sock)
	t.Logf("second run: kernel ACKs %d, route misses %d (next hop older than 5 s, forwarding off), rate-limited %d",
		c4["bpf_tx_renew"]-c1["bpf_tx_renew"], c4["bpf_renew_route"]-c1["bpf_renew_route"], c4["bpf_drop_rate_client"]-c1["bpf_drop_rate_client"])
	if float64(r.RenewAck.Received) < 0.99*float64(r.RenewAck.Sent) {
		t.Errorf("second run: %d of %d renewals acked", r.RenewAck.Received, r.RenewAck.Sent)
	}
	// Forwarding is off in the namespace: bpf_fib_lookup cannot resolve,
	// and the daemon's refresher keeps the entries' next hops current.
	if miss := c4["bpf_renew_route"] - c1["bpf_renew_route"]; miss > int64(r.RenewAck.Sent)/100 {
		t.Errorf("second run: %d renewals left to user space for their next hop", miss)
	}
	if grew := fileSize() - f0; grew > int64(r.RequestAck.Received+1)*200 {
		t.Errorf("lease file grew %d bytes over %d reused renewals", grew, r.RenewAck.Received)
	}

	// lease4-del removes the lease's cached renewal (every lease change
	// goes through the store's change callback).
	n0 := renewEntries(t, sock)
	if n0 == 0 {
		t.Fatal("no cached renewals")
	}
	rows := readLeaseFile(t, leases)
	if len(rows) == 0 {
		t.Fatal("no lease in the lease file")
	}
	del := rows[len(rows)-1].addr
	if rep, err := ctlCmd(sock, fmt.Sprintf(`{"command":"lease4-del","arguments":{"ip-address":%q}}`, del)); err != nil || rep.Result != 0 {
		t.Fatalf("lease4-del %s: %+v %v", del, rep, err)
	}
	if n := renewEntries(t, sock); n != n0-1 {
		t.Errorf("lease4-del %s: %d cached renewals, want %d", del, n, n0-1)
	}

	// config-reload empties the caches (options or lifetimes may change).
	if rep, err := ctlCmd(sock, `{"command":"config-reload"}`); err != nil || rep.Result != 0 {
		t.Fatalf("config-reload: %+v %v", rep, err)
	}
	if n := renewEntries(t, sock); n != 0 {
		t.Errorf("%d cached renewals after config-reload", n)
	}

	// dhcp-disable while renewals run: from then on the kernel answers
	// nothing (and user space, like Kea, drops them).
	var outB, errB strings.Builder
	cmd := start(4, "02:00:7e:00:00:00", &outB, &errB)
	deadline := time.Now().Add(3 * time.Second)
	for {
		_, c := xdpCounters(t, sock)
		if c["bpf_tx_renew"] > c4["bpf_tx_renew"]+100 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rep, err := ctlCmd(sock, `{"command":"dhcp-disable"}`); err != nil || rep.Result != 0 {
		t.Fatalf("dhcp-disable: %+v %v", rep, err)
	}
	_, c2 := xdpCounters(t, sock)
	time.Sleep(time.Second)
	_, c3 := xdpCounters(t, sock)
	_ = cmd.Wait()
	if c2["bpf_tx_renew"] <= c4["bpf_tx_renew"] {
		t.Errorf("the kernel answered nothing before dhcp-disable")
	}
	if d := c3["bpf_tx_renew"] - c2["bpf_tx_renew"]; d != 0 {
		t.Errorf("network state off: the kernel answered %d renewals", d)
	}
	if c3["bpf_rx_total"] == c2["bpf_rx_total"] {
		t.Errorf("no renewals arrived while the network state was off: the check checked nothing")
	}
	if rep, err := ctlCmd(sock, `{"command":"dhcp-enable"}`); err != nil || rep.Result != 0 {
		t.Fatalf("dhcp-enable: %+v %v", rep, err)
	}
	if err := srv.stop(t); err != nil {
		t.Errorf("xdhcpd exit: %v", err)
	}
}

// xdpPassIn attaches an XDP_PASS program to iface inside ns.
func xdpPassIn(t *testing.T, ns *testenv.Netns, iface string) func() {
	t.Helper()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.XDP, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()}})
	if err != nil {
		t.Fatalf("xdp pass program: %v", err)
	}
	var l link.Link
	err = ns.Do(func() error {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		l, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifi.Index})
		return err
	})
	if err != nil {
		prog.Close()
		t.Fatalf("xdp pass on %s: %v", iface, err)
	}
	return func() { l.Close(); prog.Close() }
}

// renewEntries is the renewal caches' entries over xdp-stats-get's interfaces.
func renewEntries(t *testing.T, sock string) int64 {
	t.Helper()
	r, err := ctlCmd(sock, `{"command":"xdp-stats-get"}`)
	if err != nil || r.Result != 0 {
		t.Fatalf("xdp-stats-get: %+v %v", r, err)
	}
	var a struct {
		Interfaces []struct {
			RenewCache struct {
				Counters map[string]int64 `json:"counters"`
			} `json:"renew-cache"`
		} `json:"interfaces"`
	}
	if err := json.Unmarshal(r.Arguments, &a); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, i := range a.Interfaces {
		n += i.RenewCache.Counters["entries"]
	}
	return n
}

// TestKernelRenewHAPair: two xdhcpd in a load-balancing pair on the XDP
// path, lease caching on. Every renewal (relayed, to the broadcast address)
// reaches both servers: the owner of the client's bucket answers it in
// the kernel, the other drops it in the kernel (drop_partner), so each
// client gets exactly one ACK, from its own server, and a kernel-answered
// renewal sends no lease update to the partner (as Kea leaves reused
// leases out of leases4_committed).
func TestKernelRenewHAPair(t *testing.T) {
	requireHA(t)
	testenv.RequireBPF(t)
	dl := filepath.Join(t.TempDir(), "dhcpload")
	if out, err := exec.Command("go", "build", "-o", dl, "../dhcpload").CombinedOutput(); err != nil {
		t.Fatalf("build dhcpload: %v\n%s", err, out)
	}
	l := newHALab(t)
	for _, port := range []string{"hv1", "hv2"} {
		// XDP_TX frames cross a veth pair only into a peer with an XDP program.
		detach := xdpPassIn(t, l.cli, port)
		defer detach()
	}
	var nodes [2]*haNode
	for i := range nodes {
		nodes[i] = newHANode(t, i, "xdhcpd", l.srv[i], "xdp")
		b, err := os.ReadFile(nodes[i].cfg)
		if err != nil {
			t.Fatal(err)
		}
		key := []byte(`"valid-lifetime": 86400,`)
		if !bytes.Contains(b, key) {
			t.Fatalf("the pair template has no %s", key)
		}
		b = bytes.Replace(b, key, []byte(`"valid-lifetime": 86400, "calculate-tee-times": true, "cache-threshold": 0.5,`), 1)
		if err := os.WriteFile(nodes[i].cfg, b, 0o644); err != nil {
			t.Fatal(err)
		}
		nodes[i].start()
	}
	waitStates(t, nodes, "load-balancing", 30*time.Second)

	type snap struct{ tx, partner, acks, leaseBytes int64 }
	take := func() (s [2]snap) {
		for i, nd := range nodes {
			_, c := xdpCounters(t, nd.sock)
			fi, err := os.Stat(nd.leases)
			if err != nil {
				t.Fatal(err)
			}
			s[i] = snap{tx: c["bpf_tx_renew"], partner: c["bpf_drop_partner"], acks: nd.stat("pkt4-ack-sent"), leaseBytes: fi.Size()}
		}
		return s
	}

	// 1,000 clients: a DORA and one renewal each in the warm-up (the
	// renewal teaches the owner's kernel cache), then renewals at 1,000/s
	// for 3 s: 3 per client per second, under the per-client limit.
	var out, stderr strings.Builder
	cmd := l.cli.Command(dl, "-i", "br0", "-mode", "packet", "-renewals", "-warm-renewals", "1",
		"-server", "255.255.255.255", "-giaddr", haCliAddr, "-rate", "1000", "-duration", "3s", "-clients", "1000",
		"-mac-base", "02:00:7f:00:00:00", "-pool", "198.19.0.10-198.19.255.250", "-json")
	cmd.Stdout = &out
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var s0 [2]snap
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "renewals begin") {
			s0 = take()
		}
	}
	if err := cmd.Wait(); err != nil && !strings.Contains(err.Error(), "exit status") {
		t.Fatalf("dhcpload: %v\n%s", err, stderr.String())
	}
	s1 := take()
	var r renewLoad
	b := []byte(out.String())
	if i := bytes.IndexByte(b, '{'); i < 0 || json.Unmarshal(b[i:], &r) != nil {
		t.Fatalf("dhcpload: %q %s", b, stderr.String())
	}
	t.Logf("warm-up %d/%d REQUESTs, renewals %d/%d, violations %v", r.RequestAck.Received, r.RequestAck.Sent, r.RenewAck.Received, r.RenewAck.Sent, r.Violations)
	var kernel int64
	for i := range nodes {
		d := func(f func(snap) int64) int64 { return f(s1[i]) - f(s0[i]) }
		tx, partner := d(func(s snap) int64 { return s.tx }), d(func(s snap) int64 { return s.partner })
		acks, grew := d(func(s snap) int64 { return s.acks }), d(func(s snap) int64 { return s.leaseBytes })
		t.Logf("%s: kernel ACKs %d, partner-owned dropped in the kernel %d, pkt4-ack-sent +%d, lease file +%d bytes", nodes[i], tx, partner, acks, grew)
		kernel += tx
		if tx == 0 {
			t.Errorf("%s: its kernel answered no renewal", nodes[i])
		}
		if partner == 0 {
			t.Errorf("%s: dropped none of its partner's renewals", nodes[i])
		}
		// A kernel-answered renewal writes nothing, here or (through an
		// HA lease update) at the partner.
		if grew > int64(r.RenewAck.Sent-r.RenewAck.Received+10)*200 {
			t.Errorf("%s: lease file grew %d bytes over %d reused renewals", nodes[i], grew, r.RenewAck.Received)
		}
	}
	if r.RenewAck.Sent == 0 || float64(r.RenewAck.Received) < 0.99*float64(r.RenewAck.Sent) {
		t.Fatalf("renewals: %d of %d acked", r.RenewAck.Received, r.RenewAck.Sent)
	}
	if len(r.Violations) != 0 || r.Malformed != 0 {
		t.Fatalf("invalid replies: violations %v, malformed %d", r.Violations, r.Malformed)
	}
	// One ACK per renewal, nearly all of them the kernels'.
	if kernel < int64(r.RenewAck.Received)*95/100 || kernel > int64(r.RenewAck.Sent) {
		t.Errorf("the kernels answered %d renewals; the clients got %d ACKs for %d sent", kernel, r.RenewAck.Received, r.RenewAck.Sent)
	}
	checkNoDoubleLease(t, nodes)
	for _, nd := range nodes {
		if err := nd.x.stop(t); err != nil {
			t.Errorf("%s exit: %v", nd, err)
		}
	}
}
