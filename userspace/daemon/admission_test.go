package daemon

import (
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/admission"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// recordingSink is a knownSink that keeps what it was told, as the
// kernel map would.
type recordingSink struct {
	mu  sync.Mutex
	set map[uint64]bool
}

func (r *recordingSink) UpdateKnown(add, del []uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range add {
		r.set[k] = true
	}
	for _, k := range del {
		delete(r.set, k)
	}
	return nil
}

func (r *recordingSink) has(k uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.set[k]
}

// TestAdmissionKnownFollowsLeases: a committed lease makes its client
// known (Kea's identity: client id, else chaddr) to the UDP limiter at
// once and to the kernel within a flush; a released, declined or
// reclaimed lease makes it unknown again.
func TestAdmissionKnownFollowsLeases(t *testing.T) {
	a := newAdmission(config.DefaultRateLimits(), zerolog.Nop())
	defer a.close()
	hw := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	l1 := &lease.Lease{Addr: netip.MustParseAddr("198.19.0.10"), HWAddr: hw}
	a.changed(lease.Change{New: l1}) // before any sink: attach pushes it
	sink := &recordingSink{set: map[uint64]bool{}}
	if err := a.attach(sink); err != nil {
		t.Fatal(err)
	}
	k1, _ := admission.ClientKey(nil, hw)
	if !a.known.Known(k1) || !sink.has(k1) {
		t.Fatalf("lease without client id: key from chaddr not known (set %v, sink %v)", a.known.Known(k1), sink.has(k1))
	}
	cid := []byte{1, 2, 0, 0, 0, 0, 2}
	l2 := &lease.Lease{Addr: netip.MustParseAddr("198.19.0.11"), HWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 2}, ClientID: cid}
	a.changed(lease.Change{New: l2})
	k2, _ := admission.ClientKey(cid, nil)
	waitUntil(t, "client-id key in the sink", func() bool { return sink.has(k2) })
	if k2hw, _ := admission.ClientKey(nil, l2.HWAddr); a.known.Known(k2hw) {
		t.Error("a client with option 61 is known by chaddr too; the kernel keys it by client id only")
	}
	gone := *l1
	gone.State = lease.StateExpiredReclaimed
	a.changed(lease.Change{Old: l1, New: &gone})
	a.changed(lease.Change{Old: l2}) // released: deleted
	waitUntil(t, "both keys gone", func() bool { return !sink.has(k1) && !sink.has(k2) })
	if a.known.Known(k1) || a.known.Known(k2) {
		t.Error("keys still known to the UDP limiter")
	}
	if keys := a.known.Keys(); len(keys) != 0 {
		t.Errorf("known set holds %v", slices.Sorted(slices.Values(keys)))
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestAdmissionKeepsClientWithAnotherLease: a client holding leases in two
// subnets stays known when one of them goes.
func TestAdmissionKeepsClientWithAnotherLease(t *testing.T) {
	a := newAdmission(config.DefaultRateLimits(), zerolog.Nop())
	defer a.close()
	store, _, err := lease.Open(lease.Options{Persist: false, OnChange: a.changed})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	a.load(store)
	hw := net.HardwareAddr{2, 0, 0, 0, 0, 9}
	now := time.Now().Unix()
	for i, addr := range []string{"198.19.0.10", "198.18.0.10"} {
		if err := store.Add(&lease.Lease{Addr: netip.MustParseAddr(addr), HWAddr: hw, SubnetID: uint32(i + 1), ValidLifetime: 3600, CLTT: now}); err != nil {
			t.Fatal(err)
		}
	}
	k, _ := admission.ClientKey(nil, hw)
	if _, err := store.Delete(netip.MustParseAddr("198.19.0.10")); err != nil {
		t.Fatal(err)
	}
	if !a.known.Known(k) {
		t.Fatal("client with a lease left in another subnet became unknown")
	}
	if _, err := store.Delete(netip.MustParseAddr("198.18.0.10")); err != nil {
		t.Fatal(err)
	}
	if a.known.Known(k) {
		t.Fatal("client without leases still known")
	}
}
