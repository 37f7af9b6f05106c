package server

import (
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/pipeline"
)

// TestSendFallback: the server's Transport delivers a reply produced elsewhere (the AF_XDP
// path) through the UDP socket of the request's interface.
func TestSendFallback(t *testing.T) {
	s, _, port, _ := startLoopback(t, "lo")
	relay := listenReuse(t, "127.0.0.2:"+strconv.Itoa(int(port)))
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	m, err := dhcpv4.FromBytes(discover(t, net.IPv4(127, 0, 0, 2), 7, false))
	if err != nil {
		t.Fatal(err)
	}
	offer, err := dhcpv4.NewReplyFromRequest(m, dhcpv4.WithMessageType(dhcpv4.MessageTypeOffer))
	if err != nil {
		t.Fatal(err)
	}
	meta := &pipeline.Meta{Iface: "lo", IfIndex: lo.Index, IfAddr: netip.MustParseAddr("127.0.0.1"),
		Src: netip.MustParseAddrPort("127.0.0.2:" + strconv.Itoa(int(port))), Dst: netip.MustParseAddr("127.0.0.1")}
	req := &dhcp.Request{Msg: m}
	reply := &dhcp.Reply{Msg: offer, Dest: packet.ReplyDestination(m, offer)}
	if err := s.Transport().Send(meta, req, reply); err != nil {
		t.Fatalf("Send: %v", err)
	}
	_ = relay.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, from, err := relay.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("relay got nothing: %v", err)
	}
	got, err := dhcpv4.FromBytes(buf[:n])
	if err != nil || got.MessageType() != dhcpv4.MessageTypeOffer || got.TransactionID != m.TransactionID {
		t.Fatalf("relay got %v (%v)", got, err)
	}
	if from.IP.String() != "127.0.0.1" {
		t.Errorf("reply from %s, want 127.0.0.1", from.IP)
	}

	// A request on an interface we hold no socket for cannot be sent.
	meta.IfIndex = 9999
	if err := s.Transport().Send(meta, req, reply); err == nil {
		t.Error("Send through an unserved interface succeeded")
	}
}
