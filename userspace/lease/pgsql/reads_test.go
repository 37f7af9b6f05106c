package pgsql

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/xdhcp/xdhcp/internal/pgtest"
)

// TestGroupedReads: concurrent point reads share round trips and each
// gets its own answer; a batch with a failing statement answers the
// others from their own runs, not "no lease".
func TestGroupedReads(t *testing.T) {
	c := pgtest.Start(t)
	s := open(t, c, Options{})
	for i := range 50 {
		if err := s.Add(sample(fmt.Sprintf("192.0.2.%d", 10+i), byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	r0 := s.ReadStats()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 40 {
				i := (g*7 + k) % 60 // 50..59 have no lease
				a := netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", 10+i))
				l, ok := s.Get(a)
				if ok != (i < 50) || ok && (l.Addr != a || l.HWAddr[5] != byte(i)) {
					t.Errorf("Get(%v) = %+v, %v", a, l, ok)
				}
				if i < 50 {
					l, ok := s.GetByHW(sample("192.0.2.1", byte(i)).HWAddr, 1)
					if !ok || l.Addr != a {
						t.Errorf("GetByHW(%d) = %+v, %v", i, l, ok)
					}
				}
			}
		}()
	}
	wg.Wait()
	r1 := s.ReadStats()
	t.Logf("%d reads in %d round trips", r1.Reads-r0.Reads, r1.Batches-r0.Batches)
	if r1.Reads-r0.Reads < 16*40 {
		t.Errorf("%d grouped reads, want at least %d", r1.Reads-r0.Reads, 16*40)
	}

	// One statement of a batch fails: the pipeline is aborted, and every
	// read is answered alone.
	get := "SELECT " + cols + " FROM lease4 WHERE address = $1"
	batch := []*readReq{
		{op: "a", sql: get, args: []any{addrInt(netip.MustParseAddr("192.0.2.10"))}, res: make(chan readRes, 1)},
		{op: "bad", sql: "SELECT " + cols + " FROM lease4 WHERE address = 1/0", res: make(chan readRes, 1)},
		{op: "b", sql: get, args: []any{addrInt(netip.MustParseAddr("192.0.2.11"))}, res: make(chan readRes, 1)},
	}
	s.readGroup(batch)
	for i, r := range batch {
		res := <-r.res
		switch {
		case i == 1 && res.err == nil:
			t.Errorf("bad statement answered without error")
		case i != 1 && (res.err != nil || len(res.ls) != 1):
			t.Errorf("read %d of a failed batch: %v, %d rows", i, res.err, len(res.ls))
		}
	}
}
