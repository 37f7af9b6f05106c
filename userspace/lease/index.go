package lease

import (
	"container/heap"
	"net/netip"
	"slices"
	"strings"
)

// entry is one stored lease and its position in the expiry heap.
type entry struct {
	key     uint32 // the address as a big-endian integer
	lease   *Lease // never mutated once stored
	heapIdx int    // -1 when not reclaimable
}

// memIndex is the in-memory lease set with its secondary indexes. It is not
// safe for concurrent use; Store guards it.
type memIndex struct {
	byAddr map[uint32]*entry
	order  *addrSet
	byHW   idIndex // hardware address → addresses (all subnets), insertion order
	byCID  idIndex // client identifier → addresses
	byHost idIndex // lower-cased hostname → addresses
	expiry expiryHeap
}

func addrKey(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func keyAddr(k uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)})
}

func newMemIndex() *memIndex {
	return &memIndex{
		byAddr: make(map[uint32]*entry),
		order:  newAddrSet(),
		byHW:   newIDIndex(0),
		byCID:  newIDIndex(0),
		byHost: newIDIndex(0),
	}
}

// buildMemIndex indexes a freshly loaded lease set in one pass.
func buildMemIndex(leases map[uint32]*Lease) *memIndex {
	keys := make([]uint32, 0, len(leases))
	var nHW, nCID, nHost int
	for k, l := range leases {
		keys = append(keys, k)
		if len(l.HWAddr) > 0 {
			nHW++
		}
		if len(l.ClientID) > 0 {
			nCID++
		}
		if l.Hostname != "" {
			nHost++
		}
	}
	m := &memIndex{
		byAddr: make(map[uint32]*entry, len(leases)),
		byHW:   newIDIndex(nHW),
		byCID:  newIDIndex(nCID),
		byHost: newIDIndex(nHost),
		expiry: make(expiryHeap, 0, len(leases)),
	}
	slices.Sort(keys)
	m.order = buildAddrSet(keys)
	for _, k := range keys {
		e := &entry{key: k, lease: leases[k], heapIdx: -1}
		m.byAddr[k] = e
		m.link(e)
		if reclaimable(e.lease) {
			e.heapIdx = len(m.expiry)
			m.expiry = append(m.expiry, e)
		}
	}
	heap.Init(&m.expiry)
	return m
}

func (m *memIndex) get(k uint32) *Lease {
	if e := m.byAddr[k]; e != nil {
		return e.lease
	}
	return nil
}

// put stores l (replacing any lease at its address) and returns the old one.
func (m *memIndex) put(l *Lease) *Lease {
	k := addrKey(l.Addr)
	e := m.byAddr[k]
	if e == nil {
		e = &entry{key: k, lease: l, heapIdx: -1}
		m.byAddr[k] = e
		m.order.insert(k)
		m.link(e)
		m.expiry.sync(e)
		return nil
	}
	old := e.lease
	m.unlink(e)
	e.lease = l
	m.link(e)
	m.expiry.sync(e)
	return old
}

// del removes the lease at k and returns it (nil if absent).
func (m *memIndex) del(k uint32) *Lease {
	e := m.byAddr[k]
	if e == nil {
		return nil
	}
	m.unlink(e)
	m.expiry.remove(e)
	m.order.remove(k)
	delete(m.byAddr, k)
	return e.lease
}

func (m *memIndex) link(e *entry) {
	l := e.lease
	if len(l.HWAddr) > 0 {
		m.byHW.add(string(l.HWAddr), e.key)
	}
	if len(l.ClientID) > 0 {
		m.byCID.add(string(l.ClientID), e.key)
	}
	if l.Hostname != "" {
		m.byHost.add(strings.ToLower(l.Hostname), e.key)
	}
}

func (m *memIndex) unlink(e *entry) {
	l := e.lease
	if len(l.HWAddr) > 0 {
		m.byHW.remove(string(l.HWAddr), e.key)
	}
	if len(l.ClientID) > 0 {
		m.byCID.remove(string(l.ClientID), e.key)
	}
	if l.Hostname != "" {
		m.byHost.remove(strings.ToLower(l.Hostname), e.key)
	}
}

// lookup returns the leases listed under id, optionally restricted to one
// subnet, in insertion order.
func (m *memIndex) lookup(idx *idIndex, id string, subnet uint32, anySubnet bool) []*Lease {
	var out []*Lease
	idx.each(id, func(k uint32) bool {
		if l := m.byAddr[k].lease; anySubnet || l.SubnetID == subnet {
			out = append(out, l)
		}
		return true
	})
	return out
}
