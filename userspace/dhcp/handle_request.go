package dhcp

import (
	"net"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/packet"
)

// request answers a DHCPREQUEST in any client state (RFC 2131 §4.3.2, Kea's
// assignLease): SELECTING (server id present; a foreign one was dropped
// earlier), INIT-REBOOT (option 50, no server id), RENEWING/REBINDING
// (ciaddr).
func (x *exchange) request() *Reply {
	msg := x.req.Msg
	hasSID := len(msg.Options.Get(dhcpv4.OptionServerIdentifier)) > 0
	hint, hasHint := requestedIP(msg)
	_, hasCI := ip4(msg.ClientIPAddr)
	if !hasHint && !hasCI {
		return x.w.drop(dropBadPacket)
	}
	x.sub = x.selectSubnet()
	if x.sub == nil {
		// Kea NAKs a REQUEST it cannot place in any subnet.
		return x.nak()
	}
	if !x.classifyLate() {
		return x.w.drop(dropClass)
	}
	if !hasSID && hasHint {
		// INIT-REBOOT: verify the client's notion of its address.
		l, _ := x.clientLease()
		known := l != nil
		if x.familySubnetFor(hint) == nil {
			return x.nak() // wrong network (RFC 2131 §4.3.2)
		}
		if !x.sub.authoritative && !known {
			return x.w.drop(dropInitReboot)
		}
		if (known && l.Addr != hint) || (!known && x.sub.authoritative) {
			return x.nak()
		}
	}
	c, prev, ok := x.requestAddress()
	if !ok {
		return x.nak()
	}
	valid := x.validLifetime(c.sub)
	_, changes, ok, err := x.commit(c, valid, prev)
	if err != nil {
		x.e.log.Error().Err(err).Msg("lease commit failed")
		return x.w.drop(dropStoreError)
	}
	if !ok {
		return x.nak()
	}
	x.sub, x.pool = c.sub, c.pool
	r := x.newReply(dhcpv4.MessageTypeAck)
	if ci := msg.ClientIPAddr; ci != nil {
		r.ClientIPAddr = append(net.IP(nil), ci.To4()...)
	}
	x.fillLease(r, c, valid)
	return &Reply{Msg: r, Dest: packet.ReplyDestination(msg, r), Changes: changes}
}
