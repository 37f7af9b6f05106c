package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/xdhcp/xdhcp/userspace/packet"
)

// engine drives one run on one goroutine: receive a batch, validate it,
// send the follow-ups it caused, start new exchanges as the token bucket
// allows, flush, expire overdue exchanges.
type engine struct {
	cfg   *Config
	tr    transport
	g     *gen
	frame packet.Frame // template for outgoing frames
	in    packet.Frame
	msg   outMsg // the message being built (a field: no allocation per send)
	start time.Time
	now   int64 // ns since start, refreshed once per step

	sentFrames  uint64
	notDHCP     uint64 // frames the transport delivered that are not relay replies
	sendElapsed time.Duration
	lastReplyNs int64
	renewStart  int64 // -renewals: when the renewal phase began (ns since start)
	started0    uint64
	completed0  uint64 // -renewals: counters at the start of the renewal phase
	onFrame     func([]byte)
}

func newEngine(cfg *Config, ep *endpoint, tr transport, g *gen) *engine {
	e := &engine{cfg: cfg, tr: tr, g: g}
	e.frame = packet.Frame{DstMAC: ep.dstMAC, SrcMAC: ep.srcMAC, Src: ep.giaddr, Dst: ep.dst, SrcPort: 67, DstPort: 67}
	e.onFrame = e.handleFrame
	return e
}

// handleFrame decodes one received frame and gives its DHCP payload to
// the generator.
func (e *engine) handleFrame(b []byte) {
	if err := packet.Decode(b, &e.in); err != nil || e.in.DstPort != 67 || e.in.SrcPort != 67 || e.in.Dst != e.frame.Src {
		e.notDHCP++
		return
	}
	e.lastReplyNs = e.now
	e.g.handle(e.now, e.in.Payload)
}

// send builds m into a transport buffer and queues it; false when no
// buffer is free.
func (e *engine) send(build func(int64, *outMsg)) (bool, error) {
	buf := e.tr.txBuf()
	if buf == nil {
		return false, nil
	}
	build(e.now, &e.msg)
	hdr := e.frame.HeaderLen()
	n := buildMsg(buf[hdr:], &e.msg)
	fl, err := packet.EncodeUDP(buf, &e.frame, buf[hdr:hdr+n])
	if err != nil {
		return false, fmt.Errorf("encode frame: %w", err)
	}
	if err := e.tr.submit(fl); err != nil {
		return false, err
	}
	e.sentFrames++
	return true, nil
}

// run executes the whole run: the sending phase bounded by -n and/or
// -duration, then a drain of at most three timeouts (DISCOVER, REQUEST,
// renew) for the outstanding exchanges. ctx cancels early.
func (e *engine) run(ctx context.Context) error {
	cfg, g := e.cfg, e.g
	e.start = time.Now()
	batch := cfg.Batch
	burst := max(float64(batch), cfg.Rate*0.002)
	tokens, lastRefill := 0.0, int64(0)
	sending := true
	var drainEnd int64
	hardEnd := int64(cfg.Duration) + 4*int64(cfg.Timeout) // cannot be exceeded, whatever happens
	if cfg.Duration <= 0 {
		hardEnd = 0
	}
	var startG, nextG func(int64, *outMsg) = g.start, g.next
	// With -renewals the run begins with the warm-up: one DORA per client
	// (the first Clients starts: the idle queue is FIFO), then
	// -warm-renewals renewals per client (the next rounds of Clients
	// starts), bounded by warmEnd; the renewal phase then starts at phase0
	// and -duration, -n and the report's send time count from there.
	warming := cfg.Renewals
	warmStarts := uint64(cfg.Clients) * uint64(1+cfg.WarmRenewals)
	phase0, startedAt0 := int64(0), uint64(0)
	warmEnd := int64(0)
	if warming {
		warmEnd = int64(10 * time.Second)
		if cfg.Rate > 0 {
			warmEnd += int64(float64(warmStarts) / cfg.Rate * 2 * 1e9)
		}
		hardEnd = 0
	}
	for {
		e.now = int64(time.Since(e.start))
		got, err := e.tr.receive(batch, e.onFrame)
		if err != nil {
			return err
		}
		g.expire(e.now)
		did := got > 0
		for g.hasPending() {
			ok, err := e.send(nextG)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			did = true
		}
		if sending {
			if cfg.Rate > 0 {
				tokens = min(tokens+float64(e.now-lastRefill)*cfg.Rate/1e9, burst)
				lastRefill = e.now
			} else {
				tokens = float64(batch)
			}
			for k := 0; k < batch && tokens >= 1 && g.canStart() && (cfg.N <= 0 || g.st.started-startedAt0 < uint64(cfg.N)) &&
				(!warming || g.st.started < warmStarts); k++ {
				ok, err := e.send(startG)
				if err != nil {
					return err
				}
				if !ok {
					break
				}
				tokens--
				did = true
			}
		}
		if err := e.tr.flush(); err != nil {
			return err
		}
		if warming && ((g.st.started >= warmStarts && !g.busy()) || e.now >= warmEnd || ctx.Err() != nil) {
			warming = false
			phase0, startedAt0 = e.now, g.st.started
			if cfg.Duration > 0 {
				hardEnd = phase0 + int64(cfg.Duration) + 4*int64(cfg.Timeout)
			}
			fmt.Fprintf(os.Stderr, "dhcpload: renewals begin: %d of %d clients bound after %.1f s\n", g.boundClients(), cfg.Clients, float64(e.now)/1e9)
			e.renewStart, e.started0, e.completed0 = e.now, g.st.started, g.st.completed
			// The warm-up's renewals (none in flight: it ended idle) are
			// not the measured phase's.
			g.st.renew = exchStats{h: newHist()}
		}
		if sending && !warming && ((cfg.Duration > 0 && e.now-phase0 >= int64(cfg.Duration)) || (cfg.N > 0 && g.st.started-startedAt0 >= uint64(cfg.N)) || ctx.Err() != nil) {
			sending = false
			e.sendElapsed = time.Duration(e.now - phase0)
			drainEnd = e.now + 3*int64(cfg.Timeout) + int64(10*time.Millisecond)
		}
		if !sending && (!g.busy() || e.now >= drainEnd || ctx.Err() != nil) {
			break
		}
		if hardEnd > 0 && e.now >= hardEnd {
			break
		}
		if !did {
			if err := e.tr.wait(time.Millisecond); err != nil {
				return err
			}
		}
	}
	g.expireAll()
	return nil
}
