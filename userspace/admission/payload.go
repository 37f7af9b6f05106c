package admission

import (
	"encoding/binary"
	"net/netip"
)

// BOOTP/DHCP layout (RFC 2131 §2), offsets into the UDP payload.
const (
	bootpOp      = 0
	bootpHlen    = 2
	bootpGiaddr  = 24
	bootpChaddr  = 28
	bootpCookie  = 236
	dhcpOptions  = 240
	bootRequest  = 1
	dhcpMagic    = 0x63825363
	optPad       = 0
	optOverload  = 52
	optMsgType   = 53
	optClientID  = 61
	optEnd       = 255
	chaddrMaxLen = 16
)

// FromPayload fills m from a DHCPv4 message (a UDP payload) the way the
// XDP program reads a frame, without allocating; m's slices point into
// payload. It returns false, leaving the message unlimited, wherever the
// program redirects without limiting: a payload shorter than the BOOTP
// header and cookie, not a BOOTREQUEST, no DHCP cookie, options that run
// past the end, a repeated option 53 or 61, option 52 (overload) or an
// option 53 of the wrong length. The pipeline's parser then decides and
// counts. unicastToUs is RelayKey's: the datagram was sent to one of this
// host's unicast addresses.
func FromPayload(payload []byte, unicastToUs bool, m *Message) bool {
	*m = Message{UnicastToUs: unicastToUs}
	if len(payload) < dhcpOptions || payload[bootpOp] != bootRequest ||
		binary.BigEndian.Uint32(payload[bootpCookie:]) != dhcpMagic {
		return false
	}
	m.Giaddr = netip.AddrFrom4([4]byte(payload[bootpGiaddr : bootpGiaddr+4]))
	hlen := min(int(payload[bootpHlen]), chaddrMaxLen)
	m.Chaddr = payload[bootpChaddr : bootpChaddr+hlen]
	opts := payload[dhcpOptions:]
	var seenType, seenCID bool
	for i := 0; i < len(opts); {
		code := opts[i]
		switch code {
		case optPad:
			i++
			continue
		case optEnd:
			return true
		}
		if i+2 > len(opts) || i+2+int(opts[i+1]) > len(opts) {
			*m = Message{}
			return false
		}
		data := opts[i+2 : i+2+int(opts[i+1])]
		switch code {
		case optMsgType:
			if seenType || len(data) != 1 {
				*m = Message{}
				return false
			}
			seenType, m.Type = true, data[0]
		case optClientID:
			if seenCID {
				*m = Message{}
				return false
			}
			seenCID, m.ClientID = true, data
		case optOverload:
			*m = Message{}
			return false
		}
		i += 2 + len(data)
	}
	return true
}
