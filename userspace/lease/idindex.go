package lease

import (
	"hash/maphash"
	"slices"
)

// idIndex maps an identifier (hardware address, client identifier or
// lower-cased hostname) to the slots of the leases listed under it, in
// insertion order.
//
// It is keyed by a 32-bit seeded hash of the identifier, not by the
// identifier itself: no key copies, and 8-byte map slots. Different
// identifiers may share a hash, so a hash's list can hold slots of other
// identifiers; readers check each record's identifier (memIndex.each), and
// the order of one identifier's slots is still its insertion order. The seed
// is random per index, so clients cannot choose colliding identifiers.
//
// Almost every hash has exactly one slot, so that case is kept in a map
// with a bare uint32 value (no slice header, no backing array); a hash with
// two or more slots lives only in many.
type idIndex struct {
	seed maphash.Seed
	one  map[uint32]uint32
	many map[uint32][]uint32
}

func newIDIndex(hint int) idIndex {
	return idIndex{seed: maphash.MakeSeed(), one: make(map[uint32]uint32, hint), many: make(map[uint32][]uint32)}
}

func (x *idIndex) hash(id []byte) uint32 { return uint32(maphash.Bytes(x.seed, id)) }

func (x *idIndex) hashString(id string) uint32 { return uint32(maphash.String(x.seed, id)) }

// add appends slot s to hash h's list.
func (x *idIndex) add(h, s uint32) {
	if len(x.many) > 0 {
		if list, ok := x.many[h]; ok {
			x.many[h] = append(list, s)
			return
		}
	}
	if first, ok := x.one[h]; ok {
		delete(x.one, h)
		x.many[h] = []uint32{first, s}
		return
	}
	x.one[h] = s
}

// remove takes slot s out of hash h's list.
func (x *idIndex) remove(h, s uint32) {
	if first, ok := x.one[h]; ok {
		if first == s {
			delete(x.one, h)
		}
		return
	}
	list, ok := x.many[h]
	if !ok {
		return
	}
	if i := slices.Index(list, s); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	switch len(list) {
	case 0:
		delete(x.many, h)
	case 1:
		delete(x.many, h)
		x.one[h] = list[0]
	default:
		x.many[h] = list
	}
}

// each calls fn for hash h's slots in insertion order until fn returns
// false.
func (x *idIndex) each(h uint32, fn func(s uint32) bool) {
	if s, ok := x.one[h]; ok {
		fn(s)
		return
	}
	for _, s := range x.many[h] {
		if !fn(s) {
			return
		}
	}
}
