package packet

import (
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// DHCP ports.
const (
	ServerPort = 67
	ClientPort = 68
)

// DestKind says how a reply reaches its client (RFC 2131 §4.1).
type DestKind uint8

// Reply destinations.
const (
	DestRelay     DestKind = iota + 1 // unicast to the relay agent at giaddr:67
	DestClientIP                      // unicast to ciaddr:68 (client has a configured address)
	DestL2Unicast                     // IP yiaddr:68 to MAC chaddr, without ARP
	DestBroadcast                     // 255.255.255.255:68, Ethernet broadcast
)

func (k DestKind) String() string {
	switch k {
	case DestRelay:
		return "relay"
	case DestClientIP:
		return "client-ip"
	case DestL2Unicast:
		return "l2-unicast"
	case DestBroadcast:
		return "broadcast"
	}
	return "unknown"
}

// Destination is the addressing decision for one reply.
type Destination struct {
	Kind DestKind
	IP   netip.Addr       // IP destination
	Port uint16           // UDP destination port
	MAC  net.HardwareAddr // L2 destination for DestL2Unicast (chaddr); nil otherwise
}

// Broadcast4 is the limited broadcast address.
var Broadcast4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// ReplyDestination applies RFC 2131 §4.1 to a request and its reply:
//
//	giaddr set                   → relay giaddr:67 (NAKs too; the relay broadcasts)
//	NAK, no giaddr               → broadcast
//	ciaddr set                   → unicast ciaddr:68
//	broadcast flag set           → broadcast
//	otherwise                    → yiaddr:68 at chaddr (L2 unicast, no ARP)
//
// A reply with no yiaddr to unicast to (or a chaddr that is not Ethernet)
// is broadcast.
func ReplyDestination(req, resp *dhcpv4.DHCPv4) Destination {
	if gi, ok := Addr4(req.GatewayIPAddr); ok {
		return Destination{Kind: DestRelay, IP: gi, Port: ServerPort}
	}
	bcast := Destination{Kind: DestBroadcast, IP: Broadcast4, Port: ClientPort}
	// resp.MessageType() == MessageTypeNak, without the decoder's allocation.
	if mt := resp.Options.Get(dhcpv4.OptionDHCPMessageType); len(mt) == 1 && dhcpv4.MessageType(mt[0]) == dhcpv4.MessageTypeNak {
		return bcast
	}
	if ci, ok := Addr4(req.ClientIPAddr); ok {
		return Destination{Kind: DestClientIP, IP: ci, Port: ClientPort}
	}
	if req.IsBroadcast() {
		return bcast
	}
	yi, ok := Addr4(resp.YourIPAddr)
	if !ok || len(req.ClientHWAddr) != 6 {
		return bcast
	}
	return Destination{Kind: DestL2Unicast, IP: yi, Port: ClientPort, MAC: req.ClientHWAddr}
}

// Addr4 converts a header address (ciaddr, giaddr, yiaddr, ...) to a
// netip.Addr, reporting false for nil, a non-IPv4 address or 0.0.0.0 (an
// unset field). The engine and the reply-addressing table share it.
func Addr4(ip net.IP) (netip.Addr, bool) {
	ip4 := ip.To4()
	if ip4 == nil {
		return netip.Addr{}, false
	}
	a := netip.AddrFrom4([4]byte(ip4))
	return a, !a.IsUnspecified()
}

// ReplySource is the source address of a reply (the one rule for every
// transport): the request's destination when that was a unicast address
// of ours, else the receiving interface's address. A destination that is
// broadcast, multicast, unspecified or looks like a directed broadcast (an
// address ending in .255 that is not the interface's own; the prefix
// length is not known here, and a wrong guess only changes the source to
// ifAddr) gives ifAddr.
func ReplySource(dst, ifAddr netip.Addr) netip.Addr {
	if dst.Is4() && !dst.IsUnspecified() && dst != Broadcast4 && !dst.IsMulticast() && !(dst != ifAddr && dst.As4()[3] == 255) {
		return dst
	}
	return ifAddr
}
