package dhcp

import (
	"iter"
	"net/netip"
	"sync"

	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/packet"
)

// maxTriesPerPool bounds the candidates taken from one pool per request
// (each comes from the Range's O(log n) search, never a pool scan).
const maxTriesPerPool = 32

// addrLocks serialise commit decisions per address inside this process, so
// that two workers never both turn the same expired or free address into a
// lease.
type addrLocks [256]sync.Mutex

func (l *addrLocks) lock(a netip.Addr) *sync.Mutex {
	b := a.As4()
	m := &l[b[3]^b[2]]
	m.Lock()
	return m
}

// usable reports whether an address holding lease l (nil: none) may be given
// to this client: free, expired, reclaimed, or already the client's.
func (x *exchange) usable(l *lease.Lease, s *subnet) bool {
	if l == nil || l.State == lease.StateExpiredReclaimed || l.Expired(x.now.Unix()) {
		return true
	}
	return l.State == lease.StateDefault && belongsTo(l, x.hw, x.cidFor(s))
}

// allowedPool returns the pool containing a if the client may allocate from
// it in the selected subnet's family.
func (x *exchange) allowedPool(a netip.Addr) *pool {
	p := x.e.m.poolFor(a)
	if p == nil || !p.allowed(x.cls) || !p.sub.allowed(x.cls) || !x.inFamily(p.sub) {
		return nil
	}
	return p
}

// allowedPools yields the pools of the selected subnet's family the
// client's classes may use, subnet by subnet in the family's order.
func (x *exchange) allowedPools() iter.Seq[*pool] {
	return func(yield func(*pool) bool) {
		for _, s := range x.sub.family() {
			if !s.allowed(x.cls) {
				continue
			}
			for _, p := range s.pools {
				if p.allowed(x.cls) && !yield(p) {
					return
				}
			}
		}
	}
}

func (x *exchange) inFamily(s *subnet) bool {
	if x.sub == nil {
		return false
	}
	if s == x.sub {
		return true
	}
	return x.sub.net != nil && s.net == x.sub.net
}

// reservedAddr returns the client's reserved address and its subnet, if the
// reservation applies to the selected subnet's family.
func (x *exchange) reservedAddr() (netip.Addr, *subnet) {
	if x.host == nil || !x.host.addr.IsValid() {
		return netip.Addr{}, nil
	}
	s := x.hostSub
	if s == nil { // global reservation: the family subnet holding the address
		for _, f := range x.sub.family() {
			if f.prefix.Contains(x.host.addr) {
				s = f
				break
			}
		}
	}
	if s == nil || !s.allowed(x.cls) {
		return netip.Addr{}, nil
	}
	return x.host.addr, s
}

// candidate is an address chosen for a client.
type candidate struct {
	addr netip.Addr
	sub  *subnet
	pool *pool
	bit  bool // the offer holds the pool's free bit
}

// offerAddress chooses the address to offer (Kea's discoverLease4 order):
// reservation, the client's lease, its outstanding offer, the requested
// address, then the pools' allocators, then expired leases. With
// offer-lifetime 0 nothing is held (see offers.go); otherwise the chosen
// address is held for the client until its REQUEST or the offer's expiry.
//
// When every allowed pool is exhausted this costs O(1) per pool: a full
// Range answers from its free count, the offer sweep pops only expired
// offers, and a pool's Deadlines answers "nothing expired" from its top.
func (x *exchange) offerAddress() (candidate, bool) {
	e := x.e
	now := x.now.Unix()
	key := x.clientKey(x.sub)

	if a, s := x.reservedAddr(); s != nil {
		l, _ := x.readAt(a)
		if x.usable(l, s) && !e.heldByOther(a, key, now) {
			return candidate{addr: a, sub: s, pool: e.m.poolFor(a)}, true
		}
		e.st.resConflicts.Add(1)
		s.st.resConflicts.Add(1)
	}
	if l, s := x.clientLease(); l != nil {
		if p := x.allowedPool(l.Addr); p != nil && !x.reservedForOther(s, l.Addr) && !e.heldByOther(l.Addr, key, now) {
			return candidate{addr: l.Addr, sub: s, pool: p}, true
		}
	}
	if e.offerTTL > 0 {
		if o, ok := e.offers.forClient(key, now); ok {
			if p := x.allowedPool(o.addr); p != nil {
				if l, _ := e.store.Get(o.addr); x.usable(l, p.sub) {
					return candidate{addr: o.addr, sub: p.sub, pool: p, bit: o.pool != nil}, true
				}
			}
		}
	}
	if hint, ok := requestedIP(x.req.Msg); ok {
		if p := x.allowedPool(hint); p != nil && !x.reservedForOther(p.sub, hint) && !e.heldByOther(hint, key, now) {
			l, _ := x.readAt(hint)
			if x.usable(l, p.sub) {
				switch {
				case e.offerTTL == 0 && p.rng.IsFree(hint):
					return candidate{addr: hint, sub: p.sub, pool: p}, true
				case e.offerTTL > 0 && p.rng.Take(hint):
					return candidate{addr: hint, sub: p.sub, pool: p, bit: true}, true
				case l != nil: // the bit is held by the (expired/own) lease
					return candidate{addr: hint, sub: p.sub, pool: p}, true
				}
			}
		}
	}
	if c, ok := x.fromPools(); ok {
		return c, true
	}
	if e.offerTTL > 0 {
		e.sweepOffers(now)
		if c, ok := x.fromPools(); ok {
			return c, true
		}
	}
	return x.fromExpired(key, now)
}

// specPick is the address prefetchDiscover picked from pool for the
// DISCOVER's first pool candidate.
type specPick struct {
	addr netip.Addr
	pool *pool
	used bool
}

// prefetchDiscover reads, over a ClientRowsStore, the client's lease and
// the row at the first address the DISCOVER would look at in one query:
// the requested address, or (with offer-lifetime 0 and no reserved
// address) the first pool candidate, picked now (Range.Pick, as fromPools
// would) and given back (Range.Unpick) by unpickSpec if the client's
// lease is offered instead. offerAddress then reads only what the
// prefetch did not cover.
func (x *exchange) prefetchDiscover() {
	e := x.e
	if _, ok := e.store.(ClientRowsStore); !ok || !e.conditional {
		return
	}
	if a, s := x.reservedAddr(); s != nil {
		x.prefetchClient(a)
		return
	}
	if hint, ok := requestedIP(x.req.Msg); ok {
		x.prefetchClient(hint)
		return
	}
	if e.offerTTL == 0 {
		for p := range x.allowedPools() { // the first, as fromPools starts
			if a, ok := p.rng.Pick(); ok {
				x.spec = specPick{addr: a, pool: p}
			}
			break
		}
	}
	x.prefetchClient(x.spec.addr)
}

// unpickSpec gives back prefetchDiscover's pick if fromPools did not use
// it.
func (x *exchange) unpickSpec() {
	if x.spec.pool != nil && !x.spec.used {
		x.spec.pool.rng.Unpick(x.spec.addr)
		x.spec = specPick{}
	}
}

// heldByOther reports whether a is held by another client's live offer;
// never with offer-lifetime 0.
func (e *Engine) heldByOther(a netip.Addr, key offerKey, now int64) bool {
	return e.offerTTL > 0 && e.offers.heldByOther(a, key, now)
}

// fromPools asks each allowed pool of the family for a free address: with
// offer-lifetime 0 it only moves the pool's cursor (Range.Pick, Kea's
// iterative allocator), otherwise it takes the address for the offer.
func (x *exchange) fromPools() (candidate, bool) {
	e := x.e
	hold := e.offerTTL > 0
	for p := range x.allowedPools() {
		s := p.sub
		for range maxTriesPerPool {
			var (
				a  netip.Addr
				ok bool
			)
			switch {
			case hold:
				a, ok = p.rng.Next()
			case x.spec.pool == p && !x.spec.used:
				a, ok = x.spec.addr, true // picked by prefetchDiscover
				x.spec.used = true
			default:
				a, ok = p.rng.Pick()
			}
			if !ok {
				break
			}
			l, _ := x.readAt(a)
			if holdsBit(l) {
				if !hold {
					p.rng.Take(a) // the lease (e.g. an HA partner's) holds it
				}
				// A lease this engine was never told about (another
				// server on a shared database wrote it): index its
				// expiry so fromExpired can reuse it once it expires.
				p.due.Set(a, l.Expire())
				continue // held by a lease: stays taken
			}
			if x.reservedForOther(s, a) {
				continue // reserved addresses stay taken in the Range
			}
			if e.heldByOther(a, x.clientKey(x.sub), x.now.Unix()) {
				p.rng.Free(a) // offered without its bit (expired-lease reuse)
				continue
			}
			return candidate{addr: a, sub: s, pool: p, bit: hold}, true
		}
	}
	return candidate{}, false
}

// fromExpired reuses an expired lease of an allowed pool, oldest first
// (reclaimed on the spot when the REQUEST commits it). Each pool's
// Deadlines says at once whether anything is due, so an exhausted pool
// with no expired lease costs O(1) here.
func (x *exchange) fromExpired(key offerKey, now int64) (candidate, bool) {
	e := x.e
	var buf [maxTriesPerPool]netip.Addr
	for p := range x.allowedPools() {
		s := p.sub
		for _, a := range p.due.Due(now, maxTriesPerPool, buf[:0]) {
			l, _ := e.store.Get(a)
			if !holdsBit(l) {
				// Gone (or reclaimed) without this engine being told:
				// on a shared database another server removed it.
				p.due.Remove(a)
				if s.res.byAddr[a] == nil {
					p.rng.Free(a) // as LeaseChanged frees a removed lease's bit
				}
				continue
			}
			if !l.Expired(now) {
				// Renewed meanwhile (by another server on a shared
				// database): keep the index in step, or the stale
				// entry would stay due and crowd out expired ones.
				p.due.Set(a, l.Expire())
				continue
			}
			if x.reservedForOther(s, a) || e.heldByOther(a, key, now) {
				continue
			}
			return candidate{addr: a, sub: s, pool: p}, true
		}
	}
	return candidate{}, false
}

// recordOffer remembers an offered address for the client's REQUEST when
// offers hold their address (offer-lifetime > 0); with 0 nothing is kept.
func (x *exchange) recordOffer(c candidate) {
	e := x.e
	if e.offerTTL == 0 {
		return
	}
	now := x.now.Unix()
	e.sweepOffers(now) // keeps the expiry queue as short as the live offers
	o := offer{addr: c.addr, key: x.clientKey(x.sub), expires: now + e.offerTTL}
	if c.bit {
		o.pool = c.pool
	}
	if old, replaced := e.offers.put(o); replaced {
		e.releaseOfferBit(old)
	}
}

// releaseOfferBit gives an offer's free bit back unless a lease now holds
// the address.
func (e *Engine) releaseOfferBit(o offer) {
	if o.pool == nil {
		return
	}
	if l, ok := e.store.Get(o.addr); ok && l.State != lease.StateExpiredReclaimed {
		return
	}
	if r := o.pool.sub.res.byAddr[o.addr]; r != nil {
		return
	}
	o.pool.rng.Free(o.addr)
}

// sweepOffers drops expired offers and releases their bits.
func (e *Engine) sweepOffers(now int64) {
	for _, o := range e.offers.expire(now) {
		e.releaseOfferBit(o)
	}
}

// requestAddress decides the address to ACK for a REQUEST (Kea's
// requestLease4). ok=false means NAK.
func (x *exchange) requestAddress() (candidate, *lease.Lease, bool) {
	e := x.e
	var requested netip.Addr
	if a, ok := requestedIP(x.req.Msg); ok {
		requested = a
	} else if a, ok := packet.Addr4(x.req.Msg.ClientIPAddr); ok {
		requested = a
	}
	resAddr, resSub := x.reservedAddr()
	if requested.IsValid() {
		if s := x.familySubnetFor(requested); s != nil && x.reservedForOther(s, requested) {
			return candidate{}, nil, false
		}
	} else if resSub != nil {
		requested = resAddr
	}
	cl, cs := x.clientLease()
	if !requested.IsValid() && cl != nil {
		requested = cl.Addr
	}
	if !requested.IsValid() {
		return candidate{}, cl, false
	}
	s := x.familySubnetFor(requested)
	if s == nil {
		return candidate{}, cl, false
	}
	existing, _ := x.readAt(requested)
	if existing != nil && !x.usable(existing, s) {
		return candidate{}, cl, false
	}
	if resSub != nil && resAddr != requested {
		if l, _ := e.store.Get(resAddr); l == nil || l.Expired(x.now.Unix()) {
			return candidate{}, cl, false // go back to DISCOVER and get the reserved address
		}
	}
	p := e.m.poolFor(requested)
	if resSub == nil || resAddr != requested {
		if x.allowedPool(requested) == nil {
			return candidate{}, cl, false
		}
	}
	_ = cs
	return candidate{addr: requested, sub: s, pool: p}, cl, true
}

// familySubnetFor returns the allowed subnet of the selected family whose
// prefix contains a.
func (x *exchange) familySubnetFor(a netip.Addr) *subnet {
	if x.sub == nil {
		return nil
	}
	for _, s := range x.sub.family() {
		if s.prefix.Contains(a) && s.allowed(x.cls) {
			return s
		}
	}
	return nil
}
