package lease

import (
	"bytes"
	"net/netip"
	"strings"
	"sync"
)

// memIndex is the in-memory lease set (a table) with its secondary indexes
// and expiry heap. It is not safe for concurrent
// use; Store guards it.
type memIndex struct {
	t      *table
	byHW   idIndex // hardware address → slots (all subnets), insertion order
	byCID  idIndex // client identifier → slots
	byHost idIndex // lower-cased hostname → slots
	expiry expiryHeap
}

func addrKey(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func keyAddr(k uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)})
}

func newMemIndex() *memIndex { return buildMemIndex(newTable()) }

// buildMemIndex indexes a freshly loaded table. The secondary indexes are
// filled in address order, so that among the leases of one identifier the
// lowest address comes first, as it always has after a load.
//
// Filling an index is mostly waiting for cache misses in its map, and the
// indexes are independent, so the hardware-address index is built on a
// second goroutine meanwhile (the records are only read; the heap positions
// it does not read are written here).
func buildMemIndex(t *table) *memIndex {
	var n [3]int // per idKind
	nExp := 0
	for s := uint32(0); s < t.next; s++ {
		r := t.rec(s)
		if r.flags&flagLive == 0 {
			continue
		}
		if r.hwLen > 0 {
			n[byHW]++
		}
		if r.cidLen > 0 || r.flags&flagCIDBlob != 0 {
			n[byCID]++
		}
		if r.blob != 0 {
			n[byHost]++ // an upper bound: blobs without a hostname are rare
		}
		if r.reclaimable() {
			nExp++
		}
	}
	m := &memIndex{
		t:      t,
		byHW:   newIDIndex(n[byHW]),
		byCID:  newIDIndex(n[byCID]),
		byHost: newIDIndex(n[byHost]),
		expiry: expiryHeap{t: t, slots: make([]uint32, 0, nExp)},
	}
	var wg sync.WaitGroup
	wg.Go(func() { m.linkAll(byHW) })
	m.linkAll(byCID)
	m.linkAll(byHost)
	t.ascend(func(s uint32, r *record) {
		r.heapIdx = -1
		if r.reclaimable() {
			r.heapIdx = int32(len(m.expiry.slots))
			m.expiry.slots = append(m.expiry.slots, s)
		}
	})
	m.expiry.init()
	wg.Wait()
	return m
}

// linkAll adds every lease to the index of kind k, in address order.
func (m *memIndex) linkAll(k idKind) {
	x := m.index(k)
	m.t.ascend(func(s uint32, r *record) {
		if h, ok := m.idHash(k, r); ok {
			x.add(h, s)
		}
	})
}

// get returns a new Lease for the lease at address k, or nil.
func (m *memIndex) get(k uint32) *Lease {
	if s, _, ok := m.t.lookup(k); ok {
		return m.t.lease(s)
	}
	return nil
}

func (m *memIndex) has(k uint32) bool {
	_, ok := m.t.byAddr.get(k)
	return ok
}

// put stores l (validated and normalized; not retained) at its address,
// replacing any lease there.
func (m *memIndex) put(l *Lease) {
	k := addrKey(l.Addr)
	s, r, ok := m.t.lookup(k)
	if ok {
		m.unlink(s, r)
	} else {
		s, r = m.t.insert(k)
		r.heapIdx = -1
	}
	m.t.set(r, l)
	m.link(s, r)
	m.expiry.sync(s)
}

// del removes the lease at k, if any.
func (m *memIndex) del(k uint32) {
	s, r, ok := m.t.lookup(k)
	if !ok {
		return
	}
	m.unlink(s, r)
	m.expiry.remove(s)
	m.t.remove(k)
}

// idHash returns the hash of r's identifier of kind k, if it has one.
func (m *memIndex) idHash(k idKind, r *record) (uint32, bool) {
	switch k {
	case byHW:
		if r.hwLen > 0 {
			return m.byHW.hash(r.hwAddr()), true
		}
	case byCID:
		if r.flags&flagCIDBlob != 0 {
			return m.byCID.hashString(m.t.parts(r).cid), true
		}
		if r.cidLen > 0 {
			return m.byCID.hash(r.cid[:r.cidLen]), true
		}
	default:
		if host := m.t.parts(r).host; host != "" {
			return m.byHost.hashString(strings.ToLower(host)), true
		}
	}
	return 0, false
}

func (m *memIndex) link(s uint32, r *record) {
	for k := range idKinds {
		if h, ok := m.idHash(k, r); ok {
			m.index(k).add(h, s)
		}
	}
}

func (m *memIndex) unlink(s uint32, r *record) {
	for k := range idKinds {
		if h, ok := m.idHash(k, r); ok {
			m.index(k).remove(h, s)
		}
	}
}

// idKind selects a secondary index.
type idKind int

const (
	byHW idKind = iota
	byCID
	byHost  // id is the lower-cased hostname
	idKinds // the number of kinds
)

func (m *memIndex) index(k idKind) *idIndex {
	switch k {
	case byHW:
		return &m.byHW
	case byCID:
		return &m.byCID
	}
	return &m.byHost
}

// each calls fn, in insertion order, for the slots whose identifier of
// kind k is id, until fn returns false. It checks every candidate's
// identifier, since the index is keyed by hash.
func (m *memIndex) each(k idKind, id []byte, fn func(s uint32, r *record) bool) {
	x := m.index(k)
	x.each(x.hash(id), func(s uint32) bool {
		r := m.t.rec(s)
		var match bool
		switch k {
		case byHW:
			match = bytes.Equal(r.hwAddr(), id)
		case byCID:
			match = r.sameCID(m.t.parts(r).cid, id)
		default:
			match = strings.ToLower(m.t.parts(r).host) == string(id)
		}
		return !match || fn(s, r)
	})
}

// lookup returns new Leases for the leases listed under id, optionally
// restricted to one subnet, in insertion order.
func (m *memIndex) lookup(k idKind, id []byte, subnet uint32, anySubnet bool) []*Lease {
	var out []*Lease
	m.each(k, id, func(s uint32, r *record) bool {
		if anySubnet || r.subnet == subnet {
			out = append(out, m.t.lease(s))
		}
		return true
	})
	return out
}
