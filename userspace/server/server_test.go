package server

import (
	"context"
	"errors"
	"testing"

	"github.com/xdhcp/xdhcp/userspace/pipeline"
)

func TestConfigWorkers(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want int
	}{
		{name: "multi-threading disabled", cfg: Config{ThreadPoolSize: 8}, want: 1},
		{name: "explicit pool", cfg: Config{MultiThreading: true, ThreadPoolSize: 3}, want: 3},
		{name: "pool 0 is NumCPU", cfg: Config{MultiThreading: true}, want: numCPU()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, tt.cfg, &offerHandler{})
			if s.Workers() != tt.want {
				t.Fatalf("Workers() = %d, want %d", s.Workers(), tt.want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "negative pool", cfg: Config{ThreadPoolSize: -1}},
		{name: "negative queue", cfg: Config{PacketQueueSize: -1}},
		{name: "bad interface address", cfg: Config{Interfaces: []string{"lo/not-an-ip"}}},
		{name: "ipv6 interface address", cfg: Config{Interfaces: []string{"lo/::1"}}},
		{name: "empty interface name", cfg: Config{Interfaces: []string{"/192.0.2.1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg, newTestPipeline(t, newReg(), &offerHandler{}), newReg(), nopLog()); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}

// TestSubmitStartStopDrains queues packets before Start and checks that
// Stop returns only after every one was handled (no UDP socket: the replies
// fail to send and are counted so, never as sent).
func TestSubmitStartStopDrains(t *testing.T) {
	h := &offerHandler{}
	s, reg := newTestServer(t, Config{MultiThreading: true, ThreadPoolSize: 3, PacketQueueSize: 100}, h)
	const n = 50
	for i := range n {
		if !s.Submit(Packet{Data: discover(t, nil, byte(i), false)}) {
			t.Fatalf("Submit %d refused", i)
		}
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	s.Stop()
	if got := h.calls.Load(); got != n {
		t.Fatalf("%d requests handled, want %d", got, n)
	}
	wantStats(t, reg, map[string]int64{"pkt4-received": n, "pkt4-discover-received": n, "pkt4-offer-sent": 0, pipeline.StatSendFailed: n})
	if s.Submit(Packet{Data: discover(t, nil, 1, false)}) {
		t.Fatal("Submit after Stop accepted")
	}
	if err := s.Start(context.Background()); !errors.Is(err, ErrStopped) {
		t.Fatalf("Start after Stop = %v, want ErrStopped", err)
	}
}

func TestContextCancelStops(t *testing.T) {
	s, _ := newTestServer(t, Config{}, &offerHandler{})
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	cancel()
	waitFor(t, "submit refused after cancel", func() bool {
		return !s.Submit(Packet{})
	})
}
