//go:build linux

package xdppath

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/bpf"
	"github.com/xdhcp/xdhcp/ha/lbhash"
	"github.com/xdhcp/xdhcp/internal/testenv"
)

// TestPerfdhcpOverXDP serves perfdhcp's DORA (2000 exchanges/s for 10 s)
// through the XDP path on a two-queue veth with a real engine: at least
// 99.9 % of the exchanges are answered and the
// BPF counters show the requests were redirected, not passed to the stack.
func TestPerfdhcpOverXDP(t *testing.T) {
	testenv.Short(t, "runs perfdhcp for 10 s")
	l := newLab(t)
	s := startServing(t, l, nil, nil)
	p, fb := s.p, s.fb
	if p.Queues() != 2 {
		t.Fatalf("serving %d queues, want 2", p.Queues())
	}
	if p.Mode() != "native" {
		t.Errorf("mode %s (%s), want native on veth", p.Mode(), p.Why())
	}

	out := runPerfdhcp(t, l, "-r", "2000", "-p", "10", "-R", "20000")
	res := parsePerfdhcp(out)
	do, ra := res["DISCOVER-OFFER"], res["REQUEST-ACK"]
	if do.sent < 10000 || ra.sent == 0 {
		t.Fatalf("perfdhcp sent too little: %+v %+v", do, ra)
	}
	sent, recv := do.sent+ra.sent, do.received+ra.received
	ratio := float64(recv) / float64(sent)
	t.Logf("DISCOVER-OFFER %d/%d, REQUEST-ACK %d/%d: %.4f%% answered", do.received, do.sent, ra.received, ra.sent, 100*ratio)
	if ratio < 0.999 {
		t.Errorf("answered %.4f%% of perfdhcp's packets, want >= 99.9%%", 100*ratio)
	}

	bc, err := p.BPFCounters()
	if err != nil {
		t.Fatalf("bpf counters: %v", err)
	}
	st, err := p.Stats()
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	t.Logf("bpf %v", bc)
	t.Logf("path %+v fallback sends %d", st, fb.sent.Load())
	redirected := bc["redirect_ours"] + bc["redirect_not_balanced"] + bc["redirect_uncertain"]
	if redirected < sent || redirected-bc["no_socket"] < sent {
		t.Errorf("redirected %d (no socket %d) for %d packets sent: not all went through AF_XDP", redirected, bc["no_socket"], sent)
	}
	if bc["no_socket"] != 0 || bc["drop_partner"] != 0 {
		t.Errorf("no_socket %d, drop_partner %d: want 0", bc["no_socket"], bc["drop_partner"])
	}
	if int64(st.RxFrames) != redirected || st.RxDropped != 0 {
		t.Errorf("path received %d frames (dropped %d), program redirected %d", st.RxFrames, st.RxDropped, redirected)
	}
	// Replies left through the TX ring (the fallback only while the
	// relay's MAC was being resolved).
	if int64(st.TxFrames)+fb.sent.Load() < recv || st.TxFrames == 0 {
		t.Errorf("tx frames %d + fallback %d < %d replies received", st.TxFrames, fb.sent.Load(), recv)
	}
	if st.Sockets.TxCompleted != st.TxFrames {
		t.Errorf("tx completed %d of %d frames", st.Sockets.TxCompleted, st.TxFrames)
	}
	c := p.Counters()
	if c["bpf_redirect_ours"] != bc["redirect_ours"] || c["path_tx_frames"] != int64(st.TxFrames) || c["xsk_rx_packets"] != int64(st.Sockets.RxPackets) {
		t.Errorf("Counters() disagrees with BPFCounters/Stats: %v", c)
	}
	// perfdhcp's one socket is one flow, which a veth keeps on one RX
	// queue; TestBothQueuesAndFallback drives each queue explicitly.
}

// TestHAFilterOverXDP serves only the even hash buckets: the program drops
// the partner's DISCOVERs in the kernel, and no partner-owned client
// reaches user space.
func TestHAFilterOverXDP(t *testing.T) {
	testenv.Short(t, "runs perfdhcp for 4 s")
	l := newLab(t)
	var even [bpf.Buckets]bool
	for i := range even {
		even[i] = i%2 == 0
	}
	s := startServing(t, l, nil, func(c *Config) { c.Buckets = &even })
	p, h := s.p, s.h

	out := runPerfdhcp(t, l, "-r", "500", "-p", "4", "-R", "2000")
	res := parsePerfdhcp(out)
	do := res["DISCOVER-OFFER"]
	if do.sent < 1000 {
		t.Fatalf("perfdhcp sent %d DISCOVERs", do.sent)
	}
	bc, err := p.BPFCounters()
	if err != nil {
		t.Fatalf("bpf counters: %v", err)
	}
	ours := h.discovers.Load()
	t.Logf("DISCOVERs sent %d, dropped for the partner %d, reached user space %d, OFFERs received %d",
		do.sent, bc["drop_partner"], ours, do.received)
	if bc["drop_partner"] == 0 || ours == 0 {
		t.Fatalf("drop_partner %d, ours %d: both halves should be non-empty", bc["drop_partner"], ours)
	}
	if bc["drop_partner"]+ours != do.sent {
		t.Errorf("drop_partner %d + DISCOVERs served %d != %d sent", bc["drop_partner"], ours, do.sent)
	}
	if do.received > ours {
		t.Errorf("%d OFFERs received for %d DISCOVERs served", do.received, ours)
	}
	for _, m := range h.requests() {
		if !lbhash.Balanced(m.MessageType()) {
			continue
		}
		key, ok := lbhash.Key(m)
		if !ok {
			t.Errorf("%s from %s has no hash key", m.MessageType(), m.ClientHWAddr)
			continue
		}
		if hh := lbhash.Hash(key); hh%2 != 0 {
			t.Errorf("%s from %s (hash %d, the partner's) reached user space", m.MessageType(), m.ClientHWAddr, hh)
		}
	}
	var discovers int64
	for _, m := range h.requests() {
		if m.MessageType() == dhcpv4.MessageTypeDiscover {
			discovers++
		}
	}
	if discovers != ours {
		t.Errorf("recorded %d DISCOVERs, counted %d", discovers, ours)
	}
}

// TestStopDetaches checks Stop leaves no XDP program on the interface and
// a second Open on the same interface works.
func TestStopDetaches(t *testing.T) {
	l := newLab(t)
	pl, _, reg := newEnginePipeline(t, nil)
	for round := range 2 {
		var p *Path
		err := l.srv.Do(func() error {
			var err error
			p, err = Open(Config{Interface: l.srvIf, Pipeline: pl, Stats: reg, Logger: zerolog.Nop()})
			return err
		})
		if err != nil {
			t.Fatalf("round %d: open: %v", round, err)
		}
		if out := l.srv.Run(t, "ip", "link", "show", "dev", l.srvIf); !strings.Contains(out, "xdp") {
			p.Stop()
			t.Fatalf("round %d: no xdp program after Open:\n%s", round, out)
		}
		if round == 0 {
			if err := p.Start(context.Background()); err != nil {
				t.Fatalf("start: %v", err)
			}
		} // round 1: Stop without Start
		if err := p.Stop(); err != nil {
			t.Fatalf("round %d: stop: %v", round, err)
		}
		if err := p.Stop(); err != nil {
			t.Fatalf("round %d: second stop: %v", round, err)
		}
		if out := l.srv.Run(t, "ip", "link", "show", "dev", l.srvIf); strings.Contains(out, "xdp") {
			t.Fatalf("round %d: xdp program still attached after Stop:\n%s", round, out)
		}
	}
}

// TestQueueHotAndCold: a queue goroutine waits in the scheduler while
// idle (cold), turns hot (raw waits) with traffic and cold again once the
// traffic stops (hotLinger), serving every exchange either way.
func TestQueueHotAndCold(t *testing.T) {
	l := newLab(t)
	p := startServing(t, l, nil, nil).p
	hot := func() (n int, turns uint64) {
		for _, q := range p.queues {
			if q.wait.isHot.Load() {
				n++
			}
			turns += q.wait.hotTurns.Load()
		}
		return n, turns
	}
	time.Sleep(100 * time.Millisecond)
	if n, turns := hot(); n != 0 || turns != 0 {
		t.Fatalf("before any traffic: %d queues hot, %d turns", n, turns)
	}
	res := parsePerfdhcp(runPerfdhcp(t, l, "-r", "500", "-p", "2", "-R", "1000"))
	if ra := res["REQUEST-ACK"]; ra.sent == 0 || ra.received < ra.sent*99/100 {
		t.Fatalf("REQUEST-ACK %d of %d answered", ra.received, ra.sent)
	}
	if _, turns := hot(); turns == 0 {
		t.Errorf("no queue turned hot under 500 DORA/s")
	}
	time.Sleep(10 * (hotLinger + hotSlice))
	if n, _ := hot(); n != 0 {
		t.Errorf("%d queues still hot %s after the traffic stopped", n, 10*(hotLinger+hotSlice))
	}
}
