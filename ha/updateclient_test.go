package ha

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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawPeer is a hand-written HTTP/1.1 peer that records how requests arrive:
// pipelined means a request was already buffered, complete or not, when
// the reply to the previous one was written.
type rawPeer struct {
	ln        net.Listener
	server    string // Server header ("" = none, like Kea)
	pipelined atomic.Int64
	requests  atomic.Int64
	// closeAfter: answer this many requests per connection, the last with
	// Connection: close, then close (0 = never).
	closeAfter int
	// hang: never answer.
	hang atomic.Bool
	// gate, when set (hold), delays every answer until release; delay, when
	// set, is slept before each answer.
	gate     chan struct{}
	gateOnce sync.Once
	delay    func() time.Duration
	// got records every request in the order the partner read them.
	mu  sync.Mutex
	got []rawReq
	wg  sync.WaitGroup
}

// rawReq is one request as the partner read it.
type rawReq struct {
	command, ip, hostname string
}

// hold makes the partner keep its answers until release (at the latest
// when the test ends, before the partner's own cleanup waits for its
// connections).
func (p *rawPeer) hold(t *testing.T) {
	p.gate = make(chan struct{})
	t.Cleanup(p.release)
}

func (p *rawPeer) release() { p.gateOnce.Do(func() { close(p.gate) }) }

func (p *rawPeer) requestsSeen() []rawReq {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rawReq(nil), p.got...)
}

func newRawPeer(t *testing.T, server string) *rawPeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPeer{ln: ln, server: server}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go p.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *rawPeer) url() string { return "http://" + p.ln.Addr().String() + "/" }

func (p *rawPeer) serve(c net.Conn) {
	defer p.wg.Done()
	defer c.Close()
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		p.requests.Add(1)
		if p.hang.Load() {
			_, _ = io.Copy(io.Discard, c)
			return
		}
		var env struct {
			Command   string `json:"command"`
			Arguments struct {
				IP       string `json:"ip-address"`
				Hostname string `json:"hostname"`
			} `json:"arguments"`
		}
		_ = json.Unmarshal(body, &env)
		p.mu.Lock()
		p.got = append(p.got, rawReq{env.Command, env.Arguments.IP, env.Arguments.Hostname})
		p.mu.Unlock()
		if br.Buffered() > 0 {
			p.pipelined.Add(1)
		}
		if p.gate != nil {
			<-p.gate
		}
		if p.delay != nil {
			time.Sleep(p.delay())
		}
		out := fmt.Sprintf(`[ { "result": 0, "text": "%s %s" } ]`, env.Command, env.Arguments.IP)
		last := p.closeAfter > 0 && n == p.closeAfter
		var h strings.Builder
		fmt.Fprintf(&h, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/json\r\n", len(out))
		if p.server != "" {
			fmt.Fprintf(&h, "Server: %s\r\n", p.server)
		}
		if last {
			h.WriteString("Connection: close\r\n")
		}
		h.WriteString("\r\n")
		if _, err := io.WriteString(c, h.String()+out); err != nil || last {
			return
		}
	}
}

// sendMany sends n lease4-update commands concurrently and checks that
// each got its own answer.
func sendMany(t *testing.T, c *updateClient, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip := fmt.Sprintf("192.0.2.%d", i%250+1)
			body := fmt.Sprintf(`{ "arguments": { "ip-address": %q }, "command": "lease4-update", "service": [ "dhcp4" ] }`, ip)
			a, err := c.do(context.Background(), uint32(i), "lease4-update", []byte(body))
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

func newTestUpdateClient(t *testing.T, url string, conns int) (*updateClient, *partnerInfo) {
	t.Helper()
	info := &partnerInfo{}
	c, err := newUpdateClient(&Peer{Name: "server2", URL: url}, nil, conns, info)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c, info
}

// TestUpdateClientPipelinesToXdhcpd: a partner announcing Server: xdhcpd
// gets pipelined requests, every answer reaching its own caller.
func TestUpdateClientPipelinesToXdhcpd(t *testing.T) {
	p := newRawPeer(t, "xdhcpd")
	c, info := newTestUpdateClient(t, p.url(), 1)
	sendMany(t, c, 1) // learns the partner's software
	if !info.pipelines.Load() {
		t.Fatal("Server: xdhcpd not recognised")
	}
	for range 5 {
		sendMany(t, c, 200)
		if p.pipelined.Load() > 0 {
			break
		}
	}
	if p.pipelined.Load() == 0 {
		t.Errorf("no request arrived pipelined in %d requests", p.requests.Load())
	}
}

// TestUpdateClientNoPipeliningToKea: a partner without our Server header
// (Kea 2.2) never sees a request before the previous one is answered.
func TestUpdateClientNoPipeliningToKea(t *testing.T) {
	p := newRawPeer(t, "")
	c, info := newTestUpdateClient(t, p.url(), 2)
	sendMany(t, c, 300)
	if info.pipelines.Load() {
		t.Error("pipelining enabled towards a partner without Server: xdhcpd")
	}
	if n := p.pipelined.Load(); n != 0 {
		t.Errorf("%d requests arrived pipelined at a Kea-like partner", n)
	}
}

// TestUpdateClientPartnerCloses: a partner that closes its connection
// (Connection: close mid-pipeline, or an idle close) loses no request: the
// unanswered ones are resent on a new connection.
func TestUpdateClientPartnerCloses(t *testing.T) {
	for _, server := range []string{"xdhcpd", ""} {
		t.Run("server="+server, func(t *testing.T) {
			p := newRawPeer(t, server)
			p.closeAfter = 3
			c, _ := newTestUpdateClient(t, p.url(), 1)
			sendMany(t, c, 1)
			sendMany(t, c, 100)
		})
	}
}

// TestUpdateClientStaleConnection: the partner closed the kept-alive
// connection while it was idle; the next update is resent once on a fresh
// connection and succeeds.
func TestUpdateClientStaleConnection(t *testing.T) {
	p := newRawPeer(t, "xdhcpd")
	p.closeAfter = 1
	c, _ := newTestUpdateClient(t, p.url(), 1)
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
		_, err := c.do(context.Background(), 0, "lease4-update", []byte(`{}`))
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
		_, err := c.do(context.Background(), 0, "lease4-update", []byte(`{}`))
		var ce *CommError
		if !errors.As(err, &ce) {
			t.Fatalf("got %v, want a CommError", err)
		}
	})
	t.Run("hang then close", func(t *testing.T) {
		p := newRawPeer(t, "xdhcpd")
		p.hang.Store(true)
		c, _ := newTestUpdateClient(t, p.url(), 1)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := c.do(ctx, 0, "lease4-update", []byte(`{}`)); err == nil {
			t.Fatal("a hung partner answered")
		}
		done := make(chan struct{})
		go func() { c.close(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("close did not interrupt the hung exchange")
		}
		if _, err := c.do(context.Background(), 0, "lease4-update", []byte(`{}`)); err == nil {
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
		w.Header().Set("Server", serverSoftware)
		w.Header().Set("Content-Length", fmt.Sprint(len(out)))
		_, _ = io.WriteString(w, out)
	}))
	defer srv.Close()
	tc := srv.Client().Transport.(*http.Transport).TLSClientConfig
	info := &partnerInfo{}
	c, err := newUpdateClient(&Peer{Name: "server2", URL: srv.URL + "/"}, tc, 2, info)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	sendMany(t, c, 100)
	if !info.pipelines.Load() {
		t.Error("Server: xdhcpd over TLS not recognised")
	}
}
