package peer

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// capturedHeartbeat is a Kea 2.2 answer to ha-heartbeat.
const capturedHeartbeat = `[ { "arguments": { "date-time": "Wed, 25 Nov 2026 06:43:46 GMT", "scopes": [ "server1" ], "state": "load-balancing", "unsent-update-count": 0 }, "result": 0, "text": "HA peer status returned." } ]`

func TestClientReplies(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		timeout    time.Duration
		wantComm   bool // communication failure
		wantResult int
		wantText   string
	}{
		{name: "captured heartbeat", handler: reply200(capturedHeartbeat), wantResult: 0, wantText: "HA peer status returned."},
		{name: "captured unsupported", handler: reply200(`[ { "result": 2, "text": "'no-such-command' command not supported." } ]`), wantResult: 2, wantText: "'no-such-command' command not supported."},
		{name: "map body is failure", handler: reply200(`{ "result": 401, "text": "Unauthorized" }`), wantResult: 1, wantText: "Unauthorized"},
		{name: "garbage", handler: reply200(`<html>oops</html>`), wantComm: true},
		{name: "empty list", handler: reply200(`[ ]`), wantComm: true},
		{name: "empty body", handler: reply200(``), wantComm: true},
		{name: "list of garbage", handler: reply200(`[ "x" ]`), wantComm: true},
		{name: "hang", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}, timeout: 200 * time.Millisecond, wantComm: true},
		{name: "closed connection", handler: func(w http.ResponseWriter, r *http.Request) {
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
		}, wantComm: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c, err := NewClient(Target{Name: "server1", URL: srv.URL + "/"}, nil, 1, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			to := tt.timeout
			if to == 0 {
				to = 2 * time.Second
			}
			a, err := c.Call(context.Background(), "ha-heartbeat", nil, to)
			var ce *CommError
			if tt.wantComm {
				if !errors.As(err, &ce) {
					t.Fatalf("err %v, want CommError", err)
				}
				return
			}
			if err != nil || a.Result != tt.wantResult || a.Text != tt.wantText {
				t.Fatalf("got %+v %v, want %d %q", a, err, tt.wantResult, tt.wantText)
			}
		})
	}
}

func reply200(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

// TestClientRequestShape checks what Kea's listener gets: POST /, Host
// without port, JSON content type, basic auth of the target peer, the
// envelope, one reused connection.
func TestClientRequestShape(t *testing.T) {
	var conns, reqs int
	var got []*http.Request
	var bodies []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r)
		bodies = append(bodies, string(b))
		reqs++
		reply200(`[ { "result": 0 } ]`)(w, r)
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns++
		}
	}
	srv.Start()
	defer srv.Close()
	c, _ := NewClient(Target{Name: "server1", URL: srv.URL + "/", BasicAuthUser: "kea-ha", BasicAuthPassword: "secret"}, nil, 1, false, nil)
	defer c.Close()
	for i := 0; i < 3; i++ {
		if _, err := c.Expect(context.Background(), "ha-heartbeat", nil, time.Second, 0); err != nil {
			t.Fatal(err)
		}
	}
	if conns != 1 || reqs != 3 {
		t.Fatalf("%d connections for %d requests, want 1 persistent", conns, reqs)
	}
	r := got[0]
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Host != "127.0.0.1" ||
		r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Authorization") != "Basic a2VhLWhhOnNlY3JldA==" ||
		r.Header.Get("User-Agent") != "" || r.ContentLength <= 0 || len(r.TransferEncoding) != 0 {
		t.Fatalf("request %s %s host %q headers %v", r.Method, r.URL.Path, r.Host, r.Header)
	}
	if bodies[0] != `{"command":"ha-heartbeat","service":["dhcp4"]}` {
		t.Fatalf("body %s", bodies[0])
	}
}
