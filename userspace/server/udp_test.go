package server

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/userspace/admission"
	"github.com/xdhcp/xdhcp/userspace/pipeline"
)

// freePort returns a UDP port that was free on 0.0.0.0 a moment ago.
func freePort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// listenReuse opens a UDP socket with SO_REUSEADDR (a relay sharing the
// server's port on another loopback address) and a 4 MiB receive buffer.
func listenReuse(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
		})
	}}
	c, err := lc.ListenPacket(context.Background(), "udp4", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.UDPConn)
}

func startLoopback(t *testing.T, ifaces ...string) (*Server, *offerHandler, uint16, func() map[string]int64) {
	t.Helper()
	h := &offerHandler{}
	port := freePort(t)
	s, reg := newTestServer(t, Config{Interfaces: ifaces, Port: port, ClientPort: port + 1, MultiThreading: true, ThreadPoolSize: 2}, h)
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return s, h, port, reg.Snapshot
}

func TestUDPMalformedDropped(t *testing.T) {
	_, h, port, snap := startLoopback(t, "lo")
	c := listenReuse(t, "127.0.0.2:0")
	server := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)}
	bad := [][]byte{
		[]byte("garbage"),
		make([]byte, 300), // zero cookie
		func() []byte { b := discover(t, net.IPv4(127, 0, 0, 2), 1, false); b[0] = 2; return b }(),
	}
	for _, b := range bad {
		if _, err := c.WriteToUDP(b, server); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	waitFor(t, "three parse failures", func() bool { return snap()["pkt4-parse-failed"] == 3 })
	wantStats(t, statsOf(snap), map[string]int64{
		"pkt4-received": 3, "pkt4-receive-drop": 3,
		pipeline.StatParseTruncated: 1, pipeline.StatParseMalformed: 1, pipeline.StatParseNotRequest: 1,
	})
	if h.calls.Load() != 0 {
		t.Errorf("handler called %d times for malformed packets", h.calls.Load())
	}
}

func TestUDPRelayedOffer(t *testing.T) {
	_, h, port, snap := startLoopback(t, "lo")
	// The relay listens on the server port at giaddr, as a real relay does.
	relay := listenReuse(t, net.JoinHostPort("127.0.0.2", itoa(port)))
	server := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)}
	req := discover(t, net.IPv4(127, 0, 0, 2), 0x42, false)
	if _, err := relay.WriteToUDP(req, server); err != nil {
		t.Fatalf("send: %v", err)
	}
	_ = relay.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, from, err := relay.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no reply at giaddr: %v", err)
	}
	reply, err := dhcpv4.FromBytes(buf[:n])
	if err != nil {
		t.Fatalf("parse reply: %v", err)
	}
	if reply.MessageType() != dhcpv4.MessageTypeOffer || reply.TransactionID != (dhcpv4.TransactionID{0x42, 1, 2, 3}) {
		t.Errorf("reply %v xid %v, want an offer for xid 0x42010203", reply.MessageType(), reply.TransactionID)
	}
	if got := from.AddrPort(); got != netip.MustParseAddrPort("127.0.0.1:"+itoa(port)) {
		t.Errorf("reply from %v, want the server address and port", got)
	}
	r := h.last()
	lo, _ := net.InterfaceByName("lo")
	if r.Iface != "lo" || r.IfIndex != lo.Index || r.IfAddr != netip.MustParseAddr("127.0.0.1") ||
		r.Dst != netip.MustParseAddr("127.0.0.1") || r.Src != netip.MustParseAddrPort("127.0.0.2:"+itoa(port)) || r.Len != len(req) || r.Time.IsZero() {
		t.Errorf("request metadata = %+v", r)
	}
	waitFor(t, "offer counted", func() bool { return snap()["pkt4-offer-sent"] == 1 })
	wantStats(t, statsOf(snap), map[string]int64{"pkt4-received": 1, "pkt4-discover-received": 1, "pkt4-sent": 1})
}

func TestUDPUnconfiguredInterfaceIgnored(t *testing.T) {
	// "*" never includes loopback.
	_, h, port, snap := startLoopback(t, "*")
	c := listenReuse(t, "127.0.0.2:0")
	if _, err := c.WriteToUDP(discover(t, net.IPv4(127, 0, 0, 2), 1, false), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)}); err != nil {
		t.Fatalf("send: %v", err)
	}
	// No socket serves lo, so the datagram never reaches the server: no
	// reply, nothing received, the handler never called.
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 1500)
	if n, _, err := c.ReadFromUDP(buf); err == nil {
		t.Fatalf("got a %d-byte reply from an unconfigured interface", n)
	}
	wantStats(t, statsOf(snap), map[string]int64{"pkt4-received": 0})
	if h.calls.Load() != 0 {
		t.Error("handler saw a packet from an unconfigured interface")
	}
}

func TestStartUnknownInterface(t *testing.T) {
	s, _ := newTestServer(t, Config{Interfaces: []string{"xdt-nonexistent0"}, Port: freePort(t)}, &offerHandler{})
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("Start succeeded with a missing interface")
	}
}

func TestResolveInterfaces(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skipf("no loopback interface: %v", err)
	}
	tests := []struct {
		name    string
		list    []string
		wantLo  bool
		wantErr bool
	}{
		{name: "lo named", list: []string{"lo"}, wantLo: true},
		{name: "lo with its address", list: []string{"lo/127.0.0.1"}, wantLo: true},
		{name: "star excludes loopback", list: []string{"*"}},
		{name: "star plus lo", list: []string{"*", "lo"}, wantLo: true},
		{name: "address not on interface", list: []string{"lo/192.0.2.1"}, wantErr: true},
		{name: "missing interface", list: []string{"xdt-nonexistent0"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs, err := parseInterfaces(tt.list)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, err := resolveInterfaces(specs)
			if (err != nil) != tt.wantErr {
				t.Fatalf("resolve error = %v, want error %v", err, tt.wantErr)
			}
			info, ok := got[lo.Index]
			if ok != tt.wantLo {
				t.Fatalf("loopback selected = %v, want %v", ok, tt.wantLo)
			}
			if ok && (info.name != "lo" || info.addr != netip.MustParseAddr("127.0.0.1")) {
				t.Errorf("loopback info = %+v", info)
			}
		})
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// TestUDPRateLimited: where XDP cannot attach, the UDP path applies the
// admission limits in user space: five clients behind one relay (giaddr,
// unicast to us) over the relay's bucket are dropped before the pipeline
// and counted by reason.
func TestUDPRateLimited(t *testing.T) {
	h := &offerHandler{}
	port := freePort(t)
	lim := admission.NewLimiter(admission.Limits{Enabled: true, RelayRate: 1, RelayBurst: 2, TableSize: 1024},
		admission.Options{Now: func() uint64 { return 1 }}) // a frozen clock: no refill
	s, reg := newTestServer(t, Config{Interfaces: []string{"lo"}, Port: port, ClientPort: port + 1, Limiter: lim}, h)
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	c := listenReuse(t, "127.0.0.2:0")
	server := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)}
	for i := range 5 {
		if _, err := c.WriteToUDP(discover(t, net.IPv4(127, 0, 0, 2), byte(i), false), server); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	waitFor(t, "three rate drops", func() bool { return reg.Snapshot()[StatRateRelay] == 3 })
	waitFor(t, "two offers", func() bool { return reg.Snapshot()["pkt4-offer-sent"] == 2 })
	wantStats(t, reg, map[string]int64{"pkt4-received": 2, StatRateClient: 0, StatRateUnknown: 0})
	if h.calls.Load() != 2 {
		t.Errorf("handler called %d times, want 2 (the burst)", h.calls.Load())
	}
}

// TestUDPNoSourceCounted: a datagram without a UDP source address is
// dropped under its own counter, not as a read error.
func TestUDPNoSourceCounted(t *testing.T) {
	s, reg := newTestServer(t, Config{Interfaces: []string{"lo"}}, nil)
	l := &udpListener{s: s}
	for _, a := range []net.Addr{nil, (*net.UDPAddr)(nil), &net.IPAddr{IP: net.IPv4(192, 0, 2, 1)}} {
		if _, ok := l.source(a); ok {
			t.Errorf("source(%#v) accepted", a)
		}
	}
	src := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 68}
	if got, ok := l.source(src); !ok || got != src {
		t.Errorf("source(%v) = %v, %v", src, got, ok)
	}
	wantStats(t, reg, map[string]int64{StatNoSource: 3, StatReadErrors: 0})
}
