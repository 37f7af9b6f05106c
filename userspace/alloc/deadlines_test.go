package alloc

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// TestPickLeavesAddressFree checks Pick walks the free addresses in cursor
// order, shares the cursor with Next, and takes nothing.
func TestPickLeavesAddressFree(t *testing.T) {
	r := NewRange(addr("192.0.2.10"), addr("192.0.2.13"))
	var got []string
	for range 5 {
		a, ok := r.Pick()
		if !ok {
			t.Fatal("Pick failed on a free range")
		}
		got = append(got, a.String())
	}
	want := []string{"192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.10"}
	if !slices.Equal(got, want) {
		t.Fatalf("Pick order %v, want %v", got, want)
	}
	if r.FreeCount() != 4 {
		t.Fatalf("FreeCount = %d after Picks, want 4", r.FreeCount())
	}
	// Next continues from Pick's cursor and takes.
	if a, _ := r.Next(); a != addr("192.0.2.11") {
		t.Fatalf("Next after Pick = %s, want 192.0.2.11", a)
	}
	// Used addresses are skipped.
	r.Take(addr("192.0.2.12"))
	if a, _ := r.Pick(); a != addr("192.0.2.13") {
		t.Fatalf("Pick = %s, want 192.0.2.13", a)
	}
	r.Take(addr("192.0.2.10"))
	r.Take(addr("192.0.2.13"))
	if a, ok := r.Pick(); ok {
		t.Fatalf("Pick on a full range returned %s", a)
	}
	if a, ok := (&Range{}).Pick(); ok {
		t.Fatalf("Pick on an empty range returned %s", a)
	}
}

func TestDeadlinesDueOrder(t *testing.T) {
	d := NewDeadlines()
	if got := d.Due(100, 8, nil); len(got) != 0 {
		t.Fatalf("empty index: Due = %v", got)
	}
	d.Set(addr("10.0.0.5"), 50)
	d.Set(addr("10.0.0.1"), 70)
	d.Set(addr("10.0.0.3"), 50)
	d.Set(addr("10.0.0.9"), 200)
	d.Set(addr("::1"), 1) // ignored
	if d.Len() != 4 {
		t.Fatalf("Len = %d, want 4", d.Len())
	}
	got := d.Due(100, 8, nil)
	want := []netip.Addr{addr("10.0.0.3"), addr("10.0.0.5"), addr("10.0.0.1")}
	if !slices.Equal(got, want) {
		t.Fatalf("Due(100) = %v, want %v", got, want)
	}
	if got := d.Due(100, 2, nil); !slices.Equal(got, want[:2]) {
		t.Fatalf("Due(100, max 2) = %v, want %v", got, want[:2])
	}
	if got := d.Due(49, 8, nil); len(got) != 0 {
		t.Fatalf("Due(49) = %v, want none", got)
	}
	d.Set(addr("10.0.0.3"), 300) // moved later
	d.Remove(addr("10.0.0.5"))
	d.Remove(addr("10.0.0.77")) // absent: ignored
	if got := d.Due(250, 8, nil); !slices.Equal(got, []netip.Addr{addr("10.0.0.1"), addr("10.0.0.9")}) {
		t.Fatalf("after moves Due(250) = %v", got)
	}
}

// TestDeadlinesModel runs random operations against a map and checks Due
// against a sorted scan of the map.
func TestDeadlinesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	d := NewDeadlines()
	model := map[netip.Addr]int64{}
	base := addr("198.18.0.0")
	for i := range 20000 {
		a := add(base, uint32(rng.IntN(500)))
		switch rng.IntN(3) {
		case 0, 1:
			at := int64(rng.IntN(1000))
			d.Set(a, at)
			model[a] = at
		case 2:
			d.Remove(a)
			delete(model, a)
		}
		if i%97 != 0 {
			continue
		}
		now, max := int64(rng.IntN(1000)), 1+rng.IntN(40)
		type e struct {
			a  netip.Addr
			at int64
		}
		var all []e
		for a, at := range model {
			if at <= now {
				all = append(all, e{a, at})
			}
		}
		slices.SortFunc(all, func(x, y e) int {
			if x.at != y.at {
				return int(x.at - y.at)
			}
			return x.a.Compare(y.a)
		})
		var want []netip.Addr
		for _, x := range all[:min(max, len(all))] {
			want = append(want, x.a)
		}
		if got := d.Due(now, max, nil); !slices.Equal(got, want) {
			t.Fatalf("op %d: Due(%d, %d) = %v, want %v", i, now, max, got, want)
		}
		if d.Len() != len(model) {
			t.Fatalf("op %d: Len = %d, want %d", i, d.Len(), len(model))
		}
	}
}

// BenchmarkDueNoneDue measures the exhausted-pool question "is anything
// due?" over a /16 of deadlines in the future: it must not depend on size.
func BenchmarkDueNoneDue(b *testing.B) {
	for _, n := range []int{256, 65536} {
		b.Run(map[int]string{256: "slash24", 65536: "slash16"}[n], func(b *testing.B) {
			d := NewDeadlines()
			base := addr("198.18.0.0")
			for i := range n {
				d.Set(add(base, uint32(i)), int64(1000+i))
			}
			var buf []netip.Addr
			b.ReportAllocs()
			for b.Loop() {
				if buf = d.Due(999, 32, buf[:0]); len(buf) != 0 {
					b.Fatal("something due")
				}
			}
		})
	}
}
