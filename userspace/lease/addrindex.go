package lease

import (
	"math/bits"
	"slices"
	"sort"
)

// addrIndex maps IPv4 addresses (as uint32) to slots and iterates them in
// address order. For every /24 that holds at least one address it keeps a
// block: a 256-bit bitmap and the slots of the set bits in address order
// (an address's slot is at the rank of its bit, the number of set bits
// below it). A sorted list of the /24 prefixes gives the order.
//
// DHCP pools are dense runs of addresses, so this costs about 4 bytes per
// address plus ~100 bytes per /24, against 10–20 bytes per address for a
// map[uint32]uint32, and it keeps neighbouring addresses in the same cache
// lines: loading a file written in address order touches each block
// sequentially. Lookups cost one map access on the (small) block map and a
// popcount; insert and delete are O(addresses in the /24), plus
// O(number of /24s) when a /24 appears or empties; ordered iteration from
// any address costs O(log /24s) to start, then O(1) per address.
type addrIndex struct {
	blocks map[uint32]*addrBlock // addr >> 8 → block
	keys   []uint32              // sorted /24 prefixes
	n      int
}

type addrBlock struct {
	bits  [4]uint64
	slots []uint32 // one per set bit, in address order
}

func newAddrIndex() *addrIndex { return &addrIndex{blocks: make(map[uint32]*addrBlock)} }

func (x *addrIndex) len() int { return x.n }

// pos returns the word and bit of a's host part and its rank in b.
func (b *addrBlock) pos(a uint32) (w int, bit uint64, rank int) {
	w, bit = int(a&0xff)>>6, uint64(1)<<(a&63)
	for i := range w {
		rank += bits.OnesCount64(b.bits[i])
	}
	rank += bits.OnesCount64(b.bits[w] & (bit - 1))
	return w, bit, rank
}

// get returns a's slot.
func (x *addrIndex) get(a uint32) (uint32, bool) {
	b := x.blocks[a>>8]
	if b == nil {
		return 0, false
	}
	w, bit, rank := b.pos(a)
	if b.bits[w]&bit == 0 {
		return 0, false
	}
	return b.slots[rank], true
}

// put sets a's slot, adding a if it is absent.
func (x *addrIndex) put(a, s uint32) {
	k := a >> 8
	b := x.blocks[k]
	if b == nil {
		b = &addrBlock{}
		x.blocks[k] = b
		if n := len(x.keys); n == 0 || x.keys[n-1] < k {
			x.keys = append(x.keys, k) // the common case when loading in order
		} else {
			i := sort.Search(n, func(i int) bool { return x.keys[i] >= k })
			x.keys = slices.Insert(x.keys, i, k)
		}
	}
	w, bit, rank := b.pos(a)
	if b.bits[w]&bit != 0 {
		b.slots[rank] = s
		return
	}
	b.bits[w] |= bit
	b.slots = slices.Insert(b.slots, rank, s)
	x.n++
}

// remove deletes a.
func (x *addrIndex) remove(a uint32) {
	k := a >> 8
	b := x.blocks[k]
	if b == nil {
		return
	}
	w, bit, rank := b.pos(a)
	if b.bits[w]&bit == 0 {
		return
	}
	b.bits[w] &^= bit
	b.slots = slices.Delete(b.slots, rank, rank+1)
	x.n--
	if len(b.slots) == 0 {
		delete(x.blocks, k)
		i := sort.Search(len(x.keys), func(i int) bool { return x.keys[i] >= k })
		x.keys = slices.Delete(x.keys, i, i+1)
	}
}

// ascend calls fn for every address ≥ from and its slot in increasing
// address order until fn returns false. fn must not change x.
func (x *addrIndex) ascend(from uint32, fn func(a, s uint32) bool) {
	k0 := from >> 8
	i := sort.Search(len(x.keys), func(i int) bool { return x.keys[i] >= k0 })
	for ; i < len(x.keys); i++ {
		k := x.keys[i]
		b := x.blocks[k]
		rank := 0
		for w := range 4 {
			word := b.bits[w]
			if k == k0 {
				lo := int(from&0xff) - w*64 // bits below lo are before `from`
				switch {
				case lo >= 64:
					rank += bits.OnesCount64(word)
					word = 0
				case lo > 0:
					skip := word & (uint64(1)<<uint(lo) - 1)
					rank += bits.OnesCount64(skip)
					word &^= skip
				}
			}
			for word != 0 {
				bit := bits.TrailingZeros64(word)
				word &= word - 1
				if !fn(k<<8|uint32(w*64+bit), b.slots[rank]) {
					return
				}
				rank++
			}
		}
	}
}
