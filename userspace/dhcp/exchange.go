package dhcp

import (
	"bytes"
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

// clientLease finds the client's lease in the selected subnet's family:
// by client id first (if matched), then by hardware address.
func (x *exchange) clientLease() (*lease.Lease, *subnet) {
	if x.sub == nil {
		return nil, nil
	}
	st := x.e.store
	fam := x.sub.family()
	for _, s := range fam {
		if !s.allowed(x.cls) {
			continue
		}
		if cid := x.cidFor(s); len(cid) > 0 {
			if l, ok := st.GetByClientID(cid, s.id); ok && l.State != lease.StateDeclined {
				return l, s
			}
		}
	}
	for _, s := range fam {
		if !s.allowed(x.cls) || len(x.hw) == 0 {
			continue
		}
		if l, ok := st.GetByHW(x.hw, s.id); ok && l.State != lease.StateDeclined && belongsTo(l, x.hw, x.cidFor(s)) {
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
