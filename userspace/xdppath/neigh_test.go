//go:build linux

package xdppath

import (
	"errors"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// TestResolver looks next hops up in a namespace's routing and neighbour
// tables: static entries, a gateway, an unknown neighbour that the
// resolver makes the kernel resolve, another interface, an unreachable
// route, and the cache's lifetime.
func TestResolver(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip")
	a, b := testenv.NewNetns(t), testenv.NewNetns(t)
	aIf, bIf := testenv.Name("ra"), testenv.Name("rb")
	testenv.Veth(t, a, aIf, "198.18.1.1/24", b, bIf, "198.18.1.2/24")
	c := testenv.NewNetns(t) // behind a second interface of a
	testenv.Veth(t, a, testenv.Name("ro"), "192.0.2.1/24", c, testenv.Name("rc"), "192.0.2.2/24")
	a.Run(t, "ip", "neigh", "add", "198.18.1.9", "lladdr", "02:00:00:00:01:09", "dev", aIf, "nud", "permanent")
	a.Run(t, "ip", "route", "add", "198.19.5.0/24", "via", "198.18.1.9")
	a.Run(t, "ip", "route", "add", "unreachable", "198.19.9.0/24")

	h, err := netlink.NewHandleAt(a.Handle, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", a.Name, err)
	}
	t.Cleanup(h.Close)
	lk, err := h.LinkByName(aIf)
	if err != nil {
		t.Fatalf("link %s: %v", aIf, err)
	}
	var bMAC [6]byte
	if err := b.Do(func() error {
		l, err := netlink.LinkByName(bIf)
		if err == nil {
			bMAC = [6]byte(l.Attrs().HardwareAddr)
		}
		return err
	}); err != nil {
		t.Fatalf("peer mac: %v", err)
	}
	static := [6]byte{2, 0, 0, 0, 1, 9}

	r := newResolver(h, lk.Attrs().Index, time.Second)
	now := time.Unix(1_800_000_000, 0)
	r.now = func() time.Time { return now }

	tests := []struct {
		name    string
		dst     string
		wantMAC [6]byte
		wantErr error // nil, a sentinel, or errAny
	}{
		{"static neighbour", "198.18.1.9", static, nil},
		{"via gateway", "198.19.5.7", static, nil},
		{"unknown neighbour", "198.18.1.77", [6]byte{}, errNeighUnresolved},
		{"another interface", "192.0.2.5", [6]byte{}, errOtherInterface},
		{"unreachable route", "198.19.9.1", [6]byte{}, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mac, err := r.lookup(mustAddr(tt.dst + "/32"))
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

	t.Run("cached until the ttl passes", func(t *testing.T) {
		a.Run(t, "ip", "neigh", "del", "198.18.1.9", "dev", aIf)
		if mac, err := r.lookup(mustAddr("198.18.1.9/32")); err != nil || mac != static {
			t.Fatalf("cached lookup = %x, %v; want %x", mac, err, static)
		}
		now = now.Add(2 * time.Second)
		if _, err := r.lookup(mustAddr("198.18.1.9/32")); !errors.Is(err, errNeighUnresolved) {
			t.Fatalf("after the ttl: err %v, want unresolved", err)
		}
	})

	t.Run("unknown neighbour is resolved by the kernel", func(t *testing.T) {
		dst := mustAddr("198.18.1.2/32")
		before := r.triggers
		if _, err := r.lookup(dst); !errors.Is(err, errNeighUnresolved) {
			t.Fatalf("first lookup: err %v, want unresolved", err)
		}
		if r.triggers != before+1 {
			t.Fatalf("no resolution requested (triggers %d)", r.triggers)
		}
		// Nothing else sends to 198.18.1.2: only the NTF_USE request
		// can make the kernel ARP for it.
		deadline := time.Now().Add(3 * time.Second)
		for {
			now = now.Add(2 * r.retry)
			mac, err := r.lookup(dst)
			if err == nil {
				if mac != bMAC {
					t.Fatalf("resolved %x, want the peer's %x", mac, bMAC)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("never resolved: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// errAny marks a case that must fail, whatever the error.
var errAny = errors.New("any error")
