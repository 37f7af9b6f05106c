package classify

import (
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Packet is what an expression can look at: the decoded message and the
// receive metadata Kea exposes through pkt.*.
type Packet struct {
	Msg      *dhcpv4.DHCPv4
	Iface    string     // receiving interface name (pkt.iface)
	Src, Dst netip.Addr // remote and local IP addresses (pkt.src, pkt.dst)
	Len      int        // DHCP payload length (pkt.len)
}
