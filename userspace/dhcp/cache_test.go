package dhcp

import (
	"encoding/binary"
	"math"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// cacheConfig is one subnet, valid-lifetime 4000, T1/T2 calculated (0.5,
// 0.875), with extra global parameters spliced in.
func cacheConfig(global, subnet string) string {
	return `{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "eth0" ] },
  "lease-database": { "type": "memfile", "persist": false },
  "valid-lifetime": 4000, "calculate-tee-times": true, ` + global + `
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", ` + subnet + `
    "pools": [ { "pool": "192.0.2.10 - 192.0.2.20" } ] },
    { "id": 2, "subnet": "198.51.100.0/24", "relay": { "ip-addresses": [ "198.51.100.254" ] },
    "pools": [ { "pool": "198.51.100.10 - 198.51.100.20" } ] } ]
} }`
}

func u32opt(m *dhcpv4.DHCPv4, code dhcpv4.OptionCode) uint32 {
	b := m.Options.Get(code)
	if len(b) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

// renew sends a RENEWING request (ciaddr, unicast) for a from hw.
func (v *env) renew(hw net.HardwareAddr, a netip.Addr, mods ...dhcpv4.Modifier) *Reply {
	v.t.Helper()
	r := v.handle(unicastReq(msg(v.t, dhcpv4.MessageTypeRequest, hw, append([]dhcpv4.Modifier{dhcpv4.WithClientIP(a.AsSlice())}, mods...)...), a.String()))
	if r == nil || r.Msg == nil || r.Msg.MessageType() != dhcpv4.MessageTypeAck {
		v.t.Fatalf("no ACK to the renewal of %s: %+v", a, r)
	}
	return r
}

// TestLeaseCache follows Kea 2.2's AllocEngine::setLeaseReusable: a
// renewal whose age (now - CLTT) is within cache-threshold × valid
// lifetime and cache-max-age reuses the stored lease (no write, no change
// to replicate) and reports the remaining lifetime, with T1/T2 computed
// from it; past the limit the renewal is written as usual.
func TestLeaseCache(t *testing.T) {
	type step struct {
		age        int64  // seconds since the lease was last written
		wantReused bool   // no write, no changes
		wantLft    uint32 // option 51
	}
	tests := []struct {
		name           string
		global, subnet string
		steps          []step
	}{
		{"off by default", "", "", []step{{10, false, 4000}, {1, false, 4000}}},
		// 0.25 × 4000 = 1000: age 1000 reuses, 1001 does not.
		{"threshold", `"cache-threshold": 0.25,`, "", []step{{100, true, 3900}, {1000, true, 3000}, {1001, false, 4000}, {5, true, 3995}}},
		{"threshold above T1", `"cache-threshold": 0.6,`, "", []step{{2000, true, 2000}, {2401, false, 4000}}},
		{"max-age", `"cache-max-age": 500,`, "", []step{{400, true, 3600}, {500, true, 3500}, {501, false, 4000}}},
		{"max-age 0 never reuses", `"cache-max-age": 0,`, "", []step{{1, false, 4000}}},
		// Both: cache-max-age first, then the threshold.
		{"both, max-age binds", `"cache-threshold": 0.5, "cache-max-age": 100,`, "", []step{{50, true, 3950}, {101, false, 4000}}},
		{"both, threshold binds", `"cache-threshold": 0.01, "cache-max-age": 1000,`, "", []step{{40, true, 3960}, {41, false, 4000}}},
		// Inherited from the global level, overridden by the subnet.
		{"subnet overrides global", `"cache-threshold": 0.9,`, `"cache-threshold": 0.01,`, []step{{41, false, 4000}}},
		{"subnet enables", "", `"cache-max-age": 60,`, []step{{60, true, 3940}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, cacheConfig(tc.global, tc.subnet))
			hw := mac(9)
			a := addrOf(v.dora(hw).YourIPAddr)
			for i, s := range tc.steps {
				before, _ := v.store.Get(a)
				v.now.Store(before.CLTT + s.age)
				r := v.renew(hw, a)
				after, _ := v.store.Get(a)
				reused := len(r.Changes) == 0 && after.CLTT == before.CLTT
				if reused != s.wantReused {
					t.Fatalf("step %d (age %d): reused=%v (changes %d, cltt %d→%d), want %v", i, s.age, reused, len(r.Changes), before.CLTT, after.CLTT, s.wantReused)
				}
				if !reused && (after.CLTT != v.now.Load() || len(r.Changes) != 1) {
					t.Fatalf("step %d: renewal not written: cltt %d changes %d", i, after.CLTT, len(r.Changes))
				}
				lft := u32opt(r.Msg, dhcpv4.OptionIPAddressLeaseTime)
				if lft != s.wantLft {
					t.Errorf("step %d (age %d): lease time %d want %d", i, s.age, lft, s.wantLft)
				}
				t1, t2 := u32opt(r.Msg, dhcpv4.OptionRenewTimeValue), u32opt(r.Msg, dhcpv4.OptionRebindingTimeValue)
				if t1 != uint32(math.Round(0.5*float64(lft))) || t2 != uint32(math.Round(0.875*float64(lft))) {
					t.Errorf("step %d: T1/T2 %d/%d for lifetime %d", i, t1, t2, lft)
				}
			}
		})
	}
}

// TestLeaseCacheChangedLease: a significant change (updateLease4Information)
// is written even within the threshold: another hostname, a shorter
// lifetime asked for, a lease that has expired, or a configured T1 kept.
func TestLeaseCacheChangedLease(t *testing.T) {
	cfg := cacheConfig(`"cache-threshold": 0.5, "min-valid-lifetime": 1000, "max-valid-lifetime": 8000,`, "")
	v := newEnv(t, cfg)
	hw := mac(10)
	a := addrOf(v.dora(hw).YourIPAddr)

	v.advance(10 * time.Second)
	if r := v.renew(hw, a, dhcpv4.WithOption(dhcpv4.OptHostName("other"))); len(r.Changes) != 1 {
		t.Errorf("hostname change was not written")
	}
	v.advance(10 * time.Second)
	r := v.renew(hw, a, dhcpv4.WithOption(dhcpv4.OptHostName("other")))
	if len(r.Changes) != 0 || u32opt(r.Msg, dhcpv4.OptionIPAddressLeaseTime) != 3990 {
		t.Errorf("same hostname again: changes %d, lifetime %d", len(r.Changes), u32opt(r.Msg, dhcpv4.OptionIPAddressLeaseTime))
	}
	v.advance(10 * time.Second)
	if r := v.renew(hw, a, dhcpv4.WithOption(dhcpv4.OptHostName("other")), dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(2000*time.Second))); len(r.Changes) != 1 ||
		u32opt(r.Msg, dhcpv4.OptionIPAddressLeaseTime) != 2000 {
		t.Errorf("shorter lifetime: changes %d", len(r.Changes))
	}
	// A longer one is not a significant change: 0.5 × 8000 = 4000 ≥ age.
	v.advance(10 * time.Second)
	if r := v.renew(hw, a, dhcpv4.WithOption(dhcpv4.OptHostName("other")), dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(8000*time.Second))); len(r.Changes) != 0 ||
		u32opt(r.Msg, dhcpv4.OptionIPAddressLeaseTime) != 1990 {
		t.Errorf("longer lifetime: changes %d lifetime %d", len(r.Changes), u32opt(r.Msg, dhcpv4.OptionIPAddressLeaseTime))
	}

	// Configured timers stay as configured when below the remaining time.
	v2 := newEnv(t, strings.Replace(cfg, `"calculate-tee-times": true,`, `"renew-timer": 1000, "rebind-timer": 3000,`, 1))
	a2 := addrOf(v2.dora(hw).YourIPAddr)
	v2.advance(1500 * time.Second)
	r = v2.renew(hw, a2)
	if lft := u32opt(r.Msg, dhcpv4.OptionIPAddressLeaseTime); lft != 2500 || len(r.Changes) != 0 {
		t.Fatalf("lifetime %d changes %d", lft, len(r.Changes))
	}
	if t1, t2 := u32opt(r.Msg, dhcpv4.OptionRenewTimeValue), u32opt(r.Msg, dhcpv4.OptionRebindingTimeValue); t1 != 1000 || t2 != 0 {
		t.Errorf("T1/T2 %d/%d: want 1000 and no T2 (3000 is not below 2500)", t1, t2)
	}
}

// TestLeaseCacheOffer: a DISCOVER from a client holding a reusable lease
// is offered the remaining lifetime (renewLease4 runs as a fake
// allocation).
func TestLeaseCacheOffer(t *testing.T) {
	v := newEnv(t, cacheConfig(`"cache-threshold": 0.25,`, ""))
	hw := mac(11)
	a := addrOf(v.dora(hw).YourIPAddr)
	v.advance(300 * time.Second)
	off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, hw)))
	if addrOf(off.Msg.YourIPAddr) != a || u32opt(off.Msg, dhcpv4.OptionIPAddressLeaseTime) != 3700 {
		t.Errorf("offer %s lifetime %d", off.Msg.YourIPAddr, u32opt(off.Msg, dhcpv4.OptionIPAddressLeaseTime))
	}
	v.advance(800 * time.Second)
	off = v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, hw)))
	if u32opt(off.Msg, dhcpv4.OptionIPAddressLeaseTime) != 4000 {
		t.Errorf("past the threshold: offer lifetime %d", u32opt(off.Msg, dhcpv4.OptionIPAddressLeaseTime))
	}
}

// relayed wraps m as relayed by 198.51.100.254 with option 82 data rai.
func relayed(m *dhcpv4.DHCPv4, rai []byte) *Request {
	m.GatewayIPAddr = ip("198.51.100.254")
	m.Options.Update(dhcpv4.OptGeneric(dhcpv4.OptionRelayAgentInformation, rai))
	return unicastReq(m, "198.51.100.254")
}

// TestStoreExtendedInfo: with store-extended-info the lease's user context
// is Kea 2.2's {"ISC": {"relay-agent-info": "0x…"}} (upper-case hex of the
// sub-options in code order), other context keys are kept, and a renewal
// with the same option 82 is no change (so it can be cached).
func TestStoreExtendedInfo(t *testing.T) {
	// remote-id (2) before circuit-id (1), as some relays send them.
	rai := []byte{2, 3, 0xde, 0xad, 0x01, 1, 4, 'e', 't', 'h', '7'}
	wantCtx := `{ "ISC": { "relay-agent-info": "0x0104657468370203DEAD01" } }`

	v := newEnv(t, cacheConfig(`"store-extended-info": true, "cache-threshold": 0.5,`, ""))
	hw := mac(12)
	off := v.handle(relayed(msg(t, dhcpv4.MessageTypeDiscover, hw), rai))
	if off == nil {
		t.Fatal("no offer")
	}
	a := addrOf(off.Msg.YourIPAddr)
	ack := v.handle(relayed(msg(t, dhcpv4.MessageTypeRequest, hw,
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(a.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(off.Msg.ServerIdentifier()))), rai))
	if ack == nil || ack.Msg.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("no ack: %+v", ack)
	}
	l, _ := v.store.Get(a)
	if l.UserContext != wantCtx {
		t.Fatalf("user context %s\nwant %s", l.UserContext, wantCtx)
	}
	if got := string(lease.ToHAJSON(ack.Changes[0].New).UserContext); got != wantCtx {
		t.Errorf("HA lease4-update user-context %s", got)
	}
	// Same relay information: no change, the lease is reused.
	v.advance(10 * time.Second)
	r := v.handle(relayed(msg(t, dhcpv4.MessageTypeRequest, hw, dhcpv4.WithClientIP(a.AsSlice())), rai))
	if r == nil || len(r.Changes) != 0 {
		t.Fatalf("same option 82 renewal: %+v", r)
	}
	// Another circuit: written, and a context key of the operator's kept.
	l.UserContext = `{ "note": "rack 7" }`
	if err := v.store.Update(l); err != nil {
		t.Fatal(err)
	}
	v.advance(10 * time.Second)
	rai2 := []byte{1, 4, 'e', 't', 'h', '8'}
	r = v.handle(relayed(msg(t, dhcpv4.MessageTypeRequest, hw, dhcpv4.WithClientIP(a.AsSlice())), rai2))
	if r == nil || len(r.Changes) != 1 {
		t.Fatalf("changed option 82 renewal not written: %+v", r)
	}
	if got, _ := v.store.Get(a); got.UserContext != `{ "ISC": { "relay-agent-info": "0x010465746838" }, "note": "rack 7" }` {
		t.Errorf("user context %s", got.UserContext)
	}
	// Without option 82 the context stays as it is.
	v.advance(10 * time.Second)
	r = v.renew(hw, a)
	if got, _ := v.store.Get(a); !strings.Contains(got.UserContext, "0x010465746838") {
		t.Errorf("context lost on a renewal without option 82: %s", got.UserContext)
	}
}

// TestExtendedInfoOffByDefault: no user context without store-extended-info.
func TestExtendedInfoOffByDefault(t *testing.T) {
	v := newEnv(t, cacheConfig("", ""))
	hw := mac(13)
	rai := []byte{1, 4, 'e', 't', 'h', '7'}
	off := v.handle(relayed(msg(t, dhcpv4.MessageTypeDiscover, hw), rai))
	a := addrOf(off.Msg.YourIPAddr)
	v.handle(relayed(msg(t, dhcpv4.MessageTypeRequest, hw,
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(a.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(off.Msg.ServerIdentifier()))), rai))
	if l, ok := v.store.Get(a); !ok || l.UserContext != "" {
		t.Errorf("lease %+v", l)
	}
}

func TestRepackRAI(t *testing.T) {
	for _, tc := range []struct{ in, want []byte }{
		{[]byte{1, 1, 'a', 2, 1, 'b'}, []byte{1, 1, 'a', 2, 1, 'b'}},
		{[]byte{2, 1, 'b', 1, 1, 'a', 2, 0}, []byte{1, 1, 'a', 2, 1, 'b', 2, 0}},
		{[]byte{2, 5, 'b'}, []byte{2, 5, 'b'}}, // truncated: as received
	} {
		if got := repackRAI(tc.in); string(got) != string(tc.want) {
			t.Errorf("repackRAI(%x) = %x want %x", tc.in, got, tc.want)
		}
	}
}

// TestLeaseCacheInfinite: setLeaseReusable always reuses an unchanged lease
// with an infinite valid lifetime, caching configured or not.
func TestLeaseCacheInfinite(t *testing.T) {
	v := newEnv(t, strings.Replace(cacheConfig("", ""), `"valid-lifetime": 4000,`, `"valid-lifetime": 4294967295,`, 1))
	hw := mac(14)
	a := addrOf(v.dora(hw).YourIPAddr)
	before, _ := v.store.Get(a)
	v.advance(100 * time.Second)
	r := v.renew(hw, a)
	after, _ := v.store.Get(a)
	if len(r.Changes) != 0 || after.CLTT != before.CLTT || u32opt(r.Msg, dhcpv4.OptionIPAddressLeaseTime) != infiniteLft {
		t.Errorf("changes %d cltt %d→%d lifetime %d", len(r.Changes), before.CLTT, after.CLTT, u32opt(r.Msg, dhcpv4.OptionIPAddressLeaseTime))
	}
}
