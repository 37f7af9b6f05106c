package lease

import (
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// TestRecordRoundTrip stores leases with every field set to edge values in
// a table and reads them back, overwriting the same slot in between so
// that blob reuse and release are exercised.
func TestRecordRoundTrip(t *testing.T) {
	hw20 := bytes.Repeat([]byte{0xfe}, maxHWAddrLen)
	long := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + 1)
		}
		return b
	}
	cases := []*Lease{
		{HWAddr: []byte{1, 2, 3, 4, 5, 6}},
		{HWAddr: hw20, ClientID: long(cidInline), FqdnFwd: true},
		{ClientID: long(cidInline + 1), FqdnRev: true, Hostname: "h"},
		{HWAddr: []byte{9}, ClientID: long(255), Hostname: strings.Repeat("x", 300), UserContext: `{ "a": 1 }`},
		{HWAddr: []byte{9}, ClientID: long(1000), UserContext: `{ "b": "` + strings.Repeat("é", 100) + `" }`},
		{State: StateDeclined},
		{HWAddr: []byte{1}, State: State(4000000000), SubnetID: ^uint32(0), ValidLifetime: ^uint32(0), CLTT: -5},
		{ClientID: []byte{1}, CLTT: 1<<62 + 3, Hostname: "only-host"},
		{HWAddr: []byte{1}, UserContext: `{ "only": "context" }`},
	}
	tb := newTable()
	for i, want := range cases {
		want.Addr = netip.AddrFrom4([4]byte{192, 0, 2, 1})
		if want.ValidLifetime == 0 {
			want.ValidLifetime = uint32(600 + i)
		}
		if want.CLTT == 0 {
			want.CLTT = int64(1e9 + i)
		}
		tb.put(want)
		s, _, ok := tb.lookup(addrKey(want.Addr))
		if !ok {
			t.Fatalf("case %d: not stored", i)
		}
		got := tb.lease(s)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d:\n got %+v\nwant %+v", i, got, want)
		}
		// The copy is the caller's: appending to one slice must not touch
		// the other, and the table must not see changes.
		got.HWAddr = append(got.HWAddr, 0xaa)
		if again := tb.lease(s); !reflect.DeepEqual(again, want) {
			t.Fatalf("case %d: stored lease changed through a copy", i)
		}
		if got.ClientID != nil && !bytes.Equal(got.ClientID, want.ClientID) {
			t.Fatalf("case %d: appending to HWAddr changed ClientID", i)
		}
		var l Lease
		buf := tb.rec(s).fill(&l, tb.parts(tb.rec(s)), make([]byte, 0, 2))
		if !reflect.DeepEqual(&l, want) || cap(buf) < len(want.HWAddr)+len(want.ClientID) {
			t.Fatalf("case %d: fill = %+v", i, l)
		}
	}
	if live := len(tb.blobs) - len(tb.freeBlobs); live != 1 {
		t.Fatalf("%d live blobs for one lease", live)
	}
	tb.remove(addrKey(cases[0].Addr))
	if tb.len() != 0 || len(tb.blobs) != len(tb.freeBlobs) || len(tb.free) != 1 {
		t.Fatalf("after remove: len %d, blobs %d free %d, free slots %v", tb.len(), len(tb.blobs), len(tb.freeBlobs), tb.free)
	}
}

func TestBlobEncoding(t *testing.T) {
	for _, c := range []blobParts{
		{},
		{host: "a"},
		{userContext: "u"},
		{cid: "\x01\x02"},
		{host: strings.Repeat("h", 200), userContext: strings.Repeat("u", 20000), cid: strings.Repeat("\xff", 300)},
	} {
		if got := decodeBlob(string(appendBlob(nil, c.host, []byte(c.userContext), c.cid))); got != c {
			t.Errorf("round trip of %q/%q/%q = %+v", c.host, c.userContext, c.cid, got)
		}
	}
}
