package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/keatest"
)

// Lifecycle tests run the xdhcpd binary with no interfaces (control
// socket and memfile only): nothing here needs root or a namespace.

// startCtlXdhcpd writes the standard control-test configuration and starts
// xdhcpd on it.
func startCtlXdhcpd(t *testing.T) (*ctlServer, *proc) {
	t.Helper()
	s := newCtlServer(t, "xdhcpd")
	return s, startXdhcpd(t, nil, s.cfgPath, s.sock)
}

// badConfig is a configuration with an unknown keyword at line 3, column 3.
const badConfig = "{ \"Dhcp4\": {\n  \"valid-lifetime\": 100,\n  \"bogus-param\": 1 } }\n"

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func validLifetime(t *testing.T, sock string) float64 {
	v, _ := configGetDhcp4(t, sock)["valid-lifetime"].(float64)
	return v
}

// TestLifecycleSIGHUP: SIGHUP re-reads the file; a bad file on SIGHUP or
// config-reload is refused with file:line:column and the old configuration
// keeps serving; a bad config-set is refused the same way.
func TestLifecycleSIGHUP(t *testing.T) {
	s, p := startCtlXdhcpd(t)
	if v := validLifetime(t, s.sock); v != 4000 {
		t.Fatalf("valid-lifetime %v at start", v)
	}
	if n := statistic(t, s.sock, "subnet[1].total-addresses"); n != 91 {
		t.Fatalf("total-addresses %d at start, want 91", n)
	}

	s.writeConfig(t, "192.0.2.10 - 192.0.2.19", 5000)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "valid-lifetime 5000 after SIGHUP", func() bool { return validLifetime(t, s.sock) == 5000 })
	if n := statistic(t, s.sock, "subnet[1].total-addresses"); n != 10 {
		t.Errorf("total-addresses %d after SIGHUP with a 10-address pool", n)
	}

	// A bad file on SIGHUP: refused, logged with file:line:column.
	if err := os.WriteFile(s.cfgPath, []byte(badConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	where := fmt.Sprintf("%s:3:3", s.cfgPath)
	waitFor(t, "the refused SIGHUP reload in the log", func() bool {
		b, _ := os.ReadFile(s.log)
		return strings.Contains(string(b), where)
	})
	mustCmd(t, s.sock, `{"command":"status-get"}`, 0)
	if v := validLifetime(t, s.sock); v != 5000 {
		t.Errorf("valid-lifetime %v after a refused SIGHUP, want 5000 (unchanged)", v)
	}

	// The same file through config-reload.
	r := mustCmd(t, s.sock, `{"command":"config-reload"}`, 1)
	if !strings.HasPrefix(r.Text, "Config reload failed: ") || !strings.Contains(r.Text, where) || !strings.Contains(r.Text, "bogus-param") {
		t.Errorf("config-reload of a bad file: %q (want Config reload failed: %s ... bogus-param)", r.Text, where)
	}
	// A bad config-set names the position in the command.
	r = mustCmd(t, s.sock, `{"command":"config-set","arguments":{"Dhcp4":{
"valid-lifetime": 100,
  "bogus-param": 1 }}}`, 1)
	if !strings.Contains(r.Text, ":3:3") || !strings.Contains(r.Text, "bogus-param") {
		t.Errorf("config-set of a bad config: %q (want line 3 column 3 and the parameter)", r.Text)
	}
	mustCmd(t, s.sock, `{"command":"status-get"}`, 0)
	if v := validLifetime(t, s.sock); v != 5000 {
		t.Errorf("valid-lifetime %v after refused reloads, want 5000 (unchanged)", v)
	}
	if pool := firstPool(configGetDhcp4(t, s.sock)); pool != "192.0.2.10-192.0.2.19" {
		t.Errorf("pool %q after refused reloads", pool)
	}
}

// TestLifecycleConfigSetKeepsLeases: config-set with a changed pool takes
// effect at once and keeps the leases.
func TestLifecycleConfigSetKeepsLeases(t *testing.T) {
	s, p := startCtlXdhcpd(t)
	mustCmd(t, s.sock, `{"command":"lease4-add","arguments":{"ip-address":"192.0.2.50","hw-address":"1a:1b:1c:1d:1e:1f","valid-lft":3600,"expire":2000000000}}`, 0)
	cfg := ctlConfig(s, "192.0.2.40 - 192.0.2.59", 4000)
	mustCmd(t, s.sock, `{"command":"config-set","arguments":{"Dhcp4":`+cfg+`}}`, 0)
	if pool := firstPool(configGetDhcp4(t, s.sock)); pool != "192.0.2.40-192.0.2.59" {
		t.Errorf("pool after config-set: %q", pool)
	}
	if n := statistic(t, s.sock, "subnet[1].total-addresses"); n != 20 {
		t.Errorf("total-addresses %d after config-set, want 20", n)
	}
	if n := statistic(t, s.sock, "subnet[1].assigned-addresses"); n != 1 {
		t.Errorf("assigned-addresses %d after config-set, want 1 (the lease)", n)
	}
	r := mustCmd(t, s.sock, `{"command":"lease4-get","arguments":{"ip-address":"192.0.2.50"}}`, 0)
	var l struct {
		HW string `json:"hw-address"`
	}
	if json.Unmarshal(r.Arguments, &l); l.HW != "1a:1b:1c:1d:1e:1f" {
		t.Errorf("lease after config-set: %s", r.Arguments)
	}
	// Same process: no restart happened.
	st := mustCmd(t, s.sock, `{"command":"status-get"}`, 0)
	var a struct {
		PID int `json:"pid"`
	}
	json.Unmarshal(st.Arguments, &a)
	if a.PID != p.cmd.Process.Pid {
		t.Errorf("status-get pid %d, process %d", a.PID, p.cmd.Process.Pid)
	}
}

// TestLifecycleConfigWrite: config-write's file passes xdhcpd -t and, when
// Kea is installed, kea-dhcp4 -t.
func TestLifecycleConfigWrite(t *testing.T) {
	s, _ := startCtlXdhcpd(t)
	out := filepath.Join(s.dir, "written.json")
	r := mustCmd(t, s.sock, fmt.Sprintf(`{"command":"config-write","arguments":{"filename":%q}}`, out), 0)
	var a struct {
		Filename string `json:"filename"`
		Size     int64  `json:"size"`
	}
	json.Unmarshal(r.Arguments, &a)
	fi, err := os.Stat(out)
	if err != nil || a.Filename != out || a.Size != fi.Size() {
		t.Fatalf("config-write %s: %+v, stat %v %v", r.Arguments, a, fi, err)
	}
	if b, err := exec.Command(xdhcpdBin, "-t", out).CombinedOutput(); err != nil {
		t.Errorf("xdhcpd -t on the written file: %v\n%s", err, b)
	}
	if _, err := exec.LookPath("kea-dhcp4"); err != nil {
		t.Log("kea-dhcp4 not installed: Kea's check skipped")
		return
	}
	bin := requireKea(t) // the written file names the lease_cmds hook
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := keatest.Check(bin, b); err != nil {
		t.Errorf("kea-dhcp4 -t on xdhcpd's config-write output: %v", err)
	}
}

// TestLifecycleSIGTERM: SIGTERM exits 0 and removes the control socket.
func TestLifecycleSIGTERM(t *testing.T) {
	s, p := startCtlXdhcpd(t)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, p, 10*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM", code)
	}
	if _, err := os.Lstat(s.sock); err == nil {
		t.Errorf("control socket %s still exists after SIGTERM", s.sock)
	}
}

// TestLifecycleSIGTERMWithIdleClient: a client that connected and sent
// nothing does not hold up the exit (it used to, for up to 10 s); it gets
// no answer, as from Kea.
func TestLifecycleSIGTERMWithIdleClient(t *testing.T) {
	s, p := startCtlXdhcpd(t)
	got := make(chan string, 1)
	go func() {
		out, err := rawCmd(s.sock, `{"command": "stat`, false, 15*time.Second)
		if err != nil {
			out = err.Error()
		}
		got <- out
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, p, 10*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM", code)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("exit took %v with an idle control client connected", d)
	}
	if out := <-got; out != "" {
		t.Errorf("idle client got %q at shutdown, want nothing", out)
	}
}

// TestLifecycleShutdownExitValue: shutdown answers, then exits with the
// exit-value and removes the socket.
func TestLifecycleShutdownExitValue(t *testing.T) {
	s, p := startCtlXdhcpd(t)
	r := mustCmd(t, s.sock, `{"command":"shutdown","arguments":{"exit-value":7}}`, 0)
	if r.Text != "Shutting down." {
		t.Errorf("shutdown text %q", r.Text)
	}
	if code := exitCode(t, p, 10*time.Second); code != 7 {
		t.Errorf("exit status %d, want 7", code)
	}
	if _, err := os.Lstat(s.sock); err == nil {
		t.Errorf("control socket %s still exists after shutdown", s.sock)
	}
}

// TestLifecycleStaleSocket: a socket file left by a SIGKILLed xdhcpd is
// replaced when it starts again, and the leases are still there.
func TestLifecycleStaleSocket(t *testing.T) {
	s, p := startCtlXdhcpd(t)
	mustCmd(t, s.sock, `{"command":"lease4-add","arguments":{"ip-address":"192.0.2.50","hw-address":"1a:1b:1c:1d:1e:1f"}}`, 0)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	exitCode(t, p, 5*time.Second)
	if fi, err := os.Lstat(s.sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("expected a stale socket file after SIGKILL: %v %v", fi, err)
	}
	startXdhcpd(t, nil, s.cfgPath, s.sock)
	mustCmd(t, s.sock, `{"command":"lease4-get","arguments":{"ip-address":"192.0.2.50"}}`, 0)
}

// TestLifecycleSecondInstance: a second xdhcpd on a live socket refuses to
// start, says the socket is in use, and the first one keeps answering with
// its leases intact.
func TestLifecycleSecondInstance(t *testing.T) {
	s, _ := startCtlXdhcpd(t)
	mustCmd(t, s.sock, `{"command":"lease4-add","arguments":{"ip-address":"192.0.2.50","hw-address":"1a:1b:1c:1d:1e:1f"}}`, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, xdhcpdBin, "-c", s.cfgPath).CombinedOutput()
	if err == nil {
		t.Fatalf("second xdhcpd on %s exited 0:\n%s", s.sock, out)
	}
	if ctx.Err() != nil {
		t.Fatalf("second xdhcpd did not exit: %s", out)
	}
	if !strings.Contains(string(out), "in use") {
		t.Errorf("second xdhcpd's message does not say the socket is in use:\n%s", out)
	}
	mustCmd(t, s.sock, `{"command":"status-get"}`, 0)
	mustCmd(t, s.sock, `{"command":"lease4-get","arguments":{"ip-address":"192.0.2.50"}}`, 0)
	mustCmd(t, s.sock, `{"command":"lease4-add","arguments":{"ip-address":"192.0.2.51","hw-address":"1a:1b:1c:1d:1e:20"}}`, 0)
	rows := readLeaseFile(t, s.leases)
	if len(rows) != 2 {
		t.Errorf("lease file has %d rows after the refused second start, want 2: %+v", len(rows), rows)
	}
}

// TestLifecycleIdleClient: a client that connects and sends nothing gets
// Kea's time-out answer after 10 s; a partial command is counted. Runs in
// parallel with the other tests.
func TestLifecycleIdleClient(t *testing.T) {
	t.Parallel()
	s, _ := startCtlXdhcpd(t)
	var wg sync.WaitGroup
	got := make([]string, 2)
	for i, payload := range []string{"", `{"command": "stat`} {
		wg.Add(1)
		go func(i int, payload string) {
			defer wg.Done()
			out, err := rawCmd(s.sock, payload, false, 20*time.Second)
			if err != nil {
				out = err.Error()
			}
			got[i] = out
		}(i, payload)
	}
	start := time.Now()
	// The server keeps answering others meanwhile.
	mustCmd(t, s.sock, `{"command":"status-get"}`, 0)
	wg.Wait()
	if d := time.Since(start); d < 9*time.Second || d > 15*time.Second {
		t.Errorf("time-out answer after %v, want about 10 s", d)
	}
	want := []string{
		`{"result":1,"text":"Connection over control channel timed out"}`,
		`{"result":1,"text":"Connection over control channel timed out, discarded partial command of 17 bytes"}`,
	}
	for i := range want {
		var a, b any
		json.Unmarshal([]byte(got[i]), &a)
		json.Unmarshal([]byte(want[i]), &b)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("idle client %d: got %q, want %s", i, got[i], want[i])
		}
	}
}

// TestLifecycleConcurrentClients: 50 parallel status-get (plus lease
// commands) are all answered.
func TestLifecycleConcurrentClients(t *testing.T) {
	s, _ := startCtlXdhcpd(t)
	const n = 50
	errs := make(chan error, 2*n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			r, err := ctlCmd(s.sock, `{"command":"status-get"}`)
			if err == nil && r.Result != 0 {
				err = fmt.Errorf("status-get result %d: %s", r.Result, r.Text)
			}
			errs <- err
		}()
		go func(i int) {
			defer wg.Done()
			r, err := ctlCmd(s.sock, fmt.Sprintf(`{"command":"lease4-add","arguments":{"ip-address":"192.0.2.%d","hw-address":"02:00:00:00:00:%02x"}}`, 100+i, i))
			if err == nil && r.Result != 0 {
				err = fmt.Errorf("lease4-add result %d: %s", r.Result, r.Text)
			}
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	r := mustCmd(t, s.sock, `{"command":"lease4-get-all"}`, 0)
	var a struct {
		Leases []any `json:"leases"`
	}
	json.Unmarshal(r.Arguments, &a)
	if len(a.Leases) != n {
		t.Errorf("%d leases after %d concurrent lease4-add", len(a.Leases), n)
	}
}
