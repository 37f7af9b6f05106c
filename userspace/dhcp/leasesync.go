package dhcp

import (
	"net/netip"
	"sync"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// holdsBit reports whether a lease keeps its address out of the free pool:
// every lease except an expired-reclaimed one.
func holdsBit(l *lease.Lease) bool { return l != nil && l.State != lease.StateExpiredReclaimed }

// LeaseChanged keeps the allocator and the per-subnet gauges in sync with
// the store. The wiring calls it from lease.Options.OnChange for every
// committed change, whoever made it (engine, HA partner, lease commands):
// old==nil is an addition, new==nil a deletion. It never calls the store.
func (e *Engine) LeaseChanged(c lease.Change) {
	old, new := c.Old, c.New
	if old != nil {
		e.account(old, -1)
	}
	if new != nil {
		e.account(new, +1)
	}
	if holdsBit(old) && !(holdsBit(new) && new.Addr == old.Addr) {
		if p := e.m.poolFor(old.Addr); p != nil {
			p.due.Remove(old.Addr)
			if p.sub.res.byAddr[old.Addr] == nil {
				p.rng.Free(old.Addr)
			}
		}
	}
	if holdsBit(new) {
		if p := e.m.poolFor(new.Addr); p != nil {
			p.rng.Take(new.Addr)
			p.due.Set(new.Addr, new.Expire())
		}
	}
	if old != nil && old.State == lease.StateExpiredReclaimed {
		e.reclaimed.del(old.Addr)
	}
	if new != nil && new.State == lease.StateExpiredReclaimed {
		e.reclaimed.put(new.Addr, new.Expire())
	}
}

// account adds d to the gauges the lease contributes to: assigned-addresses
// (every lease not expired-reclaimed, declined included) and
// declined-addresses.
func (e *Engine) account(l *lease.Lease, d int64) {
	s := e.m.byID[l.SubnetID]
	if l.State == lease.StateDeclined {
		e.st.declined.Add(d)
		if s != nil {
			s.st.declined.Add(d)
		}
	}
	if s != nil && l.State != lease.StateExpiredReclaimed {
		s.st.assigned.Add(d)
	}
}

// loadStore rebuilds the allocator state and recounts the gauges from the
// store (at build and after a configuration change).
func (e *Engine) loadStore() {
	assigned := make(map[uint32]int64, len(e.m.subnets))
	declined := make(map[uint32]int64, len(e.m.subnets))
	var declinedAll int64
	for _, l := range e.store.All() {
		if l.State == lease.StateDeclined {
			declinedAll++
			declined[l.SubnetID]++
		}
		if l.State != lease.StateExpiredReclaimed {
			assigned[l.SubnetID]++
		} else {
			e.reclaimed.put(l.Addr, l.Expire())
		}
		if holdsBit(l) {
			if p := e.m.poolFor(l.Addr); p != nil {
				p.rng.Take(l.Addr)
				p.due.Set(l.Addr, l.Expire())
			}
		}
	}
	for _, s := range e.m.subnets {
		var total int64
		for _, p := range s.pools {
			total += int64(p.rng.Size())
		}
		s.st.total.Set(total)
		s.st.assigned.Set(assigned[s.id])
		s.st.declined.Set(declined[s.id])
		// Reserved addresses inside pools are never handed out dynamically.
		for a := range s.res.byAddr {
			if p := e.m.poolFor(a); p != nil {
				p.rng.Take(a)
			}
		}
	}
	e.st.declined.Set(declinedAll)
}

// reclaimedSet indexes expired-reclaimed leases by address with their
// expiry, for FlushReclaimed.
type reclaimedSet struct {
	mu sync.Mutex
	m  map[netip.Addr]int64
}

func newReclaimedSet() *reclaimedSet { return &reclaimedSet{m: map[netip.Addr]int64{}} }

func (r *reclaimedSet) put(a netip.Addr, expire int64) {
	r.mu.Lock()
	r.m[a] = expire
	r.mu.Unlock()
}

func (r *reclaimedSet) del(a netip.Addr) {
	r.mu.Lock()
	delete(r.m, a)
	r.mu.Unlock()
}

// olderThan returns up to limit addresses whose expiry is before t
// (limit <= 0: all).
func (r *reclaimedSet) olderThan(t int64, limit int) []netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []netip.Addr
	for a, exp := range r.m {
		if exp < t {
			out = append(out, a)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out
}
