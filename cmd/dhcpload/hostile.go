package main

import (
	"encoding/binary"
)

// -hostile: the attacker on the LAN of issue 11. Instead of exchanges,
// send a bounded stream of hostile frames at -rate, cycling through
// hostileKinds, the way a subscriber with its own port on the segment
// would: broadcast Ethernet and IP, source 0.0.0.0:68, giaddr 0, random
// source MACs and chaddrs (some repeating). Every frame is a complete
// Ethernet frame built here, so VLAN stacks and IP fragments can be sent
// too. Run it beside a well-behaved dhcpload (another interface or
// namespace) to measure how much of the good traffic a server still
// completes under the flood.

// hostileKinds are the frames sent in turn.
var hostileKinds = [...]string{
	"random-mac-discover", // valid DISCOVER, new random MAC and chaddr each time
	"random-mac-request",  // valid REQUEST (selecting) for a random address and server id
	"repeat-mac-discover", // valid DISCOVER from one of 16 MACs that repeat
	"truncated",           // BOOTP header cut at 100 bytes (< 236)
	"bad-options",         // an option whose length runs past the end
	"over-long-options",   // 1,200 bytes of options: hundreds of small ones, then option 53
	"fuzzed",              // a valid DISCOVER with 8 random bytes flipped
	"vlan-stacked",        // a valid DISCOVER under three 802.1Q/802.1ad tags
	"fragment",            // the first IPv4 fragment (MF set) of a DISCOVER
	"bad-cookie",          // wrong magic cookie
	"bootreply",           // op = BOOTREPLY to port 67
	"garbage",             // 300 random bytes to port 67
}

// repeatMACs is how many MACs "repeat-mac-discover" cycles through.
const repeatMACs = 16

// hostileGen builds hostile frames from a xorshift stream (reproducible
// from its seed, no allocation).
type hostileGen struct {
	x uint64
}

func newHostileGen(seed uint64) *hostileGen { return &hostileGen{x: seed | 1} }

func (g *hostileGen) next() uint64 {
	g.x ^= g.x << 13
	g.x ^= g.x >> 7
	g.x ^= g.x << 17
	return g.x
}

// randomMAC is a locally administered unicast MAC.
func (g *hostileGen) randomMAC() [6]byte {
	var m [6]byte
	v := g.next()
	for i := range m {
		m[i] = byte(v >> (8 * i))
	}
	m[0] = m[0]&0xfc | 0x02
	return m
}

// fill writes the stream's next bytes into b, eight per draw.
func (g *hostileGen) fill(b []byte) {
	for i := 0; i < len(b); i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], g.next())
		copy(b[i:], w[:])
	}
}

// Frame layout constants.
const (
	ethLen  = 14
	vlanLen = 4
	ipLen   = 20
	udpLen  = 8
)

// build writes hostile frame seq (kind seq mod the kinds) into b (at
// least 2048 bytes) and returns its length and kind.
func (g *hostileGen) build(b []byte, seq uint64) (int, int) {
	kind := int(seq % uint64(len(hostileKinds)))
	mac := g.randomMAC()
	tags, frag := 0, false
	switch hostileKinds[kind] {
	case "repeat-mac-discover":
		mac = [6]byte{0x02, 0x00, 0x66, 0x00, 0x00, byte(seq / uint64(len(hostileKinds)) % repeatMACs)}
	case "vlan-stacked":
		tags = 3
	case "fragment":
		frag = true
	}
	hdr := ethLen + tags*vlanLen + ipLen + udpLen
	p := b[hdr:]
	m := outMsg{typ: msgDiscover, xid: uint32(g.next()), mac: mac}
	n := buildMsg(p, &m)
	p[3] = 0 // hops: a client on the segment, not a relay
	switch hostileKinds[kind] {
	case "random-mac-request":
		m.typ = msgRequest
		m.reqAddr = 0xc6120000 | uint32(g.next()&0xffff) // 198.18.x.y
		m.serverID = 0xc6120000 | uint32(g.next()&0xffff)
		n = buildMsg(p, &m)
		p[3] = 0
	case "over-long-options":
		o := dhcpOptsOff
		for o < dhcpOptsOff+1200 {
			p[o], p[o+1], p[o+2] = 224+byte(o%31), 1, byte(o) // site-specific options 224-254
			o += 3
		}
		p[o], p[o+1], p[o+2] = 53, 1, msgDiscover
		p[o+3] = 255
		n = o + 4
	case "fuzzed":
		for i := 0; i < 8; i++ {
			v := g.next()
			p[int(v%uint64(n))] ^= byte(v>>32) | 1
		}
	default:
		n = breakMsg(p, n, hostileKinds[kind], g.fill)
	}
	putHeaders(b, mac, tags, frag, n)
	return hdr + n, kind
}

// putHeaders writes Ethernet (broadcast, from mac), tags VLAN tags, IPv4
// (0.0.0.0 -> 255.255.255.255, MF set if frag) and UDP (68 -> 67, no
// checksum) headers in front of an n-byte payload.
func putHeaders(b []byte, mac [6]byte, tags int, frag bool, n int) {
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], mac[:])
	o := 12
	for i := 0; i < tags; i++ {
		tpid := uint16(0x8100)
		if i == 0 {
			tpid = 0x88a8
		}
		binary.BigEndian.PutUint16(b[o:], tpid)
		binary.BigEndian.PutUint16(b[o+2:], uint16(100+i))
		o += vlanLen
	}
	binary.BigEndian.PutUint16(b[o:], 0x0800)
	o += 2
	ip := b[o : o+ipLen]
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:], uint16(ipLen+udpLen+n))
	binary.BigEndian.PutUint16(ip[4:], 0)
	binary.BigEndian.PutUint16(ip[6:], 0)
	if frag {
		binary.BigEndian.PutUint16(ip[6:], 0x2000) // MF, offset 0
	}
	ip[8], ip[9] = 64, 17
	ip[10], ip[11] = 0, 0
	copy(ip[12:16], []byte{0, 0, 0, 0})
	copy(ip[16:20], []byte{255, 255, 255, 255})
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
	udp := b[o+ipLen : o+ipLen+udpLen]
	binary.BigEndian.PutUint16(udp[0:], 68)
	binary.BigEndian.PutUint16(udp[2:], 67)
	binary.BigEndian.PutUint16(udp[4:], uint16(udpLen+n))
	binary.BigEndian.PutUint16(udp[6:], 0)
}

// ipChecksum is the IPv4 header checksum (RFC 791) of h with its checksum
// field zero.
func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
