package control

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// serveWrapped listens on a fresh socket, lets wrap replace the listener,
// and serves until the test ends.
func serveWrapped(t *testing.T, d *Dispatcher, opt Options, wrap func(net.Listener) net.Listener) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctrl.sock")
	s, err := Listen(path, d, opt)
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		s.ln = wrap(s.ln)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, path
}

// TestSocketSurvivesAcceptErrors: EMFILE from accept is counted, logged
// once (rate-limited) and backed off; the socket keeps serving.
func TestSocketSurvivesAcceptErrors(t *testing.T) {
	var logs testenv.LogBuffer
	d := NewDispatcher()
	d.Register("echo", func(_ context.Context, r *Request) Response { return OK("echo", nil) })
	s, path := serveWrapped(t, d, Options{Logger: zerolog.New(&logs)}, func(ln net.Listener) net.Listener {
		fl := testenv.EMFILEListener(ln, 4)
		return fl
	})
	if r := send(t, path, `{"command":"echo"}`); r.Result != 0 || r.Text != "echo" {
		t.Fatalf("after accept errors: %+v", r)
	}
	if got := s.Counters()["accept_errors"]; got != 4 {
		t.Errorf("accept_errors %d, want 4", got)
	}
	if n := strings.Count(logs.String(), "accept failed"); n != 1 {
		t.Errorf("%d accept-failure log lines, want 1 (rate-limited):\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "too many open files") {
		t.Errorf("log does not name the error:\n%s", logs.String())
	}
}

// TestSocketConnectionCap: past MaxConns a client waits; it is served as
// soon as another connection closes.
func TestSocketConnectionCap(t *testing.T) {
	s, path := startServer(t, Options{MaxConns: 2, IdleTimeout: 5 * time.Second})
	var idle []net.Conn
	for range 2 {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		idle = append(idle, c)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, `{"command":"echo"}`); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if b, err := io.ReadAll(c); err == nil || len(b) > 0 {
		t.Fatalf("third client answered past the cap: %q %v", b, err)
	}
	if s.Counters()["conn_limit_waits"] == 0 {
		t.Error("conn_limit_waits not counted")
	}
	idle[0].Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	var r Response
	if err != nil || json.Unmarshal(b, &r) != nil || r.Result != 0 || r.Text != "echo" {
		t.Fatalf("waiting client after a slot freed: %q %v", b, err)
	}
}

// TestSocketOversizeKeepsServing: an oversized command gets result 1, is
// counted, and the next command is served.
func TestSocketOversizeKeepsServing(t *testing.T) {
	s, path := startServer(t, Options{MaxCommand: 1 << 10})
	big := `{"command":"echo","arguments":{"x":"` + strings.Repeat("a", 64<<10) + `"}}`
	if r := send(t, path, big); r.Result != 1 || !strings.Contains(r.Text, "command too large") {
		t.Fatalf("oversized: %+v", r)
	}
	if r := send(t, path, `{"command":"echo"}`); r.Result != 0 {
		t.Fatalf("after an oversized command: %+v", r)
	}
	if got := s.Counters()["command_too_large"]; got != 1 {
		t.Errorf("command_too_large %d, want 1", got)
	}
}

// TestDispatcherRecoversPanics: a panicking handler is answered result 1,
// logged with its stack and counted; the socket serves on.
func TestDispatcherRecoversPanics(t *testing.T) {
	var logs testenv.LogBuffer
	d := NewDispatcher()
	d.SetLogger(zerolog.New(&logs))
	d.Register("boom", func(context.Context, *Request) Response { panic("handler bug") })
	d.Register("echo", func(_ context.Context, r *Request) Response { return OK("echo", nil) })
	_, path := serveWrapped(t, d, Options{}, nil)
	for range 2 {
		r := send(t, path, `{"command":"boom"}`)
		if r.Result != ResultError || r.Text != "Error during command processing: internal error in 'boom' (logged by the server)" {
			t.Fatalf("panicking command: %+v", r)
		}
	}
	if r := send(t, path, `{"command":"echo"}`); r.Result != 0 {
		t.Fatalf("after a panic: %+v", r)
	}
	if got := d.Counters()["command_panics"]; got != 2 {
		t.Errorf("command_panics %d, want 2", got)
	}
	l := logs.String()
	if strings.Count(l, `"command":"boom"`) != 2 || !strings.Contains(l, "handler bug") || !strings.Contains(l, "edge_test.go") {
		t.Errorf("panic log lacks the command, value or stack:\n%s", l)
	}
}
