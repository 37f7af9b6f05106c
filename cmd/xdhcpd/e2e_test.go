package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// e2eConfig is a single-server configuration for perfdhcp runs: one subnet
// selected by the relay address perfdhcp uses as giaddr.
func e2eConfig(dir, iface, relay, datapath string) (cfgPath, sock, leases string) {
	sock = filepath.Join(dir, "ctrl.sock")
	leases = filepath.Join(dir, "leases4.csv")
	socketType := ""
	if iface == "lo" {
		socketType = `, "dhcp-socket-type": "udp"`
	}
	cfg := fmt.Sprintf(`// written by the end-to-end test
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ %q ]%s },
  "control-socket": { "socket-type": "unix", "socket-name": %q },
  "lease-database": { "type": "memfile", "name": %q, "lfc-interval": 0 },
  "multi-threading": { "enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 256 },
  "valid-lifetime": 3600,
  "subnet4": [ {
      "id": 1, "subnet": "198.19.0.0/16",
      "pools": [ { "pool": "198.19.0.10 - 198.19.255.250" } ],
      "relay": { "ip-addresses": [ %q ] },
      "option-data": [ { "name": "routers", "data": "198.19.0.1" } ]
  } ],
  "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "stdout" } ], "severity": "WARN" } ],
  "user-context": { "xdhcp": { "datapath": %q } }
} }
`, iface, socketType, sock, leases, relay, datapath)
	cfgPath = filepath.Join(dir, "xdhcpd.json")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		panic(err)
	}
	return cfgPath, sock, leases
}

// doraAt drives perfdhcp at rate DORA/s for secs seconds and checks that at
// least 99.9 % of the exchanges completed, then that every ACK is in the
// lease file and no address went to two clients.
func doraAt(t *testing.T, srv *proc, client *testenv.Netns, leases string, rate, secs int, perfArgs ...string) {
	t.Helper()
	args := append([]string{"-4", "-r", fmt.Sprint(rate), "-p", fmt.Sprint(secs), "-R", "50000"}, perfArgs...)
	res := runPerfdhcp(t, client, args...)
	acks := statistic(t, srv.sock, "pkt4-ack-sent")
	t.Logf("perfdhcp: DISCOVER %d, OFFER %d, REQUEST %d, ACK %d, rate %.0f/s; server ACKs %d",
		res.DiscoverSent, res.OfferReceived, res.RequestSent, res.AckReceived, res.Rate, acks)
	if ratio := float64(res.AckReceived) / float64(res.DiscoverSent); ratio < 0.999 {
		t.Errorf("only %.3f%% of %d DORA exchanges completed (want >= 99.9%%)\n%s", 100*ratio, res.DiscoverSent, res.Output)
	}
	if min := rate * secs * 95 / 100; res.DiscoverSent < min {
		t.Errorf("perfdhcp sent %d DISCOVERs, expected about %d: the offered load was not reached", res.DiscoverSent, rate*secs)
	}
	if err := srv.stop(t); err != nil {
		t.Errorf("xdhcpd exit: %v", err)
	}
	checkLeaseFile(t, leases, acks)
}

// TestPerfdhcpLoopbackRelay: perfdhcp relays (giaddr 127.0.0.2) to xdhcpd
// on the loopback of a namespace the test creates.
func TestPerfdhcpLoopbackRelay(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "perfdhcp")
	ns := testenv.NewNetns(t)
	ns.Run(t, "ip", "addr", "add", "127.0.0.2/8", "dev", "lo")
	cfg, sock, leases := e2eConfig(t.TempDir(), "lo", "127.0.0.2", "udp")
	srv := startXdhcpd(t, ns, cfg, sock)
	doraAt(t, srv, ns, leases, 2000, 10, "-l", "127.0.0.2", "127.0.0.1")
}

// TestPerfdhcpVethRelay: perfdhcp in one namespace relays across a veth
// pair to xdhcpd on the UDP path in another.
func TestPerfdhcpVethRelay(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "perfdhcp")
	srvNS, cliNS := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srvNS, "xd0", "198.18.0.2/24", cliNS, "xc0", "198.18.0.1/24")
	cliNS.Run(t, "ethtool", "-K", "xc0", "tx", "off")
	cfg, sock, leases := e2eConfig(t.TempDir(), "xd0", "198.18.0.1", "udp")
	srv := startXdhcpd(t, srvNS, cfg, sock)
	doraAt(t, srv, cliNS, leases, 2000, 10, "-l", "xc0", "198.18.0.2")
}

// TestCheckConfig: xdhcpd -t accepts the seed configuration unchanged and
// refuses a broken one with file:line:column.
func TestCheckConfig(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"-t", "../../config/testdata/ha-load-balancing-server2-mt.json"}, &out, &errb); code != 0 {
		t.Fatalf("seed refused: %s", errb.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{ \"Dhcp4\": {\n  \"valid-lifetime\": 100,\n  \"bogus-param\": 1 } }\n"), 0o644)
	errb.Reset()
	if code := run([]string{"-t", bad}, &out, &errb); code != 1 {
		t.Fatalf("bad config accepted (exit %d)", code)
	}
	if !strings.Contains(errb.String(), bad+":3:3") || !strings.Contains(errb.String(), "bogus-param") {
		t.Errorf("error does not name file:line:col and the parameter: %q", errb.String())
	}
}
