package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// dhcploadRun is the part of dhcpload -json (exchanges or -hostile) the
// test reads.
type dhcploadRun struct {
	Started   uint64            `json:"started"`
	Completed uint64            `json:"completed"`
	Naks      uint64            `json:"naks"`
	Sent      uint64            `json:"sent"` // -hostile: frames
	ByKind    map[string]uint64 `json:"by_kind"`
	Hostile   bool              `json:"hostile"`
}

// buildDhcpload builds cmd/dhcpload into the test's temp dir.
func buildDhcpload(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dhcpload")
	if out, err := exec.Command("go", "build", "-o", bin, "../dhcpload").CombinedOutput(); err != nil {
		t.Fatalf("build dhcpload: %v\n%s", err, out)
	}
	return bin
}

// runDhcpload runs dhcpload in ns and decodes its -json report.
func runDhcpload(ns *testenv.Netns, bin string, limit time.Duration, args ...string) (dhcploadRun, string, error) {
	var r dhcploadRun
	cmd := ns.Command(bin, append(args, "-json")...)
	timer := time.AfterFunc(limit, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	out, err := cmd.CombinedOutput()
	s := string(out)
	i := strings.IndexByte(s, '{')
	if i < 0 {
		return r, s, fmt.Errorf("dhcpload printed no JSON (%v)", err)
	}
	if jerr := json.Unmarshal([]byte(s[i:]), &r); jerr != nil {
		return r, s, fmt.Errorf("dhcpload JSON: %w (%v)", jerr, err)
	}
	return r, s, nil
}

// TestHostileLAN is issue 11's service-under-flood check at a rate CI can
// afford: an attacker with its own port on the segment (atk0 on the
// client bridge) sends dhcpload -hostile frames (random MACs; valid,
// malformed, fuzzed, over-long, VLAN-stacked and fragmented DHCP) at
// 10,000 frames/s while a relay's clients ask 200 DORA/s, each exchange a
// new client. At least 99.9 % of the relay's exchanges complete, on the
// XDP path and on the UDP path, and every ACK is in the lease file.
func TestHostileLAN(t *testing.T) {
	testenv.RequireRoot(t)
	dl := buildDhcpload(t)
	for _, datapath := range []string{"xdp", "udp"} {
		t.Run(datapath, func(t *testing.T) {
			if datapath == "xdp" {
				testenv.RequireBPF(t)
			}
			srvNS, cliNS := testenv.NewNetns(t), testenv.NewNetns(t)
			// cli: br0 198.18.0.1 (the relay), xc0 to the server, atk0 the attacker's port.
			cliNS.Run(t, "ip", "link", "add", "br0", "type", "bridge")
			cliNS.Run(t, "ip", "addr", "add", "198.18.0.1/24", "dev", "br0")
			cliNS.Run(t, "ip", "link", "set", "br0", "up")
			testenv.Veth(t, srvNS, "xd0", "198.18.0.2/24", cliNS, "xc0", "", "numrxqueues", "2", "numtxqueues", "2")
			cliNS.Run(t, "ip", "link", "set", "xc0", "master", "br0")
			cliNS.Run(t, "ip", "link", "add", "atk0", "type", "veth", "peer", "name", "atk1")
			cliNS.Run(t, "ip", "link", "set", "atk1", "master", "br0", "up")
			cliNS.Run(t, "ip", "link", "set", "atk0", "up")
			cfg, sock, leases := e2eConfig(t.TempDir(), "xd0", "198.18.0.1", datapath)
			srv := startXdhcpd(t, srvNS, cfg, sock)

			const goodRate, secs, floodRate = 200, 5, 10000
			var wg sync.WaitGroup
			var bad dhcploadRun
			var badOut string
			var badErr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				bad, badOut, badErr = runDhcpload(cliNS, dl, 30*time.Second, "-i", "atk0", "-mode", "packet", "-hostile",
					"-server", "255.255.255.255", "-giaddr", "198.18.0.250", "-rate", fmt.Sprint(floodRate),
					"-duration", fmt.Sprintf("%ds", secs+3))
			}()
			time.Sleep(500 * time.Millisecond) // the flood is on before the relay starts
			good, goodOut, goodErr := runDhcpload(cliNS, dl, 30*time.Second, "-i", "br0", "-mode", "packet",
				"-server", "198.18.0.2", "-giaddr", "198.18.0.1", "-rate", fmt.Sprint(goodRate),
				"-duration", fmt.Sprintf("%ds", secs), "-clients", fmt.Sprint(goodRate*secs+10),
				"-mac-base", "02:00:7e:00:00:00", "-pool", "198.19.0.10-198.19.255.250")
			wg.Wait()
			if goodErr != nil {
				t.Fatalf("relay: %v\n%s", goodErr, goodOut)
			}
			if badErr != nil || !bad.Hostile {
				t.Fatalf("attacker: %v\n%s", badErr, badOut)
			}
			t.Logf("%s: attacker sent %d frames %v; relay completed %d of %d (NAKs %d)",
				datapath, bad.Sent, bad.ByKind, good.Completed, good.Started, good.Naks)
			if bad.Sent < uint64(floodRate*secs*9/10) {
				t.Errorf("the attacker sent %d frames, want about %d: the flood was not offered", bad.Sent, floodRate*(secs+3))
			}
			if good.Started < uint64(goodRate*secs*95/100) {
				t.Errorf("the relay started %d exchanges, want about %d", good.Started, goodRate*secs)
			}
			if share := float64(good.Completed) / float64(max(good.Started, 1)); share < 0.999 {
				t.Errorf("only %.2f%% of the relay's %d exchanges completed under the flood (want >= 99.9%%)\n%s",
					100*share, good.Started, goodOut)
			}
			// Each hostile kind met the stage meant for it, by name: the
			// repeating MACs their client bucket, tagged frames and
			// fragments the kernel stack (XDP), or the UDP path's limits.
			if datapath == "xdp" {
				_, c := xdpCounters(t, sock)
				t.Logf("xdp counters: %v", c)
				for _, name := range []string{"bpf_drop_rate_client", "bpf_pass_vlan", "bpf_pass_fragment"} {
					if c[name] == 0 {
						t.Errorf("%s did not move under the flood", name)
					}
				}
			} else if n := statistic(t, srv.sock, "pkt4-udp-drop-rate-client"); n == 0 {
				t.Errorf("pkt4-udp-drop-rate-client did not move under the flood")
			}
			acks := statistic(t, srv.sock, "pkt4-ack-sent")
			if err := srv.stop(t); err != nil {
				t.Errorf("xdhcpd exit: %v", err)
			}
			checkLeaseFile(t, leases, acks)
		})
	}
}
