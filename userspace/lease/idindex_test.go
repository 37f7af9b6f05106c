package lease

import (
	"slices"
	"testing"
)

func TestIDIndex(t *testing.T) {
	x := newIDIndex(0)
	list := func(id string) []uint32 {
		var out []uint32
		x.each(id, func(k uint32) bool { out = append(out, k); return true })
		return out
	}
	x.add("a", 1)
	x.add("a", 2)
	x.add("a", 3)
	x.add("b", 9)
	if got := list("a"); !slices.Equal(got, []uint32{1, 2, 3}) {
		t.Fatalf("a = %v", got)
	}
	x.remove("a", 2)
	x.remove("a", 7) // absent: no-op
	if got := list("a"); !slices.Equal(got, []uint32{1, 3}) {
		t.Fatalf("a after remove = %v", got)
	}
	x.remove("a", 1)
	if got := list("a"); !slices.Equal(got, []uint32{3}) || len(x.many) != 0 || x.one["a"] != 3 {
		t.Fatalf("a back to one: %v, many %v", got, x.many)
	}
	x.remove("b", 8) // wrong address: kept
	x.remove("a", 3)
	if got := list("a"); got != nil {
		t.Fatalf("a after removing all = %v", got)
	}
	if got := list("b"); !slices.Equal(got, []uint32{9}) {
		t.Fatalf("b = %v", got)
	}
	var n int
	x.add("c", 1)
	x.add("c", 2)
	x.each("c", func(uint32) bool { n++; return false })
	if n != 1 {
		t.Fatalf("each did not stop: %d calls", n)
	}
}
