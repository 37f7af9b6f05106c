package admission

import "sync"

// KnownSet is a bounded concurrent set of client keys: the user-space twin
// of the kernel's xdhcp_known, for the UDP path. The daemon adds
// ClientKey(l.ClientID, l.HWAddr) when a lease is committed and removes it
// when the lease goes. When full, an arbitrary key is evicted (the kernel
// evicts the least recently used): that client then counts as unknown
// until its next lease change.
type KnownSet struct {
	shards [shards]knownShard
}

type knownShard struct {
	mu  sync.RWMutex
	m   map[uint64]struct{}
	max int
	_   [24]byte
}

// NewKnownSet returns a set that holds about max keys (at least one per
// internal shard).
func NewKnownSet(max int) *KnownSet {
	per := max / shards
	if per < 1 {
		per = 1
	}
	k := &KnownSet{}
	for i := range k.shards {
		k.shards[i].m = make(map[uint64]struct{}, per)
		k.shards[i].max = per
	}
	return k
}

func (k *KnownSet) shard(key uint64) *knownShard { return &k.shards[key%shards] }

// Known reports whether key is in the set.
func (k *KnownSet) Known(key uint64) bool {
	s := k.shard(key)
	s.mu.RLock()
	_, ok := s.m[key]
	s.mu.RUnlock()
	return ok
}

// Update adds the keys in add, then removes those in del.
func (k *KnownSet) Update(add, del []uint64) {
	for _, key := range add {
		s := k.shard(key)
		s.mu.Lock()
		if _, ok := s.m[key]; !ok && len(s.m) >= s.max {
			for old := range s.m {
				delete(s.m, old)
				break
			}
		}
		s.m[key] = struct{}{}
		s.mu.Unlock()
	}
	for _, key := range del {
		s := k.shard(key)
		s.mu.Lock()
		delete(s.m, key)
		s.mu.Unlock()
	}
}

// Len is the number of keys in the set.
func (k *KnownSet) Len() int {
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
