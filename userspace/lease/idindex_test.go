package lease

import (
	"slices"
	"testing"
)

func TestIDIndex(t *testing.T) {
	x := newIDIndex(0)
	list := func(h uint32) []uint32 {
		var out []uint32
		x.each(h, func(s uint32) bool { out = append(out, s); return true })
		return out
	}
	const a, b, c = 100, 200, 300 // hashes
	x.add(a, 1)
	x.add(a, 2)
	x.add(a, 3)
	x.add(b, 9)
	if got := list(a); !slices.Equal(got, []uint32{1, 2, 3}) {
		t.Fatalf("a = %v", got)
	}
	x.remove(a, 2)
	x.remove(a, 7) // absent: no-op
	if got := list(a); !slices.Equal(got, []uint32{1, 3}) {
		t.Fatalf("a after remove = %v", got)
	}
	x.remove(a, 1)
	if got := list(a); !slices.Equal(got, []uint32{3}) || len(x.many) != 0 || x.one[a] != 3 {
		t.Fatalf("a back to one: %v, many %v", got, x.many)
	}
	x.remove(b, 8) // wrong slot: kept
	x.remove(a, 3)
	if got := list(a); got != nil {
		t.Fatalf("a after removing all = %v", got)
	}
	if got := list(b); !slices.Equal(got, []uint32{9}) {
		t.Fatalf("b = %v", got)
	}
	var n int
	x.add(c, 1)
	x.add(c, 2)
	x.each(c, func(uint32) bool { n++; return false })
	if n != 1 {
		t.Fatalf("each did not stop: %d calls", n)
	}
}

// TestIDIndexCollisions lists every lease under the hash of every
// identifier, as if all hashes collided: lookups must still return exactly
// the leases of the identifier asked for, in insertion order.
func TestIDIndexCollisions(t *testing.T) {
	m := newMemIndex()
	hw := func(i byte) []byte { return []byte{2, 0, 0, 0, 0, i} }
	put := func(addr string, i byte) {
		l := mk(addr, "", 1, 1000, 600)
		l.HWAddr = hw(i)
		s, r := m.t.insert(addrKey(l.Addr))
		r.heapIdx = -1
		m.t.set(r, l)
		for j := byte(1); j <= 3; j++ {
			m.byHW.add(m.byHW.hash(hw(j)), s)
		}
	}
	put("192.0.2.1", 1)
	put("192.0.2.2", 2)
	put("192.0.2.3", 1)
	put("192.0.2.4", 3)
	for _, c := range []struct {
		id   byte
		want []string
	}{
		{1, []string{"192.0.2.1", "192.0.2.3"}},
		{2, []string{"192.0.2.2"}},
		{3, []string{"192.0.2.4"}},
		{9, []string{}},
	} {
		if got := addrs(m.lookup(byHW, hw(c.id), 0, true)); !slices.Equal(got, c.want) {
			t.Errorf("hw %d = %v, want %v", c.id, got, c.want)
		}
	}
}
