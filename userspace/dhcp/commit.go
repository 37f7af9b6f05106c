package dhcp

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// leaseBlock is a committed lease, its identifiers and the changes to
// replicate, in one allocation. Reply.Changes points into it, so it is
// never reused.
type leaseBlock struct {
	l   lease.Lease
	ids [leaseIDsInline]byte // HWAddr then ClientID, when they fit
	ch  [2]lease.Change
}

const leaseIDsInline = 48

// ackBlock is an ACK and the lease it commits, in one allocation.
type ackBlock struct {
	replyBlock
	leaseBlock
}

// commit turns candidate c into the client's lease, built in lb: it renews
// the client's lease, reuses an expired or reclaimed one (reclaiming it on
// the spot), or adds a new one; a different lease the client held in the
// family is then deleted (Kea does the same). It returns the committed
// lease and the changes to replicate (both in lb); ok=false means the
// address was lost to a concurrent allocation (NAK).
//
// A renewal that Kea 2.2's lease caching lets reuse the stored lease
// (cache-threshold, cache-max-age; see reusableLft) writes nothing and
// replicates nothing: commit returns the stored lease, no changes, and in
// reused the remaining lifetime the reply must report (0 otherwise).
func (x *exchange) commit(c candidate, valid uint32, prev *lease.Lease, lb *leaseBlock) (l *lease.Lease, changes []lease.Change, reused uint32, ok bool, err error) {
	e := x.e
	now := x.now.Unix()
	nl := x.buildLease(c, valid, lb)
	changes = lb.ch[:0]

	mu := e.locks.lock(c.addr)
	// Over a conditional store the row requestAddress read stands in for
	// a new read when it is free or the client's own (the write decides
	// against it; refused, it is read again below). A lease of another
	// client is read again at once (its reclamation is counted).
	existing, memo := x.readAt(c.addr)
	if memo && existing != nil && !belongsTo(existing, x.hw, x.cidFor(c.sub)) {
		existing, _ = e.store.Get(c.addr)
		memo = false
	}
again:
	if existing != nil && !x.usable(existing, c.sub) {
		mu.Unlock()
		return nil, nil, 0, false, nil
	}
	nl.UserContext = ""
	if existing != nil {
		// Kea keeps the stored lease's user context (renewLease4 and
		// reuseExpiredLease4 update the lease object in place).
		nl.UserContext = existing.UserContext
	}
	nl.UserContext = x.extendedInfo(c.sub, nl.UserContext)
	if existing != nil && (prev == nil || prev.Addr == c.addr) && belongsTo(existing, x.hw, x.cidFor(c.sub)) {
		if r := c.sub.reusableLft(existing, nl, now); r > 0 {
			mu.Unlock()
			x.fulfilOffer(c.addr, now)
			return existing, nil, r, true, nil
		}
	}
	fresh := existing == nil || !belongsTo(existing, x.hw, x.cidFor(c.sub)) || existing.State != lease.StateDefault
	if existing != nil {
		if existing.State != lease.StateExpiredReclaimed && existing.Expired(now) && !belongsTo(existing, x.hw, x.cidFor(c.sub)) {
			e.countReclaimed(existing)
		}
		err = e.updateFrom(existing, nl)
		if errors.Is(err, lease.ErrConflict) && memo {
			// The row changed since requestAddress read it: decide
			// again on a fresh read, as without the memo.
			existing, _ = e.store.Get(c.addr)
			memo = false
			goto again
		}
		if errors.Is(err, lease.ErrConflict) {
			// Another server sharing the database changed the lease
			// since it was read: not ours to take (NAK).
			mu.Unlock()
			return nil, nil, 0, false, nil
		}
	} else {
		err = e.store.Add(nl)
		if errors.Is(err, lease.ErrExists) {
			// Lost a race (or an HA partner's update landed): the address
			// is only ours if the lease now there is the client's.
			if cur, ok := e.store.Get(c.addr); ok && belongsTo(cur, x.hw, x.cidFor(c.sub)) && cur.State == lease.StateDefault {
				existing, err = cur, e.updateFrom(cur, nl)
				if errors.Is(err, lease.ErrConflict) {
					mu.Unlock()
					return nil, nil, 0, false, nil
				}
			} else {
				mu.Unlock()
				return nil, nil, 0, false, nil
			}
		}
	}
	var seq uint64
	if err == nil {
		seq = e.order.stamp(c.addr)
	}
	mu.Unlock()
	if err != nil {
		return nil, nil, 0, false, fmt.Errorf("commit lease %s: %w", c.addr, err)
	}
	changes = append(changes, lease.Change{Old: existing, New: nl, Seq: seq})

	x.fulfilOffer(c.addr, now)
	if prev != nil && prev.Addr != c.addr {
		pmu := e.locks.lock(prev.Addr)
		old, derr := e.deleteFrom(prev)
		if derr == nil {
			changes = append(changes, lease.Change{Old: old, Seq: e.order.stamp(prev.Addr)})
		}
		pmu.Unlock()
	}
	if fresh {
		e.st.cumulative.Add(1)
		c.sub.st.cumulative.Add(1)
	}
	return nl, changes, 0, true, nil
}

// fulfilOffer: the offer for addr is fulfilled; any other offer of the
// client is void.
func (x *exchange) fulfilOffer(addr netip.Addr, now int64) {
	e := x.e
	if e.offerTTL == 0 {
		return
	}
	e.offers.take(addr)
	if o, ok := e.offers.forClient(x.clientKey(x.sub), now); ok && o.addr != addr {
		if o2, ok := e.offers.take(o.addr); ok {
			e.releaseOfferBit(o2)
		}
	}
}

// buildLease builds in lb the lease the client gets for c: the address,
// lifetime, CLTT now, subnet, identifiers and hostname. The user context
// is the caller's (it depends on the stored lease).
func (x *exchange) buildLease(c candidate, valid uint32, lb *leaseBlock) *lease.Lease {
	nl := &lb.l
	*nl = lease.Lease{
		Addr:          c.addr,
		ValidLifetime: valid,
		CLTT:          x.now.Unix(),
		SubnetID:      c.sub.id,
		Hostname:      x.hostname(),
	}
	if nh, nc := len(x.hw), len(x.rawCID); nh+nc <= len(lb.ids) {
		if nh > 0 {
			nl.HWAddr = lb.ids[:copy(lb.ids[:], x.hw):nh]
		}
		if nc > 0 {
			nl.ClientID = lb.ids[nh : nh+copy(lb.ids[nh:], x.rawCID) : nh+nc]
		}
	} else {
		nl.HWAddr = append([]byte(nil), x.hw...)
		if nc > 0 {
			nl.ClientID = append([]byte(nil), x.rawCID...)
		}
	}
	return nl
}
