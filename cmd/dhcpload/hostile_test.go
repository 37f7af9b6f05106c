package main

import (
	"encoding/binary"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/packet"
)

// TestBuildHostile checks that each hostile kind is the frame its name
// promises: headers a receiver accepts (or, for the fragment and the VLAN
// stack, exactly the layering that makes it special) around the payload.
func TestBuildHostile(t *testing.T) {
	g := newHostileGen(42)
	seen := map[[6]byte]int{}
	for seq := uint64(0); seq < 3*uint64(len(hostileKinds)); seq++ {
		b := make([]byte, 2048)
		n, kind := g.build(b, seq)
		if kind != int(seq%uint64(len(hostileKinds))) {
			t.Fatalf("seq %d: kind %d", seq, kind)
		}
		name := hostileKinds[kind]
		f := b[:n]
		if [6]byte(f[0:6]) != [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} || f[6]&0x03 != 0x02 {
			t.Errorf("%s: dst %x src %x: want broadcast from a local unicast MAC", name, f[0:6], f[6:12])
		}
		if name == "vlan-stacked" {
			if binary.BigEndian.Uint16(f[12:]) != 0x88a8 || binary.BigEndian.Uint16(f[16:]) != 0x8100 ||
				binary.BigEndian.Uint16(f[20:]) != 0x8100 || binary.BigEndian.Uint16(f[24:]) != 0x0800 {
				t.Errorf("vlan-stacked: tags %x", f[12:26])
			}
			continue
		}
		var fr packet.Frame
		if err := packet.Decode(f, &fr); err != nil {
			if name == "fragment" {
				continue
			}
			t.Fatalf("%s: decode: %v", name, err)
		}
		if name == "fragment" {
			t.Errorf("fragment decoded as a whole datagram")
		}
		if fr.Src.String() != "0.0.0.0" || fr.Dst.String() != "255.255.255.255" || fr.SrcPort != 68 || fr.DstPort != 67 {
			t.Errorf("%s: %v:%d -> %v:%d", name, fr.Src, fr.SrcPort, fr.Dst, fr.DstPort)
		}
		if ipChecksum(f[14:34]) != 0 {
			t.Errorf("%s: IPv4 checksum does not verify", name)
		}
		switch name {
		case "random-mac-discover", "repeat-mac-discover", "random-mac-request", "over-long-options":
			d, err := dhcpv4.FromBytes(fr.Payload)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want := dhcpv4.MessageTypeDiscover
			if name == "random-mac-request" {
				want = dhcpv4.MessageTypeRequest
			}
			if d.MessageType() != want || d.HopCount != 0 || !d.GatewayIPAddr.IsUnspecified() || [6]byte(d.ClientHWAddr) != [6]byte(f[6:12]) {
				t.Errorf("%s: %s hops %d giaddr %v chaddr %v src %x", name, d.MessageType(), d.HopCount, d.GatewayIPAddr, d.ClientHWAddr, f[6:12])
			}
			if name == "over-long-options" && len(fr.Payload) < 1200 {
				t.Errorf("over-long-options: %d bytes", len(fr.Payload))
			}
			if name == "repeat-mac-discover" {
				seen[[6]byte(d.ClientHWAddr)]++
			}
		case "truncated":
			if len(fr.Payload) >= dhcpHeaderLen {
				t.Errorf("truncated: %d bytes", len(fr.Payload))
			}
		}
	}
	if len(seen) != 3 { // three rounds, three different repeating MACs so far
		t.Errorf("repeat-mac-discover MACs: %v", seen)
	}
}
