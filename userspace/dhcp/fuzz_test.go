package dhcp

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// fuzzConfig is small on purpose: pools of a few addresses, short
// lifetimes and a reservation make collisions, exhaustion, expiry and
// reuse reachable within a few dozen operations.
const fuzzConfig = `{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "eth0" ] },
  "lease-database": { "type": "memfile", "persist": false },
  "valid-lifetime": 100, "decline-probation-period": 50,
  "expired-leases-processing": { "flush-reclaimed-timer-wait-time": 25, "hold-reclaimed-time": 60 },
  "subnet4": [ {
    "id": 1, "subnet": "192.0.2.0/24", "interface": "eth0",
    "pools": [ { "pool": "192.0.2.10 - 192.0.2.13" } ],
    "reservations": [ { "hw-address": "aa:bb:cc:00:00:01", "ip-address": "192.0.2.100" },
                      { "hw-address": "aa:bb:cc:00:00:02", "ip-address": "192.0.2.11" } ]
  }, {
    "id": 2, "subnet": "198.18.0.0/24", "relay": { "ip-addresses": [ "198.18.0.1" ] },
    "pools": [ { "pool": "198.18.0.10 - 198.18.0.12" } ]
  } ]
} }`

// fuzzReserved are fuzzConfig's reserved addresses.
var fuzzReserved = map[netip.Addr]bool{
	netip.MustParseAddr("192.0.2.100"): true,
	netip.MustParseAddr("192.0.2.11"):  true,
}

// fuzzAddrs are the addresses the structured operations ask for.
var fuzzAddrs = []netip.Addr{
	netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.11"),
	netip.MustParseAddr("192.0.2.12"), netip.MustParseAddr("192.0.2.13"),
	netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.50"),
	netip.MustParseAddr("198.18.0.10"), netip.MustParseAddr("198.18.0.12"),
	netip.MustParseAddr("203.0.113.5"),
}

// FuzzEngine drives one engine (with an injected clock over an in-memory
// store) through a sequence of operations decoded from the input: DHCP
// messages built from a few fuzz bytes (type, client, addresses, flags),
// arbitrary bytes decoded with dhcpv4.FromBytes as the pipeline does, clock
// steps and reclamation. After every step it checks that the engine did not
// panic; that a reply is a BOOTREPLY OFFER, ACK or NAK with the query's xid
// that encodes and decodes again; that an address ACK lies in a configured
// pool or reservation and is backed by the client's lease; that no OFFER or
// ACK gives away an address another client holds unexpired (no two active
// leases for one address); and that every pool's free-address index and
// expiry index agree with the store.
func FuzzEngine(f *testing.F) {
	// Seeds: a mode byte (0x80: offer-lifetime 30), then 4-byte operations
	// {kind, client, address index, flags} (see fuzzRequest; kind 6 steps
	// the clock by client*4 s and reclaims/flushes by the address byte).
	f.Add([]byte{0, 0, 1, 0, 0, 1, 1, 0, 0})                                         // DORA of mac(2): .10
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0})                             // two REQUESTs for .10: ACK, NAK
	f.Add([]byte{0, 0, 1, 0, 0, 1, 1, 0, 0, 4, 1, 0, 0x40, 0, 2, 0, 0, 1, 2, 0, 0})  // DORA, RELEASE, another takes it
	f.Add([]byte{0, 0, 1, 0, 0, 1, 1, 0, 0, 6, 30, 0, 0, 0, 2, 0, 0, 1, 2, 0, 0})    // DORA, expiry, reuse
	f.Add([]byte{0, 0, 1, 0, 0, 1, 1, 0, 0, 6, 30, 1, 0, 1, 2, 0, 0})                // DORA, expiry, reclaim, REQUEST
	f.Add([]byte{0, 0, 1, 0, 0, 1, 1, 0, 0, 5, 1, 0, 0x40, 6, 13, 1, 0, 1, 2, 0, 0}) // DORA, DECLINE, probation ends
	f.Add([]byte{0, 0, 3, 6, 4, 1, 3, 6, 4, 3, 3, 6, 20})                            // relayed DORA, renew
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0})              // offer-lifetime 30
	raw := msg(f, dhcpv4.MessageTypeDiscover, mac(9)).ToBytes()
	f.Add(append([]byte{0, 7, byte(len(raw) >> 8), byte(len(raw)), 0}, raw...)) // raw bytes
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		js := fuzzConfig
		if in[0]&0x80 != 0 {
			js = withOfferLifetime(js, 30)
		}
		v := newEnv(t, js)
		in = in[1:]
		for step := 0; len(in) >= 4 && step < 64; step++ {
			op, a, b, c := in[0], in[1], in[2], in[3]
			in = in[4:]
			var req *Request
			switch op % 8 {
			case 6:
				v.advance(time.Duration(a) * 4 * time.Second)
				if b&1 != 0 {
					if _, err := v.e.Reclaim(v.clock(), 0, 0); err != nil {
						t.Fatalf("step %d: reclaim: %v", step, err)
					}
				}
				if b&2 != 0 {
					if _, err := v.e.FlushReclaimed(v.clock()); err != nil {
						t.Fatalf("step %d: flush: %v", step, err)
					}
				}
			case 7:
				n := min(int(a)<<8|int(b), len(in))
				raw := in[:n]
				in = in[n:]
				m, err := dhcpv4.FromBytes(raw)
				if err != nil {
					continue
				}
				req = broadcastReq(m)
				if c&1 != 0 {
					req.Dst = ifAddr
				}
			default:
				req = fuzzRequest(t, op%8, a, b, c)
			}
			if req == nil {
				v.checkInvariants(t, step)
				continue
			}
			before := map[netip.Addr]*lease.Lease{}
			for _, l := range v.store.All() {
				before[l.Addr] = l
			}
			r := v.handle(req)
			v.checkReply(t, step, req, r, before)
			v.checkInvariants(t, step)
		}
	})
}

// fuzzRequest builds a query of kind k (0 DISCOVER, 1 REQUEST selecting,
// 2 REQUEST init-reboot, 3 REQUEST renewing, 4 RELEASE, 5 DECLINE or
// INFORM) for client a, address b, flags c.
func fuzzRequest(t *testing.T, k, a, b, c byte) *Request {
	hw := mac((a+2)%6 + 1) // clients 4 and 5 have reservations
	addr := fuzzAddrs[int(b)%len(fuzzAddrs)]
	mods := []dhcpv4.Modifier{dhcpv4.WithTransactionID(dhcpv4.TransactionID{a, b, c, k})}
	if a&0x40 != 0 {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClientIdentifier(append([]byte{1}, hw...))))
	}
	if a&0x80 != 0 { // another client's id on this hardware address
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{0, 'x', a & 7})))
	}
	sid := func() {
		switch c >> 6 {
		case 1:
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ifAddr.AsSlice())))
		case 2:
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IP{203, 0, 113, 1})))
		}
	}
	var mt dhcpv4.MessageType
	switch k {
	case 0:
		mt = dhcpv4.MessageTypeDiscover
		if c&1 != 0 {
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(addr.AsSlice())))
		}
	case 1:
		mt = dhcpv4.MessageTypeRequest
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(addr.AsSlice())))
		if c>>6 == 0 {
			c |= 0x40 // selecting: a server id
		}
		sid()
	case 2:
		mt = dhcpv4.MessageTypeRequest
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(addr.AsSlice())))
	case 3:
		mt = dhcpv4.MessageTypeRequest
		mods = append(mods, dhcpv4.WithClientIP(addr.AsSlice()))
	case 4:
		mt = dhcpv4.MessageTypeRelease
		mods = append(mods, dhcpv4.WithClientIP(addr.AsSlice()))
		sid()
	default:
		if c&2 != 0 {
			mt = dhcpv4.MessageTypeInform
			mods = append(mods, dhcpv4.WithClientIP(addr.AsSlice()))
		} else {
			mt = dhcpv4.MessageTypeDecline
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(addr.AsSlice())))
			sid()
		}
	}
	if c&4 != 0 {
		mods = append(mods, dhcpv4.WithGatewayIP(net.IP{198, 18, 0, 1}))
	}
	if c&8 != 0 {
		mods = append(mods, dhcpv4.WithBroadcast(true))
	}
	m := msg(t, mt, hw, mods...)
	if c&4 != 0 {
		return &Request{Msg: m, Iface: "eth0", IfIndex: 2, IfAddr: ifAddr,
			Src: netip.AddrPortFrom(netip.MustParseAddr("198.18.0.1"), 67), Dst: ifAddr, Len: len(m.ToBytes())}
	}
	if c&16 != 0 && k >= 3 {
		return unicastReq(m, addr.String())
	}
	return broadcastReq(m)
}

// checkReply checks one reply against the query and the leases held before
// it (before, by address).
func (v *env) checkReply(t *testing.T, step int, req *Request, r *Reply, before map[netip.Addr]*lease.Lease) {
	t.Helper()
	if r == nil || r.Msg == nil {
		return
	}
	m := r.Msg
	if m.OpCode != dhcpv4.OpcodeBootReply {
		t.Fatalf("step %d: reply opcode %v", step, m.OpCode)
	}
	if m.TransactionID != req.Msg.TransactionID {
		t.Fatalf("step %d: reply xid %v, query %v", step, m.TransactionID, req.Msg.TransactionID)
	}
	mt := m.MessageType()
	switch mt {
	case dhcpv4.MessageTypeOffer, dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak:
	default:
		t.Fatalf("step %d: reply type %v", step, mt)
	}
	back, err := dhcpv4.FromBytes(m.ToBytes())
	if err != nil || back.MessageType() != mt || back.TransactionID != m.TransactionID {
		t.Fatalf("step %d: reply does not survive encoding: %v", step, err)
	}
	yi := addrOf(m.YourIPAddr)
	if mt == dhcpv4.MessageTypeNak || !yi.IsValid() || yi.IsUnspecified() {
		if mt == dhcpv4.MessageTypeOffer {
			t.Fatalf("step %d: OFFER without an address", step)
		}
		return
	}
	if v.e.m.poolFor(yi) == nil && !fuzzReserved[yi] {
		t.Fatalf("step %d: %v of %s, in no pool or reservation", step, mt, yi)
	}
	hw := []byte(req.Msg.ClientHWAddr)
	cid := req.Msg.Options.Get(dhcpv4.OptionClientIdentifier)
	now := v.clock().Unix()
	// The address was free, expired or reclaimed, or already this client's:
	// never another client's live lease.
	if p := before[yi]; p != nil && p.State != lease.StateExpiredReclaimed && !p.Expired(now) && !belongsTo(p, hw, cid) {
		t.Fatalf("step %d: %v of %s to %x/%x, held by %x/%x until %d (now %d)", step, mt, yi, hw, cid, []byte(p.HWAddr), p.ClientID, p.Expire(), now)
	}
	if mt != dhcpv4.MessageTypeAck {
		return
	}
	l, ok := v.store.Get(yi)
	if !ok || l.State != lease.StateDefault || l.Expired(now) {
		t.Fatalf("step %d: ACK of %s not backed by an active lease: %+v", step, yi, l)
	}
	if !bytes.Equal(l.HWAddr, hw) || !belongsTo(l, hw, cid) {
		t.Fatalf("step %d: ACK of %s to %x but the lease is %x/%x", step, yi, hw, []byte(l.HWAddr), l.ClientID)
	}
}

// checkInvariants checks the store against the configuration and the
// engine's indexes: every lease in a pool or reservation, one active lease
// per client (hardware address and client id) and subnet, every lease that holds its address marked used in
// its pool's Range and listed in its Deadlines, nothing else listed.
func (v *env) checkInvariants(t *testing.T, step int) {
	t.Helper()
	held := map[*pool]int{}
	now := v.clock().Unix()
	type owner struct {
		hw, cid string
		subnet  uint32
	}
	active := map[owner]netip.Addr{}
	for _, l := range v.store.All() {
		p := v.e.m.poolFor(l.Addr)
		if p == nil && !fuzzReserved[l.Addr] {
			t.Fatalf("step %d: lease of %s in no pool or reservation", step, l.Addr)
		}
		if l.State == lease.StateDefault && !l.Expired(now) && len(l.HWAddr) > 0 {
			k := owner{string(l.HWAddr), string(l.ClientID), l.SubnetID}
			if a, dup := active[k]; dup {
				t.Fatalf("step %d: client %x holds %s and %s in subnet %d", step, []byte(l.HWAddr), a, l.Addr, l.SubnetID)
			}
			active[k] = l.Addr
		}
		if p == nil || !holdsBit(l) {
			continue
		}
		held[p]++
		if p.rng.IsFree(l.Addr) {
			t.Fatalf("step %d: %s is leased (state %d) but free in its pool's Range", step, l.Addr, l.State)
		}
	}
	for _, p := range v.e.m.pools {
		if got := p.due.Len(); got != held[p] {
			t.Fatalf("step %d: pool %s-%s expiry index holds %d addresses, store has %d leases holding one", step, p.first, p.last, got, held[p])
		}
	}
}
