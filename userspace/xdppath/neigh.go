//go:build linux

package xdppath

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Why a next hop has no MAC (the reply then goes through the fallback).
var (
	// errNeighUnresolved: the kernel has no usable neighbour entry yet;
	// resolution was requested.
	errNeighUnresolved = errors.New("next hop not resolved")
	// errOtherInterface: the route to the destination leaves through
	// another interface than the one the path serves.
	errOtherInterface = errors.New("route uses another interface")
)

// usableNUD are the neighbour states whose link-layer address can be used.
const usableNUD = netlink.NUD_REACHABLE | netlink.NUD_STALE | netlink.NUD_DELAY |
	netlink.NUD_PROBE | netlink.NUD_PERMANENT | netlink.NUD_NOARP

// resolver finds the next-hop MAC of an IPv4 destination out of one
// interface: route lookup, then the kernel neighbour table, cached for a
// short time. One per queue goroutine: it takes no lock.
type resolver struct {
	h       *netlink.Handle // bound to the interface's network namespace
	ifindex int
	ttl     time.Duration // positive entries
	retry   time.Duration // negative entries
	now     func() time.Time
	cache   map[netip.Addr]*neighEntry

	// lookups, misses and triggers count work done (read by Stats via
	// the owning queue).
	misses, triggers uint64
}

// neighEntry is a cached answer for one destination.
type neighEntry struct {
	mac       [6]byte
	err       error // nil: mac is valid
	until     time.Time
	nextHop   netip.Addr
	triggered time.Time // last resolution request for nextHop
}

// newResolver returns a resolver over h for ifindex.
func newResolver(h *netlink.Handle, ifindex int, ttl time.Duration) *resolver {
	return &resolver{
		h: h, ifindex: ifindex, ttl: ttl, retry: defaultNeighRetry,
		now: time.Now, cache: make(map[netip.Addr]*neighEntry),
	}
}

// lookup returns the MAC to send a frame for dst to. It fails with
// errNeighUnresolved (after asking the kernel to resolve the next hop),
// errOtherInterface, or a netlink error.
func (r *resolver) lookup(dst netip.Addr) ([6]byte, error) {
	now := r.now()
	e := r.cache[dst]
	if e != nil && now.Before(e.until) {
		return e.mac, e.err
	}
	if e == nil {
		if len(r.cache) >= maxNeighCache {
			r.evict(now)
		}
		e = &neighEntry{}
		r.cache[dst] = e
	}
	r.misses++
	mac, state, err := r.resolve(dst, e)
	e.mac, e.err = mac, err
	switch {
	case err == nil && state&(netlink.NUD_STALE|netlink.NUD_DELAY|netlink.NUD_PROBE) != 0:
		// Usable but unconfirmed: use it, and let the kernel confirm it
		// (we bypass the stack, so nothing else would).
		r.trigger(e, now)
		e.until = now.Add(r.ttl)
	case err == nil:
		e.until = now.Add(r.ttl)
	case errors.Is(err, errNeighUnresolved):
		r.trigger(e, now)
		e.until = now.Add(r.retry)
	default:
		e.until = now.Add(r.ttl)
	}
	return e.mac, e.err
}

// maxNeighCache bounds the per-queue cache (clients answered at ciaddr can
// be many); expired entries are evicted first, then everything.
const maxNeighCache = 4096

func (r *resolver) evict(now time.Time) {
	for k, e := range r.cache {
		if !now.Before(e.until) {
			delete(r.cache, k)
		}
	}
	if len(r.cache) >= maxNeighCache {
		clear(r.cache)
	}
}

// resolve asks the kernel for dst's next hop and its neighbour entry.
func (r *resolver) resolve(dst netip.Addr, e *neighEntry) ([6]byte, int, error) {
	var mac [6]byte
	a4 := dst.As4()
	routes, err := r.h.RouteGet(net.IP(a4[:]))
	if err != nil {
		return mac, 0, fmt.Errorf("route to %s: %w", dst, err)
	}
	if len(routes) == 0 {
		return mac, 0, fmt.Errorf("route to %s: %w", dst, unix.ENETUNREACH)
	}
	rt := routes[0]
	if rt.LinkIndex != r.ifindex {
		return mac, 0, fmt.Errorf("route to %s via ifindex %d: %w", dst, rt.LinkIndex, errOtherInterface)
	}
	nh := dst
	if gw, ok := netip.AddrFromSlice(rt.Gw.To4()); ok && !gw.IsUnspecified() {
		nh = gw
	}
	e.nextHop = nh
	neighs, err := r.h.NeighList(r.ifindex, netlink.FAMILY_V4)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return mac, 0, fmt.Errorf("neighbours of ifindex %d: %w", r.ifindex, err)
	}
	for _, n := range neighs {
		ip, ok := netip.AddrFromSlice(n.IP.To4())
		if !ok || ip != nh {
			continue
		}
		if n.State&usableNUD == 0 || len(n.HardwareAddr) != 6 {
			break
		}
		copy(mac[:], n.HardwareAddr)
		return mac, n.State, nil
	}
	return mac, 0, fmt.Errorf("neighbour %s of %s: %w", nh, dst, errNeighUnresolved)
}

// trigger asks the kernel to (re)resolve e's next hop, at most once per
// neighTriggerEvery: RTM_NEWNEIGH with NTF_USE runs neigh_event_send, which
// starts ARP for an unknown or stale entry without changing a valid one.
func (r *resolver) trigger(e *neighEntry, now time.Time) {
	if !e.nextHop.IsValid() || now.Sub(e.triggered) < neighTriggerEvery {
		return
	}
	e.triggered = now
	r.triggers++
	a4 := e.nextHop.As4()
	_ = r.h.NeighSet(&netlink.Neigh{
		LinkIndex: r.ifindex,
		Family:    netlink.FAMILY_V4,
		IP:        net.IP(a4[:]),
		Flags:     netlink.NTF_USE,
	})
}
