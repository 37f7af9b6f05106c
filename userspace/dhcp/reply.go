package dhcp

import (
	"net"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/packet"
)

// replyBlock is a reply in one allocation: the Reply, its message and the
// small buffers the message's fields and options point into. It is never
// reused (the sender reads the reply after Handle returns).
type replyBlock struct {
	rep        Reply
	msg        dhcpv4.DHCPv4
	mt         [1]byte
	yiaddr     [4]byte
	ciaddr     [4]byte
	sid        [4]byte
	lt, t1, t2 [4]byte
	hostname   [hostnameInline]byte
}

// hostnameInline is the longest option 12 kept inside the replyBlock.
const hostnameInline = 32

// optBuf collects a reply's options in worker scratch, so that the
// message's map is made once, with its final size (a map made for 16
// entries costs four allocations, one for at most 8 costs two).
type optBuf struct {
	val   [256][]byte
	has   [256]bool
	codes []uint8 // set codes, in the order first set
}

func (o *optBuf) reset() {
	for _, c := range o.codes {
		o.val[c], o.has[c] = nil, false
	}
	o.codes = o.codes[:0]
}

func (o *optBuf) set(code uint8, v []byte) {
	if !o.has[code] {
		o.has[code] = true
		o.codes = append(o.codes, code)
	}
	o.val[code] = v
}

func (o *optBuf) del(code uint8) {
	if !o.has[code] {
		return
	}
	o.val[code], o.has[code] = nil, false
	for i, c := range o.codes {
		if c == code {
			o.codes = append(o.codes[:i], o.codes[i+1:]...)
			break
		}
	}
}

// options returns a new map holding the collected options.
func (o *optBuf) options() dhcpv4.Options {
	m := make(dhcpv4.Options, len(o.codes))
	for _, c := range o.codes {
		m[c] = o.val[c]
	}
	return m
}

// newReply allocates a reply and builds its skeleton (see initReply).
func (x *exchange) newReply(mt dhcpv4.MessageType) *replyBlock {
	b := new(replyBlock)
	x.initReply(b, mt)
	return b
}

// initReply builds the reply skeleton in b (Kea's
// Dhcpv4Exchange::initResponse): header fields copied from the query,
// message type, client-id echo (RFC 6842, per echo-client-id), relay agent
// information echo and subnet-selection echo (RFC 3011). The options are
// collected in x.opts until seal.
func (x *exchange) initReply(b *replyBlock, mt dhcpv4.MessageType) {
	q := x.req.Msg
	b.msg = dhcpv4.DHCPv4{
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
	}
	r := &b.msg
	if r.GatewayIPAddr == nil {
		r.GatewayIPAddr = net.IPv4zero.To4()
	}
	x.opts.reset()
	b.mt[0] = byte(mt)
	x.opts.set(uint8(dhcpv4.OptionDHCPMessageType.Code()), b.mt[:])
	if x.e.m.echoCID && len(x.rawCID) > 0 {
		x.opts.set(61, x.rawCID)
	}
	if rai := q.Options.Get(dhcpv4.OptionRelayAgentInformation); len(rai) > 0 {
		x.opts.set(82, rai)
	}
	if ss := q.Options.Get(dhcpv4.OptionSubnetSelection); len(ss) > 0 {
		x.opts.set(118, ss)
	}
}

// seal stores the collected options in the reply's map and returns the
// Reply (without its destination).
func (x *exchange) seal(b *replyBlock, changes []lease.Change) *Reply {
	b.msg.Options = x.opts.options()
	x.opts.reset()
	b.rep = Reply{Msg: &b.msg, Changes: changes}
	return &b.rep
}

// sealTo is seal with the RFC 2131 §4.1 destination.
func (x *exchange) sealTo(b *replyBlock, changes []lease.Change) *Reply {
	rep := x.seal(b, changes)
	rep.Dest = packet.ReplyDestination(x.req.Msg, rep.Msg)
	return rep
}

// nak builds a DHCPNAK.
func (x *exchange) nak() *Reply {
	b := x.newReply(dhcpv4.MessageTypeNak)
	if sid := x.serverID(&b.sid); sid != nil {
		x.opts.set(54, sid)
	}
	x.w.nakCause()
	return x.sealTo(b, nil)
}

// fillLease completes an OFFER or ACK for an assigned address: yiaddr,
// lifetime, mask, T1/T2, required classes, options, fixed fields, hostname
// and server identifier.
func (x *exchange) fillLease(b *replyBlock, c candidate, valid uint32) {
	b.yiaddr = c.addr.As4()
	b.msg.YourIPAddr = net.IP(b.yiaddr[:])
	x.opts.set(51, putU32(&b.lt, valid))
	x.opts.set(1, c.sub.mask)
	t1, t2 := teeTimes(&c.sub.lt, valid)
	if t2 > 0 {
		x.opts.set(59, putU32(&b.t2, t2))
	}
	if t1 > 0 {
		x.opts.set(58, putU32(&b.t1, t1))
	}
	x.finish(b)
	if h := x.hostname(); h != "" {
		if len(h) <= hostnameInline {
			x.opts.set(12, b.hostname[:copy(b.hostname[:], h):len(h)])
		} else {
			x.opts.set(12, []byte(h))
		}
	}
}

// finish adds what every positive reply carries: required classes, the
// configured options, the fixed header fields and the server identifier.
func (x *exchange) finish(b *replyBlock) {
	x.evalRequired()
	x.appendOptions()
	x.setFixedFields(&b.msg)
	if sid := x.serverID(&b.sid); sid != nil {
		x.opts.set(54, sid)
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
