//go:build linux

package xdppath

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/pipeline"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// slowPartner answers every lease update 5 ms later, from a timer, as an
// HA partner across a network would: nothing waits on a goroutine.
type slowPartner struct {
	delay time.Duration
	calls atomic.Int64
}

func (r *slowPartner) Replicate(_ []lease.Change, done func(error)) {
	r.calls.Add(1)
	time.AfterFunc(r.delay, func() { done(nil) })
}

// TestSlowPartnerPerfdhcp: every ACK waits 5 ms for the HA partner;
// perfdhcp's one flow lands on one queue, whose goroutine keeps serving
// while the ACKs are pending, so 1,000 DORA/s are still answered (serial
// waiting would cap at 200 requests/s), and every ACK left after its
// update.
func TestSlowPartnerPerfdhcp(t *testing.T) {
	testenv.Short(t, "runs perfdhcp for 5 s")
	l := newLab(t)
	rep := &slowPartner{delay: 5 * time.Millisecond}
	s := startServing(t, l, rep, nil)
	p, fb, reg := s.p, s.fb, s.reg

	// -W: wait 200 ms for the replies still pending when the period ends.
	out := runPerfdhcp(t, l, "-r", "1000", "-p", "5", "-R", "10000", "-W", "200000")
	res := parsePerfdhcp(out)
	do, ra := res["DISCOVER-OFFER"], res["REQUEST-ACK"]
	if do.sent < 4000 || ra.sent == 0 {
		t.Fatalf("perfdhcp sent too little: %+v %+v", do, ra)
	}
	sent, recv := do.sent+ra.sent, do.received+ra.received
	ratio := float64(recv) / float64(sent)
	st, _ := p.Stats()
	t.Logf("DISCOVER-OFFER %d/%d, REQUEST-ACK %d/%d: %.4f%% answered; path %+v, fallback %d, updates %d",
		do.received, do.sent, ra.received, ra.sent, 100*ratio, st, fb.sent.Load(), rep.calls.Load())
	if ratio < 0.999 {
		t.Errorf("answered %.4f%% of perfdhcp's packets, want >= 99.9%%", 100*ratio)
	}
	acks := reg.Get(stats.Pkt4AckSent)
	if acks == 0 || acks > rep.calls.Load() {
		t.Errorf("%d ACKs sent for %d lease updates: every ACK must follow its update", acks, rep.calls.Load())
	}
	if got := reg.Cell(pipeline.StatParkingFull).Value(); got != 0 {
		t.Errorf("%s = %d, want 0", pipeline.StatParkingFull, got)
	}
}
