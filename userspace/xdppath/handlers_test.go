//go:build linux

package xdppath

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/server"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// slowHandler delays every request before the real engine answers it, as
// an HA server parks an ACK until the partner acknowledged the lease.
type slowHandler struct {
	inner *engineHandler
	delay time.Duration
}

func (h *slowHandler) Handle(w int, req *dhcp.Request) *dhcp.Reply {
	time.Sleep(h.delay)
	return h.inner.Handle(w, req)
}

// gateHandler holds the first request until the gate opens.
type gateHandler struct {
	inner   *engineHandler
	once    sync.Once
	entered chan struct{}
	gate    chan struct{}
}

func (h *gateHandler) Handle(w int, req *dhcp.Request) *dhcp.Reply {
	h.once.Do(func() {
		close(h.entered)
		<-h.gate
	})
	return h.inner.Handle(w, req)
}

// newWrappedServer is newEngineServer with wrap around the engine handler.
func newWrappedServer(t *testing.T, wrap func(*engineHandler) server.Handler) (*server.Server, *engineHandler, *stats.Registry) {
	t.Helper()
	base, h, reg := newEngineServer(t)
	base.Stop() // only its engine is used
	srv, err := server.New(server.Config{}, wrap(h), reg, zerolog.Nop())
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv, h, reg
}

// TestSlowHandlerPerfdhcp: every request takes 5 ms in the handler (an HA
// round trip); perfdhcp's one flow lands on one queue, whose handler pool
// still answers 1,000 DORA/s (serial processing would cap at 200
// requests/s).
func TestSlowHandlerPerfdhcp(t *testing.T) {
	testenv.Short(t, "runs perfdhcp for 5 s")
	l := newLab(t)
	srv, _, reg := newWrappedServer(t, func(h *engineHandler) server.Handler {
		return &slowHandler{inner: h, delay: 5 * time.Millisecond}
	})
	fb := newUDPFallback(t, l.srv, l.srvIf)
	p := openPath(t, l, Config{Server: srv, Stats: reg, Fallback: fb.send, Handlers: 32, QueueSize: 256, Logger: zerolog.Nop()})
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}

	// -W: wait 200 ms for the replies still parked in the handlers when
	// the period ends (else the last ~5 ms of requests count as drops).
	out := runPerfdhcp(t, l, "-r", "1000", "-p", "5", "-R", "10000", "-W", "200000")
	res := parsePerfdhcp(out)
	do, ra := res["DISCOVER-OFFER"], res["REQUEST-ACK"]
	if do.sent < 4000 || ra.sent == 0 {
		t.Fatalf("perfdhcp sent too little: %+v %+v", do, ra)
	}
	sent, recv := do.sent+ra.sent, do.received+ra.received
	ratio := float64(recv) / float64(sent)
	st, _ := p.Stats()
	t.Logf("DISCOVER-OFFER %d/%d, REQUEST-ACK %d/%d: %.4f%% answered; path %+v, fallback %d",
		do.received, do.sent, ra.received, ra.sent, 100*ratio, st, fb.sent.Load())
	if ratio < 0.999 {
		t.Errorf("answered %.4f%% of perfdhcp's packets, want >= 99.9%%", 100*ratio)
	}
	busy := 0
	for _, q := range p.queues {
		if q.c.rxFrames.Load() > 0 {
			busy++
		}
	}
	if busy != 1 {
		t.Logf("%d queues received frames (perfdhcp's flow was expected on one)", busy)
	}
	if st.QueueFull != 0 || reg.Cell(server.StatQueueFull).Value() != 0 {
		t.Errorf("queue-full drops: path %d, cell %d; want 0", st.QueueFull, reg.Cell(server.StatQueueFull).Value())
	}
}

// TestQueueFullDropsOldest: one handler, a work queue of 4; while the
// handler holds the first request, 19 more arrive: the 15 oldest queued
// ones are dropped and counted as the server counts queue-full drops, and
// the newest 4 are served after the first.
func TestQueueFullDropsOldest(t *testing.T) {
	l := newLab(t)
	gh := &gateHandler{entered: make(chan struct{}), gate: make(chan struct{})}
	srv, h, reg := newWrappedServer(t, func(h *engineHandler) server.Handler {
		gh.inner = h
		return gh
	})
	opened := false
	defer func() {
		if !opened {
			close(gh.gate)
		}
	}()
	fb := newUDPFallback(t, l.srv, l.srvIf)
	p := openPath(t, l, Config{Server: srv, Stats: reg, Fallback: fb.send, Handlers: 1, QueueSize: 4, Logger: zerolog.Nop()})
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	relay := relaySocket(t, l)
	c := newClientSender(t, l, 0)
	received0 := reg.Get(stats.Pkt4Received)
	drop0 := reg.Get(stats.Pkt4ReceiveDrop)

	c.discover(t, 0, 0)
	select {
	case <-gh.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler never got the first request")
	}
	const more = 19
	for i := range more {
		c.discover(t, 0, byte(i+1))
	}
	q := p.queues[0]
	deadline := time.Now().Add(5 * time.Second)
	for q.c.rxFrames.Load() < more+1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := q.c.rxFrames.Load(); got != more+1 {
		t.Fatalf("queue 0 received %d frames, want %d", got, more+1)
	}
	const dropped = more - 4
	if got := reg.Cell(server.StatQueueFull).Value(); got != dropped {
		t.Errorf("%s = %d, want %d", server.StatQueueFull, got, dropped)
	}
	if got := reg.Get(stats.Pkt4ReceiveDrop) - drop0; got != dropped {
		t.Errorf("pkt4-receive-drop grew by %d, want %d", got, dropped)
	}
	if got := reg.Get(stats.Pkt4Received) - received0; got != dropped+1 {
		t.Errorf("pkt4-received grew by %d while the handler was held, want %d (the drops and the held one)", got, dropped+1)
	}
	if st, _ := p.Stats(); st.QueueFull != dropped {
		t.Errorf("path queue-full %d, want %d", st.QueueFull, dropped)
	}

	close(gh.gate)
	opened = true
	if got := readOffers(t, relay, 5); got != 5 {
		t.Errorf("got %d offers, want 5", got)
	}
	var served []byte
	for _, m := range h.requests() {
		served = append(served, m.ClientHWAddr[5])
	}
	slices.Sort(served)
	if want := []byte{0, 16, 17, 18, 19}; !slices.Equal(served, want) {
		t.Errorf("served chaddr suffixes %v, want %v (the first and the newest four)", served, want)
	}
	if got := reg.Get(stats.Pkt4Received) - received0; got != more+1 {
		t.Errorf("pkt4-received grew by %d, want %d", got, more+1)
	}
}
