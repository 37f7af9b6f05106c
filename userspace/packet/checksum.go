package packet

import (
	"encoding/binary"
	"math/bits"
)

// sum adds b to a running one's-complement sum (RFC 1071). It reads eight
// bytes at a time into a 64-bit accumulator with end-around carry (the
// one's-complement sum is independent of word size once folded); an odd
// trailing byte is padded with zero. Every chunk starts at an even offset.
func sum(acc uint64, b []byte) uint64 {
	var carry uint64
	for len(b) >= 32 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[8:]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[16:]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[24:]), carry)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b), carry)
		b = b[8:]
	}
	if len(b) >= 4 {
		acc, carry = bits.Add64(acc, uint64(binary.BigEndian.Uint32(b)), carry)
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, carry = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), carry)
		b = b[2:]
	}
	if len(b) == 1 {
		acc, carry = bits.Add64(acc, uint64(b[0])<<8, carry)
	}
	acc, carry = bits.Add64(acc, 0, carry)
	return acc + carry // the second carry cannot overflow again
}

// fold reduces a running sum to 16 bits.
func fold(acc uint64) uint16 {
	acc = (acc & 0xffffffff) + (acc >> 32)
	acc = (acc & 0xffffffff) + (acc >> 32)
	acc = (acc & 0xffff) + (acc >> 16)
	acc = (acc & 0xffff) + (acc >> 16)
	return uint16(acc)
}

// Checksum is the Internet checksum (RFC 1071) of b: the one's complement
// of the one's-complement sum. Over a header that contains its own correct
// checksum it returns 0.
func Checksum(b []byte) uint16 { return ^fold(sum(0, b)) }

// udpChecksum is the UDP checksum over the IPv4 pseudo-header and the UDP
// header plus payload in udp (whose checksum field must be zero when
// computing, or hold the checksum when verifying: then the result is 0).
func udpChecksum(src, dst [4]byte, udp []byte) uint16 {
	acc := uint64(binary.BigEndian.Uint32(src[:])) + uint64(binary.BigEndian.Uint32(dst[:])) +
		uint64(protoUDP) + uint64(len(udp))
	return ^fold(sum(acc, udp))
}
