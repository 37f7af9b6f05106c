//go:build linux

package xdppath

import (
	"net"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/vishvananda/netlink"

	"github.com/xdhcp/xdhcp/userspace/afxdp"
	"github.com/xdhcp/xdhcp/userspace/packet"
)

// clientSender sends relayed DHCP frames from the client end of the veth
// through an AF_XDP socket bound to one TX queue: a veth delivers a frame
// sent on TX queue q to the peer's RX queue q, so this reaches a chosen
// server queue deterministically (perfdhcp's one socket is one flow, and
// one flow always lands on the same queue).
type clientSender struct {
	sock           *afxdp.Socket
	srcMAC, dstMAC [6]byte
}

func newClientSender(t *testing.T, l *lab, queue int) *clientSender {
	t.Helper()
	c := &clientSender{}
	err := l.cli.Do(func() error {
		lk, err := netlink.LinkByName(l.cliIf)
		if err != nil {
			return err
		}
		c.srcMAC = [6]byte(lk.Attrs().HardwareAddr)
		c.sock, err = afxdp.Open(afxdp.Config{IfIndex: lk.Attrs().Index, QueueID: queue, NumFrames: 256, Copy: true})
		return err
	})
	if err != nil {
		t.Fatalf("client af_xdp socket on queue %d: %v", queue, err)
	}
	t.Cleanup(func() { c.sock.Close() })
	err = l.srv.Do(func() error {
		lk, err := netlink.LinkByName(l.srvIf)
		if err == nil {
			c.dstMAC = [6]byte(lk.Attrs().HardwareAddr)
		}
		return err
	})
	if err != nil {
		t.Fatalf("server mac: %v", err)
	}
	return c
}

// discover sends one relayed DISCOVER for chaddr 02:00:00:00:<q>:<i>.
func (c *clientSender) discover(t *testing.T, q, i byte) {
	t.Helper()
	hw := net.HardwareAddr{0x02, 0, 0, 0, q, i}
	m, err := dhcpv4.NewDiscovery(hw, dhcpv4.WithHwAddr(hw))
	if err != nil {
		t.Fatalf("new discover: %v", err)
	}
	m.GatewayIPAddr = net.IPv4(198, 18, 0, 1).To4()
	m.HopCount = 1
	f := packet.Frame{
		SrcMAC: c.srcMAC, DstMAC: c.dstMAC,
		Src: mustAddr(cliCIDR), Dst: mustAddr(srvCIDR),
		SrcPort: packet.ServerPort, DstPort: packet.ServerPort,
	}
	f.Payload = m.ToBytes()
	frame, err := packet.AppendFrame(nil, &f)
	if err != nil {
		t.Fatalf("encode discover: %v", err)
	}
	if err := c.sock.Send(frame); err != nil {
		t.Fatalf("send discover: %v", err)
	}
}

// relaySocket is the client namespace's relay port: replies to giaddr:67.
func relaySocket(t *testing.T, l *lab) *net.UDPConn {
	t.Helper()
	var conn *net.UDPConn
	err := l.cli.Do(func() error {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(198, 18, 0, 1), Port: packet.ServerPort})
		if err != nil {
			return err
		}
		conn = c
		return c.SetReadBuffer(4 << 20)
	})
	if err != nil {
		t.Fatalf("relay socket: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readOffers reads OFFERs until n arrived or the deadline passes.
func readOffers(t *testing.T, conn *net.UDPConn, n int) int {
	t.Helper()
	buf := make([]byte, 2048)
	got := 0
	deadline := time.Now().Add(5 * time.Second)
	for got < n {
		_ = conn.SetReadDeadline(deadline)
		k, err := conn.Read(buf)
		if err != nil {
			break
		}
		if m, err := dhcpv4.FromBytes(buf[:k]); err == nil && m.MessageType() == dhcpv4.MessageTypeOffer {
			got++
		}
	}
	return got
}

// TestBothQueuesAndFallback sends relayed DISCOVERs into each RX queue.
// The relay's MAC is unknown at first: the first OFFER goes through the
// fallback while the kernel resolves it, the rest through the TX ring.
func TestBothQueuesAndFallback(t *testing.T) {
	l := newLab(t)
	s := startServing(t, l, nil, nil)
	p, fb, reg := s.p, s.fb, s.reg
	relay := relaySocket(t, l)
	senders := []*clientSender{newClientSender(t, l, 0), newClientSender(t, l, 1)}

	// One DISCOVER: its OFFER cannot use the TX ring yet.
	senders[0].discover(t, 0, 0)
	if got := readOffers(t, relay, 1); got != 1 {
		t.Fatalf("first offer: got %d", got)
	}
	if fb.sent.Load() != 1 || reg.Cell("xdp-tx-fallback-neigh-unresolved").Value() != 1 {
		t.Fatalf("first offer: fallback sent %d, neigh-unresolved %d; want 1, 1",
			fb.sent.Load(), reg.Cell("xdp-tx-fallback-neigh-unresolved").Value())
	}
	waitNeigh(t, l, "198.18.0.1")
	waitTable(t, p.neigh, "198.18.0.1")

	const perQueue = 32
	for qi, s := range senders {
		for i := range perQueue {
			s.discover(t, byte(qi), byte(i+1))
		}
	}
	if got := readOffers(t, relay, 2*perQueue); got != 2*perQueue {
		t.Errorf("got %d offers for %d discovers", got, 2*perQueue)
	}
	st, err := p.Stats()
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	t.Logf("path %+v", st)
	if st.TxFrames != 2*perQueue || fb.sent.Load() != 1 {
		t.Errorf("tx frames %d, fallback %d: want %d, 1", st.TxFrames, fb.sent.Load(), 2*perQueue)
	}
	for _, q := range p.queues {
		want := uint64(perQueue)
		if q.id == 0 {
			want++
		}
		if got := q.c.rxFrames.Load(); got != want {
			t.Errorf("queue %d received %d frames, want %d", q.id, got, want)
		}
	}
}

// waitNeigh waits (bounded) until the server knows addr's MAC.
func waitNeigh(t *testing.T, l *lab, addr string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		var ok bool
		_ = l.srv.Do(func() error {
			lk, err := netlink.LinkByName(l.srvIf)
			if err != nil {
				return err
			}
			ns, err := netlink.NeighList(lk.Attrs().Index, netlink.FAMILY_V4)
			for _, n := range ns {
				if n.IP.String() == addr && n.State&usableNUD != 0 {
					ok = true
				}
			}
			return err
		})
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the server never resolved %s", addr)
}

// waitTable waits (bounded) until the path's neighbour table has a usable
// entry for addr: the kernel's event reached it.
func waitTable(t *testing.T, nt *neighTable, addr string) {
	t.Helper()
	ip := mustAddr(addr + "/32")
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if e, ok := nt.get(ip); ok && e.state&usableNUD != 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the neighbour table never learnt %s", addr)
}
