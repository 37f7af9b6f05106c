package admission

// Keys returns every key in the set (to fill a new kernel map).
func (k *KnownSet) Keys() []uint64 {
	out := make([]uint64, 0, k.Len())
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.RLock()
		for key := range s.m {
			out = append(out, key)
		}
		s.mu.RUnlock()
	}
	return out
}
