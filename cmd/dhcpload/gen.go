package main

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net"
	"net/netip"

	"github.com/xdhcp/xdhcp/ha/lbhash"
)

// Client states. A client has at most one outstanding exchange.
const (
	stIdle        = iota // in the idle queue
	stSendRequest        // OFFER seen, REQUEST queued
	stWaitOffer          // DISCOVER sent
	stWaitAck            // REQUEST sent
	stSendRenew          // bound, renewing REQUEST queued
	stWaitRenew          // renewing REQUEST sent
	stSendRelease        // bound, RELEASE queued
)

// client is one simulated DHCP client.
type client struct {
	xid      uint32
	seq      uint32 // exchanges started (high bits of xid)
	sendSeq  uint32 // messages sent (matches timeout entries)
	state    uint8
	sentNs   int64  // when the outstanding message was sent
	offered  uint32 // yiaddr of the OFFER of the current exchange
	serverID uint32
	bound    uint32 // address held (0: none)
}

// deadline is a pending timeout; stale ones (answered) are skipped.
type deadline struct {
	at      int64
	idx     uint32
	sendSeq uint32
}

// genOptions configures a generator.
type genOptions struct {
	Clients  int
	MACBase  [6]byte
	ClientID bool
	Renew    bool
	Release  bool
	// Renewals: start renews a bound client (REQUEST with ciaddr) instead
	// of starting a DORA; a renewal ACK completes the exchange.
	Renewals  bool
	Giaddr    uint32
	PoolFirst uint32 // 0: no pool check
	PoolLast  uint32
	TimeoutNs int64
	Salt      uint32 // mixed into xids so a rerun ignores an earlier run's replies
	// DiscoverOnly ends each exchange at its OFFER (counted as completed).
	DiscoverOnly bool
	// MACs, when set, is the population (client i has MACs[i]; Clients
	// must be len(MACs)); else client i has MACBase+i.
	MACs [][6]byte
}

// maxSamples bounds the violation descriptions kept for the report.
const maxSamples = 20

// gen is the load generator's protocol state and validator: it decides
// what to send next, matches replies to outstanding exchanges, validates
// them and keeps the statistics. It does no I/O and is not safe for
// concurrent use.
type gen struct {
	o       genOptions
	clients []client
	idxBits uint
	idxMask uint32
	idle    *ring[uint32]
	pending *ring[uint32]
	timers  *ring[deadline]
	owner   map[uint32]uint32 // leased address -> client index

	waiting int // clients with a message outstanding
	st      counters
}

// counters are the run's statistics.
type counters struct {
	do, ra, renew         exchStats
	started, completed    uint64
	releases, naks        uint64
	unmatched, unexpected uint64
	malformed             uint64
	violations            map[string]uint64
	samples               []string
}

// exchStats counts one request/reply pair.
type exchStats struct {
	sent, recv, drops uint64
	h                 *hist
}

func newGen(o genOptions) *gen {
	b := uint(max(bits.Len32(uint32(o.Clients-1)), 1))
	g := &gen{
		o: o, clients: make([]client, o.Clients), idxBits: b, idxMask: 1<<b - 1,
		idle: newRing[uint32](o.Clients), pending: newRing[uint32](1024),
		timers: newRing[deadline](4096), owner: make(map[uint32]uint32, o.Clients),
	}
	for i := range o.Clients {
		g.idle.push(uint32(i))
	}
	g.st.violations = map[string]uint64{}
	for _, e := range []*exchStats{&g.st.do, &g.st.ra, &g.st.renew} {
		e.h = newHist()
	}
	return g
}

// mac returns client i's hardware address: MACs[i] if a population was
// given, else the base plus i.
func (g *gen) mac(i uint32) [6]byte {
	if g.o.MACs != nil {
		return g.o.MACs[i]
	}
	return macAdd(g.o.MACBase, uint64(i))
}

// macAdd is base+k as a 48-bit number (wrapping).
func macAdd(base [6]byte, k uint64) [6]byte {
	var b [8]byte
	copy(b[2:], base[:])
	v := binary.BigEndian.Uint64(b[:]) + k
	binary.BigEndian.PutUint64(b[:], v)
	return [6]byte(b[2:])
}

// haKey is what Kea's load balancing hashes for our client with mac: the
// option 61 data (type 1 + MAC) with -client-id, else chaddr.
func haKey(mac [6]byte, clientID bool, buf *[7]byte) []byte {
	if clientID {
		buf[0] = 1
		copy(buf[1:], mac[:])
		return buf[:7]
	}
	copy(buf[:6], mac[:])
	return buf[:6]
}

// haPopulation is n client MACs from base upwards (base, base+1, ...),
// skipping those whose Kea load-balancing owner among servers active
// servers is not owner. The hash permutes each run of 256 consecutive last
// bytes, so about 1/servers of the candidates are kept; the scan is
// bounded all the same.
func haPopulation(base [6]byte, n, owner, servers int, clientID bool) ([][6]byte, error) {
	out := make([][6]byte, 0, n)
	limit := uint64(n)*uint64(servers)*4 + 1<<16
	var kb [7]byte
	for k := uint64(0); k < limit && len(out) < n; k++ {
		m := macAdd(base, k)
		if lbhash.Owner(lbhash.Hash(haKey(m, clientID, &kb)), servers) == owner {
			out = append(out, m)
		}
	}
	if len(out) < n {
		return nil, fmt.Errorf("only %d of %d MACs from %s hash to server %d of %d", len(out), n, net.HardwareAddr(base[:]), owner, servers)
	}
	return out, nil
}

// boundClients counts the clients holding an address.
func (g *gen) boundClients() int { return len(g.owner) }

// canStart reports whether an idle client is available.
func (g *gen) canStart() bool { return g.idle.len() > 0 }

// hasPending reports whether follow-up messages (REQUEST, renew, RELEASE)
// are waiting to be sent.
func (g *gen) hasPending() bool { return g.pending.len() > 0 }

// busy reports whether any exchange is still unresolved.
func (g *gen) busy() bool { return g.waiting > 0 || g.pending.len() > 0 }

// start begins a new exchange (a DISCOVER with a fresh xid) for the next
// idle client and describes it in m. The caller sends it at now.
func (g *gen) start(now int64, m *outMsg) {
	i := g.idle.pop()
	c := &g.clients[i]
	c.seq++
	c.xid = (c.seq+g.o.Salt)<<g.idxBits | i
	g.st.started++
	if g.o.Renewals && c.bound != 0 {
		*m = outMsg{typ: msgRequest, xid: c.xid, mac: g.mac(i), giaddr: g.o.Giaddr, clientID: g.o.ClientID, ciaddr: c.bound}
		g.st.renew.sent++
		g.sent(now, i, stWaitRenew)
		return
	}
	c.offered, c.serverID = 0, 0
	g.st.do.sent++
	*m = outMsg{typ: msgDiscover, xid: c.xid, mac: g.mac(i), giaddr: g.o.Giaddr, clientID: g.o.ClientID}
	g.sent(now, i, stWaitOffer)
}

// next describes the oldest queued follow-up in m. The caller sends it at now.
func (g *gen) next(now int64, m *outMsg) {
	i := g.pending.pop()
	c := &g.clients[i]
	*m = outMsg{xid: c.xid, mac: g.mac(i), giaddr: g.o.Giaddr, clientID: g.o.ClientID}
	switch c.state {
	case stSendRequest:
		m.typ, m.reqAddr, m.serverID = msgRequest, c.offered, c.serverID
		g.st.ra.sent++
		g.sent(now, i, stWaitAck)
	case stSendRenew:
		c.seq++
		c.xid = (c.seq+g.o.Salt)<<g.idxBits | i
		m.typ, m.xid, m.ciaddr = msgRequest, c.xid, c.bound
		g.st.renew.sent++
		g.sent(now, i, stWaitRenew)
	case stSendRelease:
		c.seq++
		c.xid = (c.seq+g.o.Salt)<<g.idxBits | i
		m.typ, m.xid, m.ciaddr, m.serverID = msgRelease, c.xid, c.bound, c.serverID
		g.st.releases++
		if g.owner[c.bound] == i {
			delete(g.owner, c.bound)
		}
		c.bound = 0
		g.toIdle(i)
	default:
		panic(fmt.Sprintf("dhcpload: client %d queued in state %d", i, c.state))
	}
}

// sent records that client i's message went out and arms its timeout.
func (g *gen) sent(now int64, i uint32, state uint8) {
	c := &g.clients[i]
	c.state, c.sentNs = state, now
	c.sendSeq++
	g.waiting++
	g.timers.push(deadline{at: now + g.o.TimeoutNs, idx: i, sendSeq: c.sendSeq})
}

func (g *gen) toIdle(i uint32) {
	g.clients[i].state = stIdle
	g.idle.push(i)
}

func (g *gen) queue(i uint32, state uint8) {
	g.clients[i].state = state
	g.pending.push(i)
}

// expire turns every exchange whose reply is overdue at now into a drop;
// the client goes back to the idle queue and retries with a new xid.
func (g *gen) expire(now int64) {
	for g.timers.len() > 0 && g.timers.peek().at <= now {
		d := g.timers.pop()
		c := &g.clients[d.idx]
		if c.sendSeq != d.sendSeq {
			continue
		}
		switch c.state {
		case stWaitOffer:
			g.st.do.drops++
		case stWaitAck:
			g.st.ra.drops++
		case stWaitRenew:
			g.st.renew.drops++
		default:
			continue
		}
		g.waiting--
		g.toIdle(d.idx)
	}
}

// expireAll turns every outstanding exchange into a drop (end of run).
func (g *gen) expireAll() {
	for g.timers.len() > 0 {
		d := g.timers.peek()
		g.expire(d.at)
	}
}

// handle validates one DHCP reply payload received at now and advances
// the matching client.
func (g *gen) handle(now int64, p []byte) {
	var r inMsg
	if err := parseReply(p, &r); err != nil {
		g.st.malformed++
		return
	}
	i := r.xid & g.idxMask
	if int(i) >= len(g.clients) || g.clients[i].xid != r.xid {
		g.st.unmatched++
		return
	}
	c := &g.clients[i]
	if c.state != stWaitOffer && c.state != stWaitAck && c.state != stWaitRenew {
		g.st.unmatched++ // a late or duplicate reply
		return
	}
	if want := g.mac(i); r.chaddr != want {
		g.violate("chaddr", "xid %#x: chaddr %s, want %s", r.xid, net.HardwareAddr(r.chaddr[:]), net.HardwareAddr(want[:]))
		return
	}
	delay := now - c.sentNs
	switch {
	case c.state == stWaitOffer && r.typ == msgOffer:
		g.resolved(&g.st.do, delay)
		g.checkPool(i, r.yiaddr, "offer")
		c.offered, c.serverID = r.yiaddr, r.serverID
		if g.o.DiscoverOnly {
			g.st.completed++
			g.toIdle(i)
			return
		}
		g.queue(i, stSendRequest)
	case (c.state == stWaitAck || c.state == stWaitRenew) && r.typ == msgNak:
		g.resolved(g.exch(c.state), delay)
		g.st.naks++
		g.unbind(i)
		g.toIdle(i)
	case c.state == stWaitAck && r.typ == msgAck:
		g.resolved(&g.st.ra, delay)
		g.st.completed++
		if r.yiaddr != c.offered {
			g.violate("ack-differs-from-offer", "client %d: ack %s, offer %s", i, ip(r.yiaddr), ip(c.offered))
		}
		if r.serverID != 0 {
			c.serverID = r.serverID
		}
		g.bind(i, r.yiaddr)
	case c.state == stWaitRenew && r.typ == msgAck:
		g.resolved(&g.st.renew, delay)
		if g.o.Renewals {
			g.st.completed++
		}
		if r.yiaddr != c.bound {
			g.violate("renew-address-changed", "client %d: renew ack %s, bound %s", i, ip(r.yiaddr), ip(c.bound))
		}
		g.bind(i, r.yiaddr)
	default:
		g.st.unexpected++ // e.g. an ACK while waiting for an OFFER; keep waiting
	}
}

func (g *gen) exch(state uint8) *exchStats {
	if state == stWaitRenew {
		return &g.st.renew
	}
	return &g.st.ra
}

// resolved counts a reply to an outstanding message.
func (g *gen) resolved(e *exchStats, delay int64) {
	e.recv++
	e.h.record(delay)
	g.waiting--
}

// bind records that client i holds addr, checks that nobody else does,
// and queues the next step.
func (g *gen) bind(i uint32, addr uint32) {
	c := &g.clients[i]
	g.checkPool(i, addr, "ack")
	if c.bound != 0 && c.bound != addr {
		g.unbind(i)
	}
	if o, ok := g.owner[addr]; ok && o != i {
		g.violate("duplicate-address", "%s acked to client %d while held by client %d", ip(addr), i, o)
	}
	if addr != 0 {
		g.owner[addr] = i
	}
	c.bound = addr
	switch {
	case g.o.Renew && c.state == stWaitAck:
		g.queue(i, stSendRenew)
	case g.o.Release:
		g.queue(i, stSendRelease)
	default:
		g.toIdle(i)
	}
}

// unbind forgets client i's address.
func (g *gen) unbind(i uint32) {
	c := &g.clients[i]
	if o, ok := g.owner[c.bound]; ok && o == i {
		delete(g.owner, c.bound)
	}
	c.bound = 0
}

func (g *gen) checkPool(i uint32, addr uint32, what string) {
	if addr == 0 {
		g.violate("no-address", "client %d: %s without yiaddr", i, what)
		return
	}
	if g.o.PoolFirst != 0 && (addr < g.o.PoolFirst || addr > g.o.PoolLast) {
		g.violate("outside-pool", "client %d: %s of %s outside %s-%s", i, what, ip(addr), ip(g.o.PoolFirst), ip(g.o.PoolLast))
	}
}

// violate counts a validation failure and keeps the first descriptions.
func (g *gen) violate(kind, format string, a ...any) {
	g.st.violations[kind]++
	if len(g.st.samples) < maxSamples {
		g.st.samples = append(g.st.samples, kind+": "+fmt.Sprintf(format, a...))
	}
}

// numViolations is the total of every kind.
func (g *gen) numViolations() uint64 {
	var n uint64
	for _, v := range g.st.violations {
		n += v
	}
	return n
}

// ip formats a packed IPv4 address.
func ip(a uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], a)
	return netip.AddrFrom4(b)
}

// u32 packs an IPv4 address (0 for the zero Addr).
func u32(a netip.Addr) uint32 {
	if !a.Is4() {
		return 0
	}
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}
