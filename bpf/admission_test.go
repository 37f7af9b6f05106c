//go:build linux

package bpf

import (
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/admission"
)

var (
	ourMAC   = [6]byte{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01}
	otherMAC = [6]byte{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x02}
	ourIP    = netip.MustParseAddr("198.18.0.1")
	ourIP2   = netip.MustParseAddr("192.0.2.1")
	subBcast = netip.MustParseAddr("198.18.0.255")
	otherIP  = netip.MustParseAddr("198.18.0.9")
	relayA   = netip.MustParseAddr("198.18.7.1")
	relayB   = netip.MustParseAddr("198.18.8.1")
)

// loadAdmission loads the program with our MAC and addresses, every
// bucket served, and limits lim at clock 1 s.
func loadAdmission(t *testing.T, cfg Config) *Datapath {
	t.Helper()
	d := loadTest(t)
	setServe(t, d, serveAll)
	cfg.MAC = ourMAC
	if cfg.ClockNs == 0 {
		cfg.ClockNs = 1e9
	}
	if err := d.SetConfig(cfg); err != nil {
		t.Fatalf("set config: %v", err)
	}
	if err := d.SetAddrs([]netip.Addr{ourIP, ourIP2}, []netip.Addr{subBcast}); err != nil {
		t.Fatalf("set addrs: %v", err)
	}
	return d
}

// expect runs data once and checks the verdict and the one verdict counter.
func expect(t *testing.T, d *Datapath, data []byte, want uint32, stat string) {
	t.Helper()
	ret, delta := run(t, d, data)
	var moved []string
	for n, v := range delta {
		if isVerdict(n) && v > 0 {
			moved = append(moved, n)
		}
	}
	if ret != want || len(moved) != 1 || moved[0] != stat || delta["rx_total"] != 1 {
		t.Fatalf("verdict %d (want %d), counters %v (want %s)", ret, want, delta, stat)
	}
}

// dhcpFrame is a DHCP message of type mt from chaddr hw (and giaddr gi if
// valid) in a frame to dstMAC/dstIP.
func dhcpFrame(t testing.TB, mt dhcpv4.MessageType, hw net.HardwareAddr, gi netip.Addr, dstMAC [6]byte, dstIP netip.Addr) []byte {
	t.Helper()
	mods := []dhcpv4.Modifier{dhcpv4.WithHwAddr(hw), dhcpv4.WithMessageType(mt)}
	if gi.IsValid() {
		mods = append(mods, dhcpv4.WithGatewayIP(gi.AsSlice()))
	}
	m, err := dhcpv4.New(mods...)
	if err != nil {
		t.Fatal(err)
	}
	return frame{payload: m.ToBytes(), dstMAC: &dstMAC, dstIP: dstIP}.bytes()
}

func hw(i int) net.HardwareAddr { return net.HardwareAddr{0x52, 0x54, 0, 0, byte(i >> 8), byte(i)} }

var bcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
var limitedBcast = netip.MustParseAddr("255.255.255.255")

func TestAdmissionDestination(t *testing.T) {
	d := loadAdmission(t, Config{})
	disc := func(mac [6]byte, ip netip.Addr) []byte {
		return dhcpFrame(t, dhcpv4.MessageTypeDiscover, testMAC, netip.Addr{}, mac, ip)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want uint32
		stat string
	}{
		{"broadcast", disc(bcastMAC, limitedBcast), xdpPass, "redirect_ours"},
		{"our mac, limited broadcast ip", disc(ourMAC, limitedBcast), xdpPass, "redirect_ours"},
		{"unicast to us", disc(ourMAC, ourIP), xdpPass, "redirect_ours"},
		{"unicast to our second address", disc(ourMAC, ourIP2), xdpPass, "redirect_ours"},
		{"subnet broadcast", disc(bcastMAC, subBcast), xdpPass, "redirect_ours"},
		{"our mac, another host's ip (transit through a router)", disc(ourMAC, otherIP), xdpPass, "pass_not_our_ip"},
		{"broadcast mac, another host's ip", disc(bcastMAC, otherIP), xdpPass, "pass_not_our_ip"},
		{"another host's mac, our ip", disc(otherMAC, ourIP), xdpPass, "pass_not_our_mac"},
		{"another host's mac, broadcast ip", disc(otherMAC, limitedBcast), xdpPass, "pass_not_our_mac"},
		{"multicast mac", disc([6]byte{0x01, 0, 0x5e, 0, 0, 1}, limitedBcast), xdpPass, "pass_not_our_mac"},
		// Not DHCP keeps its own counters, whatever the addresses.
		{"udp to 68 for another host", frame{dstPort: 68, payload: make([]byte, 300), dstMAC: &otherMAC, dstIP: otherIP}.bytes(), xdpPass, "pass_not_dhcp_port"},
		// Admission comes before the DHCP checks: transit garbage is the stack's.
		{"truncated dhcp for another host", frame{payload: make([]byte, 20), dstMAC: &ourMAC, dstIP: otherIP}.bytes(), xdpPass, "pass_not_our_ip"},
	} {
		t.Run(tc.name, func(t *testing.T) { expect(t, d, tc.data, tc.want, tc.stat) })
	}

	// Addresses follow SetAddrs.
	if err := d.SetAddrs([]netip.Addr{otherIP}, nil); err != nil {
		t.Fatal(err)
	}
	local, bc, err := d.Addrs()
	if err != nil || !slices.Equal(local, []netip.Addr{otherIP}) || len(bc) != 0 {
		t.Fatalf("Addrs() = %v %v %v", local, bc, err)
	}
	expect(t, d, disc(ourMAC, ourIP), xdpPass, "pass_not_our_ip")
	expect(t, d, disc(bcastMAC, subBcast), xdpPass, "pass_not_our_ip")
	expect(t, d, disc(ourMAC, otherIP), xdpPass, "redirect_ours")

	// An unset MAC admits only broadcast frames.
	if err := d.SetConfig(Config{}); err != nil {
		t.Fatal(err)
	}
	expect(t, d, disc(ourMAC, otherIP), xdpPass, "pass_not_our_mac")
	expect(t, d, disc([6]byte{}, otherIP), xdpPass, "pass_not_our_mac")
	expect(t, d, disc(bcastMAC, otherIP), xdpPass, "redirect_ours")
}

func TestRateLimitClient(t *testing.T) {
	d := loadAdmission(t, Config{RateLimits: true, ClientRate: 1, ClientBurst: 2})
	f := dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(1), netip.Addr{}, bcastMAC, limitedBcast)
	req := dhcpFrame(t, dhcpv4.MessageTypeRequest, hw(1), netip.Addr{}, bcastMAC, limitedBcast)
	expect(t, d, f, xdpPass, "redirect_ours")
	expect(t, d, req, xdpPass, "redirect_ours")
	expect(t, d, f, xdpDrop, "drop_rate_client")
	expect(t, d, req, xdpDrop, "drop_rate_client")
	// Other types are not limited; other clients have their own buckets.
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDecline, hw(1), netip.Addr{}, bcastMAC, limitedBcast), xdpPass, "redirect_ours")
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeInform, hw(1), netip.Addr{}, bcastMAC, limitedBcast), xdpPass, "redirect_ours")
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(2), netip.Addr{}, bcastMAC, limitedBcast), xdpPass, "redirect_ours")
	// One second later at 1/s: one more.
	setClock(t, d, Config{RateLimits: true, ClientRate: 1, ClientBurst: 2}, 2e9)
	expect(t, d, f, xdpPass, "redirect_ours")
	expect(t, d, f, xdpDrop, "drop_rate_client")
	// Half a second: not yet.
	setClock(t, d, Config{RateLimits: true, ClientRate: 1, ClientBurst: 2}, 2.5e9)
	expect(t, d, f, xdpDrop, "drop_rate_client")
	// The partner's share is dropped before the limits and takes no token.
	setServe(t, d, serveNone)
	for range 5 {
		expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(3), netip.Addr{}, bcastMAC, limitedBcast), xdpDrop, "drop_partner")
	}
	setServe(t, d, serveAll)
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(3), netip.Addr{}, bcastMAC, limitedBcast), xdpPass, "redirect_ours")
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(3), netip.Addr{}, bcastMAC, limitedBcast), xdpPass, "redirect_ours")
	// Limits off: nothing dropped.
	setClock(t, d, Config{RateLimits: false, ClientRate: 1, ClientBurst: 2}, 2.5e9)
	for range 5 {
		expect(t, d, f, xdpPass, "redirect_ours")
	}
	// Rate 0 turns only that limit off.
	setClock(t, d, Config{RateLimits: true, ClientRate: 0, UnknownRate: 1, UnknownBurst: 1000}, 2.5e9)
	for range 5 {
		expect(t, d, f, xdpPass, "redirect_ours")
	}
}

func setClock(t *testing.T, d *Datapath, c Config, ns uint64) {
	t.Helper()
	c.MAC, c.ClockNs = ourMAC, ns
	if err := d.SetConfig(c); err != nil {
		t.Fatal(err)
	}
}

// TestRateLimitOrder: a flooder rejected by its own bucket never drains the
// relay or the global budget; relays unicast to us have their own buckets,
// broadcast claims of a giaddr share the local segment's.
func TestRateLimitOrder(t *testing.T) {
	cfg := Config{RateLimits: true, ClientRate: 1, ClientBurst: 2, RelayRate: 1, RelayBurst: 4, UnknownRate: 1, UnknownBurst: 6}
	d := loadAdmission(t, cfg)
	flood := dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(1), netip.Addr{}, bcastMAC, limitedBcast)
	expect(t, d, flood, xdpPass, "redirect_ours")
	expect(t, d, flood, xdpPass, "redirect_ours")
	for range 50 {
		expect(t, d, flood, xdpDrop, "drop_rate_client")
	}
	// Local segment: 4 relay tokens, 2 taken by the flooder.
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(2), netip.Addr{}, bcastMAC, limitedBcast), xdpPass, "redirect_ours")
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(3), netip.Addr{}, bcastMAC, limitedBcast), xdpPass, "redirect_ours")
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(4), netip.Addr{}, bcastMAC, limitedBcast), xdpDrop, "drop_rate_relay")
	// A broadcast that claims a giaddr is the local segment's too.
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(5), relayA, bcastMAC, limitedBcast), xdpDrop, "drop_rate_relay")
	// So is a relayed message to a subnet broadcast (not unicast to us).
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(6), relayA, bcastMAC, subBcast), xdpDrop, "drop_rate_relay")
	// Relay A, unicast to us: its own bucket; the global budget (6) has 2 left.
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(7), relayA, ourMAC, ourIP), xdpPass, "redirect_ours")
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(8), relayB, ourMAC, ourIP2), xdpPass, "redirect_ours")
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(9), relayA, ourMAC, ourIP), xdpDrop, "drop_rate_unknown")
	expect(t, d, dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(10), relayB, ourMAC, ourIP), xdpDrop, "drop_rate_unknown")

	// Known clients skip the relay and unknown budgets (not their own).
	known := dhcpFrame(t, dhcpv4.MessageTypeRequest, hw(11), relayA, ourMAC, ourIP)
	expect(t, d, known, xdpDrop, "drop_rate_unknown")
	key, _ := admission.ClientKey(nil, hw(11))
	if err := d.UpdateKnown([]uint64{key}, nil); err != nil {
		t.Fatal(err)
	}
	expect(t, d, known, xdpPass, "redirect_ours")
	expect(t, d, known, xdpDrop, "drop_rate_client") // burst 2, both used
	local := dhcpFrame(t, dhcpv4.MessageTypeDiscover, hw(12), netip.Addr{}, bcastMAC, limitedBcast)
	key12, _ := admission.ClientKey(nil, hw(12))
	if err := d.UpdateKnown([]uint64{key12}, nil); err != nil {
		t.Fatal(err)
	}
	expect(t, d, local, xdpPass, "redirect_ours") // local segment's relay bucket is empty
	if err := d.UpdateKnown(nil, []uint64{key12, 12345}); err != nil {
		t.Fatal(err)
	}
	expect(t, d, local, xdpDrop, "drop_rate_relay")
}

// TestClientKeyMatchesKernel: the kernel's bucket keys are
// admission.ClientKey and admission.RelayKey.
func TestClientKeyMatchesKernel(t *testing.T) {
	d := loadAdmission(t, Config{RateLimits: true, ClientRate: 1, ClientBurst: 1, RelayRate: 1, RelayBurst: 100})
	cases := []struct {
		cid []byte
		hw  net.HardwareAddr
	}{
		{nil, testMAC},
		{[]byte{1, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}, testMAC},
		{nil, net.HardwareAddr{7}},
		{nil, net.HardwareAddr(slices.Repeat([]byte{9}, 16))},
		{slices.Repeat([]byte{0xcd}, 255), testMAC},
	}
	for i, c := range cases {
		mods := []dhcpv4.Modifier{dhcpv4.WithHwAddr(c.hw), dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover), dhcpv4.WithGatewayIP(relayA.AsSlice())}
		if c.cid != nil {
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClientIdentifier(c.cid)))
		}
		m, err := dhcpv4.New(mods...)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, d, frame{payload: m.ToBytes(), dstMAC: &ourMAC, dstIP: ourIP}.bytes(), xdpPass, "redirect_ours")
		key, _ := admission.ClientKey(c.cid, c.hw)
		var tok xdhcpXdhcpTokens
		if err := d.objs.XdhcpLimits.Lookup(xdhcpXdhcpLimitKey{Kind: xdhcpXdhcpLimitKindXDHCP_LIMIT_CLIENT, Id: key}, &tok); err != nil {
			t.Fatalf("case %d: no kernel bucket for admission.ClientKey %#x: %v", i, key, err)
		}
		if tok.Tokens != 0 || tok.LastNs != 1e9 {
			t.Fatalf("case %d: bucket %+v, want empty at 1 s", i, tok)
		}
	}
	rk := admission.RelayKey(relayA, true)
	var tok xdhcpXdhcpTokens
	if err := d.objs.XdhcpLimits.Lookup(xdhcpXdhcpLimitKey{Kind: xdhcpXdhcpLimitKindXDHCP_LIMIT_RELAY, Id: rk}, &tok); err != nil {
		t.Fatalf("no kernel bucket for admission.RelayKey %#x: %v", rk, err)
	}
}

// TestAdmissionContract: the Go twin's constants are the header's.
func TestAdmissionContract(t *testing.T) {
	if admission.KindChaddr != byte(xdhcpXdhcpKeyKindXDHCP_KEY_CHADDR) || admission.KindClientID != byte(xdhcpXdhcpKeyKindXDHCP_KEY_CLIENT_ID) {
		t.Fatal("admission key kinds differ from enum xdhcp_key_kind")
	}
	d := loadTest(t)
	names := d.StatNames()
	for _, v := range []admission.Verdict{admission.DropRateClient, admission.DropRateRelay, admission.DropRateUnknown} {
		if !slices.Contains(names, v.String()) {
			t.Errorf("admission verdict %q is not a kernel counter (%v)", v, names)
		}
	}
	if err := d.SetConfig(Config{RateLimits: true, RelayRate: 5}); err == nil {
		t.Error("SetConfig accepted a rate with burst 0")
	}
}

func TestMapSizes(t *testing.T) {
	testenv.RequireBPF(t)
	d, err := Load(Options{LimitEntries: 2048, KnownEntries: 4096})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	defer d.Close()
	if n := d.objs.XdhcpLimits.MaxEntries(); n != 2048 {
		t.Errorf("xdhcp_limits %d entries", n)
	}
	if n := d.objs.XdhcpKnown.MaxEntries(); n != 4096 {
		t.Errorf("xdhcp_known %d entries", n)
	}
}
