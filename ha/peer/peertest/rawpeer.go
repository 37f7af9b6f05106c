// Package peertest is a hand-written HTTP/1.1 HA partner for tests of the
// peer transport and of what runs over it: it records how requests arrive
// (pipelined or not) and can hold, delay or refuse its answers.
package peertest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// RawPeer is a hand-written HTTP/1.1 peer that records how requests arrive:
// pipelined means a request was already buffered, complete or not, when
// the reply to the previous one was written.
type RawPeer struct {
	ln     net.Listener
	server string // Server header ("" = none, like Kea)
	// Pipelined counts the requests already buffered when the previous
	// answer was written; Requests counts them all.
	Pipelined atomic.Int64
	Requests  atomic.Int64
	// CloseAfter: answer this many requests per connection, the last with
	// Connection: close, then close (0 = never).
	CloseAfter atomic.Int64
	// Hang: never answer.
	Hang atomic.Bool
	// CloseUnanswered: after the gate and Delay, close the connection
	// instead of answering (a partner killed while it held a request); the
	// request is not applied.
	CloseUnanswered atomic.Bool
	// gate, when set (Hold), delays every answer until Release; delay, when
	// set (SetDelay), is slept before each answer. Both under mu: tests set
	// them while the partner serves.
	gate     chan struct{}
	gateOnce sync.Once
	delay    func() time.Duration
	// got records every request in the order the partner read them;
	// applied, in the order it applied them (after the gate and Delay,
	// right before answering), as a partner's lease store sees them.
	mu      sync.Mutex
	got     []Request
	applied []Request
	wg      sync.WaitGroup
}

// Request is one request as the partner read it.
type Request struct {
	Command, IP, Hostname string
}

// Hold makes the partner keep its answers until Release (at the latest
// when the test ends, before the partner's own cleanup waits for its
// connections).
func (p *RawPeer) Hold(t testing.TB) {
	p.mu.Lock()
	p.gate = make(chan struct{})
	p.mu.Unlock()
	t.Cleanup(p.Release)
}

// Release lets the held answers go.
func (p *RawPeer) Release() {
	p.mu.Lock()
	gate := p.gate
	p.mu.Unlock()
	p.gateOnce.Do(func() { close(gate) })
}

// SetDelay makes the partner sleep f() before each answer.
func (p *RawPeer) SetDelay(f func() time.Duration) {
	p.mu.Lock()
	p.delay = f
	p.mu.Unlock()
}

// RequestsSeen returns the requests read so far, in order.
func (p *RawPeer) RequestsSeen() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.got...)
}

// AppliedSeen returns the requests applied so far, in order.
func (p *RawPeer) AppliedSeen() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.applied...)
}

// NewRawPeer starts a partner that sends server in its Server header ("":
// none, like Kea); it stops when the test ends.
func NewRawPeer(t testing.TB, server string) *RawPeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &RawPeer{ln: ln, server: server}
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

// URL is the partner's peer URL.
func (p *RawPeer) URL() string { return "http://" + p.ln.Addr().String() + "/" }

func (p *RawPeer) serve(c net.Conn) {
	defer p.wg.Done()
	defer c.Close()
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		p.Requests.Add(1)
		if p.Hang.Load() {
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
		p.got = append(p.got, Request{env.Command, env.Arguments.IP, env.Arguments.Hostname})
		p.mu.Unlock()
		if br.Buffered() > 0 {
			p.Pipelined.Add(1)
		}
		p.mu.Lock()
		gate, delay := p.gate, p.delay
		p.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if delay != nil {
			time.Sleep(delay())
		}
		if p.CloseUnanswered.Load() {
			return
		}
		p.mu.Lock()
		p.applied = append(p.applied, Request{env.Command, env.Arguments.IP, env.Arguments.Hostname})
		p.mu.Unlock()
		out := fmt.Sprintf(`[ { "result": 0, "text": "%s %s" } ]`, env.Command, env.Arguments.IP)
		after := p.CloseAfter.Load()
		last := after > 0 && int64(n) == after
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
