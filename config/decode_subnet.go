package config

import (
	"net/netip"
	"strings"
)

var subnetKeys = keys(append(append(append([]string{"id", "subnet", "pools", "reservations"},
	scopeKeys...), networkKeys...), unimplKeys(scopeUnimpl, subnetUnimpl)...)...)

var networkOnlyKeys = keys(append(append(append([]string{"name", "subnet4"},
	scopeKeys...), networkKeys...), unimplKeys(scopeUnimpl)...)...)

var poolKeys = keys("pool", "option-data", "client-class", "require-client-classes")

var relayKeys = keys("ip-address", "ip-addresses")

// sharedNetworks decodes shared-networks; names must be unique.
func (d *decoder) sharedNetworks(list []*Node, defs *OptionDefs, dh *Dhcp4) []*SharedNetwork {
	var out []*SharedNetwork
	seen := map[string]bool{}
	for _, n := range list {
		o := d.object(n, "shared-networks", "shared-networks", networkOnlyKeys)
		sn := &SharedNetwork{
			Pos:                  n.Pos,
			Name:                 o.str("name", ""),
			Scope:                d.scope(o),
			Interface:            o.str("interface", ""),
			Relay:                d.relay(o),
			ClientClass:          o.str("client-class", ""),
			RequireClientClasses: o.strList("require-client-classes"),
			OptionData:           d.optionData(o.list("option-data"), defs),
			UserContext:          o.userContext(),
			Comment:              o.comment(),
		}
		if d.err != nil {
			return nil
		}
		d.checkUnimpl(o, "shared-networks", scopeUnimpl)
		if sn.Name == "" {
			d.fail(n.Pos, "name", "parameter 'name' is required in shared-networks")
			return nil
		}
		if seen[sn.Name] {
			d.fail(n.Pos, "name", "A shared network with name %s already exists", sn.Name)
			return nil
		}
		seen[sn.Name] = true
		sn.Subnet4 = d.subnets(o.list("subnet4"), defs, sn, dh)
		out = append(out, sn)
	}
	return out
}

// subnets decodes a subnet4 list (ids are assigned later).
func (d *decoder) subnets(list []*Node, defs *OptionDefs, net *SharedNetwork, dh *Dhcp4) []*Subnet4 {
	var out []*Subnet4
	for _, n := range list {
		o := d.object(n, "subnet4", "subnet4", subnetKeys)
		s := &Subnet4{
			Pos:                  n.Pos,
			Scope:                d.scope(o),
			Interface:            o.str("interface", ""),
			Relay:                d.relay(o),
			ClientClass:          o.str("client-class", ""),
			RequireClientClasses: o.strList("require-client-classes"),
			OptionData:           d.optionData(o.list("option-data"), defs),
			UserContext:          o.userContext(),
			Comment:              o.comment(),
			Network:              net,
		}
		if id, ok := o.intIn("id", 0, 4294967294); ok {
			s.ID = uint32(id)
		}
		prefix := o.typed("subnet", KindString)
		if d.err != nil {
			return nil
		}
		d.checkUnimpl(o, "subnet4", scopeUnimpl, subnetUnimpl)
		if prefix == nil {
			d.fail(n.Pos, "subnet", "mandatory 'subnet' parameter is missing for a subnet being configured")
			return nil
		}
		p, err := netip.ParsePrefix(strings.TrimSpace(prefix.Str))
		if err != nil || !p.Addr().Is4() {
			d.fail(prefix.Pos, "subnet", "invalid subnet syntax (prefix/len expected):%s", prefix.Str)
			return nil
		}
		s.Subnet = p.Masked()
		s.Pools = d.pools(o.list("pools"), s, defs)
		s.Reservations = d.reservations(o.list("reservations"), s, defs, dh.IPReservationsUnique)
		out = append(out, s)
	}
	return out
}

// relay decodes the relay map of a subnet or shared network.
func (d *decoder) relay(o *obj) Relay {
	n := o.get("relay")
	if n == nil {
		return Relay{}
	}
	r := d.object(n, "relay", "relay", relayKeys)
	rel := Relay{Pos: n.Pos}
	if r.get("ip-address") != nil && r.get("ip-addresses") != nil {
		d.fail(n.Pos, "relay", "specify either ip-address or ip-addresses, not both")
		return rel
	}
	if a := r.addrp("ip-address"); a != nil {
		rel.Addrs = []netip.Addr{*a}
	}
	for _, e := range r.list("ip-addresses") {
		a, err := netip.ParseAddr(e.Str)
		if e.Kind != KindString || err != nil || !a.Is4() {
			d.fail(e.Pos, "ip-addresses", "address %q is not a valid IPv4 address", e.Str)
			return rel
		}
		rel.Addrs = append(rel.Addrs, a)
	}
	return rel
}

// pools decodes and checks the pools of subnet s.
func (d *decoder) pools(list []*Node, s *Subnet4, defs *OptionDefs) []*Pool {
	var out []*Pool
	for _, n := range list {
		o := d.object(n, "pools", "pools", poolKeys)
		p := &Pool{
			Pos:                  n.Pos,
			Raw:                  o.str("pool", ""),
			ClientClass:          o.str("client-class", ""),
			RequireClientClasses: o.strList("require-client-classes"),
			OptionData:           d.optionData(o.list("option-data"), defs),
			UserContext:          o.userContext(),
			Comment:              o.comment(),
		}
		if d.err != nil {
			return nil
		}
		if n.Get("pool") == nil {
			d.fail(n.Pos, "pool", "missing parameter 'pool'")
			return nil
		}
		first, last, ok := parsePool(p.Raw)
		if !ok {
			d.fail(n.Get("pool").Pos, "pool", "Failed to create pool defined by: %s", p.Raw)
			return nil
		}
		p.First, p.Last = first, last
		if !s.Subnet.Contains(first) || !s.Subnet.Contains(last) {
			d.fail(n.Pos, "pool", "a pool of type V4, with the following address range: %s-%s does not match the prefix of a subnet: %s to which it is being added", first, last, s.Subnet)
			return nil
		}
		for _, q := range out {
			if !(addrU32(p.Last) < addrU32(q.First) || addrU32(p.First) > addrU32(q.Last)) {
				d.fail(n.Pos, "pool", "a pool of type V4, with the following address range: %s-%s overlaps with an existing pool in the subnet: %s to which it is being added", first, last, s.Subnet)
				return nil
			}
		}
		out = append(out, p)
	}
	return out
}

// parsePool parses "a - b", "a-b" or "a/len".
func parsePool(raw string) (netip.Addr, netip.Addr, bool) {
	raw = strings.TrimSpace(raw)
	if i := strings.IndexByte(raw, '-'); i >= 0 {
		a, err1 := netip.ParseAddr(strings.TrimSpace(raw[:i]))
		b, err2 := netip.ParseAddr(strings.TrimSpace(raw[i+1:]))
		if err1 != nil || err2 != nil || !a.Is4() || !b.Is4() || addrU32(a) > addrU32(b) {
			return netip.Addr{}, netip.Addr{}, false
		}
		return a, b, true
	}
	p, err := netip.ParsePrefix(raw)
	if err != nil || !p.Addr().Is4() {
		return netip.Addr{}, netip.Addr{}, false
	}
	p = p.Masked()
	first := addrU32(p.Addr())
	last := first | (1<<(32-p.Bits()) - 1)
	if p.Bits() == 0 {
		last = ^uint32(0)
	}
	return p.Addr(), u32Addr(last), true
}
