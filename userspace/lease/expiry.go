package lease

import "container/heap"

// expiryHeap orders the reclaimable leases (state default or declined) by
// expiry time, then address. It holds slots; each record knows its position
// (record.heapIdx) so that updates and deletions are O(log n).
type expiryHeap struct {
	t     *table
	slots []uint32
}

// before orders slots a and b by expiry, then address.
func (h *expiryHeap) before(a, b uint32) bool {
	ra, rb := h.t.rec(a), h.t.rec(b)
	ea, eb := ra.expire(), rb.expire()
	if ea != eb {
		return ea < eb
	}
	return ra.addr < rb.addr
}

func (h *expiryHeap) less(i, j int) bool { return h.before(h.slots[i], h.slots[j]) }

func (h *expiryHeap) swap(i, j int) {
	h.slots[i], h.slots[j] = h.slots[j], h.slots[i]
	h.t.rec(h.slots[i]).heapIdx = int32(i)
	h.t.rec(h.slots[j]).heapIdx = int32(j)
}

func (h *expiryHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h *expiryHeap) down(i int) bool {
	i0, n := i, len(h.slots)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if j2 := j + 1; j2 < n && h.less(j2, j) {
			j = j2
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}

// init establishes the heap order over slots appended with their heapIdx set.
func (h *expiryHeap) init() {
	for i := len(h.slots)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// sync puts slot s in, moves it within, or takes it out of the heap after
// its lease changed.
func (h *expiryHeap) sync(s uint32) {
	r := h.t.rec(s)
	switch in := r.reclaimable(); {
	case in && r.heapIdx < 0:
		r.heapIdx = int32(len(h.slots))
		h.slots = append(h.slots, s)
		h.up(int(r.heapIdx))
	case in:
		if i := int(r.heapIdx); !h.down(i) {
			h.up(i)
		}
	default:
		h.remove(s)
	}
}

// remove takes slot s out of the heap if it is in.
func (h *expiryHeap) remove(s uint32) {
	r := h.t.rec(s)
	i := int(r.heapIdx)
	if i < 0 {
		return
	}
	last := len(h.slots) - 1
	if i != last {
		h.swap(i, last)
	}
	h.slots = h.slots[:last]
	r.heapIdx = -1
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
}

// oldest returns up to limit (≤ 0: all) slots with expiry ≤ now in expiry
// order without modifying the heap: a best-first walk of the heap tree
// using a small auxiliary heap of candidate positions, O(k log k).
func (h *expiryHeap) oldest(now int64, limit int) []uint32 {
	var out []uint32
	if len(h.slots) == 0 || h.t.rec(h.slots[0]).expire() > now {
		return nil
	}
	cand := &posHeap{h: h, pos: []int{0}}
	for cand.Len() > 0 && (limit <= 0 || len(out) < limit) {
		p := heap.Pop(cand).(int)
		out = append(out, h.slots[p])
		for _, c := range [2]int{2*p + 1, 2*p + 2} {
			if c < len(h.slots) && h.t.rec(h.slots[c]).expire() <= now {
				heap.Push(cand, c)
			}
		}
	}
	return out
}

type posHeap struct {
	h   *expiryHeap
	pos []int
}

func (p *posHeap) Len() int           { return len(p.pos) }
func (p *posHeap) Less(i, j int) bool { return p.h.less(p.pos[i], p.pos[j]) }
func (p *posHeap) Swap(i, j int)      { p.pos[i], p.pos[j] = p.pos[j], p.pos[i] }
func (p *posHeap) Push(x any)         { p.pos = append(p.pos, x.(int)) }
func (p *posHeap) Pop() any {
	x := p.pos[len(p.pos)-1]
	p.pos = p.pos[:len(p.pos)-1]
	return x
}
