package alloc

import "math/bits"

// bitmap is a hierarchical free-bit index over n positions. levels[0] holds
// one bit per position (1 = free); levels[k+1] holds one bit per word of
// levels[k] (1 = that word is non-zero). The last level is a single word.
// Bits past n (padding) are always 0, so they are never found.
type bitmap struct {
	n      uint64
	levels [][]uint64
}

// newBitmap returns a bitmap of n positions, all free.
func newBitmap(n uint64) bitmap {
	b := bitmap{n: n}
	if n == 0 {
		return b
	}
	count := n // positions at the current level
	for {
		words := (count + 63) / 64
		lvl := make([]uint64, words)
		for i := range lvl {
			lvl[i] = ^uint64(0)
		}
		if rem := count % 64; rem != 0 {
			lvl[words-1] = (uint64(1) << rem) - 1
		}
		b.levels = append(b.levels, lvl)
		if words == 1 {
			return b
		}
		count = words
	}
}

// isSet reports whether position i is free. i must be < n.
func (b *bitmap) isSet(i uint64) bool {
	return b.levels[0][i>>6]&(uint64(1)<<(i&63)) != 0
}

// clear marks position i used, propagating "word became empty" upwards.
// It reports whether the position was free. i must be < n.
func (b *bitmap) clear(i uint64) bool {
	if !b.isSet(i) {
		return false
	}
	idx := i
	for _, words := range b.levels {
		w := idx >> 6
		words[w] &^= uint64(1) << (idx & 63)
		if words[w] != 0 {
			break
		}
		idx = w
	}
	return true
}

// set marks position i free, propagating "word became non-empty" upwards.
// It reports whether the position was used. i must be < n.
func (b *bitmap) set(i uint64) bool {
	if b.isSet(i) {
		return false
	}
	idx := i
	for _, words := range b.levels {
		w := idx >> 6
		old := words[w]
		words[w] = old | uint64(1)<<(idx&63)
		if old != 0 {
			break
		}
		idx = w
	}
	return true
}

// findFrom returns the smallest free position >= i, if any. It climbs
// while the words at and after the position are empty, then descends
// along the lowest set bits: O(levels).
func (b *bitmap) findFrom(i uint64) (uint64, bool) {
	if i >= b.n {
		return 0, false
	}
	lvl, idx := 0, i
	for {
		if lvl == len(b.levels) {
			return 0, false
		}
		words := b.levels[lvl]
		w := idx >> 6
		if w >= uint64(len(words)) {
			return 0, false
		}
		if m := words[w] & (^uint64(0) << (idx & 63)); m != 0 {
			idx = w<<6 + uint64(bits.TrailingZeros64(m))
			break
		}
		idx = w + 1
		lvl++
	}
	for lvl > 0 {
		lvl--
		idx = idx<<6 + uint64(bits.TrailingZeros64(b.levels[lvl][idx]))
	}
	return idx, true
}
