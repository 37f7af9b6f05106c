package alloc

import (
	"net/netip"
	"sync"
)

// Range is the free-address index of one pool: the IPv4 addresses
// first..last inclusive. Every address starts free. It is safe for
// concurrent use.
type Range struct {
	first uint32
	size  uint64

	mu     sync.Mutex
	free   bitmap
	nfree  uint64
	cursor uint64 // offset where the next search starts
}

// NewRange returns a Range over first..last (IPv4, inclusive) with every
// address free. If either address is not IPv4 or first > last, the Range is
// empty: it contains nothing and Next always fails.
func NewRange(first, last netip.Addr) *Range {
	first, last = first.Unmap(), last.Unmap()
	if !first.Is4() || !last.Is4() || last.Less(first) {
		return &Range{}
	}
	f, l := addrToU32(first), addrToU32(last)
	n := uint64(l) - uint64(f) + 1
	return &Range{first: f, size: n, free: newBitmap(n), nfree: n}
}

// Next returns a free address at or after the rotating cursor, wrapping to
// the start of the range, and marks it used. The cursor then moves past it,
// so successive calls hand out addresses in order. It returns false when the
// range is full.
func (r *Range) Next() (netip.Addr, bool) { return r.walk(true) }

// Pick is Next without taking the address: it returns a free address at or
// after the rotating cursor and moves the cursor past it, but the address
// stays free. It is Kea 2.2's iterative allocator for an allocation that
// holds nothing (a DISCOVER's fake allocation): successive calls walk the
// free addresses in order, and a caller that later commits the address
// takes it then (Take). It returns false at once when the range is full.
func (r *Range) Pick() (netip.Addr, bool) { return r.walk(false) }

// Unpick undoes a Pick of a whose address went unused: the cursor goes
// back to a if it is still just past it (no Pick or Next moved it since),
// so the next search starts at a again, as if Pick had not run. Otherwise
// it does nothing (a is still free; the walk reaches it again on its next
// round).
func (r *Range) Unpick(a netip.Addr) {
	i, ok := r.offset(a)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	next := i + 1
	if next == r.size {
		next = 0
	}
	if r.cursor == next {
		r.cursor = i
	}
}

// walk finds the first free address at or after the cursor (wrapping),
// moves the cursor past it and, if take, marks it used.
func (r *Range) walk(take bool) (netip.Addr, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.nfree == 0 {
		return netip.Addr{}, false
	}
	i, ok := r.free.findFrom(r.cursor)
	if !ok {
		if i, ok = r.free.findFrom(0); !ok {
			return netip.Addr{}, false
		}
	}
	if take {
		r.free.clear(i)
		r.nfree--
	}
	r.advance(i)
	return u32ToAddr(r.first + uint32(i)), true
}

// advance moves the cursor past offset i; the caller holds mu.
func (r *Range) advance(i uint64) {
	r.cursor = i + 1
	if r.cursor == r.size {
		r.cursor = 0
	}
}

// Take marks a specific address used. It returns false if the address is
// outside the range or already used.
func (r *Range) Take(a netip.Addr) bool {
	i, ok := r.offset(a)
	if !ok {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.free.clear(i) {
		return false
	}
	r.nfree--
	return true
}

// Free marks an address free again. Addresses outside the range and
// addresses already free are ignored.
func (r *Range) Free(a netip.Addr) {
	i, ok := r.offset(a)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.free.set(i) {
		r.nfree++
	}
}

// IsFree reports whether the address is inside the range and free.
func (r *Range) IsFree(a netip.Addr) bool {
	i, ok := r.offset(a)
	if !ok {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.free.isSet(i)
}

// Contains reports whether the address lies inside the range.
func (r *Range) Contains(a netip.Addr) bool {
	_, ok := r.offset(a)
	return ok
}

// Size returns the number of addresses in the range.
func (r *Range) Size() uint64 { return r.size }

// FreeCount returns the number of free addresses.
func (r *Range) FreeCount() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nfree
}

// offset maps an address to its position in the range.
func (r *Range) offset(a netip.Addr) (uint64, bool) {
	a = a.Unmap()
	if r.size == 0 || !a.Is4() {
		return 0, false
	}
	v := addrToU32(a)
	if v < r.first {
		return 0, false
	}
	i := uint64(v - r.first)
	if i >= r.size {
		return 0, false
	}
	return i, true
}

func addrToU32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func u32ToAddr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
