package dhcp

import (
	"net"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/packet"
)

// inform answers a DHCPINFORM with an ACK carrying configuration options
// only: no lease, no yiaddr, no lifetime. It goes to ciaddr (clearing the
// relay fields when relayed), else through the relay, else to the source.
func (x *exchange) inform() *Reply {
	x.sub = x.selectSubnet()
	if x.sub == nil {
		return x.w.drop(dropNoSubnet)
	}
	if !x.classifyLate() {
		return x.w.drop(dropClass)
	}
	q := x.req.Msg
	r := x.newReply(dhcpv4.MessageTypeAck)
	if q.ClientIPAddr != nil {
		r.ClientIPAddr = append(net.IP(nil), q.ClientIPAddr.To4()...)
	}
	r.Options[1] = x.sub.mask
	x.finish(r)

	ci, hasCI := ip4(q.ClientIPAddr)
	_, relayed := ip4(q.GatewayIPAddr)
	var dest packet.Destination
	switch {
	case hasCI:
		dest = packet.Destination{Kind: packet.DestClientIP, IP: ci, Port: packet.ClientPort}
		if relayed { // answered directly: drop the relay fields
			r.HopCount = 0
			r.GatewayIPAddr = net.IPv4zero.To4()
			delete(r.Options, 82)
		}
	case relayed:
		r.SetBroadcast()
		dest = packet.ReplyDestination(q, r)
	default:
		if src := x.req.Src.Addr(); src.Is4() && !src.IsUnspecified() {
			dest = packet.Destination{Kind: packet.DestClientIP, IP: src, Port: packet.ClientPort}
		} else {
			dest = packet.Destination{Kind: packet.DestBroadcast, IP: packet.Broadcast4, Port: packet.ClientPort}
		}
	}
	return &Reply{Msg: r, Dest: dest}
}
