package ha

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/netstate"
)

const (
	keaHooks = "/usr/lib/x86_64-linux-gnu/kea/hooks"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// kea is a real kea-dhcp4 process run by a test.
type kea struct {
	t              *testing.T
	bin, dir, conf string
	sock           string
	cmd            *exec.Cmd
}

func (k *kea) start() {
	k.t.Helper()
	cmd := exec.Command(k.bin, "-c", k.conf)
	cmd.Env = append(os.Environ(), "KEA_PIDFILE_DIR="+k.dir, "KEA_LOCKFILE_DIR="+k.dir)
	out, _ := os.OpenFile(filepath.Join(k.dir, "kea.out"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		k.t.Fatalf("start kea: %v", err)
	}
	k.cmd = cmd
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if res, _, err := k.control("status-get", nil); err == nil && res == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	k.t.Fatalf("kea did not become ready; log:\n%s", k.log())
}

func (k *kea) kill() {
	if k.cmd == nil || k.cmd.Process == nil {
		return
	}
	_ = k.cmd.Process.Signal(syscall.SIGKILL)
	_ = k.cmd.Wait()
	k.cmd = nil
	_ = os.Remove(k.sock)
}

func (k *kea) log() string {
	b, _ := os.ReadFile(filepath.Join(k.dir, "kea.out"))
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// control sends one command on Kea's unix control socket.
func (k *kea) control(command string, args any) (int, json.RawMessage, error) {
	c, err := net.DialTimeout("unix", k.sock, time.Second)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	req := map[string]any{"command": command}
	if args != nil {
		req["arguments"] = args
	}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return 0, nil, err
	}
	var ans struct {
		Result    int             `json:"result"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&ans); err != nil && err != io.EOF {
		return 0, nil, err
	}
	return ans.Result, ans.Arguments, nil
}

// keaHA returns Kea's local state and what it knows of us.
func (k *kea) keaHA() (local, remote string) {
	_, args, err := k.control("status-get", nil)
	if err != nil {
		return "", ""
	}
	var st struct {
		HA []StatusEntry `json:"high-availability"`
	}
	if json.Unmarshal(args, &st) != nil || len(st.HA) == 0 || st.HA[0].HAServers.Remote == nil {
		return "", ""
	}
	return st.HA[0].HAServers.Local.State, st.HA[0].HAServers.Remote.LastState
}

func (k *kea) hasLease(ip string) bool {
	_, args, err := k.control("lease4-get-all", nil)
	return err == nil && strings.Contains(string(args), `"`+ip+`"`)
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool, dump func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s\n%s", d, what, dump())
}

// requireKeaHA skips (or, under XDHCP_REQUIRE_ROOT_TESTS=1, fails) unless
// kea-dhcp4 and its HA and lease_cmds hooks are installed, and returns
// kea-dhcp4's path.
func requireKeaHA(t *testing.T) string {
	t.Helper()
	paths := testenv.RequireCommand(t, "kea-dhcp4")
	for _, lib := range []string{"libdhcp_ha.so", "libdhcp_lease_cmds.so"} {
		if _, err := os.Stat(filepath.Join(keaHooks, lib)); err != nil {
			if testenv.Required() {
				t.Fatalf("missing kea hook %s", lib)
			}
			t.Skipf("needs kea hook %s", lib)
		}
	}
	return paths[0]
}

// startInteropKea starts kea-dhcp4 as server1 (primary) of a load-balancing
// pair with short timers and peers at url1 (itself) and url2 (us); extraHA
// is merged into its high-availability entry (TLS settings). Before we
// start, Kea holds one lease (192.0.2.50) that our sync must fetch. Kea is
// killed when the test ends.
func startInteropKea(t *testing.T, bin, dir, url1, url2 string, extraHA map[string]any) *kea {
	t.Helper()
	sock := filepath.Join(dir, "kea.sock")
	ha := map[string]any{
		"this-server-name": "server1", "mode": "load-balancing",
		"heartbeat-delay": 1000, "max-response-delay": 3000, "max-ack-delay": 1000,
		"max-unacked-clients": 0, "sync-timeout": 5000,
		"multi-threading": map[string]any{"enable-multi-threading": true, "http-dedicated-listener": true,
			"http-listener-threads": 1, "http-client-threads": 1},
		"peers": []any{
			map[string]any{"name": "server1", "url": url1, "role": "primary", "auto-failover": true},
			map[string]any{"name": "server2", "url": url2, "role": "secondary", "auto-failover": true},
		}}
	for k, v := range extraHA {
		ha[k] = v
	}
	conf := map[string]any{"Dhcp4": map[string]any{
		"interfaces-config": map[string]any{"interfaces": []string{}},
		"control-socket":    map[string]any{"socket-type": "unix", "socket-name": sock},
		"lease-database":    map[string]any{"type": "memfile", "name": filepath.Join(dir, "leases4.csv"), "lfc-interval": 0},
		"multi-threading":   map[string]any{"enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 16},
		"valid-lifetime":    4000,
		"subnet4": []any{map[string]any{"id": 1, "subnet": "192.0.2.0/24",
			"pools": []any{map[string]any{"pool": "192.0.2.10 - 192.0.2.200"}}}},
		"hooks-libraries": []any{
			map[string]any{"library": filepath.Join(keaHooks, "libdhcp_lease_cmds.so")},
			map[string]any{"library": filepath.Join(keaHooks, "libdhcp_ha.so"), "parameters": map[string]any{
				"high-availability": []any{ha}}},
		},
		"loggers": []any{map[string]any{"name": "kea-dhcp4", "severity": "INFO",
			"output_options": []any{map[string]any{"output": "stdout"}}}},
	}}
	b, _ := json.MarshalIndent(conf, "", " ")
	confPath := filepath.Join(dir, "kea.json")
	if err := os.WriteFile(confPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	k := &kea{t: t, bin: bin, dir: dir, conf: confPath, sock: sock}
	t.Cleanup(k.kill)
	k.start()
	if res, _, err := k.control("lease4-add", map[string]any{"ip-address": "192.0.2.50",
		"hw-address": "0a:0b:0c:0d:0e:0f", "subnet-id": 1}); err != nil || res != 0 {
		t.Fatalf("lease4-add on kea: %d %v", res, err)
	}
	return k
}

// interopConfig is our side (server2, secondary) of startInteropKea's pair.
func interopConfig(url1, url2 string) Config {
	cfg := DefaultConfig()
	cfg.ThisServerName = "server2"
	cfg.HeartbeatDelay = time.Second
	cfg.MaxResponseDelay = 3 * time.Second
	cfg.MaxAckDelay = time.Second
	cfg.MaxUnackedClients = 0
	cfg.SyncTimeout = 5 * time.Second
	cfg.Peers = []Peer{
		{Name: "server1", URL: url1, Role: RolePrimary, AutoFailover: true},
		{Name: "server2", URL: url2, Role: RoleSecondary, AutoFailover: true},
	}
	return cfg
}

// startInteropService starts our side of an interop pair wired as the
// daemon wires it: Kea's lease updates, dhcp-disable and dhcp-enable go
// through the shared dispatcher's leasecmds and servercmds, onto the same
// store and switch as HA's own actions. Everything stops when the test ends.
func startInteropService(t *testing.T, cfg Config) (*Service, *lease.Store, *recBuckets, *netstate.State) {
	t.Helper()
	store, _, err := lease.Open(lease.Options{Persist: false})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	sw, disp, buckets := netstate.New(), control.NewDispatcher(), &recBuckets{}
	t.Cleanup(sw.Stop)
	s, err := New(cfg, Deps{Leases: store, DHCP: switchDHCP{sw}, Buckets: buckets, Logger: zerolog.Nop(), Commands: disp})
	if err != nil {
		t.Fatal(err)
	}
	registerDaemonCommands(disp, s, store, testSubnets{}, sw)
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s, store, buckets, sw
}

// bothLoadBalancing reports whether we and Kea are in load-balancing and
// Kea sees us there too (its remote state comes from heartbeats to our
// listener).
func bothLoadBalancing(k *kea, s *Service) bool {
	l, r := k.keaHA()
	return s.State() == "load-balancing" && l == "load-balancing" && r == "load-balancing"
}

// interopDump describes both sides for a failure message.
func interopDump(k *kea, s *Service) func() string {
	return func() string {
		l, r := k.keaHA()
		return fmt.Sprintf("ours=%s partner=%s kea local=%s remote=%s\nkea log:\n%s", s.State(), s.PartnerState(), l, r, k.log())
	}
}

// TestInteropRealKea pairs our Service (server2, secondary) with a real
// Kea 2.2 kea-dhcp4 (server1, primary) over loopback.
func TestInteropRealKea(t *testing.T) {
	bin := requireKeaHA(t)
	testenv.Short(t, "runs a real kea-dhcp4 for ~20 s")
	dir := t.TempDir()
	p1, p2 := freePort(t), freePort(t)
	url1, url2 := fmt.Sprintf("http://127.0.0.1:%d/", p1), fmt.Sprintf("http://127.0.0.1:%d/", p2)
	k := startInteropKea(t, bin, dir, url1, url2, nil)
	cfg := interopConfig(url1, url2)
	// Wired as the daemon wires it: Kea's lease updates, dhcp-disable and
	// dhcp-enable go through the shared dispatcher's leasecmds and
	// servercmds, onto the same store and switch as HA's own actions.
	s, store, buckets, sw := startInteropService(t, cfg)
	dump := interopDump(k, s)
	bothLB := func() bool { return bothLoadBalancing(k, s) }
	waitFor(t, "both load-balancing", 20*time.Second, bothLB, dump)

	if _, ok := store.Get(netip.MustParseAddr("192.0.2.50")); !ok {
		t.Fatalf("lease 192.0.2.50 not synced from kea; store %v", store.All())
	}
	if bk, _ := buckets.get(); bk[0] || !bk[1] {
		t.Fatalf("buckets in load-balancing: even %v odd %v, want odd only", bk[0], bk[1])
	}

	// Our lease update reaches Kea before Sync returns.
	now := time.Now().Unix()
	l := &lease.Lease{Addr: netip.MustParseAddr("192.0.2.60"), HWAddr: []byte{0, 1, 2, 3, 4, 5},
		ClientID: []byte{1, 0, 1, 2, 3, 4, 5}, ValidLifetime: 4000, CLTT: now, SubnetID: 1, Hostname: "host60"}
	if _, err := store.Put(l); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(t.Context(), []lease.Change{{New: l}}); err != nil {
		t.Fatalf("sync to kea: %v", err)
	}
	if !k.hasLease("192.0.2.60") {
		t.Fatalf("kea lacks 192.0.2.60 after Sync\n%s", dump())
	}
	// And a release.
	if err := s.Sync(t.Context(), []lease.Change{{Old: l}}); err != nil || k.hasLease("192.0.2.60") {
		t.Fatalf("lease4-del to kea: %v, still there %v", err, k.hasLease("192.0.2.60"))
	}

	// Kill Kea: partner-down after max-response-delay (+ a heartbeat).
	killed := time.Now()
	k.kill()
	waitFor(t, "partner-down", 10*time.Second, func() bool { return s.State() == "partner-down" }, dump)
	t.Logf("partner-down %.1f s after killing kea", time.Since(killed).Seconds())
	if bk, _ := buckets.get(); !bk[0] || !bk[1] {
		t.Fatal("partner-down must serve all buckets")
	}
	l2 := l.Clone()
	l2.Addr = netip.MustParseAddr("192.0.2.61")
	_, _ = store.Put(l2)
	if err := s.Sync(t.Context(), []lease.Change{{New: l2}}); err != nil {
		t.Fatalf("sync in partner-down must not fail: %v", err)
	}

	// Restart Kea: it syncs from us, both return to load-balancing.
	k.start()
	waitFor(t, "both load-balancing after restart", 25*time.Second, bothLB, dump)
	if !k.hasLease("192.0.2.61") || !k.hasLease("192.0.2.50") {
		t.Fatalf("kea did not sync our leases\n%s", dump())
	}
	if !sw.Enabled() {
		t.Fatal("our dhcp service still disabled by the partner after its sync")
	}
}
