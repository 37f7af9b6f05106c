package peer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/ha/peer/peertest"
)

// sendMany sends n lease4-update commands concurrently and checks that
// each got its own answer.
func sendMany(t *testing.T, c *UpdateClient, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip := fmt.Sprintf("192.0.2.%d", i%250+1)
			body := fmt.Sprintf(`{ "arguments": { "ip-address": %q }, "command": "lease4-update", "service": [ "dhcp4" ] }`, ip)
			a, err := c.Do(context.Background(), uint32(i), "lease4-update", []byte(body))
			switch {
			case err != nil:
				errs <- err
			case a.Result != 0 || a.Text != "lease4-update "+ip:
				errs <- fmt.Errorf("request %d: got answer %+v", i, a)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func newTestUpdateClient(t *testing.T, url string, conns int) (*UpdateClient, *PartnerInfo) {
	t.Helper()
	info := &PartnerInfo{}
	c, err := NewUpdateClient(Target{Name: "server2", URL: url}, nil, conns, info)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, info
}

// TestUpdateClientPipelinesToXdhcpd: a partner announcing Server: xdhcpd
// gets pipelined requests, every answer reaching its own caller.
func TestUpdateClientPipelinesToXdhcpd(t *testing.T) {
	p := peertest.NewRawPeer(t, "xdhcpd")
	c, info := newTestUpdateClient(t, p.URL(), 1)
	sendMany(t, c, 1) // learns the partner's software
	if !info.Pipelines() {
		t.Fatal("Server: xdhcpd not recognised")
	}
	for range 5 {
		sendMany(t, c, 200)
		if p.Pipelined.Load() > 0 {
			break
		}
	}
	if p.Pipelined.Load() == 0 {
		t.Errorf("no request arrived pipelined in %d requests", p.Requests.Load())
	}
}

// TestUpdateClientNoPipeliningToKea: a partner without our Server header
// (Kea 2.2) never sees a request before the previous one is answered.
func TestUpdateClientNoPipeliningToKea(t *testing.T) {
	p := peertest.NewRawPeer(t, "")
	c, info := newTestUpdateClient(t, p.URL(), 2)
	sendMany(t, c, 300)
	if info.Pipelines() {
		t.Error("pipelining enabled towards a partner without Server: xdhcpd")
	}
	if n := p.Pipelined.Load(); n != 0 {
		t.Errorf("%d requests arrived pipelined at a Kea-like partner", n)
	}
}

// TestUpdateClientPartnerCloses: a partner that closes its connection
// (Connection: close mid-pipeline, or an idle close) loses no request: the
// unanswered ones are resent on a new connection.
func TestUpdateClientPartnerCloses(t *testing.T) {
	for _, server := range []string{"xdhcpd", ""} {
		t.Run("server="+server, func(t *testing.T) {
			p := peertest.NewRawPeer(t, server)
			p.CloseAfter.Store(3)
			c, _ := newTestUpdateClient(t, p.URL(), 1)
			sendMany(t, c, 1)
			sendMany(t, c, 100)
		})
	}
}

// TestUpdateClientStaleConnection: the partner closed the kept-alive
// connection while it was idle; the next update is resent once on a fresh
// connection and succeeds.
func TestUpdateClientStaleConnection(t *testing.T) {
	p := peertest.NewRawPeer(t, "xdhcpd")
	p.CloseAfter.Store(1)
	c, _ := newTestUpdateClient(t, p.URL(), 1)
	for range 3 {
		sendMany(t, c, 1)
		time.Sleep(20 * time.Millisecond) // the close reaches us first
	}
}

// TestUpdateClientFailures: a refused connection, a garbage answer and a
// hung partner are communication errors; close interrupts a hung exchange.
func TestUpdateClientFailures(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		url := "http://" + ln.Addr().String() + "/"
		ln.Close()
		c, _ := newTestUpdateClient(t, url, 1)
		_, err := c.Do(context.Background(), 0, "lease4-update", []byte(`{}`))
		var ce *CommError
		if !errors.As(err, &ce) {
			t.Fatalf("got %v, want a CommError", err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			_, _ = http.ReadRequest(bufio.NewReader(c))
			_, _ = io.WriteString(c, "SSH-2.0-OpenSSH\r\n\r\n")
		}()
		c, _ := newTestUpdateClient(t, "http://"+ln.Addr().String()+"/", 1)
		_, err := c.Do(context.Background(), 0, "lease4-update", []byte(`{}`))
		var ce *CommError
		if !errors.As(err, &ce) {
			t.Fatalf("got %v, want a CommError", err)
		}
	})
	t.Run("hang then close", func(t *testing.T) {
		p := peertest.NewRawPeer(t, "xdhcpd")
		p.Hang.Store(true)
		c, _ := newTestUpdateClient(t, p.URL(), 1)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := c.Do(ctx, 0, "lease4-update", []byte(`{}`)); err == nil {
			t.Fatal("a hung partner answered")
		}
		done := make(chan struct{})
		go func() { c.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("close did not interrupt the hung exchange")
		}
		if _, err := c.Do(context.Background(), 0, "lease4-update", []byte(`{}`)); err == nil {
			t.Fatal("a closed client sent a request")
		}
	})
}

// TestReadReply covers the reply framing rules.
func TestReadReply(t *testing.T) {
	tests := []struct {
		name, raw string
		wantErr   bool
		wantRes   int
		wantClose bool
	}{
		{name: "kea", raw: "HTTP/1.1 200 OK\r\nContent-Length: 48\r\nContent-Type: application/json\r\nDate: Wed, 25 Nov 2026 06:43:46 GMT\r\n\r\n[ { \"result\": 0, \"text\": \"IPv4 lease added.\" } ]"},
		{name: "map body", raw: "HTTP/1.1 401 Unauthorized\r\ncontent-length: 41\r\n\r\n{ \"result\": 401, \"text\": \"Unauthorized\" }", wantRes: 1},
		{name: "close", raw: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 17\r\n\r\n[ {\"result\": 3} ]", wantRes: 3, wantClose: true},
		{name: "chunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[ { }\r\n0\r\n\r\n", wantErr: true},
		{name: "no length", raw: "HTTP/1.1 200 OK\r\n\r\n[]", wantErr: true},
		{name: "short body", raw: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n[]", wantErr: true},
		{name: "not http", raw: "hello\r\n\r\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := readReply(bufio.NewReader(strings.NewReader(tt.raw)))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if r.err != nil || r.a.Result != tt.wantRes || r.close != tt.wantClose {
				t.Errorf("got %+v (body err %v), want result %d close %v", r.a, r.err, tt.wantRes, tt.wantClose)
			}
		})
	}
}

// TestUpdateClientTLS: updates travel over TLS (https peer URL) to a
// listener that pipelines.
func TestUpdateClientTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			Arguments struct {
				IP string `json:"ip-address"`
			} `json:"arguments"`
		}
		_ = json.Unmarshal(body, &env)
		out := fmt.Sprintf(`[ { "result": 0, "text": "lease4-update %s" } ]`, env.Arguments.IP)
		w.Header().Set("Server", ServerSoftware)
		w.Header().Set("Content-Length", fmt.Sprint(len(out)))
		_, _ = io.WriteString(w, out)
	}))
	defer srv.Close()
	tc := srv.Client().Transport.(*http.Transport).TLSClientConfig
	info := &PartnerInfo{}
	c, err := NewUpdateClient(Target{Name: "server2", URL: srv.URL + "/"}, tc, 2, info)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sendMany(t, c, 100)
	if !info.Pipelines() {
		t.Error("Server: xdhcpd over TLS not recognised")
	}
}

// TestUpdateDeadline: an update whose deadline passes while it waits
// behind an unanswered one is failed and never written, the one after it
// is written; one written before its deadline gets its answer even when
// the answer comes after the deadline. Towards Kea an update waits behind
// the one unanswered; towards a pipelining partner it is written at once
// (behind a full pipeline it would wait), so it is answered.
func TestUpdateDeadline(t *testing.T) {
	body := func(ip string) []byte {
		return fmt.Appendf(nil, `{ "arguments": { "ip-address": %q }, "command": "lease4-update", "service": [ "dhcp4" ] }`, ip)
	}
	for _, server := range []string{"xdhcpd", ""} {
		t.Run("server="+server, func(t *testing.T) {
			p := peertest.NewRawPeer(t, server)
			c, info := newTestUpdateClient(t, p.URL(), 1)
			info.Observe([]byte(server))
			res := make(chan string, 8)
			upd := func(ip string, deadline time.Time) Update {
				return Update{Command: "lease4-update", Body: body(ip), Key: 7, Deadline: deadline,
					Done: func(r UpdateResult) {
						switch {
						case errors.Is(r.Err, ErrUpdateExpired):
							res <- ip + " expired"
						case r.Err != nil:
							res <- ip + " " + r.Err.Error()
						default:
							res <- ip + " " + r.Answer.Text
						}
					}}
			}
			next := func() string {
				select {
				case s := <-res:
					return s
				case <-time.After(5 * time.Second):
					t.Fatal("no completion")
					return ""
				}
			}
			// Already past its deadline on an idle client.
			c.Send([]Update{upd("192.0.2.1", time.Now().Add(-time.Millisecond))})
			if got := next(); got != "192.0.2.1 expired" {
				t.Fatalf("got %q", got)
			}
			// A is written and held by the partner past its own deadline;
			// B, behind it on the same connection, expires; C does not.
			p.Hold(t)
			c.Send([]Update{upd("192.0.2.2", time.Now().Add(50*time.Millisecond))})
			for len(p.RequestsSeen()) == 0 {
				time.Sleep(time.Millisecond)
			}
			c.Send([]Update{upd("192.0.2.3", time.Now().Add(50*time.Millisecond))})
			c.Send([]Update{upd("192.0.2.4", time.Now().Add(time.Minute))})
			time.Sleep(150 * time.Millisecond)
			p.Release()
			want := []string{"192.0.2.2 lease4-update 192.0.2.2", "192.0.2.3 expired", "192.0.2.4 lease4-update 192.0.2.4"}
			wantSeen := []string{"192.0.2.2", "192.0.2.4"}
			if server == "xdhcpd" {
				want[1] = "192.0.2.3 lease4-update 192.0.2.3"
				wantSeen = []string{"192.0.2.2", "192.0.2.3", "192.0.2.4"}
			}
			for _, w := range want {
				if got := next(); got != w {
					t.Fatalf("got %q, want %q", got, w)
				}
			}
			var ips []string
			for _, r := range p.RequestsSeen() {
				ips = append(ips, r.IP)
			}
			if !slices.Equal(ips, wantSeen) {
				t.Fatalf("partner got %v, want %v", ips, wantSeen)
			}
		})
	}
}

// TestUpdateClientShortWrites: a socket that takes only part of a write,
// or nothing (EAGAIN), or refuses it as closed, loses and reorders
// nothing: the connection's goroutine writes the rest, and requests that
// never left are sent again on a fresh connection.
func TestUpdateClientShortWrites(t *testing.T) {
	writers := map[string]func(fd int, b []byte) (int, error){
		"short": func(fd int, b []byte) (int, error) { return unix.Write(fd, b[:min(len(b), 37)]) },
		"eagain": func(fd int, b []byte) (int, error) {
			if len(b)%2 == 0 {
				return 0, unix.EAGAIN
			}
			return unix.Write(fd, b)
		},
	}
	var calls atomic.Int64
	writers["epipe"] = func(fd int, b []byte) (int, error) {
		if calls.Add(1)%5 == 0 {
			return 0, unix.EPIPE
		}
		return unix.Write(fd, b)
	}
	for name, w := range writers {
		for _, server := range []string{"xdhcpd", ""} {
			t.Run(name+"/server="+server, func(t *testing.T) {
				p := peertest.NewRawPeer(t, server)
				c, info := newTestUpdateClient(t, p.URL(), 1)
				info.Observe([]byte(server))
				c.SetWrite(w)
				sendMany(t, c, 300)
				// One address's updates keep their order.
				for i := range 20 {
					body := fmt.Sprintf(`{ "arguments": { "ip-address": "192.0.2.251", "hostname": "v%d" }, "command": "lease4-update", "service": [ "dhcp4" ] }`, i)
					c.Send([]Update{{Command: "lease4-update", Body: []byte(body), Key: 251, Done: func(UpdateResult) {}}})
				}
				waitFor(t, "the updates of 192.0.2.251", func() bool { return c.InFlight() == 0 })
				var got []string
				for _, r := range p.RequestsSeen() {
					if r.IP == "192.0.2.251" {
						got = append(got, r.Hostname)
					}
				}
				for i := 1; i < len(got); i++ {
					var a, b int
					fmt.Sscanf(got[i-1], "v%d", &a)
					fmt.Sscanf(got[i], "v%d", &b)
					if b != a+1 {
						t.Fatalf("partner read 192.0.2.251's updates out of order or twice: %v", got)
					}
				}
				if len(got) != 20 || got[0] != "v0" {
					t.Fatalf("partner read %v, want v0..v19", got)
				}
			})
		}
	}
}
