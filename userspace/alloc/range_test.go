package alloc

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// add returns a advanced by n (IPv4, no overflow checks needed in tests).
func add(a netip.Addr, n uint32) netip.Addr { return u32ToAddr(addrToU32(a) + n) }

func TestNextHandsOutEveryAddressOnce(t *testing.T) {
	tests := []struct {
		name        string
		first, last string
		want        uint64
	}{
		{"single", "192.0.2.7", "192.0.2.7", 1},
		{"one word", "192.0.2.0", "192.0.2.63", 64},
		{"unaligned small", "192.0.2.10", "192.0.2.20", 11},
		{"unaligned across words", "192.0.2.3", "192.0.3.77", 331},
		{"exactly two levels", "10.0.0.0", "10.0.15.255", 4096},
		{"three levels unaligned", "10.0.0.5", "10.0.16.4", 4096},
		{"top of address space", "255.255.255.200", "255.255.255.255", 56},
		{"bottom of address space", "0.0.0.0", "0.0.0.9", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, last := addr(tt.first), addr(tt.last)
			r := NewRange(first, last)
			if r.Size() != tt.want || r.FreeCount() != tt.want {
				t.Fatalf("Size=%d FreeCount=%d, want %d", r.Size(), r.FreeCount(), tt.want)
			}
			seen := map[netip.Addr]bool{}
			prev := netip.Addr{}
			for i := uint64(0); i < tt.want; i++ {
				a, ok := r.Next()
				if !ok {
					t.Fatalf("Next #%d failed with %d free", i, r.FreeCount())
				}
				if !r.Contains(a) || seen[a] {
					t.Fatalf("Next #%d = %v: contained=%v duplicate=%v", i, a, r.Contains(a), seen[a])
				}
				if prev.IsValid() && !prev.Less(a) {
					t.Fatalf("Next #%d = %v not after %v on a fresh range", i, a, prev)
				}
				if r.IsFree(a) {
					t.Fatalf("%v still free after Next", a)
				}
				seen[a] = true
				prev = a
			}
			if a, ok := r.Next(); ok {
				t.Fatalf("Next on full range = %v", a)
			}
			if r.FreeCount() != 0 {
				t.Fatalf("FreeCount on full range = %d", r.FreeCount())
			}
			if prev != last {
				t.Fatalf("last handed out %v, want %v", prev, last)
			}
			// Free every address, then each must be available again exactly once.
			for a := range seen {
				r.Free(a)
			}
			if r.FreeCount() != tt.want {
				t.Fatalf("FreeCount after freeing all = %d", r.FreeCount())
			}
			again := map[netip.Addr]bool{}
			for range tt.want {
				a, ok := r.Next()
				if !ok || again[a] || !seen[a] {
					t.Fatalf("second round: Next = %v, %v (dup=%v)", a, ok, again[a])
				}
				again[a] = true
			}
		})
	}
}

func TestTakeFreeIsFreeContains(t *testing.T) {
	r := NewRange(addr("192.0.2.10"), addr("192.0.2.20"))
	tests := []struct {
		name string
		op   func() bool
		want bool
	}{
		{"contains first", func() bool { return r.Contains(addr("192.0.2.10")) }, true},
		{"contains last", func() bool { return r.Contains(addr("192.0.2.20")) }, true},
		{"below range", func() bool { return r.Contains(addr("192.0.2.9")) }, false},
		{"above range", func() bool { return r.Contains(addr("192.0.2.21")) }, false},
		{"ipv6 not contained", func() bool { return r.Contains(addr("2001:db8::1")) }, false},
		{"v4-mapped contained", func() bool { return r.Contains(addr("::ffff:192.0.2.15")) }, true},
		{"take free", func() bool { return r.Take(addr("192.0.2.15")) }, true},
		{"take used", func() bool { return r.Take(addr("192.0.2.15")) }, false},
		{"used not free", func() bool { return r.IsFree(addr("192.0.2.15")) }, false},
		{"take outside", func() bool { return r.Take(addr("192.0.2.21")) }, false},
		{"outside not free", func() bool { return r.IsFree(addr("192.0.2.21")) }, false},
		{"free it", func() bool { r.Free(addr("192.0.2.15")); return r.IsFree(addr("192.0.2.15")) }, true},
		{"double free keeps count", func() bool { r.Free(addr("192.0.2.15")); return r.FreeCount() == 11 }, true},
		{"free outside ignored", func() bool { r.Free(addr("192.0.2.30")); return r.FreeCount() == 11 }, true},
		{"take again", func() bool { return r.Take(addr("192.0.2.15")) }, true},
		{"count after take", func() bool { return r.FreeCount() == 10 }, true},
	}
	for _, tt := range tests {
		if got := tt.op(); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNextSkipsTakenAndWraps(t *testing.T) {
	r := NewRange(addr("192.0.2.0"), addr("192.0.2.199"))
	for _, s := range []string{"192.0.2.0", "192.0.2.1", "192.0.2.64", "192.0.2.65"} {
		if !r.Take(addr(s)) {
			t.Fatalf("Take(%s) failed", s)
		}
	}
	want := []string{"192.0.2.2", "192.0.2.3"}
	for _, w := range want {
		if a, _ := r.Next(); a != addr(w) {
			t.Fatalf("Next = %v, want %s", a, w)
		}
	}
	// Use up to .63 and the cursor must jump over the taken .64/.65.
	for i := 4; i < 64; i++ {
		r.Next()
	}
	if a, _ := r.Next(); a != addr("192.0.2.66") {
		t.Fatalf("Next after .63 = %v, want 192.0.2.66", a)
	}
	// Take the rest up to the end, free an early address: Next wraps to it.
	for a := addr("192.0.2.67"); r.Contains(a); a = a.Next() {
		r.Take(a)
	}
	r.Free(addr("192.0.2.1"))
	r.Free(addr("192.0.2.150"))
	if a, _ := r.Next(); a != addr("192.0.2.150") {
		t.Fatalf("Next = %v, want 192.0.2.150 (at/after cursor first)", a)
	}
	if a, _ := r.Next(); a != addr("192.0.2.1") {
		t.Fatalf("Next = %v, want wrap to 192.0.2.1", a)
	}
	if a, ok := r.Next(); ok {
		t.Fatalf("Next on full range = %v", a)
	}
}

func TestCursorWrapsAtLastAddress(t *testing.T) {
	r := NewRange(addr("255.255.255.250"), addr("255.255.255.255"))
	for range 6 {
		r.Next()
	}
	r.Free(addr("255.255.255.255"))
	r.Free(addr("255.255.255.250"))
	if a, _ := r.Next(); a != addr("255.255.255.250") {
		t.Fatalf("after handing out .255 the cursor must wrap to the start, got %v", a)
	}
	if a, _ := r.Next(); a != addr("255.255.255.255") {
		t.Fatalf("Next = %v, want 255.255.255.255", a)
	}
}

func TestEmptyRange(t *testing.T) {
	tests := []struct {
		name        string
		first, last netip.Addr
	}{
		{"reversed", addr("192.0.2.10"), addr("192.0.2.9")},
		{"ipv6", addr("2001:db8::1"), addr("2001:db8::9")},
		{"invalid", netip.Addr{}, netip.Addr{}},
	}
	for _, tt := range tests {
		r := NewRange(tt.first, tt.last)
		if r.Size() != 0 || r.FreeCount() != 0 || r.Contains(tt.first) || r.Take(tt.first) {
			t.Errorf("%s: empty range not empty", tt.name)
		}
		if _, ok := r.Next(); ok {
			t.Errorf("%s: Next succeeded on empty range", tt.name)
		}
		r.Free(tt.first)
	}
}

// TestRandomAgainstModel drives a Range and a map model with random
// operations and compares every answer.
func TestRandomAgainstModel(t *testing.T) {
	for _, size := range []uint32{1, 7, 64, 65, 300, 5000} {
		first := addr("10.1.0.3")
		last := add(first, size-1)
		r := NewRange(first, last)
		used := map[netip.Addr]bool{}
		rng := rand.New(rand.NewPCG(uint64(size), 42))
		for step := range 20000 {
			a := add(first, rng.Uint32N(size+2)) // includes one outside address
			switch rng.IntN(4) {
			case 0:
				got, ok := r.Next()
				if ok != (len(used) < int(size)) {
					t.Fatalf("size %d step %d: Next ok=%v with %d used", size, step, ok, len(used))
				}
				if ok {
					if used[got] || !r.Contains(got) {
						t.Fatalf("size %d step %d: Next returned used/outside %v", size, step, got)
					}
					used[got] = true
				}
			case 1:
				want := r.Contains(a) && !used[a]
				if got := r.Take(a); got != want {
					t.Fatalf("size %d step %d: Take(%v)=%v want %v", size, step, a, got, want)
				}
				if want {
					used[a] = true
				}
			case 2:
				r.Free(a)
				delete(used, a)
			case 3:
				if got, want := r.IsFree(a), r.Contains(a) && !used[a]; got != want {
					t.Fatalf("size %d step %d: IsFree(%v)=%v want %v", size, step, a, got, want)
				}
			}
			if r.FreeCount() != uint64(size)-uint64(len(used)) {
				t.Fatalf("size %d step %d: FreeCount=%d want %d", size, step, r.FreeCount(), uint64(size)-uint64(len(used)))
			}
		}
	}
}

func TestConcurrentNextNeverDuplicates(t *testing.T) {
	const size, workers = 10000, 8
	r := NewRange(addr("10.2.0.0"), add(addr("10.2.0.0"), size-1))
	results := make([][]netip.Addr, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for calls := 1; ; calls++ {
				a, ok := r.Next()
				if !ok {
					return
				}
				// Churn: give every 97th address back for others to take.
				if calls%97 == 0 {
					r.Free(a)
					continue
				}
				results[w] = append(results[w], a)
			}
		})
	}
	wg.Wait()
	seen := map[netip.Addr]bool{}
	for _, rs := range results {
		for _, a := range rs {
			if seen[a] {
				t.Fatalf("%v handed out twice", a)
			}
			seen[a] = true
		}
	}
	if len(seen) != size || r.FreeCount() != 0 {
		t.Fatalf("handed out %d of %d, FreeCount=%d", len(seen), size, r.FreeCount())
	}
}

// TestUnpick: an unused Pick given back restarts the walk at its address;
// after another Pick or Next moved the cursor it changes nothing.
func TestUnpick(t *testing.T) {
	r := NewRange(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.3"))
	a, _ := r.Pick()
	r.Unpick(a)
	if b, _ := r.Pick(); b != a {
		t.Fatalf("Pick after Unpick = %v, want %v", b, a)
	}
	c, _ := r.Pick() // .2
	r.Unpick(a)      // cursor no longer just past a: no effect
	d, _ := r.Pick()
	if d != netip.MustParseAddr("192.0.2.3") {
		t.Fatalf("Pick = %v after a stale Unpick, want the address after %v", d, c)
	}
	r.Unpick(d) // d is the last address: the cursor had wrapped to 0
	if e, _ := r.Pick(); e != d {
		t.Fatalf("Unpick at the wrap: Pick = %v, want %v", e, d)
	}
}
