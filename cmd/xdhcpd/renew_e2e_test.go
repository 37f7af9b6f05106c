package main

import (
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
