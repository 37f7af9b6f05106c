package dhcp

import (
	"net"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/packet"
)

// newReply builds the reply skeleton (Kea's Dhcpv4Exchange::initResponse):
// header fields copied from the query, message type, client-id echo
// (RFC 6842, per echo-client-id), relay agent information echo and
// subnet-selection echo (RFC 3011).
func (x *exchange) newReply(mt dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	q := x.req.Msg
	r := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        q.HWType,
		HopCount:      q.HopCount,
		TransactionID: q.TransactionID,
		Flags:         q.Flags,
		ClientIPAddr:  net.IPv4zero.To4(),
		YourIPAddr:    net.IPv4zero.To4(),
		ServerIPAddr:  net.IPv4zero.To4(),
		GatewayIPAddr: q.GatewayIPAddr,
		ClientHWAddr:  q.ClientHWAddr,
		Options:       make(dhcpv4.Options, 16),
	}
	if r.GatewayIPAddr == nil {
		r.GatewayIPAddr = net.IPv4zero.To4()
	}
	r.Options[uint8(dhcpv4.OptionDHCPMessageType.Code())] = []byte{byte(mt)}
	if x.e.m.echoCID && len(x.rawCID) > 0 {
		r.Options[61] = x.rawCID
	}
	if rai := q.Options.Get(dhcpv4.OptionRelayAgentInformation); len(rai) > 0 {
		r.Options[82] = rai
	}
	if ss := q.Options.Get(dhcpv4.OptionSubnetSelection); len(ss) > 0 {
		r.Options[118] = ss
	}
	return r
}

// nak builds a DHCPNAK.
func (x *exchange) nak() *Reply {
	r := x.newReply(dhcpv4.MessageTypeNak)
	if sid := x.serverID(); sid != nil {
		r.Options[54] = sid
	}
	x.w.nakCause()
	return &Reply{Msg: r, Dest: packet.ReplyDestination(x.req.Msg, r)}
}

// fillLease completes an OFFER or ACK for an assigned address: yiaddr,
// lifetime, mask, T1/T2, required classes, options, fixed fields, hostname
// and server identifier.
func (x *exchange) fillLease(r *dhcpv4.DHCPv4, c candidate, valid uint32) {
	r.YourIPAddr = net.IP(c.addr.AsSlice())
	r.Options[51] = u32(valid)
	r.Options[1] = c.sub.mask
	t1, t2 := teeTimes(&c.sub.lt, valid)
	if t2 > 0 {
		r.Options[59] = u32(t2)
	}
	if t1 > 0 {
		r.Options[58] = u32(t1)
	}
	x.finish(r)
	if h := x.hostname(); h != "" {
		r.Options[12] = []byte(h)
	}
}

// finish adds what every positive reply carries: required classes, the
// configured options, the fixed header fields and the server identifier.
func (x *exchange) finish(r *dhcpv4.DHCPv4) {
	x.evalRequired()
	x.appendOptions(r)
	x.setFixedFields(r)
	if sid := x.serverID(); sid != nil {
		r.Options[54] = sid
	}
}

// setFixedFields sets siaddr/sname/file: subnet (inherited) values, then
// classes (in order, later ones override), then the reservation.
func (x *exchange) setFixedFields(r *dhcpv4.DHCPv4) {
	if s := x.sub; s != nil {
		if s.nextServer.IsValid() && !s.nextServer.IsUnspecified() {
			r.ServerIPAddr = net.IP(s.nextServer.AsSlice())
		}
		r.ServerHostName, r.BootFileName = s.sname, s.file
	}
	for name := range x.cls.All() {
		d := x.e.m.classes.byName[name]
		if d == nil {
			continue
		}
		if d.nextServer != nil && !d.nextServer.IsUnspecified() {
			r.ServerIPAddr = net.IP(d.nextServer.AsSlice())
		}
		if d.sname != nil && *d.sname != "" {
			r.ServerHostName = *d.sname
		}
		if d.file != nil && *d.file != "" {
			r.BootFileName = *d.file
		}
	}
	if h := x.host; h != nil {
		if h.nextServer != nil && !h.nextServer.IsUnspecified() {
			r.ServerIPAddr = net.IP(h.nextServer.AsSlice())
		}
		if h.sname != nil && *h.sname != "" {
			r.ServerHostName = *h.sname
		}
		if h.file != nil && *h.file != "" {
			r.BootFileName = *h.file
		}
	}
}
