package dhcp

import (
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/packet"
)

// release handles DHCPRELEASE: the lease at ciaddr is deleted if it belongs
// to the client (Kea 2.2 writes a deletion row; match-client-id is not
// consulted). There is no reply.
func (x *exchange) release() *Reply {
	ci, ok := packet.Addr4(x.req.Msg.ClientIPAddr)
	if !ok {
		return x.w.drop(dropBadPacket)
	}
	e := x.e
	mu := e.locks.lock(ci)
	l, found := e.store.Get(ci)
	if !found || l.State != lease.StateDefault || !belongsTo(l, x.hw, x.rawCID) {
		mu.Unlock()
		return x.w.drop(dropNoLease)
	}
	old, err := e.deleteFrom(l)
	if err != nil {
		mu.Unlock()
		return x.w.drop(dropNoLease)
	}
	seq := e.order.stamp(ci)
	mu.Unlock()
	return &Reply{Changes: []lease.Change{{Old: old, Seq: seq}}}
}
