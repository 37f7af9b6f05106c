package classify

import (
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// labPacket builds the spec's lab packet: a relayed DISCOVER from chaddr
// 0a:0b:0c:0d:0e:0f, xid 0x11223344, option 60 "MSFT 5.0", option 61
// 01:0a:0b:0c:0d:0e:0f, option 12 "MyHost", option 50 127.0.100.9,
// option 57 1500, option 82 with sub-options 1="eth0" and 2=0x0102,
// giaddr/src 127.0.0.2, dst 127.0.0.1, iface lo, length 296.
func labPacket() *Packet {
	msg := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootRequest,
		HWType:        iana.HWTypeEthernet,
		HopCount:      1,
		TransactionID: dhcpv4.TransactionID{0x11, 0x22, 0x33, 0x44},
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: net.IPv4(127, 0, 0, 2),
		ClientHWAddr:  net.HardwareAddr{0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f},
		Options: dhcpv4.Options{
			53: {1},
			60: []byte("MSFT 5.0"),
			61: {0x01, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f},
			12: []byte("MyHost"),
			50: {127, 0, 100, 9},
			57: {0x05, 0xdc},
			82: {1, 4, 'e', 't', 'h', '0', 2, 2, 0x01, 0x02},
		},
	}
	return &Packet{
		Msg:   msg,
		Iface: "lo",
		Src:   netip.MustParseAddr("127.0.0.2"),
		Dst:   netip.MustParseAddr("127.0.0.1"),
		Len:   296,
	}
}

// withOptions returns a copy of p whose message has extra options set
// (nil data deletes the option).
func withOptions(p *Packet, opts map[uint8][]byte) *Packet {
	q := *p
	m := *p.Msg
	m.Options = dhcpv4.Options{}
	for k, v := range p.Msg.Options {
		m.Options[k] = v
	}
	for k, v := range opts {
		if v == nil {
			delete(m.Options, k)
			continue
		}
		m.Options[k] = v
	}
	q.Msg = &m
	return &q
}

// evalString compiles and evaluates a string expression (test helper; the
// public API only evaluates boolean tests).
func evalString(expr string, p *Packet) ([]byte, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	ps := &parser{src: expr, toks: toks, e: &Expr{src: expr}}
	f, err := ps.parseStr()
	if err != nil {
		return nil, err
	}
	if ps.peek().kind != tEOF {
		return nil, ps.unexpected("end of expression")
	}
	c := getCtx(p)
	defer putCtx(c)
	v, err := f(c)
	return append([]byte(nil), v...), err
}
