//go:build linux

// Package xdppath is xdhcpd's XDP/AF_XDP data path: it loads and attaches
// the XDP program (bpf), opens one AF_XDP socket per receive queue of an
// interface, registers each in the program's XSKMAP and runs one goroutine
// per queue that decodes the frames (packet), hands the DHCP payload to its
// own server.Worker and writes the reply frame straight into the socket's
// TX ring.
//
// # Hot path
//
// Each queue goroutine owns its socket, its server.Worker, its neighbour
// cache and its netlink handle: nothing is locked between queues. Frames
// are received and transmitted in batches (one Flush per batch); an RX
// frame goes back to the fill ring as soon as the server has parsed it.
//
// # Reply addressing (RFC 2131 §4.1)
//
// The engine's reply.Dest decides where a reply goes; the path builds the
// whole Ethernet/IPv4/UDP frame:
//
//	DestRelay      giaddr:67, MAC of the next hop towards giaddr
//	DestClientIP   ciaddr:68, MAC of the next hop towards ciaddr
//	DestL2Unicast  yiaddr:68 at chaddr (no ARP)
//	DestBroadcast  255.255.255.255:68 at ff:ff:ff:ff:ff:ff
//
// The source MAC is the interface's, the source IP the address the request
// was sent to when that is one of ours (unicast), else the interface's
// first IPv4 address; the source port is 67 and the request's VLAN tags
// are echoed. The next hop comes from the kernel's routing table and its
// neighbour table (cached per queue for a short time). When the next hop
// is unknown the path asks the kernel to resolve it (an RTM_NEWNEIGH with
// NTF_USE, as `ip neigh replace ADDR dev IF use` does) and sends this reply
// through Config.Fallback (the UDP path); so does a reply whose route
// leaves through another interface, and one for which no TX frame is free.
//
// # Counters
//
// Decode failures are dropped and counted in stats.Registry cells named
// xdp-rx-drop-<packet.Reason>; fallbacks in xdp-tx-fallback-<why>. Stats
// sums the sockets' counters and the path's own; Counters flattens them,
// with the XDP program's counters, for the metrics side.
//
// Kernel needs: those of package bpf (Linux 6.4 to load the program) and
// afxdp (need-wakeup, Linux 5.4); NTF_USE neighbour requests (Linux 4.x).
// Open, Start and Stop may run on any goroutine, but Open must run in the
// interface's network namespace.
package xdppath
