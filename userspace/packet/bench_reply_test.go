package packet

import (
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// benchOffer is a relayed DISCOVER and an OFFER answering it, as the
// engine hands them to the I/O layer.
func benchOffer(b *testing.B, relayed bool) (req, resp *dhcpv4.DHCPv4) {
	b.Helper()
	hw := net.HardwareAddr{0x02, 0, 0, 0, 0x12, 0x34}
	req, err := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover), dhcpv4.WithHwAddr(hw))
	if err != nil {
		b.Fatal(err)
	}
	if relayed {
		req.GatewayIPAddr = net.IPv4(198, 18, 0, 1).To4()
	}
	resp, err = dhcpv4.NewReplyFromRequest(req,
		dhcpv4.WithMessageType(dhcpv4.MessageTypeOffer),
		dhcpv4.WithYourIP(net.IPv4(198, 19, 0, 10).To4()),
		dhcpv4.WithServerIP(net.IPv4(198, 18, 0, 11).To4()),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(198, 18, 0, 11).To4())),
		dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(3600e9)),
		dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(16, 32))),
		dhcpv4.WithOption(dhcpv4.OptRouter(net.IPv4(198, 19, 0, 1).To4())),
	)
	if err != nil {
		b.Fatal(err)
	}
	return req, resp
}

// BenchmarkReplyDestination is the RFC 2131 §4.1 addressing decision made
// for every reply.
func BenchmarkReplyDestination(b *testing.B) {
	for _, relayed := range []bool{true, false} {
		name := "l2-unicast"
		if relayed {
			name = "relay"
		}
		b.Run(name, func(b *testing.B) {
			req, resp := benchOffer(b, relayed)
			b.ReportAllocs()
			for b.Loop() {
				if d := ReplyDestination(req, resp); d.Port == 0 {
					b.Fatal("no destination")
				}
			}
		})
	}
}

// BenchmarkEncodeReply is the whole encode step of a reply frame on the
// XDP path: the DHCP message serialised, then Ethernet/IPv4/UDP headers and
// checksums around it (userspace/xdppath does exactly this).
func BenchmarkEncodeReply(b *testing.B) {
	req, resp := benchOffer(b, true)
	d := ReplyDestination(req, resp)
	f := Frame{
		DstMAC: [6]byte{0x02, 0, 0, 0, 0, 0x01}, SrcMAC: [6]byte{0x02, 0, 0, 0, 0, 0x02},
		Src: netip.AddrFrom4([4]byte{198, 18, 0, 11}), Dst: d.IP,
		SrcPort: ServerPort, DstPort: d.Port,
	}
	buf := make([]byte, 2048)
	b.ReportAllocs()
	for b.Loop() {
		payload := resp.ToBytes()
		n, err := EncodeUDP(buf, &f, payload)
		if err != nil || n == 0 {
			b.Fatal(err)
		}
	}
}
