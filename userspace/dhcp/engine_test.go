package dhcp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/packet"
)

const baseConfig = `{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "eth0" ] },
  "lease-database": { "type": "memfile", "persist": false },
  "valid-lifetime": 4000, "min-valid-lifetime": 1000, "max-valid-lifetime": 8000,
  "renew-timer": 1000, "rebind-timer": 2000,
  "option-data": [ { "name": "domain-name-servers", "data": "192.0.2.53" },
                   { "name": "domain-name", "data": "global.example" },
                   { "name": "ntp-servers", "data": "192.0.2.123" } ],
  "subnet4": [ {
    "id": 1, "subnet": "192.0.2.0/24", "interface": "eth0",
    "pools": [ { "pool": "192.0.2.10 - 192.0.2.20" } ],
    "option-data": [ { "name": "routers", "data": "192.0.2.1" },
                     { "name": "domain-name", "data": "subnet.example" } ],
    "reservations": [
      { "hw-address": "aa:bb:cc:00:00:f1", "ip-address": "192.0.2.100", "hostname": "Res-One",
        "option-data": [ { "name": "domain-name", "data": "res.example" } ] },
      { "client-id": "01:aa:bb:cc:00:00:f2", "ip-address": "192.0.2.101" } ]
  }, {
    "id": 2, "subnet": "198.51.100.0/24", "relay": { "ip-addresses": [ "198.51.100.254" ] },
    "pools": [ { "pool": "198.51.100.10 - 198.51.100.20" } ]
  } ]
} }`

func TestDORA(t *testing.T) {
	v := newEnv(t, baseConfig)
	hw := mac(1)
	ack := v.dora(hw, dhcpv4.WithOption(dhcpv4.OptHostName("My,Host")))
	a := addrOf(ack.YourIPAddr)
	if !a.IsValid() || a.Less(netip4("192.0.2.10")) || netip4("192.0.2.20").Less(a) {
		t.Fatalf("yiaddr %s not from the pool", a)
	}
	l, ok := v.store.Get(a)
	if !ok {
		t.Fatal("no lease committed")
	}
	if l.SubnetID != 1 || l.ValidLifetime != 4000 || l.CLTT != t0.Unix() || l.Hostname != "myhost" || l.HWAddr.String() != hw.String() {
		t.Fatalf("lease = %+v", l)
	}
	if got := ack.ServerIdentifier(); !got.Equal(ip("192.0.2.1")) {
		t.Errorf("server id %v", got)
	}
	if got := ack.SubnetMask().String(); got != "ffffff00" {
		t.Errorf("mask %s", got)
	}
	if got := v.cell("subnet[1].assigned-addresses"); got != 1 {
		t.Errorf("assigned-addresses = %d", got)
	}
	if got := v.cell("subnet[1].total-addresses"); got != 11 {
		t.Errorf("total-addresses = %d", got)
	}
	if got := v.cell("cumulative-assigned-addresses"); got != 1 {
		t.Errorf("cumulative = %d", got)
	}
}

func netip4(s string) netip.Addr { return netip.MustParseAddr(s) }

// withOfferLifetime sets Dhcp4.user-context.xdhcp.offer-lifetime in js.
func withOfferLifetime(js string, seconds int) string {
	return strings.Replace(js, `"Dhcp4": {`, fmt.Sprintf(`"Dhcp4": { "user-context": { "xdhcp": { "offer-lifetime": %d } },`, seconds), 1)
}

// TestOfferLifetimeHoldsAddress: with offer-lifetime set, an OFFER holds its
// address for that long, so concurrent clients get distinct addresses and a
// fully offered pool offers nothing until the offers expire.
func TestOfferLifetimeHoldsAddress(t *testing.T) {
	const lifetime = 60
	v := newEnv(t, withOfferLifetime(baseConfig, lifetime))
	seen := map[netip.Addr]bool{}
	for i := range 11 {
		off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(byte(i+1)))))
		if off == nil {
			t.Fatalf("discover %d: no offer", i)
		}
		a := addrOf(off.Msg.YourIPAddr)
		if seen[a] {
			t.Fatalf("address %s offered twice", a)
		}
		seen[a] = true
	}
	if n := v.store.Count(); n != 0 {
		t.Fatalf("DISCOVER wrote %d leases", n)
	}
	// A repeated DISCOVER of a client is offered its held address.
	off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(1))))
	if off == nil || !seen[addrOf(off.Msg.YourIPAddr)] {
		t.Fatalf("repeated DISCOVER: %+v", off)
	}
	// Pool of 11 is fully offered: the 12th client gets nothing.
	if r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(99)))); r != nil {
		t.Fatalf("12th client got %s", r.Msg.YourIPAddr)
	}
	// Not yet expired one second before the lifetime ends.
	v.advance((lifetime - 1) * time.Second)
	if r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(99)))); r != nil {
		t.Fatalf("12th client got %s before the offers expired", r.Msg.YourIPAddr)
	}
	// Offers expire: the address comes back.
	v.advance(time.Second)
	if r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(99)))); r == nil {
		t.Fatal("no offer after the previous offers expired")
	}
}

// TestDiscoverHoldsNothingByDefault is Kea 2.2's DISCOVER (fake allocation,
// alloc_engine.cc discoverLease4/allocateUnreservedLease4): no lease, no
// held address; the allocator's cursor moves on, so distinct clients and a
// repeated DISCOVER get the next address, and a full turn round the pool
// offers the same address again.
func TestDiscoverHoldsNothingByDefault(t *testing.T) {
	v := newEnv(t, baseConfig)
	var order []netip.Addr
	for i := range 11 {
		off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(byte(i+1)))))
		if off == nil {
			t.Fatalf("discover %d: no offer", i)
		}
		order = append(order, addrOf(off.Msg.YourIPAddr))
	}
	for i, a := range order {
		if want := netip4(fmt.Sprintf("192.0.2.%d", 10+i)); a != want {
			t.Fatalf("offer %d = %s, want %s (cursor order)", i, a, want)
		}
	}
	if n := v.store.Count(); n != 0 {
		t.Fatalf("DISCOVER wrote %d leases", n)
	}
	if v.e.offers.len() != 0 {
		t.Fatalf("offer table holds %d offers with offer-lifetime 0", v.e.offers.len())
	}
	// The 12th client is offered the first address again (the cursor
	// wrapped); nothing was held.
	off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(99))))
	if off == nil || addrOf(off.Msg.YourIPAddr) != order[0] {
		t.Fatalf("12th client: %+v, want %s", off, order[0])
	}
	// A repeated DISCOVER of client 1 gets the next address, not a held one.
	off = v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(1))))
	if off == nil || addrOf(off.Msg.YourIPAddr) != order[1] {
		t.Fatalf("repeated DISCOVER: %+v, want %s", off, order[1])
	}
	// Client 1 REQUESTs the address of its first OFFER: checked again, free,
	// ACKed.
	if ack := v.request(mac(1), order[0]); ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("REQUEST of the first offer: %s", ack.MessageType())
	}
	// Client 99 was offered the same address: its REQUEST is NAKed.
	if nak := v.request(mac(99), order[0]); nak.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("second REQUEST of the same address: %s, want NAK", nak.MessageType())
	}
	// ... and its next DISCOVER is offered an address that is free.
	off = v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(99))))
	if off == nil || addrOf(off.Msg.YourIPAddr) == order[0] {
		t.Fatalf("DISCOVER after NAK: %+v", off)
	}
}

// TestConcurrentDiscoverOnePoolAddress: two clients DISCOVER at once for a
// pool of one address; with nothing held both are offered it (Kea 2.2), the
// first REQUEST wins and the second is NAKed.
func TestConcurrentDiscoverOnePoolAddress(t *testing.T) {
	js := strings.Replace(baseConfig, `"192.0.2.10 - 192.0.2.20"`, `"192.0.2.10 - 192.0.2.10"`, 1)
	v := newEnv(t, js)
	a := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(1))))
	b := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(2))))
	if a == nil || b == nil {
		t.Fatalf("offers: %+v %+v", a, b)
	}
	x := addrOf(a.Msg.YourIPAddr)
	if y := addrOf(b.Msg.YourIPAddr); x != y || x != netip4("192.0.2.10") {
		t.Fatalf("offered %s and %s, want 192.0.2.10 twice", x, y)
	}
	if r := v.request(mac(2), x); r.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("first REQUEST: %s", r.MessageType())
	}
	if r := v.request(mac(1), x); r.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("second REQUEST: %s, want NAK", r.MessageType())
	}
	// The pool is now exhausted: no offer, counted.
	if r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(1)))); r != nil {
		t.Fatalf("offer from an exhausted pool: %s", r.Msg.YourIPAddr)
	}
}

// TestDiscoverFloodLeavesPoolFree: a flood of DISCOVERs from distinct MACs
// (none ever REQUESTs) with offer-lifetime 0 holds nothing, so a later
// well-behaved client completes DORA; with a lifetime the same flood
// drains the pool.
func TestDiscoverFloodLeavesPoolFree(t *testing.T) {
	const flood = 5000
	run := func(v *env) {
		for i := range flood {
			hw := net.HardwareAddr{0x02, 0x66, 0, 0, byte(i >> 8), byte(i)}
			if r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, hw))); r == nil && v.e.offerTTL == 0 {
				t.Fatalf("flood DISCOVER %d got no offer with nothing held", i)
			}
		}
	}
	v := newEnv(t, baseConfig)
	run(v)
	p := v.e.m.poolFor(netip4("192.0.2.10"))
	if free := p.rng.FreeCount(); free != p.rng.Size() {
		t.Fatalf("after the flood %d of %d pool addresses free", free, p.rng.Size())
	}
	ack := v.dora(mac(200))
	if a := addrOf(ack.YourIPAddr); v.e.m.poolFor(a) != p {
		t.Fatalf("well-behaved client got %s", a)
	}

	held := newEnv(t, withOfferLifetime(baseConfig, 60))
	run(held)
	if r := held.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(200)))); r != nil {
		t.Fatalf("with offer-lifetime 60 the flood left %s free", r.Msg.YourIPAddr)
	}
	if got := held.cell("pkt4-dropped-no-address"); got == 0 {
		t.Errorf("exhaustion not counted")
	}
}

func TestReturningClientAndRenewRebind(t *testing.T) {
	v := newEnv(t, baseConfig)
	hw := mac(7)
	first := addrOf(v.dora(hw).YourIPAddr)
	v.advance(100 * time.Second)
	// A new DISCOVER offers the same address.
	off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, hw)))
	if got := addrOf(off.Msg.YourIPAddr); got != first {
		t.Fatalf("returning client offered %s, had %s", got, first)
	}
	for _, tc := range []struct {
		name string
		req  func() *Request
		dest packet.DestKind
	}{
		{"renewing", func() *Request {
			return unicastReq(msg(t, dhcpv4.MessageTypeRequest, hw, dhcpv4.WithClientIP(first.AsSlice())), first.String())
		}, packet.DestClientIP},
		{"rebinding", func() *Request {
			m := msg(t, dhcpv4.MessageTypeRequest, hw, dhcpv4.WithClientIP(first.AsSlice()))
			r := broadcastReq(m)
			r.Src = netip.AddrPortFrom(first, 68)
			return r
		}, packet.DestClientIP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v.advance(10 * time.Second)
			r := v.handle(tc.req())
			if r == nil || r.Msg.MessageType() != dhcpv4.MessageTypeAck {
				t.Fatalf("reply %+v", r)
			}
			if got := addrOf(r.Msg.YourIPAddr); got != first {
				t.Fatalf("yiaddr %s want %s", got, first)
			}
			if !r.Msg.ClientIPAddr.Equal(first.AsSlice()) {
				t.Errorf("ciaddr %v", r.Msg.ClientIPAddr)
			}
			if r.Dest.Kind != tc.dest {
				t.Errorf("dest %v", r.Dest.Kind)
			}
			l, _ := v.store.Get(first)
			if l.CLTT != v.now.Load() {
				t.Errorf("cltt not extended: %d", l.CLTT)
			}
		})
	}
	if got := v.cell("subnet[1].assigned-addresses"); got != 1 {
		t.Errorf("assigned-addresses = %d", got)
	}
}

func TestRequestedAddress(t *testing.T) {
	v := newEnv(t, baseConfig)
	taken := addrOf(v.dora(mac(1)).YourIPAddr)
	free := netip4("192.0.2.15")
	if taken == free {
		free = netip4("192.0.2.16")
	}
	tests := []struct {
		name string
		hint netip.Addr
		want func(netip.Addr) bool
	}{
		{"free address honoured", free, func(a netip.Addr) bool { return a == free }},
		{"taken address refused", taken, func(a netip.Addr) bool { return a != taken && a.IsValid() }},
		{"outside pool refused", netip4("192.0.2.200"), func(a netip.Addr) bool { return a != netip4("192.0.2.200") }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(byte(50+i)),
				dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(tc.hint.AsSlice())))))
			if off == nil {
				t.Fatal("no offer")
			}
			if got := addrOf(off.Msg.YourIPAddr); !tc.want(got) {
				t.Fatalf("offered %s", got)
			}
		})
	}
	// SELECTING for an address leased to someone else → NAK.
	r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeRequest, mac(60),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(taken.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip("192.0.2.1"))))))
	if r == nil || r.Msg.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("want NAK, got %+v", r)
	}
	if r.Dest.Kind != packet.DestBroadcast {
		t.Errorf("NAK dest %v", r.Dest.Kind)
	}
}

func TestReservations(t *testing.T) {
	v := newEnv(t, baseConfig)
	tests := []struct {
		name     string
		hw       byte
		mods     []dhcpv4.Modifier
		want     string
		hostname string
		domain   string
	}{
		{"by hw-address", 0xf1, nil, "192.0.2.100", "res-one", "res.example"},
		{"by client-id", 0x99, []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{1, 0xaa, 0xbb, 0xcc, 0, 0, 0xf2}))}, "192.0.2.101", "", "subnet.example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ack := v.dora(mac(tc.hw), tc.mods...)
			if got := addrOf(ack.YourIPAddr).String(); got != tc.want {
				t.Fatalf("yiaddr %s want %s", got, tc.want)
			}
			if got := ack.DomainName(); got != tc.domain {
				t.Errorf("domain-name %q want %q", got, tc.domain)
			}
			l, _ := v.store.Get(netip4(tc.want))
			if l.Hostname != tc.hostname {
				t.Errorf("hostname %q want %q", l.Hostname, tc.hostname)
			}
		})
	}
	// Someone else asking for a reserved address does not get it.
	off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(0x42),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip("192.0.2.100"))))))
	if off == nil || addrOf(off.Msg.YourIPAddr) == netip4("192.0.2.100") {
		t.Fatalf("reserved address offered to another client: %+v", off)
	}
}

func TestTeeTimes(t *testing.T) {
	tests := []struct {
		name           string
		lt             lifetimes
		valid          uint32
		wantT1, wantT2 uint32
	}{
		{"configured", lifetimes{renew: 1000, renewSet: true, rebind: 2000, rebSet: true}, 4000, 1000, 2000},
		{"t2 not below valid", lifetimes{renew: 1000, renewSet: true, rebind: 4000, rebSet: true}, 4000, 1000, 0},
		{"t1 not below t2", lifetimes{renew: 2500, renewSet: true, rebind: 2000, rebSet: true}, 4000, 0, 2000},
		{"calculated", lifetimes{calcTee: true, t1pct: 0.5, t2pct: 0.875}, 4001, 2001, 3501}, // round(2000.5), round(3500.875)
		{"calculated, rounded down", lifetimes{calcTee: true, t1pct: 0.5, t2pct: 0.875}, 4000, 2000, 3500},
		{"calculated as Kea answered", lifetimes{calcTee: true, t1pct: 0.5, t2pct: 0.875}, 18, 9, 16}, // observed: kea-dhcp4 2.2.0, TestKeaSurfaceSameAsKea
		{"none", lifetimes{}, 4000, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t1, t2 := teeTimes(&tc.lt, tc.valid)
			if t1 != tc.wantT1 || t2 != tc.wantT2 {
				t.Fatalf("T1/T2 = %d/%d want %d/%d", t1, t2, tc.wantT1, tc.wantT2)
			}
		})
	}
}

func TestLifetimeBounds(t *testing.T) {
	v := newEnv(t, baseConfig)
	tests := []struct {
		name      string
		requested uint32 // 0: none
		want      uint32
	}{
		{"default", 0, 4000},
		{"within bounds", 3000, 3000},
		{"below min", 10, 1000},
		{"above max", 100000, 8000},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mods []dhcpv4.Modifier
			if tc.requested > 0 {
				mods = append(mods, dhcpv4.WithLeaseTime(tc.requested))
			}
			ack := v.dora(mac(byte(0x30+i)), mods...)
			if got := binary.BigEndian.Uint32(ack.Options.Get(dhcpv4.OptionIPAddressLeaseTime)); got != tc.want {
				t.Fatalf("lease time %d want %d", got, tc.want)
			}
			// T2 (2000) and T1 (1000) are sent only while below the lifetime.
			if got := ack.Options.Has(dhcpv4.OptionRebindingTimeValue); got != (tc.want > 2000) {
				t.Errorf("T2 sent = %v for lifetime %d", got, tc.want)
			}
			if got := ack.Options.Has(dhcpv4.OptionRenewTimeValue); got != (tc.want > 1000) {
				t.Errorf("T1 sent = %v for lifetime %d", got, tc.want)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	v := newEnv(t, baseConfig)
	tests := []struct {
		name    string
		prl     []dhcpv4.OptionCode
		present []uint8
		absent  []uint8
	}{
		{"basic without prl", nil, []uint8{1, 3, 6, 15, 51, 53, 54, 58, 59}, []uint8{42}},
		{"requested ntp", []dhcpv4.OptionCode{dhcpv4.OptionNTPServers}, []uint8{42, 3, 6, 15}, nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mods []dhcpv4.Modifier
			if tc.prl != nil {
				mods = append(mods, dhcpv4.WithRequestedOptions(tc.prl...))
			}
			ack := v.dora(mac(byte(0x60+i)), mods...)
			for _, c := range tc.present {
				if !ack.Options.Has(dhcpv4.GenericOptionCode(c)) {
					t.Errorf("option %d missing", c)
				}
			}
			for _, c := range tc.absent {
				if ack.Options.Has(dhcpv4.GenericOptionCode(c)) {
					t.Errorf("option %d present", c)
				}
			}
			// Precedence: subnet domain-name beats the global one.
			if got := ack.DomainName(); got != "subnet.example" {
				t.Errorf("domain-name %q", got)
			}
		})
	}
}

func TestEchoes(t *testing.T) {
	rai := dhcpv4.OptRelayAgentInfo(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(1), []byte("eth7")))
	cid := []byte{1, 0xaa, 0xbb, 0xcc, 0, 0, 0x77}
	tests := []struct {
		name    string
		config  string
		wantCID bool
	}{
		{"echo-client-id default", baseConfig, true},
		{"echo-client-id false", strings.Replace(baseConfig, `"valid-lifetime": 4000,`, `"valid-lifetime": 4000, "echo-client-id": false,`, 1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, tc.config)
			m := msg(t, dhcpv4.MessageTypeDiscover, mac(0x77), dhcpv4.WithOption(rai),
				dhcpv4.WithOption(dhcpv4.OptClientIdentifier(cid)),
				dhcpv4.WithGatewayIP(ip("198.51.100.254")))
			r := v.handle(unicastReq(m, "198.51.100.254"))
			if r == nil {
				t.Fatal("no offer")
			}
			if got := r.Msg.Options.Get(dhcpv4.OptionRelayAgentInformation); string(got) != string(rai.Value.ToBytes()) {
				t.Errorf("option 82 not echoed: %x", got)
			}
			if got := r.Msg.Options.Has(dhcpv4.OptionClientIdentifier); got != tc.wantCID {
				t.Errorf("client-id echoed = %v", got)
			}
			if r.Dest.Kind != packet.DestRelay || r.Dest.IP != netip4("198.51.100.254") {
				t.Errorf("dest %+v", r.Dest)
			}
			if a := addrOf(r.Msg.YourIPAddr); !netip.MustParsePrefix("198.51.100.0/24").Contains(a) {
				t.Errorf("relayed client got %s", a)
			}
		})
	}
}

func TestMatchClientIDFalse(t *testing.T) {
	cfg := strings.Replace(baseConfig, `"valid-lifetime": 4000,`, `"valid-lifetime": 4000, "match-client-id": false,`, 1)
	v := newEnv(t, cfg)
	hw := mac(0x21)
	first := addrOf(v.dora(hw, dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{1, 1, 1}))).YourIPAddr)
	// Same hardware, a different client-id: still the same client.
	off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, hw, dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{1, 2, 2})))))
	if got := addrOf(off.Msg.YourIPAddr); got != first {
		t.Fatalf("offered %s want %s", got, first)
	}
	// With matching on (default), a different client-id is a different client.
	v2 := newEnv(t, baseConfig)
	first2 := addrOf(v2.dora(hw, dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{1, 1, 1}))).YourIPAddr)
	off2 := v2.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, hw, dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{1, 2, 2})))))
	if got := addrOf(off2.Msg.YourIPAddr); got == first2 {
		t.Fatalf("different client-id got the same address %s", got)
	}
}

func TestAuthoritativeAndInitReboot(t *testing.T) {
	auth := strings.Replace(baseConfig, `"valid-lifetime": 4000,`, `"valid-lifetime": 4000, "authoritative": true,`, 1)
	tests := []struct {
		name   string
		config string
		known  bool
		hint   string
		want   dhcpv4.MessageType // 0: dropped
	}{
		{"known client, its address", baseConfig, true, "", dhcpv4.MessageTypeAck},
		{"known client, other address", baseConfig, true, "192.0.2.19", dhcpv4.MessageTypeNak},
		{"unknown client, not authoritative", baseConfig, false, "192.0.2.19", 0},
		{"unknown client, authoritative", auth, false, "192.0.2.19", dhcpv4.MessageTypeNak},
		{"wrong subnet", baseConfig, false, "10.9.9.9", dhcpv4.MessageTypeNak},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, tc.config)
			hw := mac(0x44)
			hint := tc.hint
			if tc.known {
				a := addrOf(v.dora(hw).YourIPAddr).String()
				if hint == "" {
					hint = a
				} else if hint == a {
					hint = "192.0.2.18"
				}
			}
			r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeRequest, hw,
				dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip(hint))))))
			var got dhcpv4.MessageType
			if r != nil {
				got = r.Msg.MessageType()
			}
			if got != tc.want {
				t.Fatalf("got %v want %v", got, tc.want)
			}
		})
	}
}

func TestDrops(t *testing.T) {
	v := newEnv(t, baseConfig)
	tests := []struct {
		name  string
		req   *Request
		cause string
	}{
		{"selecting for another server", broadcastReq(msg(t, dhcpv4.MessageTypeRequest, mac(1),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip("192.0.2.10"))),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip("192.0.2.254"))))), "pkt4-dropped-not-for-us"},
		{"no subnet", func() *Request {
			r := broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(2)))
			r.Iface, r.IfAddr = "eth9", netip4("10.1.1.1")
			return r
		}(), "pkt4-dropped-no-subnet"},
		{"unknown relay", unicastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(3), dhcpv4.WithGatewayIP(ip("10.2.2.2"))), "10.2.2.2"), "pkt4-dropped-no-subnet"},
		{"offer message", broadcastReq(msg(t, dhcpv4.MessageTypeOffer, mac(4))), "pkt4-dropped-unsupported-type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := v.cell(tc.cause)
			if r := v.handle(tc.req); r != nil {
				t.Fatalf("not dropped: %v", r.Msg.MessageType())
			}
			if v.cell(tc.cause) != before+1 {
				t.Errorf("%s not counted", tc.cause)
			}
		})
	}
	if v.store.Count() != 0 {
		t.Error("a dropped query wrote a lease")
	}
}

func TestReleaseAndDecline(t *testing.T) {
	v := newEnv(t, baseConfig)
	hw := mac(0x51)
	a := addrOf(v.dora(hw).YourIPAddr)
	// A RELEASE from another client is ignored.
	v.handle(unicastReq(msg(t, dhcpv4.MessageTypeRelease, mac(0x52), dhcpv4.WithClientIP(a.AsSlice())), a.String()))
	if _, ok := v.store.Get(a); !ok {
		t.Fatal("foreign RELEASE deleted the lease")
	}
	if r := v.handle(unicastReq(msg(t, dhcpv4.MessageTypeRelease, hw, dhcpv4.WithClientIP(a.AsSlice())), a.String())); r == nil || r.Msg != nil {
		t.Fatal("RELEASE answered (or lost its deletion)")
	}
	if _, ok := v.store.Get(a); ok {
		t.Fatal("RELEASE kept the lease")
	}
	if got := v.cell("subnet[1].assigned-addresses"); got != 0 {
		t.Errorf("assigned-addresses after release = %d", got)
	}

	b := addrOf(v.dora(hw).YourIPAddr)
	v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDecline, hw,
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(b.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip("192.0.2.1"))))))
	l, ok := v.store.Get(b)
	if !ok || l.State != lease.StateDeclined || len(l.HWAddr) != 0 || l.ClientID != nil || l.ValidLifetime != 86400 || l.Hostname != "" {
		t.Fatalf("declined lease = %+v", l)
	}
	if v.cell("declined-addresses") != 1 || v.cell("subnet[1].declined-addresses") != 1 {
		t.Errorf("declined stats %d/%d", v.cell("declined-addresses"), v.cell("subnet[1].declined-addresses"))
	}
	// The declined address is not handed out during probation.
	for i := range 10 {
		if r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(byte(0x80+i))))); r != nil && addrOf(r.Msg.YourIPAddr) == b {
			t.Fatal("declined address offered during probation")
		}
	}
	// After probation, reclamation recovers it.
	v.advance(86401 * time.Second)
	n, err := v.e.Reclaim(v.clock(), 0, 0)
	if err != nil || n != 1 {
		t.Fatalf("reclaim = %d, %v", n, err)
	}
	if v.cell("declined-addresses") != 0 || v.cell("reclaimed-declined-addresses") != 1 {
		t.Errorf("after recovery declined=%d reclaimed-declined=%d", v.cell("declined-addresses"), v.cell("reclaimed-declined-addresses"))
	}
	if _, ok := v.store.Get(b); ok {
		t.Error("recovered declined lease not deleted")
	}
}

func TestInform(t *testing.T) {
	v := newEnv(t, baseConfig)
	m := msg(t, dhcpv4.MessageTypeInform, mac(0x61), dhcpv4.WithClientIP(ip("192.0.2.77")),
		dhcpv4.WithRequestedOptions(dhcpv4.OptionNTPServers))
	r := v.handle(unicastReq(m, "192.0.2.77"))
	if r == nil || r.Msg.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("reply %+v", r)
	}
	if !r.Msg.YourIPAddr.IsUnspecified() || r.Msg.Options.Has(dhcpv4.OptionIPAddressLeaseTime) {
		t.Error("INFORM ACK carries a lease")
	}
	if !r.Msg.Options.Has(dhcpv4.OptionNTPServers) || !r.Msg.Options.Has(dhcpv4.OptionRouter) {
		t.Error("INFORM ACK lacks options")
	}
	if r.Dest.Kind != packet.DestClientIP || r.Dest.IP != netip4("192.0.2.77") {
		t.Errorf("dest %+v", r.Dest)
	}
	if v.store.Count() != 0 {
		t.Error("INFORM wrote a lease")
	}
}

// TestCommittedChanges: every committed change comes back with the reply
// (Kea's leases4_committed arguments) for the caller to replicate; the
// engine itself never waits for the partner.
func TestCommittedChanges(t *testing.T) {
	v := newEnv(t, baseConfig)
	off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(1))))
	if off == nil || len(off.Changes) != 0 {
		t.Fatalf("offer %+v: an OFFER commits nothing", off)
	}
	ack := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeRequest, mac(1),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(off.Msg.YourIPAddr)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip("192.0.2.1"))))))
	if ack == nil || len(ack.Changes) != 1 || ack.Changes[0].Old != nil || ack.Changes[0].New == nil {
		t.Fatalf("ack changes %+v, want one addition", ack)
	}
	a := addrOf(ack.Msg.YourIPAddr)
	if ack.Changes[0].New.Addr != a {
		t.Errorf("change for %s, ack for %s", ack.Changes[0].New.Addr, a)
	}
	rel := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeRelease, mac(1), func(m *dhcpv4.DHCPv4) {
		m.ClientIPAddr = ack.Msg.YourIPAddr
	})))
	if rel == nil || rel.Msg != nil || len(rel.Changes) != 1 || rel.Changes[0].Old == nil || rel.Changes[0].New != nil {
		t.Fatalf("release %+v, want a deletion and no message", rel)
	}
	if _, ok := v.store.Get(a); ok {
		t.Error("released lease still stored")
	}
}

func TestReclaimAndFlush(t *testing.T) {
	v := newEnv(t, baseConfig)
	a := addrOf(v.dora(mac(1), dhcpv4.WithOption(dhcpv4.OptHostName("h"))).YourIPAddr)
	v.advance(5000 * time.Second)
	n, err := v.e.Reclaim(v.clock(), 100, 0)
	if err != nil || n != 1 {
		t.Fatalf("reclaim = %d, %v", n, err)
	}
	l, ok := v.store.Get(a)
	if !ok || l.State != lease.StateExpiredReclaimed || l.Hostname != "" || len(l.HWAddr) == 0 {
		t.Fatalf("reclaimed lease %+v", l)
	}
	if v.cell("reclaimed-leases") != 1 || v.cell("subnet[1].reclaimed-leases") != 1 || v.cell("subnet[1].assigned-addresses") != 0 {
		t.Error("reclaim stats wrong")
	}
	// Affinity: the client gets its old address back.
	if got := addrOf(v.dora(mac(1)).YourIPAddr); got != a {
		t.Errorf("returning client got %s want %s", got, a)
	}
	v.advance(5000 * time.Second)
	v.e.Reclaim(v.clock(), 0, 0)
	if n, err := v.e.FlushReclaimed(v.clock()); err != nil || n != 0 {
		t.Fatalf("flush within hold = %d, %v", n, err)
	}
	v.advance(3601 * time.Second)
	if n, err := v.e.FlushReclaimed(v.clock()); err != nil || n != 1 {
		t.Fatalf("flush = %d, %v", n, err)
	}
	if _, ok := v.store.Get(a); ok {
		t.Error("flushed lease still there")
	}
}

// TestExhaustedPoolReusesExpiredOldestFirst: a full pool offers nothing
// until a lease expires; then (before any reclamation) the expired lease is
// offered, oldest first, its deadline following renewals and deletions.
func TestExhaustedPoolReusesExpiredOldestFirst(t *testing.T) {
	js := strings.Replace(baseConfig, `"192.0.2.10 - 192.0.2.20"`, `"192.0.2.10 - 192.0.2.12"`, 1)
	v := newEnv(t, js)
	a1 := addrOf(v.dora(mac(1)).YourIPAddr)
	a2 := addrOf(v.dora(mac(2)).YourIPAddr)
	a3 := addrOf(v.dora(mac(3)).YourIPAddr)
	if r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(9)))); r != nil {
		t.Fatalf("exhausted pool offered %s", r.Msg.YourIPAddr)
	}
	// Client 1 renews later; client 3 releases (its address is free again
	// and leaves the expiry index).
	v.advance(100 * time.Second)
	if r := v.handle(unicastReq(msg(t, dhcpv4.MessageTypeRequest, mac(1), dhcpv4.WithClientIP(a1.AsSlice())), a1.String())); r == nil || r.Msg.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("renew: %+v", r)
	}
	v.handle(unicastReq(msg(t, dhcpv4.MessageTypeRelease, mac(3), dhcpv4.WithClientIP(a3.AsSlice())), a3.String()))
	if got := addrOf(v.dora(mac(4)).YourIPAddr); got != a3 {
		t.Fatalf("released address not reused: got %s want %s", got, a3)
	}
	// At 4000 s client 2's lease (committed first, never renewed) has
	// expired, client 1's has not: a new client is offered a2.
	v.advance(3900 * time.Second)
	off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(9))))
	if off == nil || addrOf(off.Msg.YourIPAddr) != a2 {
		t.Fatalf("offer after expiry: %+v, want %s", off, a2)
	}
	if r := v.request(mac(9), a2); r.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("REQUEST of the expired address: %s", r.MessageType())
	}
	if l, _ := v.store.Get(a2); l == nil || l.HWAddr.String() != mac(9).String() {
		t.Fatalf("expired lease not taken over: %+v", l)
	}
	if v.cell("reclaimed-leases") != 1 {
		t.Errorf("reclaimed-leases = %d, want 1 (reclaimed on the spot)", v.cell("reclaimed-leases"))
	}
	if r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(10)))); r != nil {
		t.Fatalf("pool exhausted again but offered %s", r.Msg.YourIPAddr)
	}
}

// TestOptionDecodersMatchLibrary checks that the allocation-free option
// readers agree with the dhcpv4 accessors they replace.
func TestOptionDecodersMatchLibrary(t *testing.T) {
	for _, v := range [][]byte{nil, {}, {1}, {5}, {1, 2}, {0, 0, 0, 0}, {10, 0, 0, 1}, {10, 0, 0, 1, 9}, {10, 0, 0}} {
		m := &dhcpv4.DHCPv4{Options: dhcpv4.Options{}}
		if v != nil {
			m.Options[53] = v
			m.Options[50] = v
		}
		if got, want := msgType(m), m.MessageType(); got != want {
			t.Errorf("msgType(%v) = %v, want %v", v, got, want)
		}
		ga, gok := requestedIP(m)
		wa, wok := packet.Addr4(m.RequestedIPAddress())
		if ga != wa || gok != wok {
			t.Errorf("requestedIP(%v) = %v %v, want %v %v", v, ga, gok, wa, wok)
		}
	}
}

// TestOfferKey checks that offer keys are equal exactly when the kind and
// the identifier are, inline or long.
func TestOfferKey(t *testing.T) {
	long := make([]byte, offerKeyInline+1)
	long2 := append(append([]byte(nil), long...), 0)
	ids := [][]byte{{1}, {1, 0}, {0, 1}, make([]byte, offerKeyInline), long, long2}
	key := func(hw, cid []byte) offerKey {
		x := &exchange{hw: hw, rawCID: cid}
		return x.clientKey(nil)
	}
	for i, a := range ids {
		for j, b := range ids {
			if got := key(a, nil) == key(b, nil); got != (i == j) {
				t.Errorf("hw keys %v %v equal = %v", a, b, got)
			}
			if got := key(nil, a) == key(nil, b); got != (i == j) {
				t.Errorf("cid keys %v %v equal = %v", a, b, got)
			}
			if key(a, nil) == key(nil, b) {
				t.Errorf("hw key %v equals cid key %v", a, b)
			}
		}
	}
}
