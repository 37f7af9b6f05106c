package dhcp

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// fresh returns what CommitOrder.Fresh hands on.
func fresh(o *CommitOrder, changes ...lease.Change) []lease.Change {
	var got []lease.Change
	o.Fresh(changes, func(f []lease.Change) { got = slices.Clone(f) })
	return got
}

// TestCommitOrderFresh: a change a later commit of its address superseded
// is left out; other addresses, even in the same stripe, and unstamped
// changes are not.
func TestCommitOrderFresh(t *testing.T) {
	o := NewCommitOrder()
	a := netip.MustParseAddr("192.0.2.10")
	b := netip.MustParseAddr("192.0.3.11") // 11^3 == 10^2: a's stripe
	if stripeOf(a) != stripeOf(b) {
		t.Fatal("test addresses are meant to share a stripe")
	}
	a1, a2, b1 := o.stamp(a), o.stamp(a), o.stamp(b)
	oldA := lease.Change{New: &lease.Lease{Addr: a}, Seq: a1}
	newA := lease.Change{New: &lease.Lease{Addr: a}, Seq: a2}
	delA := lease.Change{Old: &lease.Lease{Addr: a}, Seq: a1}
	onlyB := lease.Change{New: &lease.Lease{Addr: b}, Seq: b1}
	unstamped := lease.Change{New: &lease.Lease{Addr: a}}

	if got := fresh(o, oldA, onlyB); len(got) != 1 || got[0].Seq != b1 {
		t.Errorf("superseded update of a handed on: %+v", got)
	}
	if got := fresh(o, delA); len(got) != 0 {
		t.Errorf("superseded deletion of a handed on: %+v", got)
	}
	if got := fresh(o, newA, onlyB, unstamped); len(got) != 3 {
		t.Errorf("latest changes left out: %+v", got)
	}
}

// TestCommitOrderReleaseThenRealloc: the race the order exists for. Client
// X releases the only address and client Y gets it; if the worker that
// handled the RELEASE hands its deletion on only after Y's lease update,
// the deletion must not be sent: at the partner it would delete Y's lease
// (lease4-del goes by address).
func TestCommitOrderReleaseThenRealloc(t *testing.T) {
	const one = `{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "eth0" ] },
  "lease-database": { "type": "memfile", "persist": false },
  "valid-lifetime": 4000,
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "interface": "eth0",
    "pools": [ { "pool": "192.0.2.10 - 192.0.2.10" } ] } ]
} }`
	o := NewCommitOrder()
	v := newEnv(t, one, func(d *Deps) { d.Order = o })
	x, y := mac(0x71), mac(0x72)
	a := addrOf(v.dora(x).YourIPAddr)
	rel := v.handle(unicastReq(msg(t, dhcpv4.MessageTypeRelease, x, dhcpv4.WithClientIP(a.AsSlice())), a.String()))
	if rel == nil || len(rel.Changes) != 1 || rel.Changes[0].Seq == 0 {
		t.Fatalf("RELEASE changes %+v", rel)
	}
	off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, y)))
	if off == nil || addrOf(off.Msg.YourIPAddr) != a {
		t.Fatalf("Y not offered %s: %+v", a, off)
	}
	ack := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeRequest, y,
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(a.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ifAddr.AsSlice())))))
	if ack == nil || ack.Msg.MessageType() != dhcpv4.MessageTypeAck || len(ack.Changes) != 1 {
		t.Fatalf("Y's ACK %+v", ack)
	}
	if ack.Changes[0].Seq <= rel.Changes[0].Seq {
		t.Fatalf("Y's commit stamped %d, not after the release's %d", ack.Changes[0].Seq, rel.Changes[0].Seq)
	}
	// Y's worker hands on first, then X's.
	if got := fresh(o, ack.Changes...); len(got) != 1 {
		t.Fatalf("Y's update left out: %+v", got)
	}
	if got := fresh(o, rel.Changes...); len(got) != 0 {
		t.Fatalf("X's deletion handed on after Y's update: %+v", got)
	}

	// An engine built on a reload shares the order: its commit of the
	// address supersedes Y's update from the old engine.
	w := newEnv(t, one, func(d *Deps) { d.Order = o })
	if got := addrOf(w.dora(x).YourIPAddr); got != a {
		t.Fatalf("new engine gave %s, want %s", got, a)
	}
	if got := fresh(o, ack.Changes...); len(got) != 0 {
		t.Fatalf("the old engine's update handed on after the new engine's commit: %+v", got)
	}
}
