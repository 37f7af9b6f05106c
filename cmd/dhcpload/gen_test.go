package main

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/ha/lbhash"
)

var (
	testGiaddr   = netip.MustParseAddr("198.18.0.1")
	testServerID = netip.MustParseAddr("198.18.0.2")
)

func newTestGen(clients int, mod func(*genOptions)) *gen {
	o := genOptions{Clients: clients, MACBase: [6]byte{2, 0, 0, 0, 0, 0xfe}, Giaddr: u32(testGiaddr),
		PoolFirst: u32(netip.MustParseAddr("198.19.0.10")), PoolLast: u32(netip.MustParseAddr("198.19.0.20")),
		TimeoutNs: int64(time.Second), Salt: 12345}
	if mod != nil {
		mod(&o)
	}
	return newGen(o)
}

// sendMsg takes the next message (a follow-up if one is queued, else a
// new exchange), encodes it and decodes it with insomniacslk/dhcp.
func sendMsg(t *testing.T, g *gen, now int64) *dhcpv4.DHCPv4 {
	t.Helper()
	var m outMsg
	switch {
	case g.hasPending():
		g.next(now, &m)
	case g.canStart():
		g.start(now, &m)
	default:
		t.Fatal("nothing to send")
	}
	buf := make([]byte, 1500)
	n := buildMsg(buf, &m)
	d, err := dhcpv4.FromBytes(buf[:n])
	if err != nil {
		t.Fatalf("our %d message does not parse: %v", m.typ, err)
	}
	if d.OpCode != dhcpv4.OpcodeBootRequest || !d.GatewayIPAddr.Equal(testGiaddr.AsSlice()) || d.HopCount != 1 {
		t.Fatalf("bad relay header: %s", d.Summary())
	}
	return d
}

// answer builds the server's reply to req.
func answer(req *dhcpv4.DHCPv4, typ dhcpv4.MessageType, yiaddr string) []byte {
	r, err := dhcpv4.NewReplyFromRequest(req, dhcpv4.WithMessageType(typ),
		dhcpv4.WithServerIP(testServerID.AsSlice()), dhcpv4.WithOption(dhcpv4.OptServerIdentifier(testServerID.AsSlice())))
	if err != nil {
		panic(err)
	}
	if yiaddr != "" {
		r.YourIPAddr = net.ParseIP(yiaddr).To4()
	}
	return r.ToBytes()
}

// dora runs one complete exchange for the next idle client.
func dora(t *testing.T, g *gen, now int64, addr string) *dhcpv4.DHCPv4 {
	t.Helper()
	d := sendMsg(t, g, now)
	if d.MessageType() != dhcpv4.MessageTypeDiscover {
		t.Fatalf("first message %s", d.MessageType())
	}
	g.handle(now+1000, answer(d, dhcpv4.MessageTypeOffer, addr))
	r := sendMsg(t, g, now+2000)
	if r.MessageType() != dhcpv4.MessageTypeRequest || r.TransactionID != d.TransactionID ||
		!r.RequestedIPAddress().Equal(net.ParseIP(addr)) || !r.ServerIdentifier().Equal(testServerID.AsSlice()) {
		t.Fatalf("request after offer: %s", r.Summary())
	}
	g.handle(now+3000, answer(r, dhcpv4.MessageTypeAck, addr))
	return r
}

func wantCounts(t *testing.T, g *gen, completed, unmatched uint64, violations map[string]uint64) {
	t.Helper()
	if g.st.completed != completed || g.st.unmatched != unmatched {
		t.Errorf("completed %d unmatched %d, want %d and %d", g.st.completed, g.st.unmatched, completed, unmatched)
	}
	if len(g.st.violations) != len(violations) {
		t.Errorf("violations %v (%q), want %v", g.st.violations, g.st.samples, violations)
	}
	for k, v := range violations {
		if g.st.violations[k] != v {
			t.Errorf("violations %v (%q), want %v", g.st.violations, g.st.samples, violations)
		}
	}
}

func TestGenDORA(t *testing.T) {
	g := newTestGen(3, func(o *genOptions) { o.ClientID = true })
	for i, a := range []string{"198.19.0.10", "198.19.0.11", "198.19.0.12"} {
		r := dora(t, g, int64(i)*10000, a)
		want := net.HardwareAddr{2, 0, 0, 0, 0, 0xfe + byte(i)}
		if i == 2 {
			want = net.HardwareAddr{2, 0, 0, 0, 1, 0} // carries into the next byte
		}
		if r.ClientHWAddr.String() != want.String() {
			t.Errorf("client %d mac %s, want %s", i, r.ClientHWAddr, want)
		}
		if cid := r.Options.Get(dhcpv4.OptionClientIdentifier); string(cid) != string(append([]byte{1}, want...)) {
			t.Errorf("client %d option 61 %x", i, cid)
		}
	}
	wantCounts(t, g, 3, 0, nil)
	if g.st.do.recv != 3 || g.st.ra.recv != 3 || g.st.do.h.n != 3 || g.busy() || g.idle.len() != 3 {
		t.Errorf("do %+v ra %+v busy %v idle %d", g.st.do, g.st.ra, g.busy(), g.idle.len())
	}
	if g.st.ra.h.minNs != 1000 || g.st.ra.h.maxNs != 1000 {
		t.Errorf("request-ack delays %d..%d ns, want 1000", g.st.ra.h.minNs, g.st.ra.h.maxNs)
	}
	// The next round reuses client 0 with a new xid, and gets the same address.
	d := sendMsg(t, g, 50000)
	if d.ClientHWAddr.String() != "02:00:00:00:00:fe" {
		t.Errorf("round two starts with %s", d.ClientHWAddr)
	}
}

func TestGenWrongXIDIgnored(t *testing.T) {
	g := newTestGen(2, nil)
	d := sendMsg(t, g, 0)
	other := *d
	other.TransactionID[3] ^= 0x80 // same client index (low bit), other sequence bits
	g.handle(10, answer(&other, dhcpv4.MessageTypeOffer, "198.19.0.10"))
	other.TransactionID = dhcpv4.TransactionID{0xff, 0xff, 0xff, 0xff}
	g.handle(10, answer(&other, dhcpv4.MessageTypeOffer, "198.19.0.10"))
	wantCounts(t, g, 0, 2, nil)
	if g.hasPending() || g.st.do.recv != 0 {
		t.Fatal("a reply with a wrong xid advanced the exchange")
	}
	// The right reply still completes it, and a duplicate OFFER is ignored.
	g.handle(20, answer(d, dhcpv4.MessageTypeOffer, "198.19.0.10"))
	g.handle(30, answer(d, dhcpv4.MessageTypeOffer, "198.19.0.10"))
	if !g.hasPending() || g.st.unmatched != 3 {
		t.Fatalf("pending %v unmatched %d", g.hasPending(), g.st.unmatched)
	}
	// An ACK while waiting for an OFFER is unexpected, not accepted.
	d2 := sendMsg(t, g, 40) // the REQUEST
	d3 := sendMsg(t, g, 40) // client 1's DISCOVER
	g.handle(50, answer(d3, dhcpv4.MessageTypeAck, "198.19.0.11"))
	if g.st.unexpected != 1 || g.st.completed != 0 {
		t.Errorf("unexpected %d completed %d", g.st.unexpected, g.st.completed)
	}
	g.handle(60, answer(d2, dhcpv4.MessageTypeAck, "198.19.0.10"))
	wantCounts(t, g, 1, 3, nil)
}

func TestGenChaddrMismatch(t *testing.T) {
	g := newTestGen(1, nil)
	d := sendMsg(t, g, 0)
	r := answer(d, dhcpv4.MessageTypeOffer, "198.19.0.10")
	r[33] ^= 1
	g.handle(10, r)
	wantCounts(t, g, 0, 0, map[string]uint64{"chaddr": 1})
	if g.hasPending() {
		t.Error("offer with a wrong chaddr accepted")
	}
}

func TestGenDuplicateAddress(t *testing.T) {
	g := newTestGen(2, nil)
	dora(t, g, 0, "198.19.0.10")
	dora(t, g, 10000, "198.19.0.10")
	wantCounts(t, g, 2, 0, map[string]uint64{"duplicate-address": 1})
}

func TestGenReleaseFreesAddress(t *testing.T) {
	g := newTestGen(2, func(o *genOptions) { o.Release = true })
	dora(t, g, 0, "198.19.0.10")
	rel := sendMsg(t, g, 5000)
	if rel.MessageType() != dhcpv4.MessageTypeRelease || !rel.ClientIPAddr.Equal(net.ParseIP("198.19.0.10")) ||
		!rel.ServerIdentifier().Equal(testServerID.AsSlice()) {
		t.Fatalf("release: %s", rel.Summary())
	}
	dora(t, g, 10000, "198.19.0.10") // client 1 may now have it
	wantCounts(t, g, 2, 0, nil)
	if g.st.releases != 1 {
		t.Errorf("releases %d", g.st.releases)
	}
}

func TestGenRenew(t *testing.T) {
	g := newTestGen(1, func(o *genOptions) { o.Renew = true })
	req := dora(t, g, 0, "198.19.0.10")
	rn := sendMsg(t, g, 5000)
	if rn.MessageType() != dhcpv4.MessageTypeRequest || !rn.ClientIPAddr.Equal(net.ParseIP("198.19.0.10")) ||
		rn.TransactionID == req.TransactionID || rn.Options.Has(dhcpv4.OptionRequestedIPAddress) {
		t.Fatalf("renew: %s", rn.Summary())
	}
	g.handle(6000, answer(rn, dhcpv4.MessageTypeAck, "198.19.0.11"))
	wantCounts(t, g, 1, 0, map[string]uint64{"renew-address-changed": 1})
	if g.st.renew.recv != 1 || g.owner[u32(netip.MustParseAddr("198.19.0.11"))] != 0 {
		t.Errorf("renew %+v owner %v", g.st.renew, g.owner)
	}
}

func TestGenAckDiffersAndPool(t *testing.T) {
	g := newTestGen(1, nil)
	d := sendMsg(t, g, 0)
	g.handle(10, answer(d, dhcpv4.MessageTypeOffer, "198.19.0.10"))
	r := sendMsg(t, g, 20)
	g.handle(30, answer(r, dhcpv4.MessageTypeAck, "198.19.0.99"))
	wantCounts(t, g, 1, 0, map[string]uint64{"ack-differs-from-offer": 1, "outside-pool": 1})
}

func TestGenNak(t *testing.T) {
	g := newTestGen(1, nil)
	d := sendMsg(t, g, 0)
	g.handle(10, answer(d, dhcpv4.MessageTypeOffer, "198.19.0.10"))
	r := sendMsg(t, g, 20)
	g.handle(30, answer(r, dhcpv4.MessageTypeNak, ""))
	wantCounts(t, g, 0, 0, nil)
	if g.st.naks != 1 || g.st.ra.recv != 1 || g.busy() || !g.canStart() {
		t.Errorf("naks %d ra %+v busy %v", g.st.naks, g.st.ra, g.busy())
	}
}

func TestGenTimeoutRetriesWithNewXID(t *testing.T) {
	g := newTestGen(1, nil)
	d := sendMsg(t, g, 0)
	g.expire(int64(time.Second) - 1)
	if g.st.do.drops != 0 {
		t.Fatal("dropped before the timeout")
	}
	g.expire(int64(time.Second))
	if g.st.do.drops != 1 || g.busy() || !g.canStart() {
		t.Fatalf("drops %d busy %v", g.st.do.drops, g.busy())
	}
	d2 := sendMsg(t, g, int64(time.Second)+1)
	if d2.TransactionID == d.TransactionID || d2.ClientHWAddr.String() != d.ClientHWAddr.String() {
		t.Fatalf("retry xid %s (was %s) mac %s", d2.TransactionID, d.TransactionID, d2.ClientHWAddr)
	}
	g.handle(int64(time.Second)+2, answer(d, dhcpv4.MessageTypeOffer, "198.19.0.10")) // late
	if g.st.unmatched != 1 || g.hasPending() {
		t.Fatalf("late offer: unmatched %d", g.st.unmatched)
	}
	// A REQUEST timeout counts against REQUEST-ACK; the DISCOVER's stale
	// timer does not fire twice.
	g.handle(int64(time.Second)+3, answer(d2, dhcpv4.MessageTypeOffer, "198.19.0.10"))
	sendMsg(t, g, int64(time.Second)+4)
	g.expireAll()
	if g.st.do.drops != 1 || g.st.ra.drops != 1 || g.busy() {
		t.Fatalf("do drops %d ra drops %d busy %v", g.st.do.drops, g.st.ra.drops, g.busy())
	}
}

func TestGenMalformed(t *testing.T) {
	g := newTestGen(1, nil)
	d := sendMsg(t, g, 0)
	good := answer(d, dhcpv4.MessageTypeOffer, "198.19.0.10")
	for name, mut := range map[string]func([]byte) []byte{
		"short":       func(b []byte) []byte { return b[:100] },
		"bootrequest": func(b []byte) []byte { b[0] = 1; return b },
		"cookie":      func(b []byte) []byte { b[236] = 0; return b },
		"no type":     func(b []byte) []byte { b[240] = 0; b[241] = 0; b[242] = 0; return b[:243] },
		"overrun":     func(b []byte) []byte { return append(b[:240], 53, 9, 2) },
	} {
		before := g.st.malformed
		g.handle(1, mut(append([]byte(nil), good...)))
		if g.st.malformed != before+1 {
			t.Errorf("%s: not counted as malformed", name)
		}
	}
	if g.st.malformed != 5 || g.hasPending() {
		t.Fatalf("malformed %d pending %v", g.st.malformed, g.hasPending())
	}
	g.handle(2, good)
	if !g.hasPending() {
		t.Fatal("the good offer was not accepted")
	}
}

func TestDiscoverOnly(t *testing.T) {
	g := newTestGen(2, func(o *genOptions) { o.DiscoverOnly = true })
	for k := range 4 {
		d := sendMsg(t, g, int64(k)*10000)
		if d.MessageType() != dhcpv4.MessageTypeDiscover {
			t.Fatalf("message %d: %s, want only DISCOVERs", k, d.MessageType())
		}
		g.handle(int64(k)*10000+1000, answer(d, dhcpv4.MessageTypeOffer, "198.19.0.11"))
		if g.hasPending() || g.busy() {
			t.Fatalf("after OFFER %d: a follow-up is queued or an exchange is open", k)
		}
	}
	if g.st.started != 4 || g.st.completed != 4 || g.st.do.recv != 4 || g.st.ra.sent != 0 || g.numViolations() != 0 {
		t.Errorf("counters %+v", g.st)
	}
}

func TestHAPopulation(t *testing.T) {
	base := [6]byte{2, 0, 0, 0, 0xff, 0xf0} // crosses a byte boundary
	for _, cid := range []bool{false, true} {
		for owner := range 2 {
			macs, err := haPopulation(base, 1000, owner, 2, cid)
			if err != nil || len(macs) != 1000 {
				t.Fatalf("owner %d client-id %v: %d MACs, %v", owner, cid, len(macs), err)
			}
			seen := map[[6]byte]bool{}
			for _, m := range macs {
				key := m[:]
				if cid {
					key = append([]byte{1}, m[:]...)
				}
				if got := lbhash.Owner(lbhash.Hash(key), 2); got != owner {
					t.Fatalf("%s hashes to server %d, want %d", net.HardwareAddr(m[:]), got, owner)
				}
				if seen[m] {
					t.Fatalf("%s twice", net.HardwareAddr(m[:]))
				}
				seen[m] = true
			}
			// Half of the candidates hash to each of two servers: the
			// population spans about 2,000 MACs from the base.
			if last := macs[len(macs)-1]; last[4] != 0x08 && last[4] != 0x07 {
				t.Errorf("population ends at %s, want near base+2000", net.HardwareAddr(last[:]))
			}
		}
	}
	if _, err := haPopulation(base, 10, 1, 1, false); err == nil {
		t.Error("owner 1 of 1 servers: want an error")
	}
	// The generator sends the population's MACs, in order.
	macs, _ := haPopulation(base, 3, 1, 2, false)
	g := newTestGen(3, func(o *genOptions) { o.MACs = macs })
	for k := range 3 {
		d := sendMsg(t, g, 0)
		if [6]byte(d.ClientHWAddr) != macs[k] {
			t.Errorf("client %d sent chaddr %s, want %s", k, d.ClientHWAddr, net.HardwareAddr(macs[k][:]))
		}
	}
}

// TestGenRenewals: with -renewals a bound client's next exchange is a
// renewal (REQUEST, ciaddr, new xid, no option 50/54), its ACK completes
// it, and an unbound client (after a NAK) starts a DORA again.
func TestGenRenewals(t *testing.T) {
	g := newTestGen(2, func(o *genOptions) { o.Renewals = true })
	dora(t, g, 0, "198.19.0.10")
	dora(t, g, 10000, "198.19.0.11")
	if g.boundClients() != 2 {
		t.Fatalf("bound %d", g.boundClients())
	}
	for round := 0; round < 3; round++ {
		for i, a := range []string{"198.19.0.10", "198.19.0.11"} {
			rn := sendMsg(t, g, int64(100000*(round+1)+i))
			if rn.MessageType() != dhcpv4.MessageTypeRequest || !rn.ClientIPAddr.Equal(net.ParseIP(a)) ||
				rn.Options.Has(dhcpv4.OptionRequestedIPAddress) || rn.Options.Has(dhcpv4.OptionServerIdentifier) {
				t.Fatalf("round %d client %d: %s", round, i, rn.Summary())
			}
			g.handle(int64(100000*(round+1)+500+i), answer(rn, dhcpv4.MessageTypeAck, a))
		}
	}
	wantCounts(t, g, 2+6, 0, nil)
	if g.st.renew.sent != 6 || g.st.renew.recv != 6 || g.st.do.sent != 2 || g.busy() {
		t.Errorf("renew %+v do %+v", g.st.renew, g.st.do)
	}
	// A NAK unbinds: that client goes through DORA next.
	rn := sendMsg(t, g, 1e6)
	g.handle(1e6+1, answer(rn, dhcpv4.MessageTypeNak, ""))
	sendMsg(t, g, 1e6+2) // client 1 renews
	if d := sendMsg(t, g, 1e6+3); d.MessageType() != dhcpv4.MessageTypeDiscover {
		t.Errorf("after a NAK: %s", d.MessageType())
	}
}
