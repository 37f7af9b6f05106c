package lease

import (
	"net/netip"
	"strings"
)

// Get returns a copy of the lease at addr.
func (s *Store) Get(addr netip.Addr) (*Lease, bool) {
	if !addr.Is4() {
		return nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if l := s.idx.get(addrKey(addr)); l != nil {
		return l.Clone(), true
	}
	return nil, false
}

// GetByHW returns the first-stored lease of hardware address hw in a subnet.
func (s *Store) GetByHW(hw []byte, subnetID uint32) (*Lease, bool) {
	return s.first(&s.idx.byHW, hw, subnetID)
}

// GetByClientID returns the first-stored lease of client identifier cid in a
// subnet.
func (s *Store) GetByClientID(cid []byte, subnetID uint32) (*Lease, bool) {
	return s.first(&s.idx.byCID, cid, subnetID)
}

func (s *Store) first(idx *idIndex, id []byte, subnetID uint32) (*Lease, bool) {
	if len(id) == 0 {
		return nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found *Lease
	idx.each(string(id), func(k uint32) bool {
		if l := s.idx.byAddr[k].lease; l.SubnetID == subnetID {
			found = l.Clone()
			return false
		}
		return true
	})
	return found, found != nil
}

// FindByHW returns the leases of hardware address hw in all subnets.
func (s *Store) FindByHW(hw []byte) []*Lease { return s.find(&s.idx.byHW, string(hw)) }

// FindByClientID returns the leases of client identifier cid in all subnets.
func (s *Store) FindByClientID(cid []byte) []*Lease { return s.find(&s.idx.byCID, string(cid)) }

// FindByHostname returns the leases whose hostname equals name, compared
// lower-cased.
func (s *Store) FindByHostname(name string) []*Lease {
	return s.find(&s.idx.byHost, strings.ToLower(name))
}

func (s *Store) find(idx *idIndex, id string) []*Lease {
	if id == "" {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return clones(s.idx.lookup(idx, id, 0, true))
}

func clones(ls []*Lease) []*Lease {
	for i, l := range ls {
		ls[i] = l.Clone()
	}
	return ls
}

// All returns every lease in address order.
func (s *Store) All() []*Lease {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Lease, 0, len(s.idx.byAddr))
	s.idx.order.ascend(0, func(k uint32) bool {
		out = append(out, s.idx.byAddr[k].lease.Clone())
		return true
	})
	return out
}

// BySubnet returns the leases of one subnet in address order.
func (s *Store) BySubnet(id uint32) []*Lease {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Lease
	s.idx.order.ascend(0, func(k uint32) bool {
		if l := s.idx.byAddr[k].lease; l.SubnetID == id {
			out = append(out, l.Clone())
		}
		return true
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
	s.idx.order.ascend(from, func(k uint32) bool {
		out = append(out, s.idx.byAddr[k].lease.Clone())
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
	es := s.idx.expiry.oldest(now, limit)
	out := make([]*Lease, len(es))
	for i, e := range es {
		out[i] = e.lease.Clone()
	}
	return out
}

// Count returns the number of leases.
func (s *Store) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.idx.byAddr)
}
