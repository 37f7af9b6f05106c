package dhcp

import (
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// decline handles DHCPDECLINE (docs/kea/memfile.md §11): the lease named by option 50
// must be the client's; it becomes declined for decline-probation-period,
// with hardware address, client id, hostname and FQDN flags cleared. There
// is no reply message; the change is returned for the HA partner.
func (x *exchange) decline() *Reply {
	a, ok := requestedIP(x.req.Msg)
	if !ok {
		return x.w.drop(dropBadPacket)
	}
	e := x.e
	mu := e.locks.lock(a)
	l, found := e.store.Get(a)
	if !found || l.State != lease.StateDefault || !belongsTo(l, x.hw, x.rawCID) {
		mu.Unlock()
		return x.w.drop(dropNoLease)
	}
	d := &lease.Lease{
		Addr:          a,
		HWAddr:        nil,
		ValidLifetime: e.m.declineP,
		CLTT:          x.now.Unix(),
		SubnetID:      l.SubnetID,
		State:         lease.StateDeclined,
		UserContext:   l.UserContext,
	}
	err := e.updateFrom(l, d)
	var seq uint64
	if err == nil {
		seq = e.order.stamp(a)
	}
	mu.Unlock()
	if err != nil {
		e.log.Error().Err(err).Stringer("ip", a).Msg("decline: lease update failed")
		return x.w.drop(dropStoreError)
	}
	return &Reply{Changes: []lease.Change{{Old: l, New: d, Seq: seq}}}
}
