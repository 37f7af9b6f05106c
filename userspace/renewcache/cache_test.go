package renewcache

import (
	"net/netip"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/bpf"
)

// memTable is a Table in memory.
type memTable struct {
	entries  map[bpf.RenewKey]bpf.RenewEntry
	profiles map[uint32]*bpf.RenewProfile
}

func newMemTable() *memTable {
	return &memTable{entries: map[bpf.RenewKey]bpf.RenewEntry{}, profiles: map[uint32]*bpf.RenewProfile{}}
}

func (m *memTable) SetRenew(k bpf.RenewKey, e *bpf.RenewEntry) error { m.entries[k] = *e; return nil }
func (m *memTable) DeleteRenew(k bpf.RenewKey) error                 { delete(m.entries, k); return nil }
func (m *memTable) ClearRenews() error                               { clear(m.entries); return nil }
func (m *memTable) SetProfile(i uint32, p *bpf.RenewProfile) error {
	if p == nil {
		delete(m.profiles, i)
	} else {
		m.profiles[i] = p
	}
	return nil
}

// TestResyncClockStep: a wall clock step moves every entry's monotonic
// CLTT by the step, so the kernel's age (monotonic now - CLTT) stays the
// wall clock's age; drift under the tolerance rewrites nothing.
func TestResyncClockStep(t *testing.T) {
	tab := newMemTable()
	c, err := New(tab)
	if err != nil {
		t.Fatal(err)
	}
	wall, mono := time.Unix(1_800_000_000, 0), uint64(100_000_000_000_000) // 100,000 s since boot
	c.clock = func() (time.Time, uint64) { return wall, mono }
	k := bpf.RenewKey{Client: 1}
	cltt := wall.Unix() - 100
	m0, _ := monoOf(cltt, wall, mono)
	e := &entry{key: k, cltt: cltt, e: bpf.RenewEntry{ClttNs: m0, Yiaddr: [4]byte{198, 18, 0, 10}}}
	c.byAddr[netip.AddrFrom4(e.e.Yiaddr)], c.byKey[k] = e, e
	tab.entries[k] = e.e

	if n := c.Resync(50 * time.Millisecond); n != 0 { // first call: records the offset
		t.Fatalf("first resync rewrote %d", n)
	}
	wall, mono = wall.Add(10*time.Second+10*time.Millisecond), mono+10_000_000_000 // 10 ms drift
	if n := c.Resync(50 * time.Millisecond); n != 0 {
		t.Fatalf("drift under the tolerance rewrote %d", n)
	}
	wall = wall.Add(time.Hour) // the wall clock steps an hour forward
	mono += 1_000_000_000
	if n := c.Resync(50 * time.Millisecond); n != 1 {
		t.Fatalf("clock step rewrote %d entries, want 1", n)
	}
	got := tab.entries[k].ClttNs
	if age := (mono - got) / 1_000_000_000; int64(age) != wall.Unix()-cltt {
		t.Fatalf("kernel age %d s after the step, wall age %d s", age, wall.Unix()-cltt)
	}
	// A step that puts the CLTT in the future (before the monotonic
	// epoch) drops the entry.
	wall = wall.Add(-24 * time.Hour)
	mono += 1_000_000_000
	if n := c.Resync(50 * time.Millisecond); n != 0 || len(tab.entries) != 0 {
		t.Fatalf("CLTT in the future: rewrote %d, %d entries left", n, len(tab.entries))
	}
}
