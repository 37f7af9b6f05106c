package dhcp

import (
	"net/netip"
	"sync"
)

// Offer holding (Dhcp4.user-context.xdhcp.offer-lifetime).
//
// Kea 2.2 holds nothing for a DISCOVER: its allocation engine makes a fake
// allocation (no lease written, nothing reserved), the iterative allocator's
// cursor moves past the offered address, and the REQUEST checks the address
// again (alloc_engine.cc discoverLease4, allocateUnreservedLease4,
// requestLease4). So with offer-lifetime 0 (the default) the engine keeps
// no offer table: a repeated DISCOVER of one client is offered the next
// free address, two clients are offered the same address only once the
// cursor has wrapped round the pool (or both are offered the same expired
// lease), and the second REQUEST for it is NAKed because the first one's
// lease now holds it. A DISCOVER flood from random MACs therefore drains
// nothing.
//
// With offer-lifetime > 0 an OFFER holds its address for that many seconds
// (later Kea's offer-lifetime): the table below remembers it, the pool's
// free bit stays taken, and other clients are offered other addresses.

// offer is an address promised to a client by an OFFER.// offer is an address promised to a client by an OFFER.
type offer struct {
	addr    netip.Addr
	key     offerKey // client key (see exchange.clientKey)
	expires int64    // Unix seconds
	pool    *pool    // non-nil when the offer holds the pool's free bit
}

// offerTable holds outstanding offers, by address and by client. It makes
// concurrent DISCOVERs get distinct addresses: an address is offered only
// after the pool's Range handed it out (Next/Take are atomic).
//
// byAddr holds the offers by value and byKey names the address of the
// client's offer; the two always describe the same offers (byKey[o.key] ==
// o.addr for every o in byAddr, and back), so recording an offer allocates
// nothing (see offerKey).
//
// queue lists the offers in the order they were recorded; with one lifetime
// per engine that is expiry order, so expire pops from its front and stops
// at the first live offer instead of scanning the table. Entries of offers
// that were replaced or taken meanwhile are stale and skipped.
type offerTable struct {
	mu     sync.Mutex
	byAddr map[netip.Addr]offer
	byKey  map[offerKey]netip.Addr
	queue  []queued
	head   int // queue[:head] is consumed
}

// queued is an offer's place in the expiry queue.
type queued struct {
	addr    netip.Addr
	expires int64
}

func newOfferTable() *offerTable {
	return &offerTable{byAddr: map[netip.Addr]offer{}, byKey: map[offerKey]netip.Addr{}}
}

// byClient returns the client's offer; the caller holds mu.
func (t *offerTable) byClient(key offerKey) (offer, bool) {
	a, ok := t.byKey[key]
	if !ok {
		return offer{}, false
	}
	o, ok := t.byAddr[a]
	return o, ok
}

// forClient returns the client's live offer.
func (t *offerTable) forClient(key offerKey, now int64) (offer, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.byClient(key)
	if !ok || o.expires <= now {
		return offer{}, false
	}
	return o, true
}

// heldByOther reports whether a is offered to another client and not expired.
func (t *offerTable) heldByOther(a netip.Addr, key offerKey, now int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.byAddr[a]
	return ok && o.key != key && o.expires > now
}

// put records an offer, replacing the client's previous one. It returns the
// replaced offer (whose bit the caller must release) if any.
func (t *offerTable) put(o offer) (old offer, replaced bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if prev, ok := t.byClient(o.key); ok && prev.addr != o.addr {
		delete(t.byAddr, prev.addr)
		old, replaced = prev, true
	}
	if prev, ok := t.byAddr[o.addr]; ok && prev.key != o.key {
		delete(t.byKey, prev.key)
	}
	t.byAddr[o.addr] = o
	t.byKey[o.key] = o.addr
	t.queue = append(t.queue, queued{addr: o.addr, expires: o.expires})
	return old, replaced
}

// take removes the offer of a (the address is being committed) and returns it.
func (t *offerTable) take(a netip.Addr) (offer, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.byAddr[a]
	if !ok {
		return offer{}, false
	}
	delete(t.byAddr, a)
	if ka, ok := t.byKey[o.key]; ok && ka == a {
		delete(t.byKey, o.key)
	}
	return o, true
}

// expire removes offers that expired at or before now and returns them. It
// walks the queue from its front and stops at the first entry still live,
// so its cost is the number of entries it consumes (amortised O(1) per
// recorded offer), never the size of the table. A clock that steps back
// only delays the sweep: forClient and heldByOther check expiry themselves.
func (t *offerTable) expire(now int64) []offer {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []offer
	for t.head < len(t.queue) {
		q := t.queue[t.head]
		if q.expires > now {
			break
		}
		t.head++
		o, ok := t.byAddr[q.addr]
		if !ok || o.expires != q.expires {
			continue // taken or re-offered since: stale entry
		}
		delete(t.byAddr, q.addr)
		if ka, ok := t.byKey[o.key]; ok && ka == q.addr {
			delete(t.byKey, o.key)
		}
		out = append(out, o)
	}
	if t.head == len(t.queue) {
		t.queue, t.head = t.queue[:0], 0
	} else if t.head > 1024 && t.head > len(t.queue)/2 {
		n := copy(t.queue, t.queue[t.head:])
		t.queue, t.head = t.queue[:n], 0
	}
	return out
}

// len returns the number of outstanding offers.
func (t *offerTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byAddr)
}
