package dhcp

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// CommitOrder keeps the lease updates sent to the HA partner in commit
// order per address (lease updates: docs/kea/ha-protocol.md §9). The engine stamps every
// change it commits with a sequence number, under the address's commit
// lock, and records it as the address's latest; Fresh hands a reply's
// changes on with the addresses' stripes held and leaves out those a later
// commit of the same address superseded. So whichever worker calls first,
// an older update never follows a newer one of its address: either the
// older is handed on before the newer one is (the newer waits for the
// stripe), or it is found superseded and left out, and the newer update
// carries the address's state: a lease4-del of a released lease can never
// reach the partner after the lease4-update of the next client given that
// address, where it would delete the new lease (lease4-del goes by
// address).
//
// One CommitOrder outlives engines (the daemon passes it to every build),
// so a reload does not forget the latest commits. Its map holds one entry
// per address ever committed: bounded by the pools.
type CommitOrder struct {
	seq     atomic.Uint64
	stripes [256]orderStripe
}

type orderStripe struct {
	mu   sync.Mutex
	last map[netip.Addr]uint64
}

// NewCommitOrder returns an empty CommitOrder.
func NewCommitOrder() *CommitOrder { return &CommitOrder{} }

func stripeOf(a netip.Addr) int {
	if a.Is4() {
		b := a.As4()
		return int(b[3] ^ b[2])
	}
	b := a.As16()
	return int(b[15] ^ b[14])
}

// stamp records a commit of a and returns its sequence number. The caller
// holds a's commit lock (Engine.locks) and has just changed the store, so
// the stamps of one address follow the order of its store changes.
func (o *CommitOrder) stamp(a netip.Addr) uint64 {
	s := &o.stripes[stripeOf(a)]
	s.mu.Lock()
	n := o.seq.Add(1)
	if s.last == nil {
		s.last = make(map[netip.Addr]uint64)
	}
	s.last[a] = n
	s.mu.Unlock()
	return n
}

// changeAddr is the address a change is about (a change never moves a
// lease: a new address is a change of its own).
func changeAddr(c lease.Change) netip.Addr {
	if c.New != nil {
		return c.New.Addr
	}
	if c.Old != nil {
		return c.Old.Addr
	}
	return netip.Addr{}
}

// Fresh calls fn with the changes no later commit of their address has
// superseded (all of them when none was), holding the stripes of their
// addresses, so that no newer change of those addresses is handed on
// before fn returns. Changes without a stamp (Seq 0) are always fresh. fn
// must not block on another Fresh (HA's Replicate only queues).
func (o *CommitOrder) Fresh(changes []lease.Change, fn func([]lease.Change)) {
	var buf [4]int
	idx := buf[:0]
	for _, c := range changes {
		if c.Seq != 0 {
			idx = append(idx, stripeOf(changeAddr(c)))
		}
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		o.stripes[i].mu.Lock()
	}
	defer func() {
		for j := len(idx) - 1; j >= 0; j-- {
			o.stripes[idx[j]].mu.Unlock()
		}
	}()
	stale := func(c lease.Change) bool {
		if c.Seq == 0 {
			return false
		}
		a := changeAddr(c)
		return o.stripes[stripeOf(a)].last[a] > c.Seq
	}
	if !slices.ContainsFunc(changes, stale) {
		fn(changes)
		return
	}
	fresh := make([]lease.Change, 0, len(changes))
	for _, c := range changes {
		if !stale(c) {
			fresh = append(fresh, c)
		}
	}
	fn(fresh)
}
