package ha

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/ha/peer"
	"github.com/xdhcp/xdhcp/ha/peer/peertest"
	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/control"
)

// heartbeatOK sends ha-heartbeat on a fresh connection to addr and checks
// the answer.
func heartbeatOK(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, post(`{ "command": "ha-heartbeat" }`)); err != nil {
		t.Fatal(err)
	}
	if resp, b := readResp(t, bufio.NewReader(c)); resp.StatusCode != 200 || !strings.Contains(b, "HA peer status returned.") {
		t.Fatalf("heartbeat: %d %s", resp.StatusCode, b)
	}
}

// TestListenerSurvivesAcceptErrors: EMFILE from accept is counted, logged
// once (rate-limited) and backed off; the listener keeps serving.
func TestListenerSurvivesAcceptErrors(t *testing.T) {
	var logs testenv.LogBuffer
	env := newTestServiceDeps(t, "http://127.0.0.1:1/", nil, func(d *Deps) { d.Logger = zerolog.New(&logs) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := testenv.EMFILEListener(ln, 5)
	if err := env.s.Serve(t.Context(), fl); err != nil {
		t.Fatal(err)
	}
	heartbeatOK(t, ln.Addr().String())
	if got := env.s.ListenerCounters()["accept_errors"]; got != 5 {
		t.Errorf("accept_errors %d, want 5", got)
	}
	l := logs.String()
	if n := strings.Count(l, "accept failed"); n != 1 || !strings.Contains(l, "too many open files") {
		t.Errorf("want one rate-limited accept warning naming EMFILE, got %d:\n%s", n, l)
	}
}

// TestListenerConnectionCap: with peer.MaxConns connections open and
// silent, a new client waits (it is not served) until one closes; then
// its command gets through.
func TestListenerConnectionCap(t *testing.T) {
	env := newTestService(t, "http://127.0.0.1:1/", nil)
	addr := strings.TrimSuffix(strings.TrimPrefix(startListener(t, env), "http://"), "/")
	var hogs []net.Conn
	for range peer.MaxConns {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		hogs = append(hogs, c)
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second) // lands in the backlog
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, post(`{ "command": "ha-heartbeat" }`)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := br.Peek(1); err == nil {
		t.Fatal("a client past the connection cap was served")
	}
	if env.s.ListenerCounters()["conn_limit_waits"] == 0 {
		t.Error("conn_limit_waits not counted")
	}
	for _, h := range hogs[:4] {
		h.Close()
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, b := readResp(t, br); resp.StatusCode != 200 || !strings.Contains(b, "HA peer status returned.") {
		t.Fatalf("waiting client after slots freed: %d %s", resp.StatusCode, b)
	}
}

// TestListenerOversizeKeepsServing: a body over the cap is refused with
// 413 before it is read; the listener serves the next client.
func TestListenerOversizeKeepsServing(t *testing.T) {
	env := newTestService(t, "http://127.0.0.1:1/", nil)
	addr := strings.TrimSuffix(strings.TrimPrefix(startListener(t, env), "http://"), "/")
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	head := "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(64<<20) + "\r\n\r\n{\"command\":\"config-set\",\"arguments\":{\"x\":\""
	if _, err := io.WriteString(c, head+strings.Repeat("a", 32<<10)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	if resp, b := readResp(t, br); resp.StatusCode != 413 || b != `{"result":413,"text":"Request Entity Too Large"}` || !resp.Close {
		t.Fatalf("oversize: %d %s close=%v", resp.StatusCode, b, resp.Close)
	}
	if got := env.s.ListenerCounters()["request_too_large"]; got != 1 {
		t.Errorf("request_too_large %d, want 1", got)
	}
	heartbeatOK(t, addr)
}

// TestListenerRecoversCommandPanic: a panicking command handler reached
// over the peer port is answered result 1 (the dispatcher recovers it) and
// the listener serves on.
func TestListenerRecoversCommandPanic(t *testing.T) {
	env := newDaemonEnv(t, "http://127.0.0.1:1/", wireSubnets{}, nil)
	env.disp.SetLogger(zerolog.Nop())
	env.disp.Register("ha-reset", func(context.Context, *control.Request) control.Response { panic("ha-reset bug") })
	addr := strings.TrimSuffix(strings.TrimPrefix(startListener(t, env.testEnv), "http://"), "/")
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	// Same connection: the panic does not cost the partner its connection.
	_, _ = io.WriteString(c, post(`{ "command": "ha-reset" }`)+post(`{ "command": "ha-heartbeat" }`))
	if resp, b := readResp(t, br); resp.StatusCode != 200 ||
		b != `[{"result":1,"text":"Error during command processing: internal error in 'ha-reset' (logged by the server)"}]` {
		t.Fatalf("panicking command: %d %s", resp.StatusCode, b)
	}
	if resp, b := readResp(t, br); resp.StatusCode != 200 || !strings.Contains(b, "HA peer status returned.") {
		t.Fatalf("after the panic: %d %s", resp.StatusCode, b)
	}
	if got := env.disp.Counters()["command_panics"]; got != 1 {
		t.Errorf("command_panics %d, want 1", got)
	}
}

// TestPeerServerRecoversHandlerPanic: a panic in the HTTP layer (outside
// the dispatcher) is answered 500 with Kea's bare map, logged with its
// stack and counted; the server serves on.
func TestPeerServerRecoversHandlerPanic(t *testing.T) {
	var logs testenv.LogBuffer
	var st peer.Stats
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			panic("http layer bug")
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `[{"result":0,"text":"fine"}]`)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ps := peer.NewServer(t.Context(), h, nil, zerolog.New(&logs), &st, maxPeerBody, 4)
	peertest.Serve(t, ps, ln)
	do := func(path string) (int, string) {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(c, strings.Replace(post(`{}`), "POST / ", "POST "+path+" ", 1))
		resp, b := readResp(t, bufio.NewReader(c))
		return resp.StatusCode, b
	}
	if code, b := do("/boom"); code != 500 || b != `{"result":500,"text":"Internal Server Error"}` {
		t.Fatalf("panicking handler: %d %s", code, b)
	}
	if code, b := do("/"); code != 200 || b != `[{"result":0,"text":"fine"}]` {
		t.Fatalf("after the panic: %d %s", code, b)
	}
	if n := st.Counters()["panics"]; n != 1 {
		t.Errorf("panics %d, want 1", n)
	}
	if l := logs.String(); !strings.Contains(l, "http layer bug") || !strings.Contains(l, "edge_test.go") {
		t.Errorf("panic log lacks the value or the stack:\n%s", l)
	}
}

// TestListenerWarnsWhenOpen: one WARN line at start, naming the address,
// when the listener has neither basic auth nor TLS; none with basic auth.
func TestListenerWarnsWhenOpen(t *testing.T) {
	for _, tt := range []struct {
		name string
		auth bool
		want int
	}{{"open", false, 1}, {"basic auth", true, 0}} {
		t.Run(tt.name, func(t *testing.T) {
			var logs testenv.LogBuffer
			env := newTestServiceDeps(t, "http://127.0.0.1:1/", func(c *Config) {
				if tt.auth {
					c.Peers[1].BasicAuthUser, c.Peers[1].BasicAuthPassword = "kea-ha", "secret"
				}
			}, func(d *Deps) { d.Logger = zerolog.New(&logs).Level(zerolog.WarnLevel) })
			addr := strings.TrimSuffix(strings.TrimPrefix(startListener(t, env), "http://"), "/")
			env.s.Stop()
			var n int
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				if strings.Contains(line, "neither basic auth nor TLS") {
					n++
					if !strings.Contains(line, `"level":"warn"`) || !strings.Contains(line, addr) || !strings.Contains(line, "basic-auth-user") {
						t.Errorf("warning does not say where and what to do: %s", line)
					}
				}
			}
			if n != tt.want {
				t.Fatalf("%d warnings, want %d:\n%s", n, tt.want, logs.String())
			}
		})
	}
}

// TestRestrictedIsKeaList: the accept list is Kea 2.2's
// CommandCreator::ha_commands4_, and with the default configuration each
// of its commands reaches the dispatcher.
func TestRestrictedIsKeaList(t *testing.T) {
	kea := []string{ // command_creator.cc, Kea-2.2.0
		"list-commands", "status-get",
		"dhcp-disable", "dhcp-enable",
		"ha-reset", "ha-heartbeat",
		"lease4-update", "lease4-del",
		"lease4-get-all", "lease4-get-page",
		"ha-maintenance-notify", "ha-sync-complete-notify",
	}
	if len(restricted) != len(kea) {
		t.Fatalf("restricted has %d commands, Kea %d", len(restricted), len(kea))
	}
	env := newDaemonEnv(t, "http://127.0.0.1:1/", wireSubnets{}, nil)
	if !env.s.cfg.RestrictCommands {
		t.Fatal("DefaultConfig: restrict-commands should be true")
	}
	url := startListener(t, env.testEnv)
	for _, cmd := range kea {
		if !restricted[cmd] {
			t.Errorf("%s missing from the accept list", cmd)
		}
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"command":"`+cmd+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s, want it dispatched", cmd, resp.StatusCode, b)
		}
	}
}
