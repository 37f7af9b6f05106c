package dhcp

import (
	"math"
	"net/netip"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// ReuseWindow says, for an ACK to a REQUEST, until when an identical
// REQUEST (the same bytes but xid and secs, from the same addresses) would
// be answered by Kea 2.2's lease caching reusing the lease now stored
// (reusableLft, docs/kea/config-surface.md §14), and how its reply's
// lifetimes follow from the remaining lifetime. A cache outside the engine
// (userspace/renewcache and the XDP program) answers such renewals with
// the same bytes.
type ReuseWindow struct {
	Addr     netip.Addr
	SubnetID uint32
	CLTT     int64  // the stored lease's CLTT, unix seconds
	Valid    uint32 // the stored lease's valid lifetime
	// MaxAge is the last age (now - CLTT, whole seconds) at which the
	// renewal is reused: min(cache-max-age, uint32(valid × cache-threshold),
	// Valid - 1), as setLeaseReusable compares.
	MaxAge uint32
	// Dhcpv4Srv::setTeeTimes inputs: a fixed renew/rebind timer (0: none),
	// else calculate-tee-times' percentage × 65536 (0: none).
	T1Fixed, T2Fixed uint32
	T1Pct, T2Pct     uint32
	// Engine is the engine (configuration) that answered: a cache drops a
	// window from an engine a reload has replaced.
	Engine *Engine
}

// reuseWindow computes the ReuseWindow of the stored lease l for a renewal
// whose new lease would have valid lifetime newValid. ok is false where the
// renewal is never reused (see reusableLft) or its T1/T2 cannot be derived
// exactly in integers (a percentage that is not k/65536).
func (s *subnet) reuseWindow(l *lease.Lease, newValid uint32) (w ReuseWindow, ok bool) {
	c := &s.cache
	if l == nil || l.State != lease.StateDefault || newValid == infiniteLft || l.ValidLifetime == infiniteLft ||
		newValid < l.ValidLifetime || l.ValidLifetime == 0 {
		return w, false
	}
	if !c.thresholdSet && !c.maxAgeSet {
		return w, false
	}
	limit := uint32(math.MaxUint32)
	if c.maxAgeSet {
		if c.maxAge == 0 {
			return w, false
		}
		limit = c.maxAge
	}
	if c.thresholdSet {
		if c.threshold <= 0 || c.threshold > 1 {
			return w, false
		}
		m := uint32(float64(newValid) * c.threshold)
		if m == 0 {
			return w, false
		}
		limit = min(limit, m)
	}
	limit = min(limit, l.ValidLifetime-1)
	w = ReuseWindow{Addr: l.Addr, SubnetID: l.SubnetID, CLTT: l.CLTT, Valid: l.ValidLifetime, MaxAge: limit}
	lt := &s.lt
	switch {
	case lt.rebSet:
		w.T2Fixed = lt.rebind
	case lt.calcTee:
		if w.T2Pct, ok = pct16(lt.t2pct); !ok {
			return w, false
		}
	}
	switch {
	case lt.renewSet:
		w.T1Fixed = lt.renew
	case lt.calcTee:
		if w.T1Pct, ok = pct16(lt.t1pct); !ok {
			return w, false
		}
	}
	return w, true
}

// pct16 returns p × 65536 if that is an integer in [0, 65536]: then
// (k × v + 32768) >> 16 equals math.Round(p × v) for every uint32 v (the
// product is exact in a float64 and positive, so rounding half away from
// zero is rounding half up).
func pct16(p float64) (uint32, bool) {
	k := p * 65536
	if k < 0 || k > 65536 || k != math.Trunc(k) {
		return 0, false
	}
	return uint32(k), true
}
