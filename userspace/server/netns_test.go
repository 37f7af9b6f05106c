package server

import (
	"context"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// TestNetnsDirectClientBroadcast runs the server on one end of a veth pair
// (198.18.0.1/24) and a client without an address on the other: a
// DISCOVER from 0.0.0.0:68 to 255.255.255.255:67 gets an OFFER broadcast
// to 255.255.255.255:68, with and without the broadcast flag (a UDP socket
// cannot unicast to an address without ARP).
func TestNetnsDirectClientBroadcast(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip")
	srvNS := testenv.NewNetns(t)
	cliNS := testenv.NewNetns(t)
	testenv.Veth(t, srvNS, "xs0", "198.18.0.1/24", cliNS, "xc0", "")

	h := &offerHandler{}
	s, reg := newTestServer(t, Config{Interfaces: []string{"xs0"}}, h)
	if err := srvNS.Do(func() error { return s.Start(context.Background()) }); err != nil {
		t.Fatalf("start server in %s: %v", srvNS.Name, err)
	}

	var client *net.UDPConn
	err := cliNS.Do(func() error {
		lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, "xc0")
				if serr == nil {
					serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
				}
				if serr == nil {
					serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
				}
			})
			if err != nil {
				return err
			}
			return serr
		}}
		c, err := lc.ListenPacket(context.Background(), "udp4", "0.0.0.0:68")
		if err != nil {
			return err
		}
		client = c.(*net.UDPConn)
		return nil
	})
	if err != nil {
		t.Fatalf("client socket in %s: %v", cliNS.Name, err)
	}
	t.Cleanup(func() { client.Close() })
	pc := ipv4.NewPacketConn(client)
	if err := pc.SetControlMessage(ipv4.FlagDst, true); err != nil {
		t.Fatalf("client IP_PKTINFO: %v", err)
	}

	tests := []struct {
		name      string
		xid       byte
		broadcast bool
	}{
		{name: "broadcast flag", xid: 0x10, broadcast: true},
		{name: "no broadcast flag (l2 unicast falls back to broadcast)", xid: 0x11},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := discover(t, nil, tt.xid, tt.broadcast)
			if _, err := client.WriteToUDP(req, &net.UDPAddr{IP: net.IPv4bcast, Port: 67}); err != nil {
				t.Fatalf("send discover: %v", err)
			}
			_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 1500)
			n, cm, from, err := pc.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no reply: %v", err)
			}
			reply, err := dhcpv4.FromBytes(buf[:n])
			if err != nil {
				t.Fatalf("parse reply: %v", err)
			}
			if reply.MessageType() != dhcpv4.MessageTypeOffer || reply.TransactionID[0] != tt.xid {
				t.Errorf("reply %v xid %v, want offer with xid %#x", reply.MessageType(), reply.TransactionID, tt.xid)
			}
			if got := from.(*net.UDPAddr).AddrPort(); got != netip.MustParseAddrPort("198.18.0.1:67") {
				t.Errorf("reply from %v, want 198.18.0.1:67", got)
			}
			if cm == nil || !cm.Dst.Equal(net.IPv4bcast) {
				t.Errorf("reply destination %v, want 255.255.255.255", cm)
			}
			r := h.last()
			if r.Iface != "xs0" || r.IfAddr != netip.MustParseAddr("198.18.0.1") || r.Dst != netip.MustParseAddr("255.255.255.255") ||
				r.Src != netip.MustParseAddrPort("0.0.0.0:68") {
				t.Errorf("request metadata = %+v", r)
			}
			waitFor(t, "offer counted", func() bool { return reg.Get(stats.Pkt4OfferSent) == int64(i+1) })
		})
	}
}
