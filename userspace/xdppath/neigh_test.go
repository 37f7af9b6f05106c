//go:build linux

package xdppath

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// neighLab is namespace a with a veth to b (198.18.1.0/24, aIf in a) and
// a second veth to c (192.0.2.0/24); a has a permanent neighbour
// 198.18.1.9, a route through it and an unreachable route. The neighbour
// table and a resolver run over a's interface towards b.
type neighLab struct {
	a, b  *testenv.Netns
	aIf   string
	bMAC  [6]byte
	table *neighTable
	r     *resolver
}

var staticMAC = [6]byte{2, 0, 0, 0, 1, 9}

func newNeighLab(t *testing.T) *neighLab {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip")
	l := &neighLab{a: testenv.NewNetns(t), b: testenv.NewNetns(t), aIf: testenv.Name("ra")}
	bIf := testenv.Name("rb")
	testenv.Veth(t, l.a, l.aIf, "198.18.1.1/24", l.b, bIf, "198.18.1.2/24")
	c := testenv.NewNetns(t) // behind a second interface of a
	testenv.Veth(t, l.a, testenv.Name("ro"), "192.0.2.1/24", c, testenv.Name("rc"), "192.0.2.2/24")
	l.a.Run(t, "ip", "neigh", "add", "198.18.1.9", "lladdr", "02:00:00:00:01:09", "dev", l.aIf, "nud", "permanent")
	l.a.Run(t, "ip", "route", "add", "198.19.5.0/24", "via", "198.18.1.9")
	l.a.Run(t, "ip", "route", "add", "unreachable", "198.19.9.0/24")

	h, err := netlink.NewHandleAt(l.a.Handle, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", l.a.Name, err)
	}
	t.Cleanup(h.Close)
	lk, err := h.LinkByName(l.aIf)
	if err != nil {
		t.Fatalf("link %s: %v", l.aIf, err)
	}
	if err := l.b.Do(func() error {
		bl, err := netlink.LinkByName(bIf)
		if err == nil {
			l.bMAC = [6]byte(bl.Attrs().HardwareAddr)
		}
		return err
	}); err != nil {
		t.Fatalf("peer mac: %v", err)
	}
	// Opened from the test's own namespace: the table must subscribe in
	// a's, the handle it is given.
	l.table, err = openNeighTable(lk.Attrs().Index, l.a.Handle, zerolog.Nop())
	if err != nil {
		t.Fatalf("open neighbour table: %v", err)
	}
	t.Cleanup(l.table.close)
	l.r = newResolver(h, l.table, lk.Attrs().Index, time.Second)
	return l
}

// lookupUntil looks dst up until check accepts the answer (bounded).
func (l *neighLab) lookupUntil(t *testing.T, dst string, what string, check func([6]byte, error) bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		mac, err := l.r.lookup(mustAddr(dst + "/32"))
		if check(mac, err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lookup %s: never %s (last %x, %v)", dst, what, mac, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestResolver looks next hops up: a static entry (from the table's
// initial dump), a gateway, an unknown neighbour, another interface and an
// unreachable route.
func TestResolver(t *testing.T) {
	l := newNeighLab(t)
	waitTable(t, l.table, "198.18.1.9") // the dump arrives asynchronously
	tests := []struct {
		name    string
		dst     string
		wantMAC [6]byte
		wantErr error // nil, a sentinel, or errAny
	}{
		{"static neighbour", "198.18.1.9", staticMAC, nil},
		{"via gateway", "198.19.5.7", staticMAC, nil},
		{"unknown neighbour", "198.18.1.77", [6]byte{}, errNeighUnresolved},
		{"another interface", "192.0.2.5", [6]byte{}, errOtherInterface},
		{"unreachable route", "198.19.9.1", [6]byte{}, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mac, err := l.r.lookup(mustAddr(tt.dst + "/32"))
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("lookup %s: %v", tt.dst, err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("lookup %s: err %v, want %v", tt.dst, err, tt.wantErr)
			}
			if err == nil && mac != tt.wantMAC {
				t.Errorf("lookup %s = %x, want %x", tt.dst, mac, tt.wantMAC)
			}
		})
	}
}

// TestNeighTableFollowsEvents: entries added, changed and deleted with
// ip neigh reach the table through netlink events, without a new dump,
// and the resolver's answers follow them at once (no cache to expire).
func TestNeighTableFollowsEvents(t *testing.T) {
	l := newNeighLab(t)
	waitTable(t, l.table, "198.18.1.9")
	dumps := l.table.subscriptions.Load()
	is := func(want [6]byte) func([6]byte, error) bool {
		return func(mac [6]byte, err error) bool { return err == nil && mac == want }
	}
	unresolved := func(_ [6]byte, err error) bool { return errors.Is(err, errNeighUnresolved) }

	l.a.Run(t, "ip", "neigh", "add", "198.18.1.50", "lladdr", "02:00:00:00:01:50", "dev", l.aIf, "nud", "permanent")
	l.lookupUntil(t, "198.18.1.50", "added", is([6]byte{2, 0, 0, 0, 1, 0x50}))
	// The gateway's entry changes: so does the answer for a routed
	// destination behind it.
	l.lookupUntil(t, "198.19.5.7", "via the gateway", is(staticMAC))
	l.a.Run(t, "ip", "neigh", "change", "198.18.1.9", "lladdr", "02:00:00:00:01:99", "dev", l.aIf, "nud", "permanent")
	l.lookupUntil(t, "198.19.5.7", "changed", is([6]byte{2, 0, 0, 0, 1, 0x99}))
	l.a.Run(t, "ip", "neigh", "del", "198.18.1.50", "dev", l.aIf)
	l.lookupUntil(t, "198.18.1.50", "deleted", unresolved)
	// An entry the kernel cannot use (failed) is a miss too.
	l.a.Run(t, "ip", "neigh", "replace", "198.18.1.51", "dev", l.aIf, "nud", "failed")
	l.lookupUntil(t, "198.18.1.51", "a miss", unresolved)
	if got := l.table.subscriptions.Load(); got != dumps {
		t.Errorf("%d subscriptions (dumps), want %d: events alone must keep the table current", got, dumps)
	}
	if l.table.events.Load() == 0 {
		t.Error("no neighbour event counted")
	}
}

// TestNeighMissDoesNotDump: misses answer at once from the table (the
// reply goes through the fallback), count, never dump the kernel's table,
// and ask the kernel to resolve the next hop; its ARP answer then arrives
// as an event.
func TestNeighMissDoesNotDump(t *testing.T) {
	l := newNeighLab(t)
	waitTable(t, l.table, "198.18.1.9")
	dumps := l.table.subscriptions.Load()
	const n = 100
	for i := range n {
		dst := fmt.Sprintf("198.18.1.%d", 100+i)
		if _, err := l.r.lookup(mustAddr(dst + "/32")); !errors.Is(err, errNeighUnresolved) {
			t.Fatalf("lookup %s: err %v, want unresolved", dst, err)
		}
	}
	if l.r.misses != n {
		t.Errorf("%d misses counted, want %d", l.r.misses, n)
	}
	if got := l.table.subscriptions.Load(); got != dumps {
		t.Errorf("%d misses caused %d dumps", n, got-dumps)
	}
	// Nothing else sends to 198.18.1.2: only the resolution request the
	// miss posted can make the kernel ARP for it.
	before := l.r.misses
	l.lookupUntil(t, "198.18.1.2", "resolved by the kernel", func(mac [6]byte, err error) bool {
		return err == nil && mac == l.bMAC
	})
	if l.r.misses == before {
		t.Error("the first lookup of 198.18.1.2 was not a miss")
	}
	if l.table.triggers.Load() == 0 {
		t.Error("no resolution request sent")
	}
	if got := l.table.subscriptions.Load(); got != dumps {
		t.Errorf("resolution caused %d dumps", got-dumps)
	}
}

// errAny marks a case that must fail, whatever the error.
var errAny = errors.New("any error")
