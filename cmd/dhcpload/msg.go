package main

import (
	"encoding/binary"
	"errors"
)

// DHCP message types (option 53).
const (
	msgDiscover = 1
	msgOffer    = 2
	msgRequest  = 3
	msgAck      = 5
	msgNak      = 6
	msgRelease  = 7
)

// BOOTP/DHCP layout (RFC 2131 §2).
const (
	dhcpHeaderLen = 236
	dhcpOptsOff   = 240 // after the magic cookie
	dhcpMinLen    = 300 // BOOTP minimum, what most clients send
	dhcpMagic     = 0x63825363
)

// Reasons a reply is not a usable DHCP reply.
var (
	errShortMsg   = errors.New("short dhcp message")
	errNotReply   = errors.New("not a bootreply for ethernet")
	errBadCookie  = errors.New("bad magic cookie")
	errBadOptions = errors.New("malformed options")
	errNoMsgType  = errors.New("no message type option")
)

// outMsg describes one message to build. Addresses are IPv4 in network
// order packed into a uint32 (0 = none / option omitted).
type outMsg struct {
	typ      byte
	xid      uint32
	mac      [6]byte
	ciaddr   uint32
	giaddr   uint32
	reqAddr  uint32 // option 50
	serverID uint32 // option 54
	clientID bool   // option 61 = 1 + mac
}

// prl is the parameter request list sent in DISCOVER and REQUEST.
var prl = [...]byte{1, 3, 6, 15, 51, 54}

// buildMsg writes m as a BOOTREQUEST into b (at least dhcpMinLen bytes)
// and returns its length. It does not allocate.
func buildMsg(b []byte, m *outMsg) int {
	clear(b[:dhcpMinLen])
	b[0], b[1], b[2], b[3] = 1, 1, 6, 1 // BOOTREQUEST, Ethernet, hlen 6, relayed once
	binary.BigEndian.PutUint32(b[4:], m.xid)
	binary.BigEndian.PutUint32(b[12:], m.ciaddr)
	binary.BigEndian.PutUint32(b[24:], m.giaddr)
	copy(b[28:34], m.mac[:])
	binary.BigEndian.PutUint32(b[236:], dhcpMagic)
	o := dhcpOptsOff
	b[o], b[o+1], b[o+2] = 53, 1, m.typ
	o += 3
	if m.clientID {
		b[o], b[o+1], b[o+2] = 61, 7, 1
		copy(b[o+3:], m.mac[:])
		o += 9
	}
	if m.reqAddr != 0 {
		b[o], b[o+1] = 50, 4
		binary.BigEndian.PutUint32(b[o+2:], m.reqAddr)
		o += 6
	}
	if m.serverID != 0 {
		b[o], b[o+1] = 54, 4
		binary.BigEndian.PutUint32(b[o+2:], m.serverID)
		o += 6
	}
	if m.typ != msgRelease {
		b[o], b[o+1] = 55, byte(len(prl))
		copy(b[o+2:], prl[:])
		o += 2 + len(prl)
	}
	b[o] = 255
	return max(o+1, dhcpMinLen)
}

// inMsg is what the load generator needs from a reply.
type inMsg struct {
	typ      byte
	xid      uint32
	chaddr   [6]byte
	yiaddr   uint32
	serverID uint32 // 0 when absent
}

// parseReply decodes a BOOTREPLY's fixed fields and options 53 and 54
// into r without allocating.
func parseReply(p []byte, r *inMsg) error {
	if len(p) < dhcpOptsOff {
		return errShortMsg
	}
	if p[0] != 2 || p[1] != 1 || p[2] != 6 {
		return errNotReply
	}
	if binary.BigEndian.Uint32(p[236:]) != dhcpMagic {
		return errBadCookie
	}
	r.xid = binary.BigEndian.Uint32(p[4:])
	r.yiaddr = binary.BigEndian.Uint32(p[16:])
	copy(r.chaddr[:], p[28:34])
	r.typ, r.serverID = 0, 0
	opts := p[dhcpOptsOff:]
	for i := 0; i < len(opts); {
		code := opts[i]
		if code == 0 {
			i++
			continue
		}
		if code == 255 {
			break
		}
		if i+1 >= len(opts) || i+2+int(opts[i+1]) > len(opts) {
			return errBadOptions
		}
		l := int(opts[i+1])
		v := opts[i+2 : i+2+l]
		switch {
		case code == 53 && l == 1:
			r.typ = v[0]
		case code == 54 && l == 4:
			r.serverID = binary.BigEndian.Uint32(v)
		}
		i += 2 + l
	}
	if r.typ == 0 {
		return errNoMsgType
	}
	return nil
}
