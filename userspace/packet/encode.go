package packet

import "encoding/binary"

// EncodeUDP writes f's Ethernet header (with f.NumVLANs tags), a 20-byte
// IPv4 header and a UDP header followed by payload into buf, and returns
// the frame length. Both checksums are computed (a UDP checksum of zero is
// sent as 0xffff, RFC 768). f.Payload is ignored. The IPv4 header has no
// options, ID 0, DF clear and TOS 0. EncodeUDP does not allocate; it fails
// with ErrBufferTooSmall or ErrInvalidFrame (non-IPv4 address, NumVLANs
// outside 0..2, a TPID that is not a VLAN
// TPID, payload over MaxPayload). payload may alias buf at exactly
// the offset f.HeaderLen() (build the payload in place, then encode the
// headers around it).
func EncodeUDP(buf []byte, f *Frame, payload []byte) (int, error) {
	if !valid(f) || len(payload) > MaxPayload {
		return 0, ErrInvalidFrame
	}
	hdr := f.HeaderLen()
	n := hdr + len(payload)
	if len(buf) < n {
		return 0, ErrBufferTooSmall
	}
	copy(buf[hdr:n], payload) // no-op when payload already sits there

	copy(buf[0:6], f.DstMAC[:])
	copy(buf[6:12], f.SrcMAC[:])
	off := 12
	for i := range f.NumVLANs {
		binary.BigEndian.PutUint16(buf[off:], tpid(f, i))
		binary.BigEndian.PutUint16(buf[off+2:], f.VLANs[i])
		off += VLANTagLen
	}
	binary.BigEndian.PutUint16(buf[off:], etherTypeIPv4)
	off += 2

	ip := buf[off : off+IPv4HeaderLen]
	ipLen := IPv4HeaderLen + UDPHeaderLen + len(payload)
	ttl := f.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	ip[0] = 0x45
	ip[1] = 0
	binary.BigEndian.PutUint16(ip[2:], uint16(ipLen))
	binary.BigEndian.PutUint32(ip[4:], 0) // ID 0, no flags, offset 0
	ip[8] = ttl
	ip[9] = protoUDP
	binary.BigEndian.PutUint16(ip[10:], 0)
	src, dst := f.Src.As4(), f.Dst.As4()
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(ip[10:], Checksum(ip))

	udp := buf[off+IPv4HeaderLen : n]
	binary.BigEndian.PutUint16(udp[0:], f.SrcPort)
	binary.BigEndian.PutUint16(udp[2:], f.DstPort)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	binary.BigEndian.PutUint16(udp[6:], 0)
	cs := udpChecksum(src, dst, udp)
	if cs == 0 {
		cs = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], cs)
	return n, nil
}

// AppendFrame appends the encoding of f, with f.Payload as the UDP payload,
// to dst. See EncodeUDP.
func AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	if f.NumVLANs < 0 || f.NumVLANs > MaxVLANs {
		return dst, ErrInvalidFrame
	}
	start := len(dst)
	need := f.HeaderLen() + len(f.Payload)
	dst = append(dst, make([]byte, need)...)
	n, err := EncodeUDP(dst[start:], f, f.Payload)
	if err != nil {
		return dst[:start], err
	}
	return dst[:start+n], nil
}

// valid reports whether f's addresses and VLAN tags can be encoded.
func valid(f *Frame) bool {
	if f.NumVLANs < 0 || f.NumVLANs > MaxVLANs || !f.Src.Is4() || !f.Dst.Is4() {
		return false
	}
	for i := range f.NumVLANs {
		if t := f.TPIDs[i]; t != 0 && !isVLAN(t) {
			return false
		}
	}
	return true
}

// tpid is the TPID written for tag i of f.
func tpid(f *Frame, i int) uint16 {
	if t := f.TPIDs[i]; t != 0 {
		return t
	}
	if f.NumVLANs == 2 && i == 0 {
		return etherTypeQinQ
	}
	return etherTypeVLAN
}
