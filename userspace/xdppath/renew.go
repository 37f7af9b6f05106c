//go:build linux

package xdppath

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/pipeline"
	"github.com/xdhcp/xdhcp/userspace/renewcache"
)

// renewState is the path's kernel renewal cache (userspace/renewcache,
// bpf xdhcp.h "Kernel renewals") and its switch.
type renewState struct {
	mu    sync.Mutex // serialises SetRenew and SetRateLimits (both write the program's config)
	rl    config.RateLimits
	on    atomic.Bool
	cache atomic.Pointer[renewcache.Cache]
	check func(*dhcp.ReuseWindow) bool
	// The MAC refresher's own resolver and netlink handle (RefreshRenewMACs).
	res *resolver
	nl  *netlink.Handle
}

// SetRenew turns kernel renewals on or off on this interface. On creates
// the cache the first time; off stops the program answering first, then
// empties the cache.
func (p *Path) SetRenew(on bool) error {
	rs := &p.renew
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if on && rs.cache.Load() == nil {
		c, err := renewcache.New(p.dp)
		if err != nil {
			return err
		}
		c.SetCheck(rs.check)
		c.NeighTTL = p.cfg.NeighTTL
		rs.cache.Store(c)
	}
	cfg := bpfConfig(rs.rl, p.ifmac)
	cfg.Renew = on
	if err := p.dp.SetConfig(cfg); err != nil {
		return err
	}
	rs.on.Store(on)
	if c := rs.cache.Load(); !on && c != nil {
		return c.Clear()
	}
	return nil
}

// SetRenewCheck sets the cache's lease check (renewcache.Cache.Check),
// now and for a cache created later.
func (p *Path) SetRenewCheck(f func(*dhcp.ReuseWindow) bool) {
	p.renew.mu.Lock()
	defer p.renew.mu.Unlock()
	p.renew.check = f
	if c := p.renew.cache.Load(); c != nil {
		c.SetCheck(f)
	}
}

// RenewCache is the interface's renewal cache, nil until SetRenew(true).
func (p *Path) RenewCache() *renewcache.Cache { return p.renew.cache.Load() }

// learnRenewal hands an ACK just queued for sending to the renewal cache
// when the engine says an identical renewal will be reused. Only replies
// sent while their request frame is still in the RX ring qualify (a reply
// that waited for the HA partner has no frame any more; the next renewal
// is then learned).
func (q *queue) learnRenewal(m *pipeline.Meta, reply *dhcp.Reply, out *packet.Frame, payload []byte) {
	if reply.Reuse == nil || m.Frame.Payload == nil || !q.p.renew.on.Load() {
		return
	}
	c := q.p.renew.cache.Load()
	if c == nil {
		return
	}
	_ = c.Learn(&renewcache.Observation{
		Ifindex: uint32(q.p.ifindex),
		ReqSrc:  m.Frame.Src, ReqDst: m.Frame.Dst, Req: m.Frame.Payload, Tagged: m.Frame.NumVLANs > 0,
		ReplySrc: out.Src, ReplyDst: out.Dst, ReplyPort: out.DstPort,
		ReplySrcMAC: out.SrcMAC, ReplyDstMAC: out.DstMAC,
		Reply: payload, Window: reply.Reuse,
	})
}

// RefreshRenewMACs runs the renewal cache's RefreshMACs with a resolver
// like the queues' (route cache of NeighTTL, the shared neighbour mirror).
// Call it from one goroutine, about every second.
func (p *Path) RefreshRenewMACs() (refreshed, dropped int, err error) {
	c := p.renew.cache.Load()
	if c == nil || !p.renew.on.Load() {
		return 0, 0, nil
	}
	p.renew.mu.Lock()
	if p.renew.res == nil {
		h, err := netlink.NewHandleAt(p.home)
		if err != nil {
			p.renew.mu.Unlock()
			return 0, 0, fmt.Errorf("renew refresh on %s: %w", p.ifname, err)
		}
		p.renew.nl = h
		p.renew.res = newResolver(h, p.neigh, p.ifindex, p.cfg.NeighTTL)
	}
	r := p.renew.res
	p.renew.mu.Unlock()
	refreshed, dropped = c.RefreshMACs(func(dst netip.Addr) ([6]byte, bool) {
		mac, err := r.lookup(dst)
		return mac, err == nil
	}, 2*time.Second)
	return refreshed, dropped, nil
}

// close releases the MAC refresher's netlink handle.
func (rs *renewState) close() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.nl != nil {
		rs.nl.Close()
		rs.nl, rs.res = nil, nil
	}
}
