package dhcp

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

const benchConfig = `{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "eth0" ] },
  "lease-database": { "type": "memfile", "persist": false },
  "valid-lifetime": 4000,
  "option-data": [ { "name": "domain-name-servers", "data": "192.0.2.53" } ],
  "subnet4": [ { "id": 1, "subnet": "10.0.0.0/8", "interface": "eth0",
      "pools": [ { "pool": "10.0.0.1 - 10.255.255.254" } ],
      "option-data": [ { "name": "routers", "data": "10.0.0.1" } ] } ] } }`

func BenchmarkDORA(b *testing.B) {
	v := newEnv(b, benchConfig)
	sid := dhcpv4.OptServerIdentifier(ip("192.0.2.1"))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		hw := net.HardwareAddr{0x02, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
		d, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover), dhcpv4.WithHwAddr(hw))
		off := v.w.Handle(broadcastReq(d))
		if off == nil {
			b.Fatal("no offer")
		}
		r, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithHwAddr(hw),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(off.Msg.YourIPAddr)), dhcpv4.WithOption(sid))
		if ack := v.w.Handle(broadcastReq(r)); ack == nil || ack.Msg.MessageType() != dhcpv4.MessageTypeAck {
			b.Fatal("no ack")
		}
	}
}

// TestConcurrentDORA runs many workers at once: every client gets an ACK
// and no address is leased twice.
func TestConcurrentDORA(t *testing.T) {
	v := newEnv(t, baseConfig)
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[netip.Addr]int{}
	acks := 0
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := v.e.NewWorker()
			for i := range 4 {
				hw := mac(byte(g*16 + i + 1))
				m, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover), dhcpv4.WithHwAddr(hw))
				off := w.Handle(broadcastReq(m))
				if off == nil {
					continue
				}
				r, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithHwAddr(hw),
					dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(off.Msg.YourIPAddr)),
					dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip("192.0.2.1"))))
				if ack := w.Handle(broadcastReq(r)); ack != nil && ack.Msg.MessageType() == dhcpv4.MessageTypeAck {
					mu.Lock()
					got[addrOf(ack.Msg.YourIPAddr)]++
					acks++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	// 16 clients, 11 pool addresses.
	if acks != 11 {
		t.Errorf("acks = %d, want 11 (pool size)", acks)
	}
	for a, n := range got {
		if n != 1 {
			t.Errorf("%s leased %d times", a, n)
		}
	}
	if v.store.Count() != acks {
		t.Errorf("store has %d leases for %d acks", v.store.Count(), acks)
	}
}

// BenchmarkDORAWire is what the packet path does per DORA: decode the
// DISCOVER and the REQUEST from wire bytes, Handle them, and encode both
// replies. The queries are templates patched with a fresh chaddr (and the
// offered address) in place, as a receive ring would hand them over.
func BenchmarkDORAWire(b *testing.B) {
	v := newEnv(b, benchConfig)
	hw0 := net.HardwareAddr{0x02, 0, 0, 0, 0, 0}
	d, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover), dhcpv4.WithHwAddr(hw0))
	r, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithHwAddr(hw0),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(10, 0, 0, 1))),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip("192.0.2.1"))))
	dWire, rWire := d.ToBytes(), r.ToBytes()
	opt50 := optionOffset(b, rWire, 50)
	dBuf, rBuf := make([]byte, len(dWire)), make([]byte, len(rWire))
	const chaddr = 28 // offset of chaddr in the BOOTP header
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		mac := [4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
		copy(dBuf, dWire)
		copy(dBuf[chaddr+2:chaddr+6], mac[:])
		dm, err := dhcpv4.FromBytes(dBuf)
		if err != nil {
			b.Fatal(err)
		}
		off := v.w.Handle(&Request{Msg: dm, Iface: "eth0", IfIndex: 2, IfAddr: ifAddr,
			Src: netip.AddrPortFrom(netip.IPv4Unspecified(), 68), Dst: bcast, Len: len(dBuf)})
		if off == nil {
			b.Fatal("no offer")
		}
		_ = off.Msg.ToBytes()
		copy(rBuf, rWire)
		copy(rBuf[chaddr+2:chaddr+6], mac[:])
		copy(rBuf[opt50:opt50+4], off.Msg.YourIPAddr.To4())
		rm, err := dhcpv4.FromBytes(rBuf)
		if err != nil {
			b.Fatal(err)
		}
		ack := v.w.Handle(&Request{Msg: rm, Iface: "eth0", IfIndex: 2, IfAddr: ifAddr,
			Src: netip.AddrPortFrom(netip.IPv4Unspecified(), 68), Dst: bcast, Len: len(rBuf)})
		if ack == nil || ack.Msg == nil || len(ack.Msg.Options[53]) != 1 || ack.Msg.Options[53][0] != byte(dhcpv4.MessageTypeAck) {
			b.Fatal("no ack")
		}
		_ = ack.Msg.ToBytes()
	}
}

// optionOffset returns the offset of option code's data in an encoded
// DHCPv4 message.
func optionOffset(tb testing.TB, wire []byte, code byte) int {
	tb.Helper()
	for i := 240; i+1 < len(wire); {
		switch wire[i] {
		case 0:
			i++
			continue
		case 255:
			i = len(wire)
			continue
		}
		if wire[i] == code {
			return i + 2
		}
		i += 2 + int(wire[i+1])
	}
	tb.Fatalf("option %d not found", code)
	return 0
}

// BenchmarkDiscoverExhausted measures one DISCOVER from a new client when
// every address of the pool is leased and none has expired: the answer is
// "no address", and its cost must be flat in the pool size (compare the
// slash24 and slash16 results). "expired-elsewhere" adds 4096 expired
// leases in another subnet's pool, which this client may not use: they
// must not be looked at either. offer-lifetime 0 and 60 take the two
// allocation paths (Pick vs Next plus the offer sweep).
func BenchmarkDiscoverExhausted(b *testing.B) {
	for _, lifetime := range []int{0, 60} {
		for _, tc := range []struct {
			name      string
			last      string // pool 10.0.0.0 - last
			elsewhere int    // expired leases in subnet 2
		}{
			{"slash24", "10.0.0.255", 0},
			{"slash16", "10.0.255.255", 0},
			{"slash16-expired-elsewhere", "10.0.255.255", 4096},
		} {
			b.Run(fmt.Sprintf("lifetime=%d/%s", lifetime, tc.name), func(b *testing.B) {
				benchExhausted(b, lifetime, tc.last, tc.elsewhere)
			})
		}
	}
}

func benchExhausted(b *testing.B, lifetime int, last string, elsewhere int) {
	js := withOfferLifetime(fmt.Sprintf(`{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "eth0" ] },
  "lease-database": { "type": "memfile", "persist": false },
  "valid-lifetime": 4000,
  "subnet4": [ { "id": 1, "subnet": "10.0.0.0/16", "interface": "eth0",
      "pools": [ { "pool": "10.0.0.0 - %s" } ] },
    { "id": 2, "subnet": "10.1.0.0/16", "relay": { "ip-addresses": [ "10.1.0.1" ] },
      "pools": [ { "pool": "10.1.0.0 - 10.1.255.255" } ] } ] } }`, last), lifetime)
	v := newEnv(b, js)
	now := v.now.Load()
	fill := func(from, to netip.Addr, subnet uint32, cltt int64) int {
		n := 0
		for a := from; a.Compare(to) <= 0; a = a.Next() {
			n++
			hw := net.HardwareAddr{0x02, 0xee, byte(subnet), byte(n >> 16), byte(n >> 8), byte(n)}
			if err := v.store.Add(&lease.Lease{Addr: a, HWAddr: hw, SubnetID: subnet, CLTT: cltt, ValidLifetime: 4000}); err != nil {
				b.Fatal(err)
			}
		}
		return n
	}
	size := fill(netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr(last), 1, now)
	if elsewhere > 0 {
		to := netip.MustParseAddr("10.1.0.0")
		for range elsewhere - 1 {
			to = to.Next()
		}
		fill(netip.MustParseAddr("10.1.0.0"), to, 2, now-5000) // expired 1000 s ago
	}
	if free := v.e.m.pools[0].rng.FreeCount(); free != 0 {
		b.Fatalf("pool of %d has %d free", size, free)
	}
	msgs := make([]*Request, 1024)
	for i := range msgs {
		hw := net.HardwareAddr{0x02, 0x77, 0, 0, byte(i >> 8), byte(i)}
		msgs[i] = broadcastReq(msg(b, dhcpv4.MessageTypeDiscover, hw))
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if r := v.w.Handle(msgs[i%len(msgs)]); r != nil {
			b.Fatalf("exhausted pool offered %s", r.Msg.YourIPAddr)
		}
		i++
	}
	b.ReportMetric(float64(size), "pool-addresses")
}
