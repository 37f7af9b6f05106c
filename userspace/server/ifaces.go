package server

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// ifaceSpec is one parsed interfaces-config.interfaces entry.
type ifaceSpec struct {
	name string     // "" for "*"
	addr netip.Addr // from "name/addr"; invalid if absent
}

// parseInterfaces parses "eth0", "eth0/192.0.2.1" and "*" entries.
func parseInterfaces(list []string) ([]ifaceSpec, error) {
	specs := make([]ifaceSpec, 0, len(list))
	for _, e := range list {
		if e == "*" {
			specs = append(specs, ifaceSpec{})
			continue
		}
		name, addr, hasAddr := strings.Cut(e, "/")
		if name == "" {
			return nil, fmt.Errorf("interface %q: empty name", e)
		}
		sp := ifaceSpec{name: name}
		if hasAddr {
			a, err := netip.ParseAddr(addr)
			if err != nil || !a.Is4() {
				return nil, fmt.Errorf("interface %q: %q is not an IPv4 address", e, addr)
			}
			sp.addr = a
		}
		specs = append(specs, sp)
	}
	return specs, nil
}

// ifaceInfo is a configured receiving interface.
type ifaceInfo struct {
	name  string
	index int
	addr  netip.Addr // IPv4 address for replies; invalid if it has none
	// loopback interfaces get a socket bound to addr instead of the device
	loopback bool
	// bcasts are the subnet broadcast addresses of its IPv4 prefixes: a
	// datagram sent to one was not unicast to us (admission.RelayKey).
	bcasts []netip.Addr
}

// resolveInterfaces maps each configured interface's index to its name and
// IPv4 address, in the calling thread's network namespace. "*" selects every interface except loopback; loopback is
// used only when named. A named interface that does not exist, or a
// "name/addr" whose address is not on the interface, is an error.
func resolveInterfaces(specs []ifaceSpec) (map[int]ifaceInfo, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	byName := make(map[string]net.Interface, len(all))
	for _, ifc := range all {
		byName[ifc.Name] = ifc
	}
	out := make(map[int]ifaceInfo)
	for _, sp := range specs {
		if sp.name == "" {
			for _, ifc := range all {
				if ifc.Flags&net.FlagLoopback != 0 {
					continue
				}
				if _, dup := out[ifc.Index]; dup {
					continue
				}
				out[ifc.Index] = ifaceInfo{name: ifc.Name, index: ifc.Index, addr: firstIPv4(&ifc), bcasts: ifaceBroadcasts(&ifc)}
			}
			continue
		}
		ifc, ok := byName[sp.name]
		if !ok {
			return nil, fmt.Errorf("interface %q: %w", sp.name, errNoSuchInterface)
		}
		info := ifaceInfo{name: ifc.Name, index: ifc.Index, addr: firstIPv4(&ifc), loopback: ifc.Flags&net.FlagLoopback != 0,
			bcasts: ifaceBroadcasts(&ifc)}
		if sp.addr.IsValid() {
			if !hasAddr(&ifc, sp.addr) {
				return nil, fmt.Errorf("interface %q: address %s is not configured on it", sp.name, sp.addr)
			}
			info.addr = sp.addr
		}
		out[ifc.Index] = info // an explicit entry overrides "*"
	}
	return out, nil
}

var errNoSuchInterface = errors.New("no such interface")

// ifaceAddrs returns the interface's IPv4 addresses.
func ifaceAddrs(ifc *net.Interface) []netip.Addr {
	addrs, err := ifc.Addrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is4() {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

// ifaceBroadcasts returns the subnet broadcast address of each of the
// interface's IPv4 prefixes shorter than /31.
func ifaceBroadcasts(ifc *net.Interface) []netip.Addr {
	addrs, err := ifc.Addrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip4 := n.IP.To4()
		ones, bits := n.Mask.Size()
		if ip4 == nil || bits != 32 || ones >= 31 {
			continue
		}
		var b [4]byte
		for i := range b {
			b[i] = ip4[i] | ^n.Mask[len(n.Mask)-4+i]
		}
		out = append(out, netip.AddrFrom4(b))
	}
	return out
}

func firstIPv4(ifc *net.Interface) netip.Addr {
	if a := ifaceAddrs(ifc); len(a) > 0 {
		return a[0]
	}
	return netip.Addr{}
}

func hasAddr(ifc *net.Interface, want netip.Addr) bool {
	for _, a := range ifaceAddrs(ifc) {
		if a == want {
			return true
		}
	}
	return false
}
