package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// reloadPartner is a Kea-like partner: heartbeats report load-balancing at
// its clock (now + skew), the sync commands succeed; it counts heartbeats.
type reloadPartner struct {
	srv        *httptest.Server
	skew       atomic.Int64 // nanoseconds
	heartbeats atomic.Int64
	mu         sync.Mutex
	cmds       []string
}

func newReloadPartner(t *testing.T) *reloadPartner {
	p := &reloadPartner{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct {
			Command string `json:"command"`
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &env)
		p.mu.Lock()
		p.cmds = append(p.cmds, env.Command)
		p.mu.Unlock()
		var out string
		switch env.Command {
		case "ha-heartbeat":
			p.heartbeats.Add(1)
			at := time.Now().Add(time.Duration(p.skew.Load())).UTC().Format(http.TimeFormat)
			out = `[ { "result": 0, "text": "HA peer status returned.", "arguments": { "state": "load-balancing", "date-time": "` + at +
				`", "scopes": [ "server2" ], "unsent-update-count": 0 } } ]`
		case "lease4-get-page":
			out = `[ { "arguments": { "count": 0, "leases": [ ] }, "result": 3, "text": "0 IPv4 lease(s) found." } ]`
		default:
			out = `[ { "result": 0, "text": "ok" } ]`
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// reloadDoc is server1 of a load-balancing pair whose partner is at
// partnerURL; extra goes into the high-availability map.
func reloadDoc(ownPort int, partnerURL, extra string) string {
	return fmt.Sprintf(`{ "Dhcp4": {
  "lease-database": { "type": "memfile", "persist": false },
  "hooks-libraries": [ { "library": "libdhcp_lease_cmds.so" }, { "library": "libdhcp_ha.so", "parameters": { "high-availability": [ {
    "this-server-name": "server1", "mode": "load-balancing", "heartbeat-delay": 100, "max-response-delay": 1000, "max-ack-delay": 500,
    "max-unacked-clients": 0, %s
    "peers": [ { "name": "server1", "url": "http://127.0.0.1:%d/", "role": "primary" },
      { "name": "server2", "url": "%s", "role": "secondary" } ] } ] } } ],
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [
    { "pool": "192.0.2.10 - 192.0.2.19", "client-class": "HA_server1" },
    { "pool": "192.0.2.20 - 192.0.2.29", "client-class": "HA_server2" } ] } ] } }
`, extra, ownPort, partnerURL)
}

// waitState polls the HA state for at most 10 s.
func waitState(t *testing.T, d *Daemon, want string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); d.ha.svc().State() != want; {
		if time.Now().After(end) {
			t.Fatalf("HA state %s, want %s", d.ha.svc().State(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReloadRebuildsHA (issue 10 item 2): a reload rebuilds the HA service
// as Kea 2.2 does (the hook libraries are reloaded): a server in
// terminated (clock skew over 60 s, ha_service.cc shouldTerminate) starts
// again in waiting, heartbeats and reaches load-balancing; HA parameters,
// this server's URL included, change without a restart; adding or
// removing HA, or a new HA configuration that does not validate, is
// refused and the running service keeps running.
func TestReloadRebuildsHA(t *testing.T) {
	p := newReloadPartner(t)
	p.skew.Store(int64(2 * time.Minute))
	dir := t.TempDir()
	path := filepath.Join(dir, "kea-dhcp4.conf")
	port := freeTCPPort(t)
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(reloadDoc(port, p.srv.URL+"/", ""))
	d, err := New(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.close)
	d.ctx = t.Context()
	if err := d.startHA(d.ctx); err != nil {
		t.Fatal(err)
	}
	waitState(t, d, "terminated")
	first := d.ha.svc()

	// Refused reloads leave the running service alone.
	write(strings.Replace(reloadDoc(port, p.srv.URL+"/", ""), `"mode": "load-balancing",`, `"mode": "load-balancing", "trust-anchor": "/nonexistent/ca.pem", "cert-file": "/nonexistent/c.pem", "key-file": "/nonexistent/k.pem",`, 1))
	if err := d.ConfigReload(); err == nil || !strings.Contains(err.Error(), "bad TLS config") {
		t.Fatalf("reload with unreadable TLS files: %v", err)
	}
	noHA := `{ "Dhcp4": { "lease-database": { "type": "memfile", "persist": false }, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" } ] } }`
	if err := d.ConfigSet(json.RawMessage(noHA)); err == nil || !strings.Contains(err.Error(), "adding or removing libdhcp_ha.so requires a restart") {
		t.Fatalf("config-set removing HA: %v", err)
	}
	write(noHA)
	if err := d.ConfigReload(); err == nil || !strings.Contains(err.Error(), "adding or removing libdhcp_ha.so requires a restart") {
		t.Fatalf("reload removing HA: %v", err)
	}
	if d.ha.svc() != first || first.State() != "terminated" {
		t.Fatalf("a refused reload replaced or changed the service (state %s)", d.ha.svc().State())
	}

	// The partner fixes its clock; the reload, on a new port, rebuilds HA.
	p.skew.Store(0)
	newPort := freeTCPPort(t)
	write(reloadDoc(newPort, p.srv.URL+"/", `"sync-page-limit": 100,`))
	before := p.heartbeats.Load()
	if err := d.ConfigReload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if d.ha.svc() == first {
		t.Fatal("the reload kept the old HA service")
	}
	waitState(t, d, "load-balancing")
	if p.heartbeats.Load() <= before {
		t.Fatal("no heartbeat after the reload")
	}
	for _, c := range []struct {
		port int
		up   bool
	}{{port, false}, {newPort, true}} {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.port), time.Second)
		if conn != nil {
			conn.Close()
		}
		if (err == nil) != c.up {
			t.Errorf("listener on %d: dial error %v, want listening=%v", c.port, err, c.up)
		}
	}
	st, _ := json.Marshal(d.Status()["high-availability"])
	if !strings.Contains(string(st), "load-balancing") {
		t.Errorf("status-get's HA part does not follow the new service: %s", st)
	}
}

// TestReloadHAStartFails: the new configuration's HA listener cannot bind
// (its port is taken): the reload is refused, the previous configuration
// keeps serving, with an HA service of the previous configuration started
// again on its own port.
func TestReloadHAStartFails(t *testing.T) {
	p := newReloadPartner(t)
	path := filepath.Join(t.TempDir(), "kea-dhcp4.conf")
	port := freeTCPPort(t)
	if err := os.WriteFile(path, []byte(reloadDoc(port, p.srv.URL+"/", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := New(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.close)
	d.ctx = t.Context()
	if err := d.startHA(d.ctx); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().(*net.TCPAddr).Port
	if err := os.WriteFile(path, []byte(reloadDoc(busy, p.srv.URL+"/", `"sync-page-limit": 100,`)), 0o644); err != nil {
		t.Fatal(err)
	}
	before := d.cfg
	err = d.ConfigReload()
	if err == nil || !strings.Contains(err.Error(), "start high availability") {
		t.Fatalf("reload onto a taken port: %v", err)
	}
	if d.cfg != before {
		t.Fatal("the refused configuration was applied")
	}
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		t.Fatalf("the previous configuration's HA listener is not back on %d: %v", port, err)
	}
	conn.Close()
	if st := d.ha.svc().State(); st == "" {
		t.Fatal("no HA service")
	}
}
