package dhcp

import (
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
	_, hasCI := packet.Addr4(msg.ClientIPAddr)
	if !hasHint && !hasCI {
		return x.w.drop(dropBadPacket)
	}
	x.sub = x.selectSubnet()
	if x.sub == nil {
		// Kea NAKs a REQUEST it cannot place in any subnet.
		return x.nak()
	}
	if c, ok := x.classifyLate(); !ok {
		return x.w.drop(c)
	}
	// The client's lease and the row at the address it asks for, in one
	// read where the store can (pgsql): requestAddress and the commit
	// then read nothing more before the write.
	if hasHint {
		x.prefetchClient(hint)
	} else if ci, ok := packet.Addr4(msg.ClientIPAddr); ok {
		x.prefetchClient(ci)
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
	if x.hostsFailed() {
		return x.w.drop(dropHostsDB)
	}
	if !ok {
		return x.nak()
	}
	valid := x.validLifetime(c.sub)
	b := new(ackBlock)
	stored, changes, reused, ok, err := x.commit(c, valid, prev, &b.leaseBlock)
	if err != nil {
		x.e.log.Error().Err(err).Msg("lease commit failed")
		return x.w.drop(dropStoreError)
	}
	if !ok {
		return x.nak()
	}
	x.sub, x.pool = c.sub, c.pool
	x.initReply(&b.replyBlock, dhcpv4.MessageTypeAck)
	if ci := msg.ClientIPAddr; ci != nil {
		b.msg.ClientIPAddr = nil
		if v := ci.To4(); v != nil {
			b.msg.ClientIPAddr = append(b.ciaddr[:0], v...)
		}
	}
	if reused > 0 {
		// Dhcpv4Srv::assignLease: a reused lease reports its remaining
		// lifetime, and T1/T2 follow from it.
		valid = reused
	}
	x.fillLease(&b.replyBlock, c, valid)
	rep := x.sealTo(&b.replyBlock, changes)
	if hasCI {
		if w, ok := c.sub.reuseWindow(stored, x.validLifetime(c.sub)); ok {
			w.Engine = x.e
			rep.Reuse = &w
		}
	}
	return rep
}
