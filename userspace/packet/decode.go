package packet

import (
	"encoding/binary"
	"net/netip"
)

// DecodeOptions tunes Decode.
type DecodeOptions struct {
	// VerifyUDPChecksum verifies a non-zero UDP checksum. Leave it off for
	// frames that may carry a partial (offloaded) checksum, such as those
	// sent by a kernel UDP socket across a veth.
	VerifyUDPChecksum bool
}

// Decode parses an Ethernet/IPv4/UDP frame into f with the default options
// (UDP checksum not verified). See DecodeOptions.Decode.
func Decode(b []byte, f *Frame) error { return DecodeOptions{}.Decode(b, f) }

// Decode parses an Ethernet frame with at most two VLAN tags carrying an
// unfragmented IPv4/UDP datagram. It checks every length (Ethernet, IHL,
// IPv4 total length against the frame, UDP length against the IP payload)
// and the IPv4 header checksum, and verifies the UDP checksum when asked.
// Ethernet padding after the IP datagram and UDP trailer bytes after the UDP
// length are ignored. On error f is partly filled and must not be used; the
// error is one of this package's sentinels (see Reason). Decode does not
// allocate.
func (o DecodeOptions) Decode(b []byte, f *Frame) error {
	if len(b) < EthernetHeaderLen {
		return ErrTruncated
	}
	copy(f.DstMAC[:], b[0:6])
	copy(f.SrcMAC[:], b[6:12])
	etherType := binary.BigEndian.Uint16(b[12:14])
	off := EthernetHeaderLen
	f.NumVLANs = 0
	f.VLANs = [MaxVLANs]uint16{}
	f.TPIDs = [MaxVLANs]uint16{}
	for isVLAN(etherType) {
		if f.NumVLANs == MaxVLANs {
			return ErrTooManyVLANs
		}
		if len(b) < off+VLANTagLen {
			return ErrTruncated
		}
		f.TPIDs[f.NumVLANs] = etherType
		f.VLANs[f.NumVLANs] = binary.BigEndian.Uint16(b[off:])
		f.NumVLANs++
		etherType = binary.BigEndian.Uint16(b[off+2:])
		off += VLANTagLen
	}
	if etherType != etherTypeIPv4 {
		return ErrNotIPv4
	}
	return o.decodeIPv4(b[off:], f)
}

func isVLAN(t uint16) bool {
	return t == etherTypeVLAN || t == etherTypeQinQ || t == etherTypeQinQ2
}

// decodeIPv4 parses the IPv4 header and the UDP datagram in ip.
func (o DecodeOptions) decodeIPv4(ip []byte, f *Frame) error {
	if len(ip) < IPv4HeaderLen {
		return ErrTruncated
	}
	if ip[0]>>4 != 4 {
		return ErrNotIPv4
	}
	ihl := int(ip[0]&0x0f) * 4
	if ihl < IPv4HeaderLen || ihl > len(ip) {
		return ErrBadHeaderLength
	}
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if total < ihl || total > len(ip) {
		return ErrBadLength
	}
	if Checksum(ip[:ihl]) != 0 {
		return ErrBadIPChecksum
	}
	if frag := binary.BigEndian.Uint16(ip[6:8]); frag&0x3fff != 0 { // MF or offset
		return ErrFragment
	}
	if ip[9] != protoUDP {
		return ErrNotUDP
	}
	f.TTL = ip[8]
	src, dst := [4]byte(ip[12:16]), [4]byte(ip[16:20])
	f.Src = netip.AddrFrom4(src)
	f.Dst = netip.AddrFrom4(dst)

	udp := ip[ihl:total]
	if len(udp) < UDPHeaderLen {
		return ErrTruncated
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:6]))
	if ulen < UDPHeaderLen || ulen > len(udp) {
		return ErrBadLength
	}
	udp = udp[:ulen]
	if o.VerifyUDPChecksum && binary.BigEndian.Uint16(udp[6:8]) != 0 {
		if udpChecksum(src, dst, udp) != 0 {
			return ErrBadUDPChecksum
		}
	}
	f.SrcPort = binary.BigEndian.Uint16(udp[0:2])
	f.DstPort = binary.BigEndian.Uint16(udp[2:4])
	f.Payload = udp[UDPHeaderLen:]
	return nil
}
