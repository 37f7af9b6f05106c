// Package lease holds DHCPv4 leases: an in-memory store indexed by address,
// by (hardware address, subnet) and by (client identifier, subnet), persisted
// in Kea 2.2's memfile CSV format.
//
// The package knows nothing about packets or configuration. Writers are the
// DHCP engine, the HA service (partner updates) and the control socket's lease
// commands; all of them go through the same Store so that every change is
// appended to the lease file before it becomes visible.
package lease

import (
	"net"
	"net/netip"
)

// State is Kea's lease state column.
type State uint32

// Lease states as Kea 2.2 writes them (docs/kea/memfile.md §8).
const (
	StateDefault          State = 0 // assigned (or expired, not yet reclaimed)
	StateDeclined         State = 1 // quarantined after DHCPDECLINE
	StateExpiredReclaimed State = 2 // reclaimed, kept for affinity
)

// Lease is one DHCPv4 lease, the unit of the lease file and of the lease
// commands. Values stored in a Store are never mutated in place: readers get
// copies, writers hand in new values.
type Lease struct {
	Addr          netip.Addr
	HWAddr        net.HardwareAddr // empty when unknown (declined leases)
	ClientID      []byte           // option 61 data including the type byte; nil when absent
	ValidLifetime uint32           // seconds; 0 in the file means "deleted"
	CLTT          int64            // client last transaction time, Unix seconds
	SubnetID      uint32
	FqdnFwd       bool
	FqdnRev       bool
	Hostname      string
	State         State
	UserContext   string // compact JSON map, or "" for none
}

// Expire is the Unix time at which the lease expires (Kea's "expire" column).
func (l *Lease) Expire() int64 { return l.CLTT + int64(l.ValidLifetime) }

// Expired reports whether the lease has expired at Unix time now.
func (l *Lease) Expired(now int64) bool { return l.Expire() <= now }

// Clone returns a deep copy. A lease whose hardware address and client id
// fit in leaseBuf's inline room is copied in a single allocation.
func (l *Lease) Clone() *Lease {
	nh, nc := len(l.HWAddr), len(l.ClientID)
	if nh+nc > leaseIDsInline {
		c := *l
		if l.HWAddr != nil {
			c.HWAddr = append(net.HardwareAddr(nil), l.HWAddr...)
		}
		if l.ClientID != nil {
			c.ClientID = append([]byte(nil), l.ClientID...)
		}
		return &c
	}
	b := new(leaseBuf)
	b.l = *l
	// As append(nil, x...) did: nil when empty, capacity-limited copies
	// otherwise (appending to one cannot touch the other).
	b.l.HWAddr, b.l.ClientID = nil, nil
	if nh > 0 {
		b.l.HWAddr = b.ids[:copy(b.ids[:], l.HWAddr):nh]
	}
	if nc > 0 {
		b.l.ClientID = b.ids[nh : nh+copy(b.ids[nh:], l.ClientID) : nh+nc]
	}
	return &b.l
}

// leaseBuf is a Lease with inline room for its hardware address and client
// id, so that a copy of a typical lease is one allocation.
type leaseBuf struct {
	l   Lease
	ids [leaseIDsInline]byte
}

const leaseIDsInline = 40

// Change is one committed lease change, the single currency between the
// store's change hook, the DHCP engine and HA: Old == nil is an addition,
// New == nil a deletion, both set an update (a different address in New
// means the client moved: the old lease is gone).
type Change struct {
	Old, New *Lease
	// Seq orders the engine's commits of one address (dhcp.CommitOrder:
	// New's address, or Old's for a deletion); 0 when not stamped (the
	// store's hook, HA's own changes).
	Seq uint64
}
