package lease

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkAppend(b *testing.B) {
	s, _, err := Open(Options{Path: filepath.Join(b.TempDir(), "leases.csv"), Persist: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	l := mk("10.0.0.0", "02:00:00:00:00:01", 1, 1795588598, 3600)
	l.ClientID = []byte{1, 2, 0, 0, 0, 0, 1}
	l.Hostname = "host.example.org"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := uint32(10<<24) | uint32(i%(1<<20))
		l.Addr = keyAddr(k)
		if _, err := s.Put(l); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendParallel(b *testing.B) {
	s, _, err := Open(Options{Path: filepath.Join(b.TempDir(), "leases.csv"), Persist: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.RunParallel(func(pb *testing.PB) {
		l := mk("10.0.0.0", "02:00:00:00:00:01", 1, 1795588598, 3600)
		i := 0
		for pb.Next() {
			i++
			l.Addr = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			if _, err := s.Put(l); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkLoad1M(b *testing.B) {
	const n = 1 << 20
	p := filepath.Join(b.TempDir(), "kea-leases4.csv")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, Header)
	var buf []byte
	l := mk("10.0.0.0", "02:00:00:00:00:01", 1, 1795588598, 3600)
	l.ClientID = []byte{1, 2, 0, 0, 0, 0, 1}
	for i := range n {
		l.Addr = keyAddr(uint32(10<<24) | uint32(i*2654435761)%(1<<22)) // scattered, some repeats
		l.HWAddr[5] = byte(i)
		buf = AppendRow(buf[:0], l)
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, rep, err := Open(Options{Path: p, Persist: true})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Rows != n {
			b.Fatalf("rows %d", rep.Rows)
		}
		s.Close()
	}
}

func BenchmarkPage(b *testing.B) {
	s, _, _ := Open(Options{})
	for i := range 100000 {
		_ = s.Add(mk(keyAddr(uint32(10<<24)|uint32(i*7)).String(), "02:00:00:00:00:01", 1, 1, 60))
	}
	b.ResetTimer()
	after := netip.Addr{}
	for i := 0; i < b.N; i++ {
		p := s.Page(after, 100)
		if len(p) < 100 {
			after = netip.Addr{}
			continue
		}
		after = p[len(p)-1].Addr
	}
}
