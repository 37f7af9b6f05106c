package server

import (
	"context"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// blockingEngine holds every request until release is closed.
type blockingEngine struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingEngine) Handler(*stats.Shard) func(*dhcp.Request) *dhcp.Reply {
	return func(*dhcp.Request) *dhcp.Reply {
		b.entered <- struct{}{}
		<-b.release
		return nil
	}
}

// TestProbe: Probe's count advances while the worker is idle (the probe
// packet is taken and not processed: no statistic moves), stands still
// while the only worker is stuck in a request, and moves on once it is
// free again.
func TestProbe(t *testing.T) {
	e := &blockingEngine{entered: make(chan struct{}, 1), release: make(chan struct{})}
	s, reg := newTestServer(t, Config{ThreadPoolSize: 1, PacketQueueSize: 8}, e)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	n0 := s.Probe()
	waitFor(t, "an idle worker to take the probe", func() bool { return s.Probe() > n0 })
	if got := reg.Snapshot()["pkt4-received"]; got != 0 {
		t.Fatalf("probes counted as received packets: pkt4-received %d", got)
	}

	if !s.Submit(Packet{Data: discover(t, nil, 1, false)}) {
		t.Fatal("Submit refused")
	}
	select {
	case <-e.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the request never reached the engine")
	}
	stuck := s.Probe()
	time.Sleep(200 * time.Millisecond)
	if n := s.Probe(); n != stuck {
		t.Fatalf("Probe count moved from %d to %d while the only worker was stuck", stuck, n)
	}

	close(e.release)
	waitFor(t, "the freed worker to take the probe", func() bool { return s.Probe() > stuck })
}
