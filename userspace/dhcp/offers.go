package dhcp

import (
	"net/netip"
	"sync"
)

// offerTTL is how long an offered address stays reserved in memory for the
// client's REQUEST. Kea 2.2 writes no lease on DISCOVER; neither do we.
const offerTTL = 60 // seconds

// offer is an address promised to a client by an OFFER.
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
type offerTable struct {
	mu     sync.Mutex
	byAddr map[netip.Addr]offer
	byKey  map[offerKey]netip.Addr
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

// expire removes offers that expired at or before now and returns them.
func (t *offerTable) expire(now int64) []offer {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []offer
	for a, o := range t.byAddr {
		if o.expires <= now {
			delete(t.byAddr, a)
			if ka, ok := t.byKey[o.key]; ok && ka == a {
				delete(t.byKey, o.key)
			}
			out = append(out, o)
		}
	}
	return out
}

// len returns the number of outstanding offers.
func (t *offerTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byAddr)
}
