package pgsql

import (
	"fmt"
	"net/netip"
	"reflect"
	"sync"
	"testing"

	"github.com/xdhcp/xdhcp/internal/pgtest"
	"github.com/xdhcp/xdhcp/userspace/lease"
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

// TestClientRows: one statement answers Get, GetByClientID and GetByHW;
// an empty identifier matches nothing (not the rows written with an
// empty bytea), and only the subnets asked for count.
func TestClientRows(t *testing.T) {
	c := pgtest.Start(t)
	s := open(t, c, Options{})
	a, b, d := sample("192.0.2.10", 1), sample("192.0.2.11", 2), sample("192.0.2.12", 3)
	d.HWAddr, d.ClientID = nil, nil // empty bytea in the row
	other := sample("192.0.2.13", 1)
	other.SubnetID = 2
	for _, l := range []*lease.Lease{a, b, d, other} {
		if err := s.Add(l); err != nil {
			t.Fatal(err)
		}
	}
	addrs := func(ls []*lease.Lease) map[netip.Addr]int {
		m := map[netip.Addr]int{}
		for _, l := range ls {
			m[l.Addr]++
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		at      string
		hw, cid []byte
		want    map[netip.Addr]int
	}{
		{"address, hw and client id", "192.0.2.11", a.HWAddr, a.ClientID, map[netip.Addr]int{b.Addr: 1, a.Addr: 2}},
		{"no address", "", a.HWAddr, nil, map[netip.Addr]int{a.Addr: 1}},
		{"empty identifiers", "192.0.2.99", nil, []byte{}, map[netip.Addr]int{}},
	} {
		var at netip.Addr
		if tc.at != "" {
			at = netip.MustParseAddr(tc.at)
		}
		ls, ok := s.ClientRows(at, tc.hw, tc.cid, []uint32{1})
		if got := addrs(ls); !ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.name, got, ok, tc.want)
		}
	}
}
