package keatest

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestKea22RenamesOutputOptionsOnly(t *testing.T) {
	in := `{ "Dhcp4": { "valid-lifetime": 60, "user-context": { "output-options": 1 },
	  "loggers": [ { "name": "kea-dhcp4", "output-options": [ { "output": "stdout" } ], "severity": "WARN" },
	               { "name": "kea-dhcp4.ha-hooks", "output_options": [ { "output": "stderr" } ] } ] } }`
	b, err := Kea22(in)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Dhcp4 struct {
			Valid   json.Number                  `json:"valid-lifetime"`
			Ctx     map[string]any               `json:"user-context"`
			Loggers []map[string]json.RawMessage `json:"loggers"`
		} `json:"Dhcp4"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.Dhcp4.Valid != "60" || v.Dhcp4.Ctx["output-options"] == nil {
		t.Errorf("unrelated keys changed:\n%s", b)
	}
	for i, l := range v.Dhcp4.Loggers {
		if _, ok := l["output-options"]; ok || l["output_options"] == nil {
			t.Errorf("logger %d not in 2.2 spelling:\n%s", i, b)
		}
	}
	if _, err := Kea22(`{ "Dhcp4": { "loggers": [ { "output-options": [], "output_options": [] } ] } }`); err == nil {
		t.Error("a logger with both spellings was accepted")
	}
	if _, err := Kea22(`{ "Dhcp4": { } } { }`); err == nil {
		t.Error("trailing data was accepted")
	}
}

func pair(name string) HAPair {
	dir := "/tmp/w"
	return HAPair{
		Name: name, URLs: [2]string{"http://198.18.0.11:8000/", "http://198.18.0.12:8000/"},
		Socket: filepath.Join(dir, name+".sock"), Leases: filepath.Join(dir, name+"-leases4.csv"),
		Relays: []string{"198.18.0.1"}, Router: "198.19.0.1",
	}
}

func TestHAPairRender(t *testing.T) {
	p := pair("server2")
	p.Datapath = "udp"
	p.SyncTimeout = 10000
	p.ExtraHA = map[string]any{"sync-page-limit": 2}
	b, err := p.Render()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Dhcp4 struct {
			Ctx   map[string]map[string]string `json:"user-context"`
			Hooks []struct {
				Library    string `json:"library"`
				Parameters struct {
					HA []map[string]any `json:"high-availability"`
				} `json:"parameters"`
			} `json:"hooks-libraries"`
			Subnets []struct {
				Pools []map[string]string `json:"pools"`
				Relay map[string][]string `json:"relay"`
			} `json:"subnet4"`
			Loggers []map[string]any `json:"loggers"`
		} `json:"Dhcp4"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	d := v.Dhcp4
	if len(d.Hooks) != 2 || d.Hooks[1].Library != filepath.Join(HooksDir, HookHA) || len(d.Hooks[1].Parameters.HA) != 1 {
		t.Fatalf("hooks: %+v", d.Hooks)
	}
	ha := d.Hooks[1].Parameters.HA[0]
	if ha["this-server-name"] != "server2" || ha["sync-timeout"] != 10000.0 || ha["sync-page-limit"] != 2.0 || ha["heartbeat-delay"] != 1000.0 {
		t.Errorf("HA relationship: %v", ha)
	}
	if d.Ctx["xdhcp"]["datapath"] != "udp" {
		t.Errorf("user-context: %v", d.Ctx)
	}
	if len(d.Subnets) != 1 || len(d.Subnets[0].Pools) != 2 || d.Subnets[0].Pools[1]["client-class"] != "HA_server2" ||
		d.Subnets[0].Relay["ip-addresses"][0] != "198.18.0.1" {
		t.Errorf("subnet: %+v", d.Subnets)
	}
	if len(d.Loggers) != 1 || d.Loggers[0]["output_options"] == nil {
		t.Errorf("loggers: %v", d.Loggers)
	}
	// Without a datapath, relays or a router those entries are left out.
	q := HAPair{Name: "server1", URLs: p.URLs, Socket: "/s", Leases: "/l", Pools: []Pool{{Range: "192.0.2.10 - 192.0.2.200"}}}
	b, err = q.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"user-context", "relay", "option-data", "client-class", "sync-timeout"} {
		if strings.Contains(string(b), `"`+k+`"`) {
			t.Errorf("%s written without being asked for:\n%s", k, b)
		}
	}
	if _, err := (HAPair{Name: "server3"}).Render(); err == nil {
		t.Error("server3 rendered")
	}
}

// TestHAPairAcceptedByKea checks both servers' configurations with
// kea-dhcp4 -t when Kea 2.2 and its hooks are installed.
func TestHAPairAcceptedByKea(t *testing.T) {
	bin, err := Installed(HookLeaseCmds, HookHA)
	if err != nil {
		t.Skip(err)
	}
	for _, name := range []string{"server1", "server2"} {
		b, err := pair(name).Render()
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(bin, b); err != nil {
			t.Errorf("%s: %v\n%s", name, err, b)
		}
	}
	if err := Check(bin, []byte(`{ "Dhcp4": { "unknown-param": 1 } }`)); err == nil {
		t.Error("Check accepted an unknown keyword")
	}
}

// TestStartCommandStop runs a real kea-dhcp4 (when installed) through the
// whole life cycle: start, status-get, shutdown's exit code, and a second
// run stopped by SIGTERM.
func TestStartCommandStop(t *testing.T) {
	bin, err := Installed(HookLeaseCmds)
	if err != nil {
		t.Skip(err)
	}
	dir, err := os.MkdirTemp("", "kt") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "ctrl.sock")
	cfg := filepath.Join(dir, "kea.json")
	err = WriteConfig(cfg, map[string]any{"Dhcp4": map[string]any{
		"interfaces-config": map[string]any{"interfaces": []string{}},
		"control-socket":    map[string]any{"socket-type": "unix", "socket-name": sock},
		"lease-database":    map[string]any{"type": "memfile", "name": filepath.Join(dir, "leases4.csv"), "lfc-interval": 0},
		"hooks-libraries":   []any{map[string]any{"library": filepath.Join(HooksDir, HookLeaseCmds)}},
		"subnet4":           []any{map[string]any{"id": 1, "subnet": "192.0.2.0/24"}},
		"loggers": []any{map[string]any{"name": "kea-dhcp4", "severity": "WARN",
			"output-options": []any{map[string]any{"output": "stdout"}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	k, err := Start(Options{Bin: bin, Dir: dir, ConfigPath: cfg, Socket: sock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Kill() })
	r, err := k.Command("version-get", nil)
	if err != nil || r.Result != 0 || !strings.HasPrefix(r.Text, "2.2") {
		t.Fatalf("version-get: %+v %v", r, err)
	}
	r, err = k.Command("lease4-add", map[string]any{"ip-address": "192.0.2.50", "hw-address": "0a:0b:0c:0d:0e:0f"})
	if err != nil || r.Result != 0 {
		t.Fatalf("lease4-add: %+v %v", r, err)
	}
	if r, err := k.Command("shutdown", map[string]any{"exit-value": 3}); err != nil || r.Result != 0 {
		t.Fatalf("shutdown: %+v %v", r, err)
	}
	if code, err := k.Wait(10 * time.Second); err != nil || code != 3 {
		t.Fatalf("exit code %d, %v; want 3", code, err)
	}

	k, err = Start(Options{Bin: bin, Dir: dir, ConfigPath: cfg, Socket: sock})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !k.Exited() {
		t.Fatal("Stop returned with Kea running")
	}
	b, err := os.ReadFile(filepath.Join(dir, "leases4.csv"))
	if err != nil || !strings.Contains(string(b), "192.0.2.50,0a:0b:0c:0d:0e:0f") {
		t.Errorf("lease file after two runs: %q %v", b, err)
	}
}

// TestStartReportsEarlyExit: a configuration Kea refuses ends Start with
// Kea's output instead of a 15 s wait.
func TestStartReportsEarlyExit(t *testing.T) {
	bin, err := Installed()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kea.json")
	if err := os.WriteFile(cfg, []byte(`{ "Dhcp4": { "unknown-param": 1 } }`), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Start(Options{Bin: bin, Dir: dir, ConfigPath: cfg, Socket: filepath.Join(dir, "s")})
	if err == nil || !strings.Contains(err.Error(), "exited during start-up") || !strings.Contains(err.Error(), "unknown-param") {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}

// TestCommandDecodesOneAnswer talks to a fake server that keeps the
// connection open after its answer (as Kea's HA listener may).
func TestCommandDecodesOneAnswer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan map[string]any, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var req map[string]any
		_ = json.NewDecoder(c).Decode(&req)
		got <- req
		_, _ = c.Write([]byte(`{ "result": 3, "text": "0 IPv4 lease(s) found.", "arguments": { "count": 0 } }`))
		time.Sleep(2 * time.Second) // no EOF before the client has decoded
	}()
	r, err := Command(sock, "lease4-get-page", map[string]any{"from": "start", "limit": 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Result != 3 || string(r.Arguments) != `{ "count": 0 }` {
		t.Errorf("reply %+v", r)
	}
	req := <-got
	if req["command"] != "lease4-get-page" || req["arguments"].(map[string]any)["limit"] != 1.0 {
		t.Errorf("request %v", req)
	}
	if _, err := Command(filepath.Join(t.TempDir(), "none"), "status-get", nil); err == nil {
		t.Error("no error without a server")
	}
	var ne *net.OpError
	if _, err := Command(filepath.Join(t.TempDir(), "none"), "x", nil); !errors.As(err, &ne) {
		t.Errorf("dial error not wrapped: %v", err)
	}
}

// TestHAPairHTTPThreads checks that the HA HTTP threads follow Threads
// unless HTTPThreads sets them apart (ha's interop tests run Kea with a
// pool of 2 and one HTTP thread each way).
func TestHAPairHTTPThreads(t *testing.T) {
	mt := func(p HAPair) (pool, listener, client float64) {
		t.Helper()
		b, err := p.Render()
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Dhcp4 struct {
				MT    map[string]any `json:"multi-threading"`
				Hooks []struct {
					Parameters struct {
						HA []struct {
							MT map[string]any `json:"multi-threading"`
						} `json:"high-availability"`
					} `json:"parameters"`
				} `json:"hooks-libraries"`
			} `json:"Dhcp4"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		ha := v.Dhcp4.Hooks[1].Parameters.HA[0].MT
		return v.Dhcp4.MT["thread-pool-size"].(float64), ha["http-listener-threads"].(float64), ha["http-client-threads"].(float64)
	}
	p := pair("server1")
	p.Threads = 4
	if pool, l, c := mt(p); pool != 4 || l != 4 || c != 4 {
		t.Errorf("Threads 4: pool %v listener %v client %v, want 4 each", pool, l, c)
	}
	p.Threads, p.HTTPThreads = 2, 1
	if pool, l, c := mt(p); pool != 2 || l != 1 || c != 1 {
		t.Errorf("Threads 2, HTTPThreads 1: pool %v listener %v client %v, want 2 1 1", pool, l, c)
	}
}

// fakeServer writes a shell script that ignores its arguments and waits
// (without exec, so pgrep -f finds it by its path): a server that never
// answers status-get.
func fakeServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fake-server")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nwhile :; do sleep 0.1; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestStartContextCancelled: cancelling Options.Context ends the wait
// at once, kills the server and names the binary that was started.
func TestStartContextCancelled(t *testing.T) {
	bin := fakeServer(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Start(Options{Bin: bin, Dir: dir, ConfigPath: "/nonexistent", Socket: filepath.Join(dir, "s"), Context: ctx})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "fake-server") {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	if out, _ := exec.Command("pgrep", "-f", bin).Output(); len(out) > 0 {
		t.Errorf("server still running: pids %s", out)
	}
}

// TestStartOwnProcessGroup: the server leads a process group of its own,
// so a terminal's SIGINT to the caller's group does not reach it.
func TestStartOwnProcessGroup(t *testing.T) {
	bin := fakeServer(t)
	dir := t.TempDir()
	for _, own := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		pgid := make(chan int, 2)
		go func() {
			// Start waits for status-get, which never comes: look at the
			// process meanwhile, then cancel.
			time.Sleep(300 * time.Millisecond)
			out, _ := exec.Command("pgrep", "-f", bin).Output()
			pid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
			g := 0
			if pid > 0 {
				g, _ = syscall.Getpgid(pid)
			}
			pgid <- g
			if g == pid {
				pgid <- pid
			} else {
				pgid <- -1
			}
			cancel()
		}()
		_, err := Start(Options{Bin: bin, Dir: dir, ConfigPath: "/nonexistent", Socket: filepath.Join(dir, "s"),
			Context: ctx, OwnProcessGroup: own})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("own=%v: err = %v", own, err)
		}
		g, leader := <-pgid, <-pgid
		if g == 0 {
			t.Fatalf("own=%v: server not found", own)
		}
		if (leader > 0) != own || (!own && g != syscall.Getpgrp()) {
			t.Errorf("own=%v: server's pgid %d, ours %d", own, g, syscall.Getpgrp())
		}
	}
}

// TestHAPairModes: Mode sets the relationship's mode and server2's role
// (secondary, standby, backup); outside load-balancing the default pool is
// one, without an HA_ class (every query is in the primary's scope).
func TestHAPairModes(t *testing.T) {
	for _, tt := range []struct{ mode, wantMode, role string }{
		{"", "load-balancing", "secondary"},
		{"hot-standby", "hot-standby", "standby"},
		{"passive-backup", "passive-backup", "backup"},
	} {
		p := pair("server2")
		p.Mode, p.MaxUnackedClients = tt.mode, 5
		b, err := p.Render()
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Dhcp4 struct {
				Hooks []struct {
					Parameters struct {
						HA []struct {
							Mode    string           `json:"mode"`
							Unacked int              `json:"max-unacked-clients"`
							Peers   []map[string]any `json:"peers"`
						} `json:"high-availability"`
					} `json:"parameters"`
				} `json:"hooks-libraries"`
				Subnets []struct {
					Pools []map[string]string `json:"pools"`
				} `json:"subnet4"`
			} `json:"Dhcp4"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		ha := v.Dhcp4.Hooks[1].Parameters.HA[0]
		if ha.Mode != tt.wantMode || ha.Unacked != 5 || ha.Peers[0]["role"] != "primary" || ha.Peers[1]["role"] != tt.role {
			t.Errorf("mode %q: %+v", tt.mode, ha)
		}
		pools := v.Dhcp4.Subnets[0].Pools
		if tt.wantMode == "load-balancing" && len(pools) != 2 || tt.wantMode != "load-balancing" && (len(pools) != 1 || pools[0]["client-class"] != "") {
			t.Errorf("mode %q: pools %v", tt.mode, pools)
		}
	}
	if _, err := (HAPair{Name: "server1", URLs: [2]string{"a", "b"}, Socket: "s", Leases: "l", Mode: "x"}).Render(); err == nil {
		t.Error("mode x rendered")
	}
}
