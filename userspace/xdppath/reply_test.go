//go:build linux

package xdppath

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/vishvananda/netlink"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/packet"
)

// TestReplyFrame checks the reply headers for each RFC 2131 §4.1
// destination, with the routes and the neighbour table pre-filled (no
// netlink: the route entries have not expired).
func TestReplyFrame(t *testing.T) {
	ifmac := [6]byte{2, 0, 0, 0, 0, 1}
	relayMAC := [6]byte{2, 0, 0, 0, 0, 0xfe}
	chaddr := net.HardwareAddr{2, 0, 0, 0, 0, 0x42}
	ifaddr := netip.MustParseAddr("198.18.0.2")
	now := time.Unix(1_800_000_000, 0)
	a := netip.MustParseAddr
	table := &neighTable{m: map[netip.Addr]neighInfo{
		a("198.18.7.1"): {mac: relayMAC, state: netlink.NUD_REACHABLE},
	}}
	nr := &resolver{table: table, now: func() time.Time { return now }, routes: map[netip.Addr]*routeEntry{
		a("198.18.7.1"):  {nextHop: a("198.18.7.1"), until: now.Add(time.Second)},
		a("198.18.7.9"):  {nextHop: a("198.18.7.9"), unresolved: errNeighUnresolved, until: now.Add(time.Second)},
		a("198.18.7.10"): {err: errOtherInterface, until: now.Add(time.Second)},
	}}
	p := &Path{ifname: "xs0", ifmac: ifmac, ifaddr: ifaddr}
	vlan := packet.Frame{NumVLANs: 2, VLANs: [2]uint16{100, 200}, TPIDs: [2]uint16{0x88a8, 0x8100}}
	tests := []struct {
		name    string
		req     packet.Frame
		reqDst  netip.Addr
		dest    packet.Destination
		wantMAC [6]byte
		wantSrc netip.Addr
		wantDst netip.AddrPort
		wantWhy string
	}{
		{name: "relay", reqDst: ifaddr,
			dest:    packet.Destination{Kind: packet.DestRelay, IP: a("198.18.7.1"), Port: 67},
			wantMAC: relayMAC, wantSrc: ifaddr, wantDst: netip.MustParseAddrPort("198.18.7.1:67")},
		{name: "relay sent to our second address", reqDst: a("198.18.0.3"),
			dest:    packet.Destination{Kind: packet.DestRelay, IP: a("198.18.7.1"), Port: 67},
			wantMAC: relayMAC, wantSrc: a("198.18.0.3"), wantDst: netip.MustParseAddrPort("198.18.7.1:67")},
		{name: "client ip", reqDst: ifaddr,
			dest:    packet.Destination{Kind: packet.DestClientIP, IP: a("198.18.7.1"), Port: 68},
			wantMAC: relayMAC, wantSrc: ifaddr, wantDst: netip.MustParseAddrPort("198.18.7.1:68")},
		{name: "l2 unicast, vlans echoed", req: vlan, reqDst: packet.Broadcast4,
			dest:    packet.Destination{Kind: packet.DestL2Unicast, IP: a("198.19.0.10"), Port: 68, MAC: chaddr},
			wantMAC: [6]byte(chaddr), wantSrc: ifaddr, wantDst: netip.MustParseAddrPort("198.19.0.10:68")},
		{name: "broadcast", reqDst: packet.Broadcast4,
			dest:    packet.Destination{Kind: packet.DestBroadcast, IP: packet.Broadcast4, Port: 68},
			wantMAC: broadcastMAC, wantSrc: ifaddr, wantDst: netip.MustParseAddrPort("255.255.255.255:68")},
		{name: "relay not resolved", reqDst: ifaddr,
			dest: packet.Destination{Kind: packet.DestRelay, IP: a("198.18.7.9"), Port: 67}, wantWhy: "neigh-unresolved"},
		{name: "relay through another interface", reqDst: ifaddr,
			dest: packet.Destination{Kind: packet.DestRelay, IP: a("198.18.7.10"), Port: 67}, wantWhy: "other-interface"},
		{name: "relay from a vlan", req: vlan, reqDst: ifaddr,
			dest: packet.Destination{Kind: packet.DestRelay, IP: a("198.18.7.1"), Port: 67}, wantWhy: "vlan-routed"},
		{name: "unknown kind", reqDst: ifaddr, dest: packet.Destination{Kind: 99}, wantWhy: "bad-destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &dhcp.Request{Dst: tt.reqDst}
			reply := &dhcp.Reply{Msg: &dhcpv4.DHCPv4{}, Dest: tt.dest}
			var out packet.Frame
			why, err := p.replyFrame(&tt.req, req, reply, nr, &out)
			if tt.wantWhy != "" {
				if err == nil || why != tt.wantWhy {
					t.Fatalf("why %q, err %v; want %q", why, err, tt.wantWhy)
				}
				return
			}
			if err != nil {
				t.Fatalf("reply frame: %s: %v", why, err)
			}
			if out.DstMAC != tt.wantMAC || out.SrcMAC != ifmac {
				t.Errorf("macs %x -> %x, want %x -> %x", out.SrcMAC, out.DstMAC, ifmac, tt.wantMAC)
			}
			if out.Src != tt.wantSrc || out.SrcPort != 67 {
				t.Errorf("source %s:%d, want %s:67", out.Src, out.SrcPort, tt.wantSrc)
			}
			if got := netip.AddrPortFrom(out.Dst, out.DstPort); got != tt.wantDst {
				t.Errorf("destination %s, want %s", got, tt.wantDst)
			}
			if out.NumVLANs != tt.req.NumVLANs || out.VLANs != tt.req.VLANs || out.TPIDs != tt.req.TPIDs {
				t.Errorf("vlans %d %v %x, want the request's %d %v %x", out.NumVLANs, out.VLANs, out.TPIDs,
					tt.req.NumVLANs, tt.req.VLANs, tt.req.TPIDs)
			}
			// The headers encode, and decode back to the same addressing.
			buf := make([]byte, 2048)
			n, err := packet.EncodeUDP(buf, &out, make([]byte, 300))
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			var back packet.Frame
			if err := (packet.DecodeOptions{VerifyUDPChecksum: true}).Decode(buf[:n], &back); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if back.Dst != out.Dst || back.DstMAC != out.DstMAC || back.NumVLANs != out.NumVLANs {
				t.Errorf("decoded %+v, encoded %+v", back, out)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	if _, err := (Config{}).withDefaults(); err == nil {
		t.Fatal("empty config accepted")
	}
	if _, err := (Config{Interface: "x", Mode: Mode(7)}).withDefaults(); err == nil {
		t.Fatal("unknown mode accepted")
	}
	for _, tt := range []struct{ in, want int }{{1, 1}, {2, 2}, {3, 4}, {2048, 2048}, {2049, 4096}} {
		if got := nextPow2(tt.in); got != tt.want {
			t.Errorf("nextPow2(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
