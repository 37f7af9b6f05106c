//go:build linux

package xdppath

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/crash"
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

// unconfirmedNUD are usable states the kernel wants confirmed: we bypass
// the stack, so nothing else would make it probe.
const unconfirmedNUD = netlink.NUD_STALE | netlink.NUD_DELAY | netlink.NUD_PROBE

// Bounds of the neighbour table's background work.
const (
	// maxNeighEntries bounds the mirrored table (the kernel's own is
	// bounded by gc_thresh3, 1024 by default).
	maxNeighEntries = 1 << 16
	// neighResolveQueue is how many resolution requests may wait for the
	// table goroutine; more are dropped (and counted): the next reply to
	// the same next hop asks again.
	neighResolveQueue = 256
	// neighRcvBuf is the subscription socket's receive buffer: an
	// overflow loses events and costs a resubscription (and a dump).
	neighRcvBuf = 1 << 20
	// neighResubscribeMax bounds the back-off between resubscriptions.
	neighResubscribeMax = 5 * time.Second
)

// neighTable mirrors the interface's IPv4 neighbour table from a netlink
// subscription (RTNLGRP_NEIGH) in the interface's network namespace, so a
// lookup never asks the kernel: the queue goroutines read it under a read
// lock. It is shared by the path's queues.
//
// One goroutine owns the subscription. It applies every event, and it
// sends the resolution requests (RTM_NEWNEIGH with NTF_USE) the queues
// post without blocking. The table is dumped once per subscription (the
// subscription's ListExisting); when the subscription fails (for example
// its socket overflowed and events were lost) the table is cleared and the
// goroutine subscribes again, dumping again, with a bounded back-off.
type neighTable struct {
	ifindex int
	log     zerolog.Logger
	ns      netns.NsHandle // the interface's namespace (the Path's)
	h       *netlink.Handle

	mu sync.RWMutex
	m  map[netip.Addr]neighInfo

	resolve chan netip.Addr
	stop    chan struct{}
	done    chan struct{}

	// Counters (read by Stats and tests).
	subscriptions atomic.Uint64 // each one dumps the kernel's table once
	events        atomic.Uint64 // neighbour messages applied (dump rows included)
	triggers      atomic.Uint64 // resolution requests sent to the kernel
	triggerDrops  atomic.Uint64 // resolution requests dropped: queue full
}

// neighInfo is one mirrored neighbour entry.
type neighInfo struct {
	mac   [6]byte
	state int
}

// openNeighTable subscribes to the neighbour events of ifindex in the
// network namespace ns (which the caller keeps open until close), starts
// the table's goroutine and returns once the subscription is in place
// (the dump arrives shortly after; until then lookups miss and replies
// take the fallback).
func openNeighTable(ifindex int, ns netns.NsHandle, log zerolog.Logger) (_ *neighTable, err error) {
	t := &neighTable{
		ifindex: ifindex, log: log, ns: ns,
		m:       make(map[netip.Addr]neighInfo),
		resolve: make(chan netip.Addr, neighResolveQueue),
		stop:    make(chan struct{}), done: make(chan struct{}),
	}
	defer func() {
		if err != nil && t.h != nil {
			t.h.Close()
		}
	}()
	if err := doInNetns(log, ns, func() error {
		var err error
		t.h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	}); err != nil {
		return nil, fmt.Errorf("neighbour table: netlink: %w", err)
	}
	sub, err := t.subscribe()
	if err != nil {
		return nil, err
	}
	go t.run(sub)
	return t, nil
}

// subscription is one NeighSubscribeWithOptions: its update channel, the
// channel that ends it, and the error that ended it (set before updates
// is closed).
type subscription struct {
	updates chan netlink.NeighUpdate
	end     chan struct{}
	mu      sync.Mutex
	err     error
}

func (s *subscription) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// subscribe opens a subscription that starts with a dump of the table.
func (t *neighTable) subscribe() (*subscription, error) {
	s := &subscription{updates: make(chan netlink.NeighUpdate, 64), end: make(chan struct{})}
	// The socket is created in the calling thread's namespace.
	err := doInNetns(t.log, t.ns, func() error {
		return netlink.NeighSubscribeWithOptions(s.updates, s.end, netlink.NeighSubscribeOptions{
			ListExisting:      true,
			ReceiveBufferSize: neighRcvBuf,
			ErrorCallback:     s.fail,
		})
	})
	if err != nil {
		close(s.end)
		return nil, fmt.Errorf("neighbour table: subscribe in netns: %w", err)
	}
	t.subscriptions.Add(1)
	return s, nil
}

// run applies events and sends resolution requests until close.
func (t *neighTable) run(s *subscription) {
	defer crash.Recover(t.log, "xdp-neigh")
	defer close(t.done)
	last := make(map[netip.Addr]time.Time) // last request per next hop
	backoff := 10 * time.Millisecond
	for {
		if s == nil {
			// Resubscribe after a bounded back-off; stop still works.
			select {
			case <-t.stop:
				return
			case <-time.After(backoff):
			}
			var err error
			if s, err = t.subscribe(); err != nil {
				backoff = min(2*backoff, neighResubscribeMax)
				t.log.Error().Err(err).Dur("retry-in", backoff).Msg("neighbour subscription failed")
				continue
			}
			backoff = 10 * time.Millisecond
			t.log.Info().Msg("neighbour subscription restored")
		}
		select {
		case <-t.stop:
			close(s.end)
			for range s.updates { // let the library's goroutine finish
			}
			return
		case u, ok := <-s.updates:
			if !ok {
				s.mu.Lock()
				err := s.err
				s.mu.Unlock()
				t.log.Warn().Err(err).Msg("neighbour subscription ended; clearing the table and subscribing again")
				close(s.end)
				t.mu.Lock()
				clear(t.m)
				t.mu.Unlock()
				s = nil
				continue
			}
			t.apply(u)
		case nh := <-t.resolve:
			t.request(nh, last)
		}
	}
}

// apply records one neighbour message of our interface.
func (t *neighTable) apply(u netlink.NeighUpdate) {
	n := u.Neigh
	if n.LinkIndex != t.ifindex || n.Family != netlink.FAMILY_V4 {
		return
	}
	ip, ok := netip.AddrFromSlice(n.IP.To4())
	if !ok {
		return
	}
	t.events.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if u.Type == unix.RTM_DELNEIGH {
		delete(t.m, ip)
		return
	}
	var e neighInfo
	e.state = n.State
	if len(n.HardwareAddr) == 6 {
		e.mac = [6]byte(n.HardwareAddr)
	} else {
		e.state &^= usableNUD // no address to use
	}
	if _, ok := t.m[ip]; !ok && len(t.m) >= maxNeighEntries {
		return
	}
	t.m[ip] = e
}

// get returns the mirrored entry of ip.
func (t *neighTable) get(ip netip.Addr) (neighInfo, bool) {
	t.mu.RLock()
	e, ok := t.m[ip]
	t.mu.RUnlock()
	return e, ok
}

// ask posts a resolution request for nh without blocking.
func (t *neighTable) ask(nh netip.Addr) {
	select {
	case t.resolve <- nh:
	default:
		t.triggerDrops.Add(1)
	}
}

// request asks the kernel to (re)resolve nh, at most once per
// neighTriggerEvery: RTM_NEWNEIGH with NTF_USE runs neigh_event_send,
// which starts ARP for an unknown or stale entry without changing a valid
// one. The answer arrives as a neighbour event.
func (t *neighTable) request(nh netip.Addr, last map[netip.Addr]time.Time) {
	now := time.Now()
	if now.Sub(last[nh]) < neighTriggerEvery {
		return
	}
	if len(last) >= maxNeighEntries {
		clear(last)
	}
	last[nh] = now
	t.triggers.Add(1)
	a4 := nh.As4()
	if err := t.h.NeighSet(&netlink.Neigh{
		LinkIndex: t.ifindex,
		Family:    netlink.FAMILY_V4,
		IP:        net.IP(a4[:]),
		Flags:     netlink.NTF_USE,
	}); err != nil {
		t.log.Debug().Err(err).Stringer("next-hop", nh).Msg("neighbour resolution request")
	}
}

// close stops the goroutine and releases the subscription and handles.
func (t *neighTable) close() {
	close(t.stop)
	<-t.done
	t.h.Close()
}

// resolver finds the next-hop MAC of an IPv4 destination out of one
// interface: the route (asked from the kernel once per destination and
// cached for ttl) and the next hop's entry in the shared neighTable. One
// per queue goroutine: it takes no lock of its own.
type resolver struct {
	h       *netlink.Handle // route lookups, in the interface's namespace
	table   *neighTable
	ifindex int
	ttl     time.Duration // route cache lifetime
	now     func() time.Time
	routes  map[netip.Addr]*routeEntry

	// Work done, read by Stats via the owning queue: next hops missing
	// from the table (their replies took the fallback) and route lookups.
	misses, routeLookups uint64
}

// routeEntry is a cached route answer for one destination.
type routeEntry struct {
	nextHop    netip.Addr
	err        error // the route's own failure; nil if nextHop is valid
	unresolved error // errNeighUnresolved wrapped with nextHop, built once
	until      time.Time
	asked      time.Time // last resolution request posted for nextHop
}

// newResolver returns a resolver over h (route lookups) and table.
func newResolver(h *netlink.Handle, table *neighTable, ifindex int, ttl time.Duration) *resolver {
	return &resolver{
		h: h, table: table, ifindex: ifindex, ttl: ttl,
		now: time.Now, routes: make(map[netip.Addr]*routeEntry),
	}
}

// lookup returns the MAC to send a frame for dst to. It fails with
// errNeighUnresolved (after posting a resolution request),
// errOtherInterface, or a route error. It never reads the kernel's
// neighbour table.
func (r *resolver) lookup(dst netip.Addr) ([6]byte, error) {
	now := r.now()
	rt := r.routes[dst]
	if rt == nil || !now.Before(rt.until) {
		if rt == nil {
			if len(r.routes) >= maxRouteCache {
				r.evict(now)
			}
			rt = &routeEntry{}
			r.routes[dst] = rt
		}
		r.routeLookups++
		rt.nextHop, rt.err = r.route(dst)
		rt.unresolved = nil
		if rt.err == nil {
			rt.unresolved = fmt.Errorf("neighbour %s of %s: %w", rt.nextHop, dst, errNeighUnresolved)
		}
		rt.until = now.Add(r.ttl)
	}
	if rt.err != nil {
		return [6]byte{}, rt.err
	}
	e, ok := r.table.get(rt.nextHop)
	if ok && e.state&usableNUD != 0 {
		if e.state&unconfirmedNUD != 0 {
			r.ask(rt, now)
		}
		return e.mac, nil
	}
	r.misses++
	r.ask(rt, now)
	return [6]byte{}, rt.unresolved
}

// ask posts a resolution request for rt's next hop, at most once per
// neighTriggerEvery from this queue.
func (r *resolver) ask(rt *routeEntry, now time.Time) {
	if now.Sub(rt.asked) < neighTriggerEvery {
		return
	}
	rt.asked = now
	r.table.ask(rt.nextHop)
}

// maxRouteCache bounds the per-queue route cache (clients answered at
// ciaddr can be many); expired entries are evicted first, then everything.
const maxRouteCache = 4096

func (r *resolver) evict(now time.Time) {
	for k, e := range r.routes {
		if !now.Before(e.until) {
			delete(r.routes, k)
		}
	}
	if len(r.routes) >= maxRouteCache {
		clear(r.routes)
	}
}

// route asks the kernel for dst's next hop out of the served interface
// (one RTM_GETROUTE request, not a dump).
func (r *resolver) route(dst netip.Addr) (netip.Addr, error) {
	a4 := dst.As4()
	routes, err := r.h.RouteGet(net.IP(a4[:]))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("route to %s: %w", dst, err)
	}
	if len(routes) == 0 {
		return netip.Addr{}, fmt.Errorf("route to %s: %w", dst, unix.ENETUNREACH)
	}
	rt := routes[0]
	if rt.LinkIndex != r.ifindex {
		return netip.Addr{}, fmt.Errorf("route to %s via ifindex %d: %w", dst, rt.LinkIndex, errOtherInterface)
	}
	if gw, ok := netip.AddrFromSlice(rt.Gw.To4()); ok && !gw.IsUnspecified() {
		return gw, nil
	}
	return dst, nil
}
