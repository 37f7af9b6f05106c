package lease

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAddrIndexModel applies random puts and removes, dense and sparse, and
// compares lookups and ordered iteration with a map.
func TestAddrIndexModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := newAddrIndex()
	model := map[uint32]uint32{}
	addr := func() uint32 {
		if r.IntN(2) == 0 {
			return 10<<24 | uint32(r.IntN(3))<<8 | uint32(r.IntN(256)) // dense
		}
		return r.Uint32() // sparse, incl. 0 and high addresses
	}
	check := func() {
		t.Helper()
		if x.len() != len(model) {
			t.Fatalf("len %d, want %d", x.len(), len(model))
		}
		keys := make([]uint32, 0, len(model))
		for k := range model {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, from := range []uint32{0, addr(), addr(), 10<<24 | 1<<8 | 64, 10<<24 | 1<<8 | 63, ^uint32(0)} {
			var got []uint32
			x.ascend(from, func(a, s uint32) bool {
				if model[a] != s {
					t.Fatalf("ascend: %x has slot %d, want %d", a, s, model[a])
				}
				got = append(got, a)
				return true
			})
			i, _ := slices.BinarySearch(keys, from)
			if want := keys[i:]; !slices.Equal(got, want) {
				t.Fatalf("ascend(%x) = %d addresses, want %d", from, len(got), len(want))
			}
		}
		for k, s := range model {
			if got, ok := x.get(k); !ok || got != s {
				t.Fatalf("get(%x) = %d %v, want %d", k, got, ok, s)
			}
		}
	}
	for i := range 20000 {
		a := addr()
		if r.IntN(3) == 0 {
			x.remove(a)
			delete(model, a)
			if _, ok := x.get(a); ok {
				t.Fatalf("%x present after remove", a)
			}
		} else {
			x.put(a, uint32(i))
			model[a] = uint32(i)
		}
		if i%2000 == 0 {
			check()
		}
	}
	check()
	n := 0
	x.ascend(0, func(a, s uint32) bool { n++; return n < 5 })
	if n != 5 {
		t.Fatalf("ascend did not stop: %d calls", n)
	}
}
