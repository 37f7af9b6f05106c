package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// xdpCounters reads xdp-stats-get and sums each counter over interfaces.
func xdpCounters(t *testing.T, sock string) (datapath string, c map[string]int64) {
	t.Helper()
	r, err := ctlCmd(sock, `{"command":"xdp-stats-get"}`)
	if err != nil || r.Result != 0 {
		t.Fatalf("xdp-stats-get: %+v %v", r, err)
	}
	var a struct {
		Datapath   string `json:"datapath"`
		Interfaces []struct {
			Counters map[string]int64 `json:"counters"`
		} `json:"interfaces"`
	}
	if err := json.Unmarshal(r.Arguments, &a); err != nil {
		t.Fatal(err)
	}
	c = map[string]int64{}
	for _, i := range a.Interfaces {
		for k, v := range i.Counters {
			c[k] += v
		}
	}
	return a.Datapath, c
}

// TestPerfdhcpVethXDP: the daemon forced onto the XDP path ("datapath":
// "xdp", so it cannot fall back to UDP and pass) answers perfdhcp across a
// two-queue veth at 2,000 DORA/s, and the requests went through the AF_XDP
// redirect, not the kernel's UDP stack.
func TestPerfdhcpVethXDP(t *testing.T) {
	testenv.RequireBPF(t)
	testenv.RequireCommand(t, "perfdhcp")
	srvNS, cliNS := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srvNS, "xd0", "198.18.0.2/24", cliNS, "xc0", "198.18.0.1/24", "numrxqueues", "2", "numtxqueues", "2")
	cliNS.Run(t, "ethtool", "-K", "xc0", "tx", "off")
	cfg, sock, leases := e2eConfig(t.TempDir(), "xd0", "198.18.0.1", "xdp")
	srv := startXdhcpd(t, srvNS, cfg, sock)
	mode, before := xdpCounters(t, sock)
	if mode != "xdp-native" && mode != "xdp-generic" {
		t.Fatalf("datapath %q, want an XDP mode", mode)
	}
	res := runPerfdhcp(t, cliNS, "-4", "-r", "2000", "-p", "10", "-R", "50000", "-l", "xc0", "198.18.0.2")
	_, after := xdpCounters(t, sock)
	acks := statistic(t, srv.sock, "pkt4-ack-sent")
	redirected := after["bpf_redirect_ours"] - before["bpf_redirect_ours"]
	t.Logf("datapath %s: DISCOVER %d, ACK %d; redirected %d, no_socket %d, xsk tx %d, fallbacks %d",
		mode, res.DiscoverSent, res.AckReceived, redirected, after["bpf_no_socket"], after["xsk_tx_packets"], after["path_tx_fallback"])
	if ratio := float64(res.AckReceived) / float64(res.DiscoverSent); ratio < 0.999 {
		t.Errorf("only %.3f%% of %d exchanges completed over XDP", 100*ratio, res.DiscoverSent)
	}
	// Every DISCOVER and REQUEST went to user space through the redirect.
	if want := int64(res.DiscoverSent + res.RequestSent); redirected < want*999/1000 {
		t.Errorf("%d frames redirected to AF_XDP, perfdhcp sent %d", redirected, want)
	}
	if after["bpf_no_socket"] != 0 {
		t.Errorf("%d frames fell back to the kernel stack: no AF_XDP socket on their queue", after["bpf_no_socket"])
	}
	if err := srv.stop(t); err != nil {
		t.Errorf("xdhcpd exit: %v", err)
	}
	checkLeaseFile(t, leases, acks)
	if out := srvNS.Run(t, "ip", "link", "show", "xd0"); containsXDP(out) {
		t.Errorf("XDP program still attached after shutdown:\n%s", out)
	}
}

// containsXDP reports whether `ip link show` output shows an XDP program.
func containsXDP(ipLinkOutput string) bool {
	for _, w := range []string{" xdp ", " xdpgeneric ", "prog/xdp"} {
		if strings.Contains(ipLinkOutput, w) {
			return true
		}
	}
	return false
}
