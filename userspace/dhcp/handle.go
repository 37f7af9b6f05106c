package dhcp

import (
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// Handle processes one query and returns the reply, or nil to drop it.
// Every drop is counted under its cause (see dropCause). A non-empty
// Reply.Changes is committed to the store already; the caller replicates it
// (HA) before it sends Reply.Msg.
func (w *Worker) Handle(req *Request) *Reply {
	if req == nil || req.Msg == nil || req.Msg.OpCode != dhcpv4.OpcodeBootRequest {
		return w.drop(dropBadPacket)
	}
	mt := msgType(req.Msg)
	switch mt {
	case dhcpv4.MessageTypeDiscover, dhcpv4.MessageTypeRequest, dhcpv4.MessageTypeRelease,
		dhcpv4.MessageTypeDecline, dhcpv4.MessageTypeInform:
	default:
		return w.drop(dropUnsupported)
	}
	if !w.e.acceptServerID(req) {
		return w.drop(dropNotForUs)
	}
	x := w.newExchange(req)
	if f := w.e.scope; f != nil {
		class, serve := f.Scope(req.Msg)
		if class != "" {
			x.cls.Add(class)
		}
		if !serve {
			return w.drop(dropHAScope)
		}
	}
	if !x.classifyEarly() {
		return w.drop(dropClass)
	}
	switch mt {
	case dhcpv4.MessageTypeDiscover:
		return x.discover()
	case dhcpv4.MessageTypeRequest:
		return x.request()
	case dhcpv4.MessageTypeRelease:
		return x.release()
	case dhcpv4.MessageTypeDecline:
		return x.decline()
	default:
		return x.inform()
	}
}

// acceptServerID is Kea's acceptServerId: a query carrying option 54 is ours
// only if it names the receiving interface's address, a configured
// server identifier, or the relay's server-identifier-override (82.11).
func (e *Engine) acceptServerID(req *Request) bool {
	b := req.Msg.Options.Get(dhcpv4.OptionServerIdentifier)
	if len(b) == 0 {
		return true
	}
	if len(b) != 4 {
		return false
	}
	sid := netip.AddrFrom4([4]byte(b))
	if sid == req.IfAddr || sid == req.Dst || e.m.serverID[sid] {
		return true
	}
	if rai := req.Msg.RelayAgentInfo(); rai != nil {
		if o := rai.Get(dhcpv4.GenericOptionCode(11)); len(o) == 4 && netip.AddrFrom4([4]byte(o)) == sid {
			return true
		}
	}
	return false
}

// classifyLate finishes classification after subnet selection: reservation
// lookup (KNOWN/UNKNOWN), pass 2, and the DROP check. It reports false when
// the query must be dropped.
func (x *exchange) classifyLate() (dropCause, bool) {
	if err := x.lookupHost(); err != nil {
		x.e.log.Error().Err(err).Msg("host reservation lookup failed, query dropped")
		return dropHostsDB, false
	}
	if !x.classifyKnown() {
		return dropClass, false
	}
	return dropCause{}, true
}

// hostsFailed reports (and logs) a host backend error met while
// allocating; the query is then dropped with dropHostsDB.
func (x *exchange) hostsFailed() bool {
	if x.hostErr == nil {
		return false
	}
	x.e.log.Error().Err(x.hostErr).Msg("host reservation lookup failed, query dropped")
	return true
}

func (w *Worker) drop(c dropCause) *Reply {
	if c.receiveDrop {
		w.shard.Inc(stats.Pkt4ReceiveDrop)
	}
	w.e.st.drops[c.idx].Add(1)
	return nil
}
