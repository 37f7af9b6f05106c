package lease

import "container/heap"

// expiryHeap orders the reclaimable leases (state default or declined) by
// expiry time, then address. Each entry knows its position so that updates
// and deletions are O(log n).
type expiryHeap []*entry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].before(h[j]) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *expiryHeap) Push(x any) {
	e := x.(*entry)
	e.heapIdx = len(*h)
	*h = append(*h, e)
}
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.heapIdx = -1
	return e
}

func (e *entry) before(o *entry) bool {
	a, b := e.lease.Expire(), o.lease.Expire()
	if a != b {
		return a < b
	}
	return e.key < o.key
}

func reclaimable(l *Lease) bool {
	return l.State == StateDefault || l.State == StateDeclined
}

// sync puts e in, moves it within, or takes it out of the heap after its
// lease changed.
func (h *expiryHeap) sync(e *entry) {
	in := reclaimable(e.lease)
	switch {
	case in && e.heapIdx < 0:
		heap.Push(h, e)
	case in:
		heap.Fix(h, e.heapIdx)
	case e.heapIdx >= 0:
		heap.Remove(h, e.heapIdx)
	}
}

func (h *expiryHeap) remove(e *entry) {
	if e.heapIdx >= 0 {
		heap.Remove(h, e.heapIdx)
	}
}

// oldest returns up to limit (≤ 0: all) entries with expiry ≤ now in
// expiry order without modifying the heap: a best-first walk of the heap
// tree using a small auxiliary heap of candidate positions, O(k log k).
func (h expiryHeap) oldest(now int64, limit int) []*entry {
	var out []*entry
	if len(h) == 0 || h[0].lease.Expire() > now {
		return nil
	}
	cand := &posHeap{h: h, pos: []int{0}}
	for cand.Len() > 0 && (limit <= 0 || len(out) < limit) {
		p := heap.Pop(cand).(int)
		out = append(out, h[p])
		for _, c := range [2]int{2*p + 1, 2*p + 2} {
			if c < len(h) && h[c].lease.Expire() <= now {
				heap.Push(cand, c)
			}
		}
	}
	return out
}

type posHeap struct {
	h   expiryHeap
	pos []int
}

func (p *posHeap) Len() int           { return len(p.pos) }
func (p *posHeap) Less(i, j int) bool { return p.h[p.pos[i]].before(p.h[p.pos[j]]) }
func (p *posHeap) Swap(i, j int)      { p.pos[i], p.pos[j] = p.pos[j], p.pos[i] }
func (p *posHeap) Push(x any)         { p.pos = append(p.pos, x.(int)) }
func (p *posHeap) Pop() any {
	x := p.pos[len(p.pos)-1]
	p.pos = p.pos[:len(p.pos)-1]
	return x
}
