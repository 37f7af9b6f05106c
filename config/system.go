package config

import (
	"net"
	"net/netip"
	"strings"
)

// System answers what Kea's IfaceMgr answers a configuration parser: does
// an interface exist on this host, and which addresses does it carry.
type System interface {
	// InterfaceAddrs returns the addresses of the named interface and
	// whether the interface exists.
	InterfaceAddrs(name string) ([]netip.Addr, bool)
}

// HostSystem is the System of the running host (its network namespace).
func HostSystem() System { return hostSystem{} }

type hostSystem struct{}

func (hostSystem) InterfaceAddrs(name string) ([]netip.Addr, bool) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, false
	}
	var out []netip.Addr
	if as, err := ifi.Addrs(); err == nil {
		for _, a := range as {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					out = append(out, ip.Unmap())
				}
			}
		}
	}
	return out, true
}

// CheckSystem (docs/kea/config-surface.md §13) applies the checks Kea 2.2 makes against the host while it
// parses a configuration, so that `xdhcpd -t` gives kea-dhcp4 -t's verdict
// on the same host:
//   - interfaces-config.interfaces: each name other than "*" must exist,
//     and a "name/address" entry needs that address on the interface
//     (cfg_iface.cc CfgIface::use: "interface 'X' doesn't exist in the
//     system", "interface 'X' doesn't have address 'A' assigned");
//   - a shared network's or subnet's "interface" must exist
//     (shared_network_parser.cc SharedNetwork4Parser::parse and
//     dhcp_parsers.cc Subnet4ConfigParser::initSubnet with check_iface_:
//     "Specified network interface name X for ... is not present in the
//     system").
//
// Kea's parser meets these in its order (interfaces-config, then
// shared-networks, then subnet4), and CheckSystem reports the first one.
func (c *Config) CheckSystem(sys System) error {
	d4 := c.root.Get("Dhcp4")
	if d4 == nil {
		return nil
	}
	if ic := d4.Get("interfaces-config"); ic != nil {
		if l := ic.Get("interfaces"); l != nil {
			for _, n := range l.List {
				if n.Kind != KindString {
					continue
				}
				if err := checkIfaceName(sys, n); err != nil {
					return err
				}
			}
		}
	}
	if sn := d4.Get("shared-networks"); sn != nil {
		for _, net := range sn.List {
			if err := checkScopeIface(sys, net, "shared network "+strOf(net.Get("name"))); err != nil {
				return err
			}
			if subs := net.Get("subnet4"); subs != nil {
				for _, s := range subs.List {
					if err := checkScopeIface(sys, s, "subnet "+strOf(s.Get("subnet"))); err != nil {
						return err
					}
				}
			}
		}
	}
	if subs := d4.Get("subnet4"); subs != nil {
		for _, s := range subs.List {
			if err := checkScopeIface(sys, s, "subnet "+strOf(s.Get("subnet"))); err != nil {
				return err
			}
		}
	}
	return nil
}

func strOf(n *Node) string {
	if n == nil || n.Kind != KindString {
		return ""
	}
	return n.Str
}

// checkIfaceName is CfgIface::use's host check for one interfaces-config
// entry (its syntax was checked by the decoder).
func checkIfaceName(sys System, n *Node) error {
	name, addrText, withAddr := strings.Cut(n.Str, "/")
	name = strings.TrimSpace(name)
	if name == "*" || name == "" {
		return nil
	}
	addrs, ok := sys.InterfaceAddrs(name)
	if !ok {
		return errAt(n.Pos, "interfaces-config", "Failed to select interface: interface '%s' doesn't exist in the system", name)
	}
	if !withAddr {
		return nil
	}
	a, err := netip.ParseAddr(strings.TrimSpace(addrText))
	if err != nil {
		return nil
	}
	for _, have := range addrs {
		if have == a {
			return nil
		}
	}
	return errAt(n.Pos, "interfaces-config", "Failed to select interface: interface '%s' doesn't have address '%s' assigned", name, a)
}

func checkScopeIface(sys System, scope *Node, what string) error {
	n := scope.Get("interface")
	if n == nil || n.Kind != KindString || n.Str == "" {
		return nil
	}
	if _, ok := sys.InterfaceAddrs(n.Str); !ok {
		return errAt(n.Pos, "interface", "Specified network interface name %s for %s is not present in the system", n.Str, what)
	}
	return nil
}
