package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/keatest"
	"github.com/xdhcp/xdhcp/internal/testenv"
)

// leaseCmdsHook is Debian's lease_cmds hook for Kea 2.2.
var leaseCmdsHook = filepath.Join(keatest.HooksDir, keatest.HookLeaseCmds)

// shortDir returns a temporary directory with a short path (unix socket
// names are limited to 107 bytes; t.TempDir paths can be longer), removed
// when the test ends.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "xc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// ctlServer is one server (kea-dhcp4 or xdhcpd) and the files it uses.
type ctlServer struct {
	name    string
	dir     string
	cfgPath string
	sock    string
	leases  string
	log     string
}

// ctlConfig renders the Dhcp4 map both servers run with: no interfaces, a
// unix control socket and memfile in dir, the lease_cmds hook and one
// subnet 192.0.2.0/24 (id 1) with the given pool and lifetime.
func ctlConfig(s *ctlServer, pool string, valid int) string {
	return fmt.Sprintf(`{
  "interfaces-config": { "interfaces": [ ] },
  "control-socket": { "socket-type": "unix", "socket-name": %q },
  "lease-database": { "type": "memfile", "name": %q, "lfc-interval": 0 },
  "multi-threading": { "enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 16 },
  "hooks-libraries": [ { "library": %q } ],
  "valid-lifetime": %d,
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": %q } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": %q } ], "severity": "WARN" } ]
}`, s.sock, s.leases, leaseCmdsHook, valid, pool, s.log)
}

// newCtlServer prepares dir and writes the configuration file.
func newCtlServer(t *testing.T, name string) *ctlServer {
	t.Helper()
	dir := shortDir(t)
	s := &ctlServer{
		name:    name,
		dir:     dir,
		cfgPath: filepath.Join(dir, name+".json"),
		sock:    filepath.Join(dir, "ctrl.sock"),
		leases:  filepath.Join(dir, "leases4.csv"),
		log:     filepath.Join(dir, name+".log"),
	}
	s.writeConfig(t, "192.0.2.10 - 192.0.2.100", 4000)
	return s
}

// writeConfig (re)writes the configuration file.
func (s *ctlServer) writeConfig(t *testing.T, pool string, valid int) {
	t.Helper()
	body := `{ "Dhcp4": ` + ctlConfig(s, pool, valid) + " }\n"
	if err := os.WriteFile(s.cfgPath, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// requireKea skips unless kea-dhcp4 and the lease_cmds hook are installed
// (and fails instead under XDHCP_REQUIRE_ROOT_TESTS=1).
func requireKea(t *testing.T) string {
	t.Helper()
	testenv.RequireCommand(t, "kea-dhcp4")
	bin, err := keatest.Installed(keatest.HookLeaseCmds)
	if err != nil {
		if testenv.Required() {
			t.Fatalf("XDHCP_REQUIRE_ROOT_TESTS=1 but %v", err)
		}
		t.Skipf("needs %v (kea-hooks package)", err)
	}
	return bin
}

// startKea runs kea-dhcp4 -c on s's configuration and waits for its
// control socket. It is stopped (SIGTERM, then SIGKILL) when the test ends.
func startKea(t *testing.T, s *ctlServer) *keatest.Kea {
	t.Helper()
	bin := requireKea(t)
	k, err := keatest.Start(keatest.Options{Bin: bin, Dir: s.dir, ConfigPath: s.cfgPath, Socket: s.sock})
	if err != nil {
		l, _ := os.ReadFile(s.log)
		t.Fatalf("%v\n%s", err, tail(l, 4096))
	}
	t.Cleanup(func() {
		if err := k.Stop(10 * time.Second); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			l, _ := os.ReadFile(s.log)
			t.Logf("kea-dhcp4 output:\n%s\n%s", k.Tail(2048), tail(l, 2048))
		}
	})
	return k
}

// rawCmd sends payload on a control socket and returns everything the
// server writes until it closes the connection. closeWrite half-closes the
// connection after the payload (a client that gives up sending).
func rawCmd(sock, payload string, closeWrite bool, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, payload); err != nil {
		return "", err
	}
	if closeWrite {
		_ = c.(*net.UnixConn).CloseWrite()
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// mustCmd sends cmd and fails the test unless the result is want.
func mustCmd(t *testing.T, sock, cmd string, want int) *reply {
	t.Helper()
	r, err := ctlCmd(sock, cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	if r.Result != want {
		t.Fatalf("%s: result %d (want %d): %s %s", cmd, r.Result, want, r.Text, r.Arguments)
	}
	return r
}

// exitCode waits for p to exit (at most d) and returns its exit status.
func exitCode(t *testing.T, p *proc, d time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return -int(ws.Signal())
			}
			return ee.ExitCode()
		}
		t.Fatalf("wait: %v", err)
	case <-time.After(d):
		t.Fatalf("process did not exit within %v", d)
	}
	return 0
}

// configGetDhcp4 returns config-get's Dhcp4 map.
func configGetDhcp4(t *testing.T, sock string) map[string]any {
	t.Helper()
	r := mustCmd(t, sock, `{"command":"config-get"}`, 0)
	var a struct {
		Dhcp4 map[string]any `json:"Dhcp4"`
	}
	if err := json.Unmarshal(r.Arguments, &a); err != nil || a.Dhcp4 == nil {
		t.Fatalf("config-get arguments %s: %v", r.Arguments, err)
	}
	return a.Dhcp4
}

// firstPool returns the first pool of the first subnet in a Dhcp4 map.
func firstPool(dh map[string]any) string {
	subs, _ := dh["subnet4"].([]any)
	if len(subs) == 0 {
		return ""
	}
	s, _ := subs[0].(map[string]any)
	pools, _ := s["pools"].([]any)
	if len(pools) == 0 {
		return ""
	}
	p, _ := pools[0].(map[string]any)
	v, _ := p["pool"].(string)
	return strings.ReplaceAll(v, " ", "")
}
