package packet

import (
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func TestReplyDestination(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0, 0x5e, 0x10, 0x20, 0x30}
	giaddr := net.IPv4(192, 0, 2, 1)
	ciaddr := net.IPv4(198, 18, 0, 50)
	yiaddr := net.IPv4(198, 18, 0, 77)
	tests := []struct {
		name     string
		giaddr   net.IP
		ciaddr   net.IP
		bcast    bool
		hw       net.HardwareAddr
		respType dhcpv4.MessageType
		yiaddr   net.IP
		want     Destination
	}{
		{name: "relayed offer", giaddr: giaddr, hw: mac, respType: dhcpv4.MessageTypeOffer, yiaddr: yiaddr,
			want: Destination{Kind: DestRelay, IP: netip.MustParseAddr("192.0.2.1"), Port: ServerPort}},
		{name: "relayed offer with broadcast flag", giaddr: giaddr, bcast: true, hw: mac, respType: dhcpv4.MessageTypeOffer, yiaddr: yiaddr,
			want: Destination{Kind: DestRelay, IP: netip.MustParseAddr("192.0.2.1"), Port: ServerPort}},
		{name: "relayed nak goes to the relay", giaddr: giaddr, ciaddr: ciaddr, hw: mac, respType: dhcpv4.MessageTypeNak,
			want: Destination{Kind: DestRelay, IP: netip.MustParseAddr("192.0.2.1"), Port: ServerPort}},
		{name: "nak without giaddr is broadcast even with ciaddr", ciaddr: ciaddr, hw: mac, respType: dhcpv4.MessageTypeNak,
			want: Destination{Kind: DestBroadcast, IP: Broadcast4, Port: ClientPort}},
		{name: "nak without giaddr or ciaddr", hw: mac, respType: dhcpv4.MessageTypeNak,
			want: Destination{Kind: DestBroadcast, IP: Broadcast4, Port: ClientPort}},
		{name: "renewing client with ciaddr", ciaddr: ciaddr, hw: mac, respType: dhcpv4.MessageTypeAck, yiaddr: ciaddr,
			want: Destination{Kind: DestClientIP, IP: netip.MustParseAddr("198.18.0.50"), Port: ClientPort}},
		{name: "ciaddr wins over broadcast flag", ciaddr: ciaddr, bcast: true, hw: mac, respType: dhcpv4.MessageTypeAck, yiaddr: ciaddr,
			want: Destination{Kind: DestClientIP, IP: netip.MustParseAddr("198.18.0.50"), Port: ClientPort}},
		{name: "inform ack to ciaddr without yiaddr", ciaddr: ciaddr, hw: mac, respType: dhcpv4.MessageTypeAck,
			want: Destination{Kind: DestClientIP, IP: netip.MustParseAddr("198.18.0.50"), Port: ClientPort}},
		{name: "broadcast flag", bcast: true, hw: mac, respType: dhcpv4.MessageTypeOffer, yiaddr: yiaddr,
			want: Destination{Kind: DestBroadcast, IP: Broadcast4, Port: ClientPort}},
		{name: "l2 unicast to chaddr", hw: mac, respType: dhcpv4.MessageTypeOffer, yiaddr: yiaddr,
			want: Destination{Kind: DestL2Unicast, IP: netip.MustParseAddr("198.18.0.77"), Port: ClientPort, MAC: mac}},
		{name: "no yiaddr falls back to broadcast", hw: mac, respType: dhcpv4.MessageTypeAck,
			want: Destination{Kind: DestBroadcast, IP: Broadcast4, Port: ClientPort}},
		{name: "non-ethernet chaddr falls back to broadcast", hw: net.HardwareAddr{1, 2, 3, 4, 5, 6, 7, 8}, respType: dhcpv4.MessageTypeOffer, yiaddr: yiaddr,
			want: Destination{Kind: DestBroadcast, IP: Broadcast4, Port: ClientPort}},
		{name: "zero giaddr is not a relay", giaddr: net.IPv4zero, hw: mac, respType: dhcpv4.MessageTypeOffer, yiaddr: yiaddr,
			want: Destination{Kind: DestL2Unicast, IP: netip.MustParseAddr("198.18.0.77"), Port: ClientPort, MAC: mac}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &dhcpv4.DHCPv4{
				OpCode:        dhcpv4.OpcodeBootRequest,
				ClientHWAddr:  tt.hw,
				GatewayIPAddr: orZero(tt.giaddr),
				ClientIPAddr:  orZero(tt.ciaddr),
				Options:       dhcpv4.Options{},
			}
			if tt.bcast {
				req.SetBroadcast()
			}
			resp := &dhcpv4.DHCPv4{OpCode: dhcpv4.OpcodeBootReply, YourIPAddr: orZero(tt.yiaddr), Options: dhcpv4.Options{}}
			resp.UpdateOption(dhcpv4.OptMessageType(tt.respType))
			got := ReplyDestination(req, resp)
			if got.Kind != tt.want.Kind || got.IP != tt.want.IP || got.Port != tt.want.Port || got.MAC.String() != tt.want.MAC.String() {
				t.Errorf("ReplyDestination = {%v %v %d %v}, want {%v %v %d %v}",
					got.Kind, got.IP, got.Port, got.MAC, tt.want.Kind, tt.want.IP, tt.want.Port, tt.want.MAC)
			}
		})
	}
}

func orZero(ip net.IP) net.IP {
	if ip == nil {
		return net.IPv4zero
	}
	return ip
}

func TestDestKindString(t *testing.T) {
	for k, want := range map[DestKind]string{DestRelay: "relay", DestClientIP: "client-ip", DestL2Unicast: "l2-unicast", DestBroadcast: "broadcast", 0: "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("DestKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// TestReplySource: the one source-address rule of every transport.
func TestReplySource(t *testing.T) {
	ifaddr := netip.MustParseAddr("198.18.0.2")
	for _, tt := range []struct{ dst, want string }{
		{"198.18.0.2", "198.18.0.2"},
		{"198.18.0.3", "198.18.0.3"},
		{"255.255.255.255", "198.18.0.2"},
		{"198.18.0.255", "198.18.0.2"},
		{"0.0.0.0", "198.18.0.2"},
		{"224.0.0.1", "198.18.0.2"},
	} {
		if got := ReplySource(netip.MustParseAddr(tt.dst), ifaddr); got.String() != tt.want {
			t.Errorf("ReplySource(%s) = %s, want %s", tt.dst, got, tt.want)
		}
	}
}
