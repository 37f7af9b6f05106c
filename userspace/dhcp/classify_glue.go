package dhcp

// TEMPORARY: userspace/classify is not on disk yet. This file is the only
// place that will reference it; it is replaced by the real glue once the
// package exists.

import (
	"errors"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

type classPacket struct {
	Msg      *dhcpv4.DHCPv4
	Iface    string
	Src, Dst netip.Addr
	Len      int
}

type classExpr interface {
	Eval(p *classPacket, member func(string) bool) (bool, error)
}

func compileExpr(string) (classExpr, error) {
	return nil, errors.New("expression support unavailable")
}

func (x *exchange) classifyPacket() *classPacket {
	if x.pkt == nil {
		x.pkt = &classPacket{Msg: x.req.Msg, Iface: x.req.Iface, Src: x.req.Src.Addr(), Dst: x.req.Dst, Len: x.req.Len}
	}
	return x.pkt
}
