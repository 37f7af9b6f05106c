package dhcp

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/classify"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// exchange is the state of one query while it is processed.
type exchange struct {
	e   *Engine
	w   *Worker
	req *Request
	now time.Time

	cls     *classify.Set
	pkt     classify.Packet // what class expressions read (see classPacket)
	pktSet  bool
	sub     *subnet // selected subnet; the lease's subnet after allocation
	pool    *pool   // pool of the assigned address, if any
	host    *reservation
	hostSub *subnet // subnet of host (nil for a global reservation)
	hostErr error   // a host backend failed during this query (dropped)

	hw     []byte // chaddr truncated to hlen
	rawCID []byte // option 61 data as received (nil if absent)

	hostnameVal string // hostname(), once hostnameSet
	hostnameSet bool

	// What this exchange already read, reused only over a conditional
	// store (Engine.conditional): the client's lease (clientLease) and
	// the row at one address (readAt).
	clDone bool
	cl     *lease.Lease
	clSub  *subnet
	seen   leaseRead
	pf     prefetch
	spec   specPick // DISCOVER: prefetchDiscover's pool candidate

	opts   *optBuf     // the reply's options until seal (the worker's)
	levels []*optSet   // scratch for optionLevels
	lists  [2][]string // scratch for evalRequired
}

// newExchange returns the worker's exchange, reset for req. The exchange,
// its class set and its scratch slices are reused by the worker's next
// query: nothing reachable from a Reply may point into them.
func (w *Worker) newExchange(req *Request) *exchange {
	x := &w.x
	cls, levels := x.cls, x.levels[:0]
	if cls == nil {
		cls = w.e.m.classes.cl.NewSet()
	} else {
		cls.Reset()
	}
	clear(levels[:cap(levels)]) // drop references into the previous query's model objects
	*x = exchange{e: w.e, w: w, req: req, now: w.e.now(), cls: cls, levels: levels, opts: &w.opts}
	x.hw = req.Msg.ClientHWAddr
	if len(x.hw) == 0 {
		x.hw = nil
	}
	if cid := req.Msg.Options.Get(dhcpv4.OptionClientIdentifier); len(cid) > 0 {
		x.rawCID = cid
	}
	return x
}

// cidFor returns the client identifier used to match leases in s: nil when
// match-client-id is false there.
func (x *exchange) cidFor(s *subnet) []byte {
	if s != nil && !s.matchClientID {
		return nil
	}
	return x.rawCID
}

// belongsTo is Kea's Lease4::belongsToClient: equal client ids match; if
// either side has no client id, equal hardware addresses match.
func belongsTo(l *lease.Lease, hw, cid []byte) bool {
	if len(cid) > 0 && len(l.ClientID) > 0 {
		return bytes.Equal(cid, l.ClientID)
	}
	return len(hw) > 0 && bytes.Equal(hw, l.HWAddr)
}

// prefetch is what one ClientRows read returned for a query (set: it
// answers the client's lease lookups in subnets).
type prefetch struct {
	set     bool
	rows    []*lease.Lease
	subnets []uint32
	at      leaseRead // the row at the address asked for
}

// prefetchClient reads, over a ClientRowsStore, the row at a and the
// client's rows in the allowed subnets of the family in one query; the
// client's lease lookups and readAt(a) are then answered from it.
func (x *exchange) prefetchClient(a netip.Addr) {
	cr, ok := x.e.store.(ClientRowsStore)
	if !ok || !x.e.conditional || x.sub == nil {
		return
	}
	var ids []uint32
	for _, s := range x.sub.family() {
		if s.allowed(x.cls) {
			ids = append(ids, s.id)
		}
	}
	rows, ok := cr.ClientRows(a, x.hw, x.rawCID, ids)
	if !ok {
		return
	}
	x.pf = prefetch{set: true, rows: rows, subnets: ids}
	if a.IsValid() {
		x.pf.at.addr = a
		for _, l := range rows {
			if l.Addr == a {
				x.pf.at.l = l
				break
			}
		}
	}
}

// lookup is GetByClientID (byCID) or GetByHW for subnet sid, from the
// prefetch when it covers sid.
func (x *exchange) lookup(byCID bool, id []byte, sid uint32) (*lease.Lease, bool) {
	if x.pf.set && slices.Contains(x.pf.subnets, sid) {
		var best *lease.Lease
		for _, l := range x.pf.rows {
			if l.SubnetID != sid {
				continue
			}
			if byCID && !bytes.Equal(l.ClientID, id) || !byCID && !bytes.Equal(l.HWAddr, id) {
				continue
			}
			if best == nil || rowExpire(l) > rowExpire(best) {
				best = l
			}
		}
		return best, best != nil
	}
	if byCID {
		return x.e.store.GetByClientID(id, sid)
	}
	return x.e.store.GetByHW(id, sid)
}

// rowExpire is the lease's expire column (cltt for an infinite lifetime),
// which the store's GetByHW/GetByClientID compare to keep the newest row.
func rowExpire(l *lease.Lease) int64 {
	if l.ValidLifetime == infiniteLft {
		return l.CLTT
	}
	return l.Expire()
}

// leaseRead is the row an exchange read at addr (l nil: none).
type leaseRead struct {
	addr netip.Addr
	l    *lease.Lease
}

// readAt is the row at a as this exchange last read it (memo true), or,
// if it has not, a fresh read. Only over a conditional store: every write
// that follows is then decided by the database against the row as read
// (an Add finds the address taken, an UpdateFrom the expiry changed), so
// a row read a moment earlier in the same query can stand in for a new
// read; a write refused that way is retried after a fresh read (commit).
// Other stores always read again.
func (x *exchange) readAt(a netip.Addr) (l *lease.Lease, memo bool) {
	if x.e.conditional && a.IsValid() {
		if x.seen.addr == a {
			return x.seen.l, true
		}
		if x.pf.at.addr == a {
			return x.pf.at.l, true
		}
	}
	l, _ = x.e.store.Get(a)
	x.remember(a, l)
	return l, false
}

// remember records l as the row at a (conditional stores only).
func (x *exchange) remember(a netip.Addr, l *lease.Lease) {
	if x.e.conditional {
		x.seen = leaseRead{addr: a, l: l}
	}
}

// clientLease finds the client's lease in the selected subnet's family:
// by client id first (if matched), then by hardware address. Over a
// conditional store the answer is kept for the rest of the exchange (an
// INIT-REBOOT REQUEST asks twice), and the lease found is the row at its
// address (readAt).
func (x *exchange) clientLease() (*lease.Lease, *subnet) {
	if x.sub == nil {
		return nil, nil
	}
	if x.clDone {
		return x.cl, x.clSub
	}
	l, s := x.findClientLease()
	if x.e.conditional {
		x.clDone, x.cl, x.clSub = true, l, s
		if l != nil {
			x.remember(l.Addr, l)
		}
	}
	return l, s
}

func (x *exchange) findClientLease() (*lease.Lease, *subnet) {
	fam := x.sub.family()
	for _, s := range fam {
		if !s.allowed(x.cls) {
			continue
		}
		if cid := x.cidFor(s); len(cid) > 0 {
			if l, ok := x.lookup(true, cid, s.id); ok && l.State != lease.StateDeclined {
				return l, s
			}
		}
	}
	for _, s := range fam {
		if !s.allowed(x.cls) || len(x.hw) == 0 {
			continue
		}
		if l, ok := x.lookup(false, x.hw, s.id); ok && l.State != lease.StateDeclined && belongsTo(l, x.hw, x.cidFor(s)) {
			return l, s
		}
	}
	return nil, nil
}

// offerKey identifies a client in the offer table: its client id (kind
// 'c') or else its hardware address (kind 'h'). An identifier of up to
// offerKeyInline bytes is held inline (no allocation), a longer one in
// long; the encoding is one-to-one, so keys are equal exactly when kind
// and identifier are.
type offerKey struct {
	kind byte
	n    uint8 // inline length; 0 when long is used
	b    [offerKeyInline]byte
	long string
}

const offerKeyInline = 32

// clientKey identifies the client for the offer table.
func (x *exchange) clientKey(s *subnet) offerKey {
	k := offerKey{kind: 'h'}
	id := x.hw
	if cid := x.cidFor(s); len(cid) > 0 {
		k.kind, id = 'c', cid
	}
	if len(id) <= offerKeyInline {
		k.n = uint8(copy(k.b[:], id))
	} else {
		k.long = string(id)
	}
	return k
}

// hostname returns the sanitised, lower-cased option 12 (or the reserved
// hostname), as Kea stores it in the lease.
func (x *exchange) hostname() string {
	if !x.hostnameSet { // asked by commit and by fillLease
		x.hostnameVal, x.hostnameSet = x.computeHostname(), true
	}
	return x.hostnameVal
}

func (x *exchange) computeHostname() string {
	if x.host != nil && x.host.hostname != "" {
		return strings.ToLower(x.host.hostname)
	}
	h := x.req.Msg.Options.Get(dhcpv4.OptionHostName)
	if len(h) == 0 {
		return ""
	}
	return x.e.m.sanitizeHostname(string(h))
}

// sanitizeHostname applies hostname-char-set/replacement and lower-cases.
func (m *model) sanitizeHostname(h string) string {
	if m.hostRe != nil {
		h = m.hostRe.ReplaceAllLiteralString(h, m.hostRepl)
	}
	return strings.ToLower(h)
}
