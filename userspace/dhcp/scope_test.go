package dhcp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// haConfig splits one subnet's pools between the HA peers, plus a pool for
// KNOWN clients, as docs/kea/config-surface.md §11 does.
const haConfig = `{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "eth0" ] },
  "lease-database": { "type": "memfile", "persist": false },
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "interface": "eth0",
      "pools": [ { "pool": "192.0.2.200 - 192.0.2.209", "client-class": "KNOWN" },
                 { "pool": "192.0.2.100 - 192.0.2.149", "client-class": "HA_server1" },
                 { "pool": "192.0.2.150 - 192.0.2.199", "client-class": "HA_server2" } ],
      "reservations": [ { "hw-address": "aa:bb:cc:00:00:ee" } ] } ]
} }`

// oddEven assigns HA_server1 to even last MAC bytes and HA_server2 to odd
// ones; it serves only server1's scope unless both is set.
type oddEven struct{ both bool }

func (f oddEven) Scope(m *dhcpv4.DHCPv4) (string, bool) {
	if m.ClientHWAddr[5]%2 == 0 {
		return "HA_server1", true
	}
	return "HA_server2", f.both
}

func TestPoolsByHAClass(t *testing.T) {
	tests := []struct {
		name  string
		both  bool
		hw    byte
		first string // "" = dropped
		last  string
	}{
		{"own scope uses HA_server1 pool", false, 2, "192.0.2.100", "192.0.2.149"},
		{"partner scope dropped", false, 3, "", ""},
		{"partner-down serves partner pool", true, 3, "192.0.2.150", "192.0.2.199"},
		{"KNOWN client gets the KNOWN pool", false, 0xee, "192.0.2.200", "192.0.2.209"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, haConfig, func(d *Deps) { d.ScopeFilter = oddEven{both: tc.both} })
			r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(tc.hw))))
			if tc.first == "" {
				if r != nil {
					t.Fatal("partner's client answered")
				}
				if v.cell("pkt4-dropped-ha-scope") != 1 {
					t.Error("scope drop not counted")
				}
				return
			}
			if r == nil {
				t.Fatal("no offer")
			}
			a := addrOf(r.Msg.YourIPAddr)
			if a.Less(netip.MustParseAddr(tc.first)) || netip.MustParseAddr(tc.last).Less(a) {
				t.Fatalf("offered %s, want %s-%s", a, tc.first, tc.last)
			}
		})
	}
}

const sharedConfig = `{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "eth0" ] },
  "lease-database": { "type": "memfile", "persist": false },
  "shared-networks": [ { "name": "net", "interface": "eth0", "valid-lifetime": 600,
    "subnet4": [
      { "id": 10, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.10 - 192.0.2.11" } ],
        "option-data": [ { "name": "routers", "data": "192.0.2.1" } ] },
      { "id": 11, "subnet": "198.51.100.0/24", "pools": [ { "pool": "198.51.100.10 - 198.51.100.20" } ],
        "option-data": [ { "name": "routers", "data": "198.51.100.1" } ] } ] } ]
} }`

func TestSharedNetworkSpillOver(t *testing.T) {
	v := newEnv(t, sharedConfig)
	want := []struct{ subnet, router string }{
		{"192.0.2.0/24", "192.0.2.1"}, {"192.0.2.0/24", "192.0.2.1"},
		{"198.51.100.0/24", "198.51.100.1"}, {"198.51.100.0/24", "198.51.100.1"},
	}
	for i, w := range want {
		ack := v.dora(mac(byte(i + 1)))
		a := addrOf(ack.YourIPAddr)
		if !netip.MustParsePrefix(w.subnet).Contains(a) {
			t.Fatalf("client %d got %s, want from %s", i, a, w.subnet)
		}
		if got := ack.Router(); len(got) != 1 || got[0].String() != w.router {
			t.Errorf("client %d routers %v want %s", i, got, w.router)
		}
		if l, _ := v.store.Get(a); (l.SubnetID == 10) != (w.subnet == "192.0.2.0/24") {
			t.Errorf("lease subnet id %d", l.SubnetID)
		}
	}
	if v.cell("subnet[10].assigned-addresses") != 2 || v.cell("subnet[11].assigned-addresses") != 2 {
		t.Error("per-subnet assigned-addresses wrong")
	}
}

func TestHugePoolNearlyFull(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a /8 (16M Take calls)")
	}
	const cfg = `{ "Dhcp4": {
	  "interfaces-config": { "interfaces": [ "eth0" ] },
	  "lease-database": { "type": "memfile", "persist": false },
	  "subnet4": [ { "id": 1, "subnet": "10.0.0.0/8", "interface": "eth0",
	      "pools": [ { "pool": "10.0.0.0 - 10.255.255.255" } ] } ] } }`
	v := newEnv(t, cfg, func(d *Deps) { d.Clock = func() time.Time { return t0 } })
	v.e.m.subnets[0].res.byAddr = nil
	rng := v.e.m.pools[0].rng
	// Take everything except two addresses near the end.
	free := map[netip.Addr]bool{netip.MustParseAddr("10.254.1.2"): true, netip.MustParseAddr("10.255.255.254"): true}
	for a := netip.MustParseAddr("10.0.0.0"); a.Is4() && netip.MustParsePrefix("10.0.0.0/8").Contains(a); a = a.Next() {
		if !free[a] {
			rng.Take(a)
		}
	}
	got := map[netip.Addr]bool{}
	for i := range 2 {
		r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(byte(i+1)))))
		if r == nil {
			t.Fatalf("client %d: no offer from a nearly full /8", i)
		}
		got[addrOf(r.Msg.YourIPAddr)] = true
	}
	if fmt.Sprint(got) != fmt.Sprint(free) {
		t.Fatalf("offered %v want %v", got, free)
	}
	// Offers hold nothing (Kea 2.2): the cursor wraps to the first free
	// address again.
	if r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(9)))); r == nil || addrOf(r.Msg.YourIPAddr) != netip.MustParseAddr("10.254.1.2") {
		t.Fatalf("third client after a full turn: %+v, want 10.254.1.2", r)
	}
	for a := range free {
		rng.Take(a)
	}
	if r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(9)))); r != nil {
		t.Fatalf("full pool offered %s", r.Msg.YourIPAddr)
	}
}

func TestHotSwapRebuildsFromStore(t *testing.T) {
	v := newEnv(t, baseConfig)
	a := addrOf(v.dora(mac(1)).YourIPAddr)
	e2, err := New(parseConfig(t, baseConfig), Deps{Store: v.store, Clock: v.clock, Stats: v.reg})
	if err != nil {
		t.Fatal(err)
	}
	if v.cell("subnet[1].assigned-addresses") != 1 {
		t.Errorf("assigned-addresses recount = %d", v.cell("subnet[1].assigned-addresses"))
	}
	if e2.m.pools[0].rng.IsFree(a) {
		t.Fatal("new engine's allocator does not know the leased address")
	}
	w2 := e2.NewWorker()
	for i := range 10 {
		r := w2.Handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(byte(0x10+i)))))
		if r == nil || addrOf(r.Msg.YourIPAddr) == a {
			t.Fatalf("new engine offered the leased address (or nothing): %+v", r)
		}
	}
}
