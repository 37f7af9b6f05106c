package alloc

import (
	"net/netip"
	"testing"
)

// BenchmarkNextSlash8NearlyFull fills a /8 to all but a few scattered
// addresses and measures Next+Free cycles: the search must not depend on
// how full the pool is.
func BenchmarkNextSlash8NearlyFull(b *testing.B) {
	first, last := netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("10.255.255.255")
	r := NewRange(first, last)
	for {
		if _, ok := r.Next(); !ok {
			break
		}
	}
	holes := []uint32{12345, 4_000_000, 9_999_999, 16_777_000}
	for _, h := range holes {
		r.Free(add(first, h))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a, ok := r.Next()
		if !ok {
			b.Fatal("range full")
		}
		r.Free(a)
	}
}

// BenchmarkNext measures Next on an empty /16, refilling when full.
func BenchmarkNext(b *testing.B) {
	r := NewRange(netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("10.0.255.255"))
	b.ReportAllocs()
	for b.Loop() {
		a, ok := r.Next()
		if !ok {
			b.Fatal("range full")
		}
		r.Free(a)
	}
}
