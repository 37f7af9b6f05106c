package dhcp

import (
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// decline handles DHCPDECLINE (memfile.md §11): the lease named by option 50
// must be the client's; it becomes declined for decline-probation-period,
// with hardware address, client id, hostname and FQDN flags cleared. There
// is no reply.
func (x *exchange) decline() {
	a, ok := ip4(x.req.Msg.RequestedIPAddress())
	if !ok {
		x.w.drop(dropBadPacket)
		return
	}
	e := x.e
	mu := e.locks.lock(a)
	l, found := e.store.Get(a)
	if !found || l.State != lease.StateDefault || !belongsTo(l, x.hw, x.rawCID) {
		mu.Unlock()
		x.w.drop(dropNoLease)
		return
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
	err := e.store.Update(d)
	mu.Unlock()
	if err != nil {
		e.log.Error().Err(err).Stringer("ip", a).Msg("decline: lease update failed")
		x.w.drop(dropStoreError)
		return
	}
	if err := e.sync([]LeaseChange{{Old: l, New: d}}); err != nil {
		e.log.Debug().Err(err).Stringer("ip", a).Msg("decline not replicated")
	}
}
