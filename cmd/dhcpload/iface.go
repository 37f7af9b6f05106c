package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
)

// endpoint is the relay's side of the link: what every frame carries.
type endpoint struct {
	ifindex int
	srcMAC  [6]byte
	dstMAC  [6]byte
	giaddr  netip.Addr
	dst     netip.Addr
}

// resolve looks up the interface, the relay address and the next hop's
// MAC (broadcast: ff:ff:ff:ff:ff:ff). It runs in the caller's namespace.
func resolve(c *Config) (*endpoint, error) {
	ifi, err := net.InterfaceByName(c.Iface)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", c.Iface, err)
	}
	ep := &endpoint{ifindex: ifi.Index, giaddr: c.Giaddr, dst: c.Server}
	copy(ep.srcMAC[:], ifi.HardwareAddr)
	if !ep.giaddr.IsValid() {
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", c.Iface, err)
		}
		for _, a := range addrs {
			if p, ok := a.(*net.IPNet); ok {
				if v, ok := netip.AddrFromSlice(p.IP); ok && v.Unmap().Is4() {
					ep.giaddr = v.Unmap()
					break
				}
			}
		}
		if !ep.giaddr.IsValid() {
			return nil, fmt.Errorf("interface %s has no IPv4 address: set -giaddr", c.Iface)
		}
		if !allowedDest(ep.giaddr) {
			return nil, fmt.Errorf("relay address %s of %s: replies would go outside %v", ep.giaddr, c.Iface, allowedPrefixes)
		}
	}
	switch {
	case c.Broadcast():
		ep.dstMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	case c.ServerMAC != nil:
		copy(ep.dstMAC[:], c.ServerMAC)
	case len(ifi.HardwareAddr) == 0:
		// loopback and other link types without addresses: zero MAC
	default:
		mac, err := neighbour(ifi.Index, c.Server)
		if err != nil {
			return nil, err
		}
		ep.dstMAC = mac
	}
	return ep, nil
}

// neighbour returns the MAC of the next hop towards dst, triggering ARP
// with one empty UDP datagram to dst's discard port (9) when the
// neighbour table does not know it yet.
func neighbour(ifindex int, dst netip.Addr) ([6]byte, error) {
	hop := dst
	if routes, err := netlink.RouteGet(dst.AsSlice()); err == nil && len(routes) > 0 && routes[0].Gw != nil {
		if gw, ok := netip.AddrFromSlice(routes[0].Gw); ok {
			hop = gw.Unmap()
		}
	}
	lookup := func() ([6]byte, bool) {
		neighs, err := netlink.NeighList(ifindex, netlink.FAMILY_V4)
		if err != nil {
			return [6]byte{}, false
		}
		for _, n := range neighs {
			a, ok := netip.AddrFromSlice(n.IP)
			usable := n.State&(netlink.NUD_REACHABLE|netlink.NUD_STALE|netlink.NUD_DELAY|netlink.NUD_PROBE|netlink.NUD_PERMANENT|netlink.NUD_NOARP) != 0
			if ok && a.Unmap() == hop && usable && len(n.HardwareAddr) == 6 {
				return [6]byte(n.HardwareAddr), true
			}
		}
		return [6]byte{}, false
	}
	if mac, ok := lookup(); ok {
		return mac, nil
	}
	conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 9)))
	if err != nil {
		return [6]byte{}, fmt.Errorf("resolve mac of %s: %w", hop, err)
	}
	defer conn.Close()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		_, _ = conn.Write(nil)
		time.Sleep(100 * time.Millisecond)
		if mac, ok := lookup(); ok {
			return mac, nil
		}
	}
	return [6]byte{}, fmt.Errorf("resolve mac of %s: %w", hop, errNoNeighbour)
}

var errNoNeighbour = errors.New("no arp answer within 3 s (set -server-mac)")
