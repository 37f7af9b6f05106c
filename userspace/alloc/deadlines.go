package alloc

import (
	"net/netip"
	"sync"
)

// Deadlines orders held addresses by the time they become reusable (for the
// engine: the expiry of the lease holding each address of one pool). It
// answers "which addresses are due by now?" oldest first without scanning:
// a binary min-heap with a position index, so Set and Remove cost
// O(log n) and Due costs O(k log k) for k addresses returned, and O(1) when
// none is due. Safe for concurrent use.
type Deadlines struct {
	mu   sync.Mutex
	heap []deadline
	pos  map[uint32]int32 // address → index in heap
}

type deadline struct {
	at   int64
	addr uint32
}

// NewDeadlines returns an empty index.
func NewDeadlines() *Deadlines { return &Deadlines{pos: map[uint32]int32{}} }

// Set records (or moves) the deadline of a. Non-IPv4 addresses are ignored.
func (d *Deadlines) Set(a netip.Addr, at int64) {
	a = a.Unmap()
	if !a.Is4() {
		return
	}
	k := addrToU32(a)
	d.mu.Lock()
	defer d.mu.Unlock()
	if i, ok := d.pos[k]; ok {
		d.heap[i].at = at
		if !d.down(int(i)) {
			d.up(int(i))
		}
		return
	}
	d.heap = append(d.heap, deadline{at: at, addr: k})
	i := len(d.heap) - 1
	d.pos[k] = int32(i)
	d.up(i)
}

// Remove forgets a; an address not in the index is ignored.
func (d *Deadlines) Remove(a netip.Addr) {
	a = a.Unmap()
	if !a.Is4() {
		return
	}
	k := addrToU32(a)
	d.mu.Lock()
	defer d.mu.Unlock()
	i, ok := d.pos[k]
	if !ok {
		return
	}
	delete(d.pos, k)
	last := len(d.heap) - 1
	if int(i) != last {
		d.heap[i] = d.heap[last]
		d.pos[d.heap[i].addr] = i
	}
	d.heap = d.heap[:last]
	if int(i) < last {
		if !d.down(int(i)) {
			d.up(int(i))
		}
	}
}

// Due appends to dst up to max (> 0) addresses whose deadline is ≤ now,
// earliest first (ties by address), and returns dst. The index is not
// changed. When the earliest deadline is after now it returns at once.
func (d *Deadlines) Due(now int64, max int, dst []netip.Addr) []netip.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.heap) == 0 || d.heap[0].at > now || max <= 0 {
		return dst
	}
	// Best-first walk of the heap tree: cand holds heap positions whose
	// parents were taken; the smallest of them is the next due address.
	var buf [64]int
	cand := append(buf[:0], 0)
	for n := 0; n < max && len(cand) > 0; n++ {
		m := 0
		for j := 1; j < len(cand); j++ {
			if d.less(cand[j], cand[m]) {
				m = j
			}
		}
		p := cand[m]
		cand[m] = cand[len(cand)-1]
		cand = cand[:len(cand)-1]
		dst = append(dst, u32ToAddr(d.heap[p].addr))
		for _, c := range [2]int{2*p + 1, 2*p + 2} {
			if c < len(d.heap) && d.heap[c].at <= now {
				cand = append(cand, c)
			}
		}
	}
	return dst
}

// Len returns the number of addresses in the index.
func (d *Deadlines) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.heap)
}

func (d *Deadlines) less(i, j int) bool {
	a, b := d.heap[i], d.heap[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.addr < b.addr
}

func (d *Deadlines) swap(i, j int) {
	d.heap[i], d.heap[j] = d.heap[j], d.heap[i]
	d.pos[d.heap[i].addr] = int32(i)
	d.pos[d.heap[j].addr] = int32(j)
}

func (d *Deadlines) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !d.less(j, i) {
			return
		}
		d.swap(i, j)
		j = i
	}
}

// down sifts position i down and reports whether it moved.
func (d *Deadlines) down(i int) bool {
	i0, n := i, len(d.heap)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if j2 := j + 1; j2 < n && d.less(j2, j) {
			j = j2
		}
		if !d.less(j, i) {
			break
		}
		d.swap(i, j)
		i = j
	}
	return i > i0
}
