package dhcp

import (
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/xdhcp/xdhcp/userspace/packet"

	"github.com/xdhcp/xdhcp/userspace/classify"
)

// raiLinkSelection is option 82 sub-option 5 (RFC 3527).
const raiLinkSelection = 5

// selectSubnet implements docs/kea/config-surface.md §9: link selection / subnet
// selection options, relay addresses, giaddr, ciaddr, source, interface.
func (x *exchange) selectSubnet() *subnet {
	m := x.e.m
	msg := x.req.Msg
	// 1. link-selection (82.5), else subnet-selection (118).
	if sel, ok := linkSelection(msg); ok {
		return m.firstContaining(sel, x.cls)
	}
	gi, relayed := packet.Addr4(msg.GatewayIPAddr)
	// 2. relay address lists.
	if relayed {
		for _, s := range m.subnets {
			if containsAddr(s.relays, gi) && s.allowed(x.cls) {
				return s
			}
		}
		return m.firstContaining(gi, x.cls)
	}
	bcast := x.req.Dst == packet.Broadcast4
	if ci, ok := packet.Addr4(msg.ClientIPAddr); ok && !bcast {
		return m.firstContaining(ci, x.cls)
	}
	if src := x.req.Src.Addr(); src.Is4() && !src.IsUnspecified() && !bcast {
		return m.firstContaining(src, x.cls)
	}
	if x.req.Iface != "" {
		for _, s := range m.subnets {
			if s.iface == x.req.Iface && s.allowed(x.cls) {
				return s
			}
		}
	}
	if x.req.IfAddr.Is4() {
		return m.firstContaining(x.req.IfAddr, x.cls)
	}
	return nil
}

// firstContaining returns the first allowed subnet whose prefix contains a.
func (m *model) firstContaining(a netip.Addr, cls *classify.Set) *subnet {
	for _, s := range m.subnets {
		if s.prefix.Contains(a) && s.allowed(cls) {
			return s
		}
	}
	return nil
}

// linkSelection returns the address of option 82.5 (exactly 4 bytes) or
// option 118.
func linkSelection(msg *dhcpv4.DHCPv4) (netip.Addr, bool) {
	if rai := msg.RelayAgentInfo(); rai != nil {
		if b := rai.Get(dhcpv4.GenericOptionCode(raiLinkSelection)); len(b) == 4 {
			return netip.AddrFrom4([4]byte(b)), true
		}
	}
	if b := msg.Options.Get(dhcpv4.OptionSubnetSelection); len(b) == 4 {
		return netip.AddrFrom4([4]byte(b)), true
	}
	return netip.Addr{}, false
}

// msgType is msg.MessageType() without its decoder's allocation: option 53
// when it is exactly one byte, else MessageTypeNone.
func msgType(msg *dhcpv4.DHCPv4) dhcpv4.MessageType {
	if b := msg.Options.Get(dhcpv4.OptionDHCPMessageType); len(b) == 1 {
		return dhcpv4.MessageType(b[0])
	}
	return dhcpv4.MessageTypeNone
}

// requestedIP is packet.Addr4(msg.RequestedIPAddress()) without its decoder's
// allocation: option 50 when it is exactly 4 bytes and not 0.0.0.0.
func requestedIP(msg *dhcpv4.DHCPv4) (netip.Addr, bool) {
	b := msg.Options.Get(dhcpv4.OptionRequestedIPAddress)
	if len(b) != 4 {
		return netip.Addr{}, false
	}
	a := netip.AddrFrom4([4]byte(b))
	return a, !a.IsUnspecified()
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}
