package lease

import (
	"net/netip"
	"strings"
)

// Readers build new Leases from the stored records under the read lock, so
// every *Lease they return belongs to the caller.

// Get returns a copy of the lease at addr.
func (s *Store) Get(addr netip.Addr) (*Lease, bool) {
	if !addr.Is4() {
		return nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if l := s.idx.get(addrKey(addr)); l != nil {
		return l, true
	}
	return nil, false
}

// GetByHW returns the first-stored lease of hardware address hw in a subnet.
func (s *Store) GetByHW(hw []byte, subnetID uint32) (*Lease, bool) {
	return s.first(byHW, hw, subnetID)
}

// GetByClientID returns the first-stored lease of client identifier cid in a
// subnet.
func (s *Store) GetByClientID(cid []byte, subnetID uint32) (*Lease, bool) {
	return s.first(byCID, cid, subnetID)
}

func (s *Store) first(k idKind, id []byte, subnetID uint32) (*Lease, bool) {
	if len(id) == 0 {
		return nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found *Lease
	s.idx.each(k, id, func(slot uint32, r *record) bool {
		if r.subnet == subnetID {
			found = s.idx.t.lease(slot)
			return false
		}
		return true
	})
	return found, found != nil
}

// FindByHW returns the leases of hardware address hw in all subnets.
func (s *Store) FindByHW(hw []byte) []*Lease { return s.find(byHW, hw) }

// FindByClientID returns the leases of client identifier cid in all subnets.
func (s *Store) FindByClientID(cid []byte) []*Lease { return s.find(byCID, cid) }

// FindByHostname returns the leases whose hostname equals name, compared
// lower-cased.
func (s *Store) FindByHostname(name string) []*Lease {
	return s.find(byHost, []byte(strings.ToLower(name)))
}

func (s *Store) find(k idKind, id []byte) []*Lease {
	if len(id) == 0 {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.idx.lookup(k, id, 0, true)
}

// All returns every lease in address order.
func (s *Store) All() []*Lease {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Lease, 0, s.idx.t.len())
	s.idx.t.ascend(func(slot uint32, _ *record) {
		out = append(out, s.idx.t.lease(slot))
	})
	return out
}

// BySubnet returns the leases of one subnet in address order.
func (s *Store) BySubnet(id uint32) []*Lease {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Lease
	s.idx.t.ascend(func(slot uint32, r *record) {
		if r.subnet == id {
			out = append(out, s.idx.t.lease(slot))
		}
	})
	return out
}

// Page returns up to limit leases (≤ 0: no limit) in address order after
// `after` (exclusive); an invalid or non-IPv4 `after` starts at the beginning.
func (s *Store) Page(after netip.Addr, limit int) []*Lease {
	var from uint32
	if after.Is4() {
		k := addrKey(after)
		if k == ^uint32(0) {
			return nil
		}
		from = k + 1
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Lease
	s.idx.t.byAddr.ascend(from, func(_, slot uint32) bool {
		out = append(out, s.idx.t.lease(slot))
		return limit <= 0 || len(out) < limit
	})
	return out
}

// Expired returns up to limit (≤ 0: no limit) leases in state default or
// declined whose expiry is ≤ now (Unix seconds), oldest first (ties by
// address). It does not scan the whole store.
func (s *Store) Expired(now int64, limit int) []*Lease {
	s.mu.RLock()
	defer s.mu.RUnlock()
	slots := s.idx.expiry.oldest(now, limit)
	out := make([]*Lease, len(slots))
	for i, slot := range slots {
		out[i] = s.idx.t.lease(slot)
	}
	return out
}

// Count returns the number of leases.
func (s *Store) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.idx.t.len()
}
