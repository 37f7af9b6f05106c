package dhcp

import (
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/packet"
)

// Request is a decoded DHCPv4 message plus what the I/O layer knows about
// how it arrived. The engine never sees a socket.
type Request struct {
	Msg     *dhcpv4.DHCPv4
	Iface   string     // receiving interface name
	IfIndex int        // receiving interface index
	IfAddr  netip.Addr // receiving interface's IPv4 address (default server identifier)
	Src     netip.AddrPort
	Dst     netip.Addr // datagram destination: broadcast or one of our addresses
	Len     int        // DHCP payload length in bytes
	Time    time.Time  // receive time (for queue-delay accounting); zero if unknown
}

// Reply is the engine's answer and where it must go. Changes are the
// lease changes the exchange committed (Kea's leases4_committed arguments):
// with HA they must reach the partner before Msg leaves. A RELEASE or
// DECLINE yields a Reply with Changes and no Msg.
type Reply struct {
	Msg     *dhcpv4.DHCPv4
	Dest    packet.Destination
	Changes []lease.Change
	// Reuse is set on an ACK to a REQUEST with ciaddr when an identical
	// renewal would reuse the stored lease (see ReuseWindow).
	Reuse *ReuseWindow
}
