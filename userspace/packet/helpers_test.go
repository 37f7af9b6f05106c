package packet

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// refChecksum is a deliberately naive RFC 1071 checksum (16-bit words,
// 32-bit accumulator) used to cross-check the package's implementation.
func refChecksum(chunks ...[]byte) uint16 {
	var all []byte
	for _, c := range chunks {
		all = append(all, c...)
	}
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	var s uint32
	for i := 0; i < len(all); i += 2 {
		s += uint32(all[i])<<8 | uint32(all[i+1])
		s = (s & 0xffff) + (s >> 16)
	}
	return ^uint16(s)
}

// discoverPayload is a real DHCPDISCOVER as the UDP payload of test frames.
func discoverPayload(t testing.TB) []byte {
	t.Helper()
	m, err := dhcpv4.NewDiscovery(net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01})
	if err != nil {
		t.Fatalf("new discovery: %v", err)
	}
	return m.ToBytes()
}

// sampleFrame is a broadcast DISCOVER from 0.0.0.0:68 with n VLAN tags.
func sampleFrame(t testing.TB, n int) Frame {
	f := Frame{
		DstMAC:   [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		SrcMAC:   [6]byte{0x02, 0, 0, 0, 0, 0x01},
		NumVLANs: n,
		Src:      netip.AddrFrom4([4]byte{}),
		Dst:      Broadcast4,
		SrcPort:  ClientPort,
		DstPort:  ServerPort,
		TTL:      64,
		Payload:  discoverPayload(t),
	}
	f.VLANs = [MaxVLANs]uint16{0x2064, 0x00c8} // PCP 1 VID 100; VID 200
	for i := n; i < MaxVLANs; i++ {
		f.VLANs[i] = 0
	}
	return f
}

// encode builds a frame and fails the test on error.
func encode(t testing.TB, f *Frame) []byte {
	t.Helper()
	b, err := AppendFrame(nil, f)
	if err != nil {
		t.Fatalf("AppendFrame: %v", err)
	}
	return b
}

// ipOffset returns where the IPv4 header starts in an encoded frame.
func ipOffset(f *Frame) int { return EthernetHeaderLen + f.NumVLANs*VLANTagLen }

// fixIPChecksum recomputes the IPv4 header checksum after a test mutation.
func fixIPChecksum(b []byte, off int) {
	ihl := int(b[off]&0x0f) * 4
	binary.BigEndian.PutUint16(b[off+10:], 0)
	binary.BigEndian.PutUint16(b[off+10:], Checksum(b[off:off+ihl]))
}

// sameFrame compares every decoded field of two frames.
func sameFrame(a, b *Frame) bool {
	return a.DstMAC == b.DstMAC && a.SrcMAC == b.SrcMAC && a.NumVLANs == b.NumVLANs &&
		a.VLANs == b.VLANs && a.TPIDs == b.TPIDs && a.Src == b.Src && a.Dst == b.Dst &&
		a.SrcPort == b.SrcPort && a.DstPort == b.DstPort && a.TTL == b.TTL &&
		string(a.Payload) == string(b.Payload)
}
