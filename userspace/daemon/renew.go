package daemon

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/bpf"
	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/internal/crash"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/renewcache"
	"github.com/xdhcp/xdhcp/userspace/stats"
	"github.com/xdhcp/xdhcp/userspace/xdppath"
)

// Kernel renewals (docs/kea/kernel-renew.md §5): the XDP program answers
// renewals that Kea 2.2's lease caching reuses from a cache user space
// keeps (userspace/renewcache, one per interface). This file decides when
// the kernel may answer and keeps the caches in step with everything
// outside a single lease that changes a reply: configuration reloads
// (caches emptied), the network state (off: the kernel stops answering
// and the caches are emptied; the HA service turns it off in every state
// where Kea's HA does not serve), the wall clock (Resync). HA bucket
// ownership is checked by the program itself before it looks at the cache.
// Lease changes reach the caches through leaseChanged.

// renewResync is how often the caches check for a wall clock step.
const renewResync = time.Second

// kernelRenewBlockers lists why, for configuration c, the kernel could not
// answer renewals exactly as user space would; empty means it can.
func kernelRenewBlockers(c *config.Dhcp4) []string {
	var why []string
	if !c.XDHCP.KernelRenew {
		why = append(why, "user-context.xdhcp.kernel-renew is false")
	}
	if !leaseCachingConfigured(c) {
		why = append(why, "lease caching (cache-threshold, cache-max-age) is not configured")
	}
	if t := c.LeaseDatabase.Type; t != "" && t != "memfile" {
		why = append(why, fmt.Sprintf("lease-database type %q: leases can change outside this process", t))
	}
	// The kernel matches a renewal on everything but xid and secs: a class
	// that reads the xid (pkt4.transid) could answer two such renewals
	// differently.
	for _, cc := range c.ClientClasses {
		if strings.Contains(cc.Test, "transid") {
			why = append(why, fmt.Sprintf("client class %q tests pkt4.transid, which the kernel's match leaves out", cc.Name))
		}
	}
	for _, h := range c.HooksLibraries {
		switch filepath.Base(h.Library) {
		case "libdhcp_ha.so", "libdhcp_lease_cmds.so":
		default:
			why = append(why, fmt.Sprintf("hook library %s: its callouts cannot run in the kernel", h.Library))
		}
	}
	return why
}

// leaseCachingConfigured reports whether cache-threshold or cache-max-age
// is set at any level.
func leaseCachingConfigured(c *config.Dhcp4) bool {
	set := func(s *config.Scope) bool { return s.CacheThreshold != nil || s.CacheMaxAge != nil }
	if set(&c.Scope) {
		return true
	}
	for _, n := range c.SharedNetworks {
		if set(&n.Scope) {
			return true
		}
		for _, s := range n.Subnet4 {
			if set(&s.Scope) {
				return true
			}
		}
	}
	for _, s := range c.Subnet4 {
		if set(&s.Scope) {
			return true
		}
	}
	return false
}

// renewRuntime switches kernel renewals on the XDP paths.
type renewRuntime struct {
	log zerolog.Logger

	mu      sync.Mutex
	xr      *xdpRuntime
	paths   []*xdppath.Path // xr's, copied at start (xr.stop clears its own)
	allowed bool            // the configuration allows it
	netOn   bool            // the network state is enabled
	check   func(*dhcp.ReuseWindow) bool
}

// leaseUnchanged reports whether the running engine computed a reuse
// window and the store still holds the lease it was computed from (see
// renewcache.Cache.SetCheck): a window from before a reload, or for a
// lease changed since, is not cached.
func (d *Daemon) leaseUnchanged(w *dhcp.ReuseWindow) bool {
	if es := d.engine.Load(); es == nil || es.e != w.Engine {
		return false
	}
	l, ok := d.store.Get(w.Addr)
	return ok && l.State == lease.StateDefault && l.CLTT == w.CLTT && l.ValidLifetime == w.Valid && l.SubnetID == w.SubnetID
}

// startRenew attaches kernel renewals to the XDP paths (none: the UDP
// path, logged once) and follows the network state.
func (d *Daemon) startRenew(xr *xdpRuntime) {
	log := d.logs.For("xdp", "renew")
	if xr == nil || len(xr.paths) == 0 {
		log.Info().Str("why", "the UDP path serves: the kernel answers nothing").Msg("kernel renewals off")
		return
	}
	r := &renewRuntime{log: log, xr: xr, paths: slices.Clone(xr.paths), check: d.leaseUnchanged}
	d.renew.Store(r)
	d.reg.AddSource(r.keaCounts)
	r.configure(d.cfg.Dhcp4, true)
	d.ns.Subscribe(func(on bool) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.netOn = on
		r.applyLocked()
	})
	crash.Go(d.log, "renew-resync", func() {
		t := time.NewTicker(renewResync)
		defer t.Stop()
		for {
			select {
			case <-d.ctx.Done():
				return
			case <-t.C:
				for _, p := range r.paths {
					if _, _, err := p.RefreshRenewMACs(); err != nil {
						log.Warn().Err(err).Str("interface", p.Interface()).Msg("refreshing cached renewals' next hops")
					}
					if c := p.RenewCache(); c != nil {
						if n := c.Resync(50 * time.Millisecond); n > 0 {
							log.Info().Int("entries", n).Str("interface", p.Interface()).Msg("wall clock stepped: cached renewals rewritten")
						}
					}
				}
			}
		}
	})
}

// configure applies a (re)loaded configuration: the caches are emptied
// (options, classes or lifetimes may have changed) and the switch set.
func (r *renewRuntime) configure(c *config.Dhcp4, first bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	why := kernelRenewBlockers(c)
	r.allowed = len(why) == 0
	for _, p := range r.paths {
		if cc := p.RenewCache(); cc != nil {
			if err := cc.Clear(); err != nil {
				r.log.Error().Err(err).Str("interface", p.Interface()).Msg("emptying the renewal cache")
			}
		}
	}
	if first || !r.allowed {
		if r.allowed {
			r.log.Info().Msg("kernel renewals on: reused leases are renewed in the XDP program")
		} else {
			r.log.Info().Str("why", strings.Join(why, "; ")).Msg("kernel renewals off")
		}
	}
	r.applyLocked()
}

func (r *renewRuntime) applyLocked() {
	on := r.allowed && r.netOn
	for _, p := range r.paths {
		p.SetRenewCheck(r.check)
		if err := p.SetRenew(on); err != nil {
			r.log.Error().Err(err).Str("interface", p.Interface()).Bool("on", on).Msg("switching kernel renewals")
		}
	}
}

// forget drops the cached renewals of a changed lease.
func (r *renewRuntime) forget(c lease.Change) {
	if r == nil || r.xr == nil {
		return
	}
	for _, l := range []*lease.Lease{c.Old, c.New} {
		if l == nil {
			continue
		}
		for _, p := range r.paths {
			if cc := p.RenewCache(); cc != nil {
				cc.Forget(l.Addr)
			}
		}
	}
}

// keaCounts folds kernel-answered renewals into Kea's statistics: each is
// a REQUEST received and an ACK sent (Dhcpv4Srv counts pkt4-received,
// pkt4-request-received, pkt4-sent and pkt4-ack-sent for a reused lease
// like for any other; no per-subnet statistic changes for a reuse). The
// per-CPU kernel counter is read at every statistics read.
func (r *renewRuntime) keaCounts(c stats.Counter) int64 {
	switch c {
	case stats.Pkt4Received, stats.Pkt4RequestReceived, stats.Pkt4Sent, stats.Pkt4AckSent:
	default:
		return 0
	}
	var n int64
	for _, p := range r.paths {
		if s, err := p.Datapath().Stats(); err == nil {
			n += int64(s["tx_renew"])
		}
	}
	return n
}

// counters sums the caches' counters over the interfaces.
func (r *renewRuntime) counters() map[string]uint64 {
	out := map[string]uint64{}
	if r == nil || r.xr == nil {
		return out
	}
	for _, p := range r.paths {
		if cc := p.RenewCache(); cc != nil {
			for k, v := range cc.Counters() {
				out[k] += v
			}
		}
	}
	return out
}

// renewCacheInfo is an interface's renewal cache in xdp-stats-get: its
// counters and the kernel memory its entries and profiles take (map key
// and value bytes, without the kernel's per-element overhead).
func renewCacheInfo(c *renewcache.Cache) map[string]any {
	n := c.Counters()
	return map[string]any{
		"counters":             n,
		"entry-bytes":          bpf.RenewEntrySize,
		"profile-bytes":        bpf.RenewProfileSize,
		"entries-bytes-total":  n["entries"] * bpf.RenewEntrySize,
		"profiles-bytes-total": n["profiles"] * bpf.RenewProfileSize,
	}
}
