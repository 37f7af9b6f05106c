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
	if c, ok := x.classifyLate(); !ok {
		return x.w.drop(c)
	}
	q := x.req.Msg
	b := x.newReply(dhcpv4.MessageTypeAck)
	r := &b.msg
	if q.ClientIPAddr != nil {
		r.ClientIPAddr = append(net.IP(nil), q.ClientIPAddr.To4()...)
	}
	x.opts.set(1, x.sub.mask)
	x.finish(b)

	ci, hasCI := packet.Addr4(q.ClientIPAddr)
	_, relayed := packet.Addr4(q.GatewayIPAddr)
	if hasCI && relayed { // answered directly: drop the relay fields
		r.HopCount = 0
		r.GatewayIPAddr = net.IPv4zero.To4()
		x.opts.del(82)
	}
	rep := x.seal(b, nil)
	switch {
	case hasCI:
		rep.Dest = packet.Destination{Kind: packet.DestClientIP, IP: ci, Port: packet.ClientPort}
	case relayed:
		r.SetBroadcast()
		rep.Dest = packet.ReplyDestination(q, r)
	default:
		if src := x.req.Src.Addr(); src.Is4() && !src.IsUnspecified() {
			rep.Dest = packet.Destination{Kind: packet.DestClientIP, IP: src, Port: packet.ClientPort}
		} else {
			rep.Dest = packet.Destination{Kind: packet.DestBroadcast, IP: packet.Broadcast4, Port: packet.ClientPort}
		}
	}
	return rep
}
