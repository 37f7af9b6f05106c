//go:build linux

// Package xdppath is xdhcpd's XDP/AF_XDP data path: it loads and attaches
// the XDP program (bpf), opens one AF_XDP socket per receive queue of an
// interface, registers each in the program's XSKMAP and runs one goroutine
// per queue that decodes the frames (packet) and queues the DHCP payloads
// for the queue's own pool of handler goroutines (each with its own
// server.Worker); the replies come back to the queue goroutine, which
// writes the reply frames straight into the socket's TX ring.
//
// # Hot path
//
// Each queue goroutine alone owns its socket (RX, fill, TX and completion
// rings), its route cache and its netlink handle. It copies each
// request's payload out of the UMEM frame into a recycled job buffer and
// gives the frames back to the fill ring at once, so requests that wait in
// the engine (an HA lease update parks the ACK until the partner answers)
// neither starve the fill ring nor hold up the queue. The jobs go into the
// queue's bounded work queue (Config.QueueSize, from packet-queue-size):
// when it is full the oldest queued request is dropped and counted as the
// server counts queue-full drops (pkt4-received, pkt4-receive-drop,
// pkt4-receive-drop-queue-full). Config.Handlers goroutines (from
// thread-pool-size) run the server.Worker on the jobs; a reply is handed
// back to the queue goroutine, which builds and submits the frame. The
// queue goroutine waits for RX frames and for replies (an eventfd a
// handler writes when the goroutine sleeps) in one epoll instance parked
// in the Go runtime's network poller, not in a blocking poll(2), so the
// handlers it wakes run at once. A reply that then cannot be sent is
// moved from pkt4-sent to pkt4-send-failed.
// Frames are received and transmitted in batches (one Flush per loop).
// Work queue, reply box and eventfd are per queue: nothing is locked
// between queues.
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
// are echoed. The next hop comes from the kernel's routing table (one
// RTM_GETROUTE per destination, cached per queue for Config.NeighTTL) and
// its MAC from the path's mirror of the interface's neighbour table, which
// one goroutine keeps current from a netlink subscription (RTNLGRP_NEIGH;
// the kernel's table is dumped once per subscription, never per lookup).
// When the next hop is missing or unusable (a miss, counted in
// Stats.NeighMisses and xdp-tx-fallback-neigh-unresolved) the reply goes
// through Config.Fallback (the UDP path, whose kernel socket resolves ARP
// itself) and the table goroutine asks the kernel to resolve the next hop
// (an RTM_NEWNEIGH with NTF_USE, as `ip neigh replace ADDR dev IF use`
// does); the answer arrives as an event. So does a reply whose route
// leaves through another interface, and one for which no TX frame is free.
//
// # Failures
//
// A queue whose socket fails (poll, receive or TX kick error) unregisters
// it from the XSKMAP at once, so its frames take XDP_PASS to the kernel
// stack and the UDP path, and binds a new socket (bounded retries with
// back-off; xdp-queue-restarts). If it cannot, or it failed too often in a
// minute, the queue stays with the kernel path (xdp-queue-handed-to-kernel)
// and its replies pending on the HA partner leave through the fallback
// (xdp-tx-fallback-queue-down). Each event is logged once. A panic while
// processing one frame drops that frame (xdp-rx-drop-panic, logged with
// its stack); a panic elsewhere in a path goroutine exits the process
// (internal/crash).
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
