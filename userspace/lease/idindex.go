package lease

import "slices"

// idIndex maps an identifier (hardware address, client identifier or
// lower-cased hostname) to the addresses listed under it, in insertion
// order. Almost every identifier has exactly one address, so that case is
// kept in a map with a bare uint32 value (no slice header, no backing
// array); an identifier with two or more addresses lives only in many.
type idIndex struct {
	one  map[string]uint32
	many map[string][]uint32
}

func newIDIndex(hint int) idIndex {
	return idIndex{one: make(map[string]uint32, hint), many: make(map[string][]uint32)}
}

// add appends k to id's list.
func (x *idIndex) add(id string, k uint32) {
	if list, ok := x.many[id]; ok {
		x.many[id] = append(list, k)
		return
	}
	if first, ok := x.one[id]; ok {
		delete(x.one, id)
		x.many[id] = []uint32{first, k}
		return
	}
	x.one[id] = k
}

// remove takes k out of id's list.
func (x *idIndex) remove(id string, k uint32) {
	if first, ok := x.one[id]; ok {
		if first == k {
			delete(x.one, id)
		}
		return
	}
	list, ok := x.many[id]
	if !ok {
		return
	}
	if i := slices.Index(list, k); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	switch len(list) {
	case 0:
		delete(x.many, id)
	case 1:
		delete(x.many, id)
		x.one[id] = list[0]
	default:
		x.many[id] = list
	}
}

// each calls fn for id's addresses in insertion order until fn returns
// false.
func (x *idIndex) each(id string, fn func(k uint32) bool) {
	if k, ok := x.one[id]; ok {
		fn(k)
		return
	}
	for _, k := range x.many[id] {
		if !fn(k) {
			return
		}
	}
}
