package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/keatest"
	"github.com/xdhcp/xdhcp/internal/testenv"
)

// Topology of the root tests: the relay (dhcpload) at 198.18.0.1, the
// server at 198.18.0.2, leases from 198.19.0.0/16 selected by the relay
// address.
const (
	relayAddr  = "198.18.0.1"
	serverAddr = "198.18.0.2"
	testPool   = "198.19.0.10-198.19.255.250"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// dhcploadBin builds the command once per test binary.
func dhcploadBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dhcpload-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "dhcpload")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// testNet is a client (relay) and a server namespace joined by a
// single-queue veth pair.
type testNet struct {
	client, server *testenv.Netns
	cliIf, srvIf   string
}

func newTestNet(t testing.TB) *testNet {
	t.Helper()
	testenv.RequireBPF(t)
	tn := &testNet{client: testenv.NewNetns(t), server: testenv.NewNetns(t), cliIf: testenv.Name("dlc"), srvIf: testenv.Name("dls")}
	testenv.Veth(t, tn.client, tn.cliIf, relayAddr+"/24", tn.server, tn.srvIf, serverAddr+"/24",
		"numrxqueues", "1", "numtxqueues", "1")
	// Kea on a link without carrier opens no socket: wait for LOWER_UP.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(tn.server.Run(t, "ip", "link", "show", tn.srvIf), "LOWER_UP") {
		if time.Now().After(deadline) {
			t.Fatalf("%s has no carrier after 5 s", tn.srvIf)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return tn
}

// startKea runs kea-dhcp4 in the server namespace, serving testPool to
// clients relayed by relayAddr, and waits until its control socket
// answers status-get.
func startKea(t *testing.T, tn *testNet) *keatest.Kea {
	t.Helper()
	bin := testenv.RequireCommand(t, "kea-dhcp4")[0]
	dir := t.TempDir()
	sock := filepath.Join(dir, "kea.sock")
	first, last, _ := strings.Cut(testPool, "-")
	conf := map[string]any{"Dhcp4": map[string]any{
		"interfaces-config": map[string]any{"interfaces": []string{tn.srvIf}},
		"control-socket":    map[string]any{"socket-type": "unix", "socket-name": sock},
		"lease-database":    map[string]any{"type": "memfile", "persist": false},
		"valid-lifetime":    4000,
		"subnet4": []any{map[string]any{"id": 1, "subnet": "198.19.0.0/16",
			"pools": []any{map[string]any{"pool": first + " - " + last}},
			"relay": map[string]any{"ip-addresses": []string{relayAddr}}}},
		"loggers": []any{map[string]any{"name": "kea-dhcp4", "severity": "WARN",
			"output_options": []any{map[string]any{"output": "stdout"}}}},
	}}
	confPath := filepath.Join(dir, "kea.json")
	if err := keatest.WriteConfig(confPath, conf); err != nil {
		t.Fatal(err)
	}
	k, err := keatest.Start(keatest.Options{Bin: bin, Dir: dir, ConfigPath: confPath, Socket: sock, Netns: tn.server.Name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = k.Kill()
		if t.Failed() {
			t.Logf("kea log:\n%s", k.Tail(1<<20))
		}
	})
	return k
}

// runLoad runs dhcpload in the client namespace with -json (bounded by
// the caller's -n/-duration and a hard 60 s limit) and returns its exit
// code and report.
func runLoad(t *testing.T, tn *testNet, args ...string) (int, *Report) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"netns", "exec", tn.client.Name, dhcploadBin(t), "-i", tn.cliIf, "-json"}, args...)
	cmd := exec.CommandContext(ctx, "ip", full...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("dhcpload %v: %v", args, err)
	}
	if code == exitError {
		t.Fatalf("dhcpload %v failed: %s", args, stderr.String())
	}
	var r Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("dhcpload %v: report %q: %v (stderr %s)", args, out, err, stderr.String())
	}
	t.Logf("dhcpload %v: exit %d\n%s", args, code, out)
	return code, &r
}

// TestKea runs bounded loads against a real kea-dhcp4 2.2 in both I/O
// modes and checks that every exchange completes and validates.
func TestKea(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		renew bool
	}{
		{"afxdp unicast renew release", []string{"-mode", "afxdp", "-server", serverAddr, "-renew", "-release", "-client-id"}, true},
		{"afxdp generic broadcast", []string{"-mode", "afxdp", "-xdp-mode", "generic", "-server", "255.255.255.255"}, false},
		{"packet unicast renew release", []string{"-mode", "packet", "-server", serverAddr, "-renew", "-release"}, true},
		{"packet broadcast", []string{"-mode", "packet", "-server", "255.255.255.255", "-client-id"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTestNet(t)
			startKea(t, tn)
			const n = 500
			args := append([]string{"-clients", "500", "-n", fmt.Sprint(n), "-rate", "500", "-duration", "20s",
				"-timeout", "2s", "-pool", testPool}, tc.args...)
			code, r := runLoad(t, tn, args...)
			if code != exitOK {
				t.Errorf("exit code %d, want 0", code)
			}
			if r.Started != n || r.Completed != n || r.Drops != 0 {
				t.Errorf("started %d completed %d drops %d, want %d, %d, 0", r.Started, r.Completed, r.Drops, n, n)
			}
			if r.DiscoverOffer.Sent != n || r.DiscoverOffer.Received != n || r.RequestAck.Sent != n || r.RequestAck.Received != n {
				t.Errorf("discover-offer %+v request-ack %+v", r.DiscoverOffer, r.RequestAck)
			}
			if len(r.Violations) != 0 || r.Naks != 0 || r.Unmatched != 0 || r.Unexpected != 0 || r.Malformed != 0 {
				t.Errorf("violations %v naks %d unmatched %d unexpected %d malformed %d", r.Violations, r.Naks, r.Unmatched, r.Unexpected, r.Malformed)
			}
			if tc.renew {
				if r.RenewAck == nil || r.RenewAck.Received != n || r.Releases != n {
					t.Errorf("renew %+v releases %d, want %d each", r.RenewAck, r.Releases, n)
				}
			}
		})
	}
}

// TestKeaWarmRenewals: -warm-renewals 1 renews every client once in the
// warm-up, before the measured renewals; Kea's request counter shows the
// DORA, the warm-up renewal and the measured ones.
func TestKeaWarmRenewals(t *testing.T) {
	tn := newTestNet(t)
	k := startKea(t, tn)
	const clients, n = 200, 400
	code, r := runLoad(t, tn, "-mode", "packet", "-server", serverAddr, "-renewals", "-warm-renewals", "1",
		"-clients", fmt.Sprint(clients), "-n", fmt.Sprint(n), "-rate", "1000", "-duration", "20s", "-timeout", "2s", "-pool", testPool)
	if code != exitOK {
		t.Errorf("exit code %d, want 0", code)
	}
	if r.RenewAck == nil || r.RenewAck.Sent != n || r.RenewAck.Received != n {
		t.Fatalf("measured renewals %+v, want %d sent and acked", r.RenewAck, n)
	}
	resp, err := k.Command("statistic-get", map[string]any{"name": "pkt4-request-received"})
	if err != nil {
		t.Fatal(err)
	}
	var st map[string][][]any
	if err := json.Unmarshal(resp.Arguments, &st); err != nil || len(st["pkt4-request-received"]) == 0 {
		t.Fatalf("statistic-get: %s (%v)", resp.Arguments, err)
	}
	got, _ := st["pkt4-request-received"][0][0].(float64)
	if want := float64(clients + clients + n); got != want {
		t.Errorf("Kea received %.0f REQUESTs, want %.0f (DORA, one warm-up renewal per client, %d measured)", got, want, n)
	}
}
