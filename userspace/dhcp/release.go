package dhcp

import (
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// release handles DHCPRELEASE: the lease at ciaddr is deleted if it belongs
// to the client (Kea 2.2 writes a deletion row; match-client-id is not
// consulted). There is no reply.
func (x *exchange) release() {
	ci, ok := ip4(x.req.Msg.ClientIPAddr)
	if !ok {
		x.w.drop(dropBadPacket)
		return
	}
	l, found := x.e.store.Get(ci)
	if !found || l.State != lease.StateDefault || !belongsTo(l, x.hw, x.rawCID) {
		x.w.drop(dropNoLease)
		return
	}
	old, err := x.e.store.Delete(ci)
	if err != nil {
		x.w.drop(dropNoLease)
		return
	}
	if err := x.e.sync([]LeaseChange{{Old: old}}); err != nil {
		x.e.log.Debug().Err(err).Stringer("ip", ci).Msg("release not replicated")
	}
}
