// Package lbhash computes the RFC 3074 load-balancing hash exactly as ISC
// Kea 2.2 does for DHCPv4 HA load balancing
// (src/hooks/dhcp/high_availability/query_filter.cc), and decides which
// server owns a query. It is the Go twin of the hash in bpf/xdhcp.c; the
// bpf package tests check that both agree.
//
// See docs/kea/lb-hash.md (our notes on Kea 2.2's behaviour) for the rules and test vectors.
package lbhash

import (
	"bytes"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Table is the RFC 3074 section 6 mixing table (a permutation of 0..255).
var Table = [256]uint8{
	251, 175, 119, 215, 81, 14, 79, 191, 103, 49, 181, 143, 186, 157, 0, 232,
	31, 32, 55, 60, 152, 58, 17, 237, 174, 70, 160, 144, 220, 90, 57, 223,
	59, 3, 18, 140, 111, 166, 203, 196, 134, 243, 124, 95, 222, 179, 197, 65,
	180, 48, 36, 15, 107, 46, 233, 130, 165, 30, 123, 161, 209, 23, 97, 16,
	40, 91, 219, 61, 100, 10, 210, 109, 250, 127, 22, 138, 29, 108, 244, 67,
	207, 9, 178, 204, 74, 98, 126, 249, 167, 116, 34, 77, 193, 200, 121, 5,
	20, 113, 71, 35, 128, 13, 182, 94, 25, 226, 227, 199, 75, 27, 41, 245,
	230, 224, 43, 225, 177, 26, 155, 150, 212, 142, 218, 115, 241, 73, 88, 105,
	39, 114, 62, 255, 192, 201, 145, 214, 168, 158, 221, 148, 154, 122, 12, 84,
	82, 163, 44, 139, 228, 236, 205, 242, 217, 11, 187, 146, 159, 64, 86, 239,
	195, 42, 106, 198, 118, 112, 184, 172, 87, 2, 173, 117, 176, 229, 247, 253,
	137, 185, 99, 164, 102, 147, 45, 66, 231, 52, 141, 211, 194, 206, 246, 238,
	56, 110, 78, 248, 63, 240, 189, 93, 92, 51, 53, 183, 19, 171, 72, 50,
	33, 104, 101, 69, 8, 252, 83, 120, 76, 135, 85, 54, 202, 125, 188, 213,
	96, 235, 136, 208, 162, 129, 190, 132, 156, 38, 47, 1, 7, 254, 24, 4,
	216, 131, 89, 21, 28, 133, 37, 153, 149, 80, 170, 68, 6, 169, 234, 151,
}

// Hash is RFC 3074 loadb_p_hash as Kea uses it: the hash starts as the key
// length modulo 256 and mixes the key from its last byte to its first.
func Hash(key []byte) uint8 {
	h := uint8(len(key))
	for i := len(key) - 1; i >= 0; i-- {
		h = Table[h^key[i]]
	}
	return h
}

// Owner returns the index of the active server that owns hash: Kea uses
// hash % active, with the primary at index 0 and the secondary at 1. It
// returns 0 when active < 1 (hot standby and degenerate configurations).
func Owner(hash uint8, active int) int {
	if active < 1 {
		return 0
	}
	return int(hash) % active
}

// Balanced reports whether Kea load-balances a message of this type:
// DHCPDISCOVER, DHCPREQUEST, DHCPDECLINE, DHCPRELEASE and DHCPINFORM. Any
// other type (including 0, no option 53) is in scope for every server.
func Balanced(t dhcpv4.MessageType) bool {
	switch t {
	case dhcpv4.MessageTypeDiscover, dhcpv4.MessageTypeRequest,
		dhcpv4.MessageTypeDecline, dhcpv4.MessageTypeRelease,
		dhcpv4.MessageTypeInform:
		return true
	}
	return false
}

// Key returns the bytes Kea hashes for a decoded query: the option 61
// (client identifier) data if present and non-empty, else chaddr[:hlen].
// ok is false when there is neither (Kea drops such a balanced query).
//
// dhcpv4.FromBytes clamps hlen to 16, so Key cannot reproduce Kea's rule for
// hlen > 16 (16 chaddr bytes then hlen-16 zero bytes); use KeyFromPayload on
// the raw payload when that matters.
func Key(msg *dhcpv4.DHCPv4) ([]byte, bool) {
	if msg == nil {
		return nil, false
	}
	if cid := msg.Options.Get(dhcpv4.OptionClientIdentifier); len(cid) > 0 {
		return bytes.Clone(cid), true
	}
	if len(msg.ClientHWAddr) == 0 {
		return nil, false
	}
	return bytes.Clone(msg.ClientHWAddr), true
}

// BOOTP header layout (RFC 2131 §2).
const (
	offHlen     = 2
	offChaddr   = 28
	chaddrLen   = 16
	offCookie   = 236
	offOptions  = 240
	optPad      = 0
	optEnd      = 255
	optClientID = 61
)

var magicCookie = []byte{99, 130, 83, 99}

// KeyFromPayload is Key for a raw BOOTP/DHCP payload (the UDP data), without
// decoding the whole message. It walks the options after the magic cookie
// and uses the first option 61 that lies entirely inside p; the walk stops
// at the end option, at the end of p or at a truncated option. For hlen > 16
// the key is the 16 chaddr bytes followed by hlen-16 zero bytes, as Kea 2.2
// Pkt4::unpack builds it. ok is false if p is shorter than the BOOTP header
// (240 bytes with the cookie) or carries no identifier. A payload without
// the DHCP magic cookie is plain BOOTP: it has no options, so the key is
// chaddr.
func KeyFromPayload(p []byte) ([]byte, bool) {
	if len(p) < offOptions {
		return nil, false
	}
	if bytes.Equal(p[offCookie:offOptions], magicCookie) {
		if cid := findOption(p[offOptions:], optClientID); len(cid) > 0 {
			return bytes.Clone(cid), true
		}
	}
	hlen := int(p[offHlen])
	if hlen == 0 {
		return nil, false
	}
	key := make([]byte, hlen)
	copy(key, p[offChaddr:offChaddr+min(hlen, chaddrLen)])
	return key, true
}

// findOption returns the data of the first complete option code in opts.
func findOption(opts []byte, code byte) []byte {
	for i := 0; i < len(opts); {
		switch opts[i] {
		case optPad:
			i++
			continue
		case optEnd:
			return nil
		}
		if i+1 >= len(opts) {
			return nil
		}
		n := int(opts[i+1])
		if i+2+n > len(opts) {
			return nil
		}
		if opts[i] == code {
			return opts[i+2 : i+2+n]
		}
		i += 2 + n
	}
	return nil
}
