package control

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name, in, wantCmd, wantErr string
	}{
		{"plain", `{"command":"status-get"}`, "status-get", ""},
		{"with args and service", `{"command":"lease4-get","arguments":{"ip-address":"192.0.2.1"},"service":["dhcp4"]}`, "lease4-get", ""},
		{"remote-address tolerated", `{"command":"x","remote-address":"127.0.0.1"}`, "x", ""},
		{"extra key", `{"command":"x","extra":1}`, "", "Error during command processing: Received command contains unsupported parameter 'extra'"},
		{"missing command", `{"arguments":{}}`, "", "does not contain mandatory 'command'"},
		{"command not string", `{"command":5}`, "", "'command' element in command message is not a string"},
		{"args scalar", `{"command":"x","arguments":5}`, "", "'arguments' must be a map"},
		{"not a map", `[1,2]`, "", "the command must be a map"},
		{"service not list", `{"command":"x","service":"dhcp4"}`, "", "service value must be a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, resp := ParseRequest([]byte(tt.in))
			if tt.wantErr != "" {
				if resp == nil || resp.Result != ResultError || !strings.Contains(resp.Text, tt.wantErr) {
					t.Fatalf("got %+v, want error containing %q", resp, tt.wantErr)
				}
				return
			}
			if resp != nil {
				t.Fatalf("unexpected error %+v", resp)
			}
			if req.Command != tt.wantCmd {
				t.Fatalf("command %q, want %q", req.Command, tt.wantCmd)
			}
		})
	}
}

func TestDispatch(t *testing.T) {
	d := NewDispatcher()
	d.Register("echo", func(_ context.Context, r *Request) Response { return OK("echo", r.Arguments) })
	ctx := context.Background()

	if got := d.Dispatch(ctx, []byte(`{"command":"foo-bar"}`)); got.Result != ResultUnsupported || got.Text != "'foo-bar' command not supported." {
		t.Errorf("unknown command: %+v", got)
	}
	got := d.Dispatch(ctx, []byte(`{"command":"list-commands"}`))
	if got.Result != 0 || fmt.Sprint(got.Arguments) != "[echo list-commands]" || got.Text != "" {
		t.Errorf("list-commands: %+v", got)
	}
	d.Unregister("echo")
	if got := d.Dispatch(ctx, []byte(`{"command":"echo"}`)); got.Result != ResultUnsupported {
		t.Errorf("unregistered command still runs: %+v", got)
	}
	// Kea omits empty text and arguments.
	b, _ := json.Marshal(OK("", nil))
	if string(b) != `{"result":0}` {
		t.Errorf("marshal: %s", b)
	}
}

func TestDecodeArgs(t *testing.T) {
	var v struct{ Name string }
	if r := DecodeArgs(&Request{}, &v); r == nil || r.Text != "Missing mandatory 'arguments' parameter." {
		t.Errorf("missing: %+v", r)
	}
	if r := DecodeArgs(&Request{Arguments: json.RawMessage(`[1]`)}, &v); r == nil || r.Result != ResultError {
		t.Errorf("list: %+v", r)
	}
	if r := DecodeArgs(&Request{Arguments: json.RawMessage(`{"Name":"x"}`)}, &v); r != nil || v.Name != "x" {
		t.Errorf("ok: %+v %+v", r, v)
	}
}

// startServer listens on a fresh socket and serves until the test ends.
func startServer(t *testing.T, opt Options) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctrl.sock")
	d := NewDispatcher()
	d.Register("echo", func(_ context.Context, r *Request) Response { return OK("echo", r.Arguments) })
	d.Register("slow", func(ctx context.Context, r *Request) Response {
		time.Sleep(50 * time.Millisecond)
		return OK("slow", nil)
	})
	s, err := Listen(path, d, opt)
	if err != nil {
		t.Fatal(err)
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

// send writes raw to the socket and reads the reply until EOF.
func send(t *testing.T, path, raw string) Response {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if raw != "" {
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	var r Response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("reply %q: %v", b, err)
	}
	return r
}

func TestSocketCommands(t *testing.T) {
	_, path := startServer(t, Options{IdleTimeout: 300 * time.Millisecond, MaxCommand: 1 << 10})
	tests := []struct {
		name, in   string
		wantResult int
		wantText   string
	}{
		{"command", `{"command":"echo","arguments":{"a":1}}`, 0, "echo"},
		{"split across no newline", `{ "command" : "echo" }`, 0, "echo"},
		{"two commands, one answer", `{"command":"echo"}{"command":"nope"}`, 0, "echo"},
		{"garbage", `garbage`, 1, "invalid first character g"},
		{"unknown", `{"command":"foo-bar"}`, 2, "'foo-bar' command not supported."},
		{"partial then silence", `{"command":"ec`, 1, "Connection over control channel timed out, discarded partial command of 14 bytes"},
		{"silence", ``, 1, "Connection over control channel timed out"},
		{"oversized", `{"command":"echo","arguments":{"x":"` + strings.Repeat("a", 2000) + `"}}`, 1, "command too large"},
		{"wrong arg type", `{"command":"echo","arguments":"x"}`, 1, "'arguments' must be a map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, path, tt.in)
			if r.Result != tt.wantResult || !strings.Contains(r.Text, tt.wantText) {
				t.Fatalf("got %+v, want result %d text %q", r, tt.wantResult, tt.wantText)
			}
		})
	}
}

func TestSocketModeAndStale(t *testing.T) {
	s, path := startServer(t, Options{Mode: 0o660})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("mode %v, want 0660", fi.Mode().Perm())
	}
	// A live server is not displaced.
	if _, err := Listen(path, NewDispatcher(), Options{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second listen on a live socket: %v", err)
	}
	if r := send(t, path, `{"command":"echo"}`); r.Result != 0 {
		t.Fatalf("live server disturbed: %+v", r)
	}

	// A stale socket (file left, nobody listening) is replaced.
	stale := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("stale socket file should remain: %v", err)
	}
	s2, err := Listen(stale, NewDispatcher(), Options{})
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	fi, _ = os.Stat(stale)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("default mode %v, want 0600", fi.Mode().Perm())
	}
	s2.Close()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("socket file not removed on close: %v", err)
	}

	// A regular file at the path is never removed.
	reg := filepath.Join(t.TempDir(), "file")
	os.WriteFile(reg, []byte("x"), 0o600)
	if _, err := Listen(reg, NewDispatcher(), Options{}); err == nil {
		t.Fatal("listen over a regular file succeeded")
	}
	_ = s
}

func TestSocketConcurrentClients(t *testing.T) {
	_, path := startServer(t, Options{MaxConns: 8})
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := "echo"
			if i%2 == 0 {
				cmd = "slow"
			}
			c, err := net.Dial("unix", path)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, `{"command":%q}`, cmd)
			b, err := io.ReadAll(c)
			var r Response
			if err != nil || json.Unmarshal(b, &r) != nil || r.Result != 0 || r.Text != cmd {
				errs <- fmt.Sprintf("client %d: %q %v", i, b, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// The socket is given the configured group before its mode (so a
// kea-ctrl-agent running as another user in that group can connect), and a
// reload can change both on the live socket.
func TestSocketGroup(t *testing.T) {
	gid := os.Getgid() // a group any user may give its own files
	if os.Geteuid() == 0 {
		gid = 4242 // root may give any gid, even one not in /etc/group
	}
	s, path := startServer(t, Options{Mode: 0o660, GID: gid, SetGID: true})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Gid) != gid || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket gid %d mode %v, want %d 0660", st.Gid, fi.Mode().Perm(), gid)
	}
	if err := s.SetOwnership(0o600, os.Getgid(), true); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(path)
	if st := fi.Sys().(*syscall.Stat_t); int(st.Gid) != os.Getgid() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("after SetOwnership: gid %d mode %v", st.Gid, fi.Mode().Perm())
	}
	if os.Geteuid() != 0 {
		// Not root and not in the group: refused, naming the setting.
		if _, err := Listen(filepath.Join(t.TempDir(), "g.sock"), NewDispatcher(), Options{GID: 4242, SetGID: true}); err == nil ||
			!strings.Contains(err.Error(), "control-socket-group") {
			t.Fatalf("chown to a foreign group: %v", err)
		}
	}
}
