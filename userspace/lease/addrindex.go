package lease

import (
	"math/bits"
	"slices"
	"sort"
)

// addrSet is an ordered set of IPv4 addresses (as uint32): one 256-bit
// bitmap per /24 that holds at least one address, plus the sorted list of
// those /24 prefixes. Insert and delete are O(1) within an existing /24 and
// O(number of /24s) when a /24 appears or empties; ordered iteration from
// any address costs O(log /24s) to start, then O(1) per address.
type addrSet struct {
	chunks map[uint32]*[4]uint64
	keys   []uint32 // sorted /24 prefixes (addr >> 8)
	n      int
}

func newAddrSet() *addrSet { return &addrSet{chunks: make(map[uint32]*[4]uint64)} }

// buildAddrSet builds the set from unordered addresses in O(n log n).
func buildAddrSet(addrs []uint32) *addrSet {
	s := newAddrSet()
	for _, a := range addrs {
		c := s.chunks[a>>8]
		if c == nil {
			c = new([4]uint64)
			s.chunks[a>>8] = c
			s.keys = append(s.keys, a>>8)
		}
		w, b := (a&0xff)>>6, a&63
		if c[w]&(1<<b) == 0 {
			c[w] |= 1 << b
			s.n++
		}
	}
	slices.Sort(s.keys)
	return s
}

func (s *addrSet) insert(a uint32) {
	k := a >> 8
	c := s.chunks[k]
	if c == nil {
		c = new([4]uint64)
		s.chunks[k] = c
		i := sort.Search(len(s.keys), func(i int) bool { return s.keys[i] >= k })
		s.keys = slices.Insert(s.keys, i, k)
	}
	w, b := (a&0xff)>>6, a&63
	if c[w]&(1<<b) == 0 {
		c[w] |= 1 << b
		s.n++
	}
}

func (s *addrSet) remove(a uint32) {
	k := a >> 8
	c := s.chunks[k]
	if c == nil {
		return
	}
	w, b := (a&0xff)>>6, a&63
	if c[w]&(1<<b) == 0 {
		return
	}
	c[w] &^= 1 << b
	s.n--
	if c[0]|c[1]|c[2]|c[3] == 0 {
		delete(s.chunks, k)
		i := sort.Search(len(s.keys), func(i int) bool { return s.keys[i] >= k })
		s.keys = slices.Delete(s.keys, i, i+1)
	}
}

// ascend calls fn for every address ≥ from in increasing order until fn
// returns false.
func (s *addrSet) ascend(from uint32, fn func(a uint32) bool) {
	k0 := from >> 8
	i := sort.Search(len(s.keys), func(i int) bool { return s.keys[i] >= k0 })
	for ; i < len(s.keys); i++ {
		k := s.keys[i]
		c := s.chunks[k]
		for w := 0; w < 4; w++ {
			word := c[w]
			if k == k0 {
				lo := int(from&0xff) - w*64 // bits below lo are before `from`
				switch {
				case lo >= 64:
					word = 0
				case lo > 0:
					word &^= (uint64(1) << uint(lo)) - 1
				}
			}
			for word != 0 {
				b := bits.TrailingZeros64(word)
				word &= word - 1
				if !fn(k<<8 | uint32(w*64+b)) {
					return
				}
			}
		}
	}
}
