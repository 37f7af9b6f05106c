package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// agentUser is the user Debian's kea-ctrl-agent package runs the agent as.
const agentUser = "_kea"

// TestBehindKeaCtrlAgent: Debian's kea-ctrl-agent, running as its own
// unprivileged user with basic auth on, forwards kea-shell's commands to
// xdhcpd's control socket, which xdhcpd gives the agent's group
// (control-socket-group) with mode 0660. Each answer must come from
// xdhcpd; a wrong password is refused by the agent.
func TestBehindKeaCtrlAgent(t *testing.T) {
	testenv.RequireRoot(t)
	bins := testenv.RequireCommand(t, "kea-ctrl-agent", "kea-shell", "setpriv")
	agentBin, shell := bins[0], bins[1]
	u, err := user.Lookup(agentUser)
	if err != nil {
		if testenv.Required() {
			t.Fatalf("XDHCP_REQUIRE_ROOT_TESTS=1 but user %s is missing (kea-common creates it; run scripts/deps.sh): %v", agentUser, err)
		}
		t.Skipf("needs user %s (run scripts/deps.sh): %v", agentUser, err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatal(err)
	}

	// xdhcpd, as root, with its socket in the agent's group. The directory
	// must let the agent's user reach the socket.
	dir := shortDir(t)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "x.sock")
	cfgPath := filepath.Join(dir, "xdhcpd.json")
	cfg := fmt.Sprintf(`{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ ] },
  "control-socket": { "socket-type": "unix", "socket-name": %q },
  "lease-database": { "type": "memfile", "name": %q, "lfc-interval": 0 },
  "hooks-libraries": [ { "library": %q } ],
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.10 - 192.0.2.200" } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "stdout" } ], "severity": "INFO" } ],
  "user-context": { "xdhcp": { "datapath": "udp", "control-socket-mode": "0660", "control-socket-group": %q } }
} }`, sock, filepath.Join(dir, "leases4.csv"), leaseCmdsHook, g.Name)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startXdhcpd(t, nil, cfgPath, sock)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); strconv.Itoa(int(st.Gid)) != g.Gid || fi.Mode().Perm() != 0o660 {
		t.Fatalf("control socket gid %d mode %v, want %s (%s) 0660", st.Gid, fi.Mode().Perm(), g.Gid, g.Name)
	}
	mustCmd(t, sock, `{"command":"lease4-add","arguments":{"ip-address":"192.0.2.42","hw-address":"02:00:00:00:00:2a","subnet-id":1,"hostname":"behind-agent"}}`, 0)

	// The agent, as its own user, in a directory it owns.
	adir := filepath.Join(dir, "agent")
	if err := os.Mkdir(adir, 0o755); err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(adir, uid, gid); err != nil {
		t.Fatal(err)
	}
	port := freeTCPPort(t)
	const realm, user1, pass = "xdhcp-test", "operator", "s3cret-pw"
	acfg := fmt.Sprintf(`{ "Control-agent": {
  "http-host": "127.0.0.1", "http-port": %d,
  "authentication": { "type": "basic", "realm": %q, "clients": [ { "user": %q, "password": %q } ] },
  "control-sockets": { "dhcp4": { "socket-type": "unix", "socket-name": %q } },
  "loggers": [ { "name": "kea-ctrl-agent", "output_options": [ { "output": "stdout" } ], "severity": "INFO" } ]
} }`, port, realm, user1, pass, sock)
	acfgPath := filepath.Join(adir, "kea-ctrl-agent.conf")
	if err := os.WriteFile(acfgPath, []byte(acfg), 0o644); err != nil {
		t.Fatal(err)
	}
	agent := startAgent(t, agentBin, acfgPath, adir, port)
	if got := procUID(t, agent.Process.Pid); got != u.Uid {
		t.Fatalf("kea-ctrl-agent runs as uid %s, want %s (%s)", got, u.Uid, agentUser)
	}

	kshell := func(password, command string) (string, error) {
		cmd := exec.Command(shell, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--timeout", "10",
			"--auth-user", user1, "--auth-password", password, "--service", "dhcp4", command)
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	ask := func(command string) map[string]any {
		t.Helper()
		out, err := kshell(pass, command)
		if err != nil {
			t.Fatalf("kea-shell %s: %v\n%s", command, err, out)
		}
		var rs []map[string]any
		if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 1 {
			t.Fatalf("kea-shell %s: not one answer (%v):\n%s", command, err, out)
		}
		if rs[0]["result"] != float64(0) {
			t.Fatalf("kea-shell %s: %s", command, out)
		}
		args, _ := rs[0]["arguments"].(map[string]any)
		if args == nil {
			t.Fatalf("kea-shell %s: no arguments: %s", command, out)
		}
		rs[0]["arguments"] = args
		return rs[0]
	}

	// version-get: Kea's version first (tools parse it), xdhcp in the
	// extended text.
	r := ask("version-get")
	if r["text"] != "2.2.0" || !strings.Contains(fmt.Sprint(r["arguments"].(map[string]any)["extended"]), "xdhcp") {
		t.Errorf("version-get: %v", r)
	}
	// status-get: xdhcpd's pid and Kea's fields.
	a := ask("status-get")["arguments"].(map[string]any)
	if a["pid"] != float64(srv.cmd.Process.Pid) {
		t.Errorf("status-get pid %v, want xdhcpd's %d: %v", a["pid"], srv.cmd.Process.Pid, a)
	}
	for _, k := range []string{"uptime", "reload", "multi-threading-enabled"} {
		if _, ok := a[k]; !ok {
			t.Errorf("status-get has no %q: %v", k, a)
		}
	}
	// config-get: the running configuration, xdhcp's own settings included.
	a = ask("config-get")["arguments"].(map[string]any)
	dh, _ := a["Dhcp4"].(map[string]any)
	uc, _ := dh["user-context"].(map[string]any)
	x, _ := uc["xdhcp"].(map[string]any)
	if x["control-socket-group"] != g.Name {
		t.Errorf("config-get: no user-context.xdhcp.control-socket-group %q: %v", g.Name, uc)
	}
	// lease4-get-all: the lease added above.
	a = ask("lease4-get-all")["arguments"].(map[string]any)
	ls, _ := a["leases"].([]any)
	if len(ls) != 1 || ls[0].(map[string]any)["ip-address"] != "192.0.2.42" || ls[0].(map[string]any)["hostname"] != "behind-agent" {
		t.Errorf("lease4-get-all: %v", a)
	}
	// statistic-get-all: xdhcpd's own counters are there.
	a = ask("statistic-get-all")["arguments"].(map[string]any)
	if _, ok := a["pkt4-received"]; !ok {
		t.Errorf("statistic-get-all has no pkt4-received: %d statistics", len(a))
	}
	xdhcpOnly := ""
	for k := range a {
		if strings.HasPrefix(k, "pkt4-udp-drop") {
			xdhcpOnly = k
		}
	}
	if xdhcpOnly == "" {
		t.Errorf("statistic-get-all has none of xdhcpd's pkt4-udp-drop-* statistics: %v", keysOf(a))
	}

	// A wrong password is refused by the agent (401), nothing reaches xdhcpd.
	out, err := kshell("wrong", "status-get")
	if err == nil || !strings.Contains(out, "401") {
		t.Errorf("wrong password: err %v, output:\n%s", err, out)
	}
	t.Logf("kea-shell with a wrong password: %v: %s", err, lastLine(out))

	// A reload applies a changed mode to the live socket: at 0600 the agent
	// can no longer reach xdhcpd.
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(cfg, `"0660"`, `"0600"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	mustCmd(t, sock, `{"command":"config-reload"}`, 0)
	if fi, err := os.Stat(sock); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Fatalf("after config-reload with mode 0600 the socket is %v", fi.Mode().Perm())
	}
	out, err = kshell(pass, "status-get")
	if err != nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("agent after the socket became 0600: err %v, output:\n%s", err, out)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

func keysOf(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// freeTCPPort returns a loopback TCP port nobody listens on now.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// procUID is the real uid of a running process.
func procUID(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
			return f[1]
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return ""
}

// startAgent runs kea-ctrl-agent -c cfg as agentUser (setpriv, its own
// groups, no new privileges) with its pid and lock files in dir, waits until
// it accepts on port, and stops it when the test ends, pass or fail.
func startAgent(t *testing.T, bin, cfg, dir string, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("setpriv", "--reuid="+agentUser, "--regid="+agentUser, "--init-groups", "--no-new-privs",
		bin, "-c", cfg)
	cmd.Env = append(os.Environ(), "KEA_PIDFILE_DIR="+dir, "KEA_LOCKFILE_DIR="+dir)
	logw := &testenv.LogBuffer{}
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("kea-ctrl-agent did not stop within 10 s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("kea-ctrl-agent output (last 4 KiB):\n%s", tail([]byte(logw.String()), 4096))
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			return cmd
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("kea-ctrl-agent exited during start-up: %v\n%s", err, logw.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kea-ctrl-agent did not listen on 127.0.0.1:%d within 15 s\n%s", port, logw.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
