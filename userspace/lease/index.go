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
	byHW   map[string][]uint32 // hardware address → addresses (all subnets), insertion order
	byCID  map[string][]uint32 // client identifier → addresses
	byHost map[string][]uint32 // lower-cased hostname → addresses
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
		byHW:   make(map[string][]uint32),
		byCID:  make(map[string][]uint32),
		byHost: make(map[string][]uint32),
	}
}

// buildMemIndex indexes a freshly loaded lease set in one pass.
func buildMemIndex(leases map[uint32]*Lease) *memIndex {
	m := newMemIndex()
	m.byAddr = make(map[uint32]*entry, len(leases))
	keys := make([]uint32, 0, len(leases))
	for k := range leases {
		keys = append(keys, k)
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
		m.byHW[string(l.HWAddr)] = append(m.byHW[string(l.HWAddr)], e.key)
	}
	if len(l.ClientID) > 0 {
		m.byCID[string(l.ClientID)] = append(m.byCID[string(l.ClientID)], e.key)
	}
	if l.Hostname != "" {
		h := strings.ToLower(l.Hostname)
		m.byHost[h] = append(m.byHost[h], e.key)
	}
}

func (m *memIndex) unlink(e *entry) {
	l := e.lease
	if len(l.HWAddr) > 0 {
		unlinkKey(m.byHW, string(l.HWAddr), e.key)
	}
	if len(l.ClientID) > 0 {
		unlinkKey(m.byCID, string(l.ClientID), e.key)
	}
	if l.Hostname != "" {
		unlinkKey(m.byHost, strings.ToLower(l.Hostname), e.key)
	}
}

func unlinkKey(idx map[string][]uint32, id string, k uint32) {
	list := idx[id]
	if i := slices.Index(list, k); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(idx, id)
		return
	}
	idx[id] = list
}

// lookup returns the leases listed under id, optionally restricted to one
// subnet, in insertion order.
func (m *memIndex) lookup(idx map[string][]uint32, id string, subnet uint32, anySubnet bool) []*Lease {
	var out []*Lease
	for _, k := range idx[id] {
		l := m.byAddr[k].lease
		if anySubnet || l.SubnetID == subnet {
			out = append(out, l)
		}
	}
	return out
}
