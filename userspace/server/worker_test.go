package server

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/packet"
)

func TestWorkerProcess(t *testing.T) {
	bootReply := func() []byte {
		m, _ := dhcpv4.NewDiscovery(net.HardwareAddr{2, 0, 0, 0, 0, 9})
		m.OpCode = dhcpv4.OpcodeBootReply
		return m.ToBytes()
	}
	noEnd := func() []byte {
		b := discover(t, nil, 1, false)
		for i := minDHCPLen; i < len(b); i++ {
			if b[i] == 255 { // first End option after the cookie: cut it off
				return b[:i]
			}
		}
		t.Fatal("no end option")
		return nil
	}
	request := func() []byte {
		m, _ := dhcpv4.NewDiscovery(net.HardwareAddr{2, 0, 0, 0, 0, 9})
		m.UpdateOption(dhcpv4.OptMessageType(dhcpv4.MessageTypeRequest))
		return m.ToBytes()
	}
	tests := []struct {
		name     string
		data     []byte
		sendErr  error
		wantSent int
		want     map[string]int64
	}{
		{name: "discover answered", data: discover(t, nil, 1, false), wantSent: 1, want: map[string]int64{
			"pkt4-received": 1, "pkt4-discover-received": 1, "pkt4-sent": 1, "pkt4-offer-sent": 1, "pkt4-receive-drop": 0}},
		{name: "request with nil reply is not counted as a drop", data: request(), want: map[string]int64{
			"pkt4-received": 1, "pkt4-request-received": 1, "pkt4-sent": 0, "pkt4-receive-drop": 0}},
		{name: "garbage", data: []byte("hello, not dhcp"), want: map[string]int64{
			"pkt4-received": 1, "pkt4-parse-failed": 1, "pkt4-receive-drop": 1, StatParseTruncated: 1}},
		{name: "empty", data: nil, want: map[string]int64{
			"pkt4-received": 1, "pkt4-parse-failed": 1, "pkt4-receive-drop": 1, StatParseTruncated: 1}},
		{name: "bad magic cookie", data: func() []byte { b := discover(t, nil, 1, false); b[236] = 0; return b }(), want: map[string]int64{
			"pkt4-received": 1, "pkt4-parse-failed": 1, "pkt4-receive-drop": 1, StatParseMalformed: 1}},
		{name: "options without end", data: noEnd(), want: map[string]int64{
			"pkt4-received": 1, "pkt4-parse-failed": 1, "pkt4-receive-drop": 1, StatParseMalformed: 1}},
		{name: "bootreply", data: bootReply(), want: map[string]int64{
			"pkt4-received": 1, "pkt4-parse-failed": 1, "pkt4-receive-drop": 1, StatParseNotRequest: 1, "pkt4-discover-received": 0}},
		{name: "handler panic", data: discover(t, nil, 0xde, false), want: map[string]int64{
			"pkt4-received": 1, "pkt4-discover-received": 1, "pkt4-receive-drop": 1, StatHandlerPanic: 1, "pkt4-sent": 0}},
		{name: "send failure", data: discover(t, nil, 1, false), sendErr: errors.New("boom"), wantSent: 1, want: map[string]int64{
			"pkt4-received": 1, StatSendFailed: 1, "pkt4-sent": 0, "pkt4-offer-sent": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &offerHandler{}
			s, reg := newTestServer(t, Config{}, h)
			w := s.NewWorker()
			released := 0
			sent := 0
			p := Packet{
				Data: tt.data, Iface: "test0", IfIndex: 7, IfAddr: netip.MustParseAddr("192.0.2.1"),
				Src: netip.MustParseAddrPort("192.0.2.9:67"), Dst: netip.MustParseAddr("192.0.2.1"),
				Release: func([]byte) { released++ },
			}
			w.Process(&p, func(_ *Packet, req *dhcp.Request, r *dhcp.Reply) error {
				sent++
				if r.Msg.MessageType() != dhcpv4.MessageTypeOffer || r.Dest.Kind != packet.DestL2Unicast {
					t.Errorf("reply %v to %v, want an offer by l2 unicast", r.Msg.MessageType(), r.Dest.Kind)
				}
				if req.Iface != "test0" || req.IfIndex != 7 || req.Len != len(tt.data) || req.IfAddr != p.IfAddr || req.Src != p.Src {
					t.Errorf("request metadata not passed through: %+v", req)
				}
				return tt.sendErr
			})
			if released != 1 {
				t.Errorf("Release called %d times, want 1", released)
			}
			if sent != tt.wantSent {
				t.Errorf("send called %d times, want %d", sent, tt.wantSent)
			}
			wantStats(t, reg, tt.want)
		})
	}
}

func TestWorkerSurvivesPanics(t *testing.T) {
	h := &offerHandler{}
	s, reg := newTestServer(t, Config{}, h)
	w := s.NewWorker()
	send := func(*Packet, *dhcp.Request, *dhcp.Reply) error { return nil }
	for i := range 10 {
		xid := byte(1)
		if i%2 == 0 {
			xid = 0xde
		}
		p := Packet{Data: discover(t, nil, xid, false)}
		w.Process(&p, send)
	}
	wantStats(t, reg, map[string]int64{"pkt4-received": 10, StatHandlerPanic: 5, "pkt4-sent": 5, "pkt4-receive-drop": 5})
}

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
			if w := s.NewWorker(); w.Index() != tt.want {
				t.Fatalf("NewWorker index %d, want %d (after the pool)", w.Index(), tt.want)
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
			if _, err := New(tt.cfg, &offerHandler{}, newReg(), nopLog()); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}

// TestSubmitStartStopDrains queues packets before Start and checks that
// Stop returns only after every one was handled and answered.
func TestSubmitStartStopDrains(t *testing.T) {
	h := &offerHandler{}
	s, reg := newTestServer(t, Config{MultiThreading: true, ThreadPoolSize: 3, PacketQueueSize: 100}, h)
	const n = 50
	var sent countingSender
	for i := range n {
		if !s.Submit(Packet{Data: discover(t, nil, byte(i), false)}, sent.send) {
			t.Fatalf("Submit %d refused", i)
		}
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	s.Stop()
	if got := sent.n.Load(); got != n {
		t.Fatalf("%d replies sent, want %d", got, n)
	}
	wantStats(t, reg, map[string]int64{"pkt4-received": n, "pkt4-discover-received": n, "pkt4-offer-sent": n})
	if s.Submit(Packet{Data: discover(t, nil, 1, false)}, sent.send) {
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
		return !s.Submit(Packet{}, (&countingSender{}).send)
	})
}
