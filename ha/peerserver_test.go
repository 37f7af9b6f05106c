package ha

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/ha/peer"
)

// dialListener opens a raw connection to a started test listener.
func dialListener(t *testing.T) (net.Conn, *bufio.Reader) {
	t.Helper()
	env := newTestService(t, "http://127.0.0.1:1/", nil)
	url := startListener(t, env)
	c, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c, bufio.NewReader(c)
}

func post(body string, extra ...string) string {
	h := "POST / HTTP/1.1\r\nHost: 192.0.2.1\r\nContent-Type: application/json\r\n"
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func readResp(t *testing.T, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestPeerServerPipelining: pipelined requests are answered in order, each
// with Content-Length, Date and our Server header, on one connection.
func TestPeerServerPipelining(t *testing.T) {
	c, br := dialListener(t)
	cmds := []string{"ha-heartbeat", "no-such-command", "ha-reset", "ha-heartbeat"}
	var all string
	for _, cmd := range cmds {
		all += post(`{ "command": "` + cmd + `", "service": [ "dhcp4" ] }`)
	}
	if _, err := io.WriteString(c, all); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range cmds {
		resp, body := readResp(t, br)
		want := 200
		if cmd == "no-such-command" {
			want = 403 // restrict-commands (default): Kea's filter answers before the dispatcher
		}
		if resp.StatusCode != want || resp.ContentLength != int64(len(body)) || resp.Header.Get("Date") == "" ||
			resp.Header.Get("Server") != peer.ServerSoftware {
			t.Fatalf("%s: status %d, length %d/%d, headers %v", cmd, resp.StatusCode, resp.ContentLength, len(body), resp.Header)
		}
		switch cmd {
		case "no-such-command":
			if body != `{"result":403,"text":"Forbidden"}` {
				t.Errorf("%s: %s", cmd, body)
			}
		case "ha-heartbeat":
			if !strings.Contains(body, `"state":"waiting"`) {
				t.Errorf("%s: %s", cmd, body)
			}
		}
	}
}

// TestPeerServerExpectContinue: curl's Expect: 100-continue gets its
// interim response before the body is sent.
func TestPeerServerExpectContinue(t *testing.T) {
	c, br := dialListener(t)
	body := `{ "command": "ha-heartbeat" }`
	head := strings.TrimSuffix(post(body, "Expect: 100-continue"), body)
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("interim response %q, %v", line, err)
	}
	if l, _ := br.ReadString('\n'); l != "\r\n" {
		t.Fatalf("interim response not empty: %q", l)
	}
	if _, err := io.WriteString(c, body); err != nil {
		t.Fatal(err)
	}
	if resp, b := readResp(t, br); resp.StatusCode != 200 || !strings.Contains(b, "HA peer status") {
		t.Fatalf("status %d body %s", resp.StatusCode, b)
	}
}

// TestPeerServerBadRequests: chunked bodies, garbage and oversized headers
// get Kea's bare 400 map and the connection is closed; HTTP/1.0 without
// keep-alive is closed after its answer.
func TestPeerServerBadRequests(t *testing.T) {
	tests := []struct{ name, raw string }{
		{"chunked", "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{ } \r\n0\r\n\r\n"},
		{"garbage", "HELLO\r\n\r\n"},
		{"huge header", "POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, br := dialListener(t)
			_, _ = io.WriteString(c, tt.raw)
			resp, body := readResp(t, br)
			if resp.StatusCode != 400 || body != `{"result":400,"text":"Bad Request"}` {
				t.Fatalf("status %d body %s", resp.StatusCode, body)
			}
			if _, err := br.ReadByte(); err == nil {
				t.Fatal("connection still open after a bad request")
			}
		})
	}
	t.Run("http/1.0", func(t *testing.T) {
		c, br := dialListener(t)
		body := `{ "command": "ha-heartbeat" }`
		_, _ = io.WriteString(c, strings.Replace(post(body), "HTTP/1.1", "HTTP/1.0", 1))
		if resp, _ := readResp(t, br); resp.StatusCode != 200 || !resp.Close {
			t.Fatalf("status %d close %v", resp.StatusCode, resp.Close)
		}
		if _, err := br.ReadByte(); err == nil {
			t.Fatal("HTTP/1.0 connection kept open")
		}
	})
}

// TestPeerServerStopClosesIdle: Stop returns promptly with an idle
// keep-alive connection open.
func TestPeerServerStopClosesIdle(t *testing.T) {
	env := newTestService(t, "http://127.0.0.1:1/", nil)
	url := startListener(t, env)
	c, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, post(`{ "command": "ha-heartbeat" }`))
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	readResp(t, bufio.NewReader(c))
	start := time.Now()
	env.s.Stop()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Stop took %s with an idle connection", d)
	}
}
