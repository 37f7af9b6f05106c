//go:build linux

package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/ha/lbhash"
	"github.com/xdhcp/xdhcp/internal/testenv"
)

// XDP verdicts as Program.Run returns them.
const (
	xdpDrop     = 1
	xdpPass     = 2
	xdpRedirect = 4
)

// ---- frame builder ----

// frame describes a test frame: Ethernet (+ VLAN tags) / IPv4 / UDP / payload.
// Zero values mean the usual: IPv4, UDP, ihl 5, port 67, exact UDP length.
type frame struct {
	vlans     []uint16 // TPIDs, outer first (0x8100 or 0x88a8)
	etherType uint16   // default 0x0800
	version   uint8    // IP version, default 4
	ihl       uint8    // default 5; more adds NOP options
	proto     uint8    // default UDP
	fragOff   uint16   // raw flags+fragment offset field
	dstPort   uint16   // default 67
	udpLenAdj int      // added to the correct UDP length
	payload   []byte
	cut       int        // if > 0, the frame is cut to this many bytes
	dstMAC    *[6]byte   // default ff:ff:ff:ff:ff:ff
	dstIP     netip.Addr // default 255.255.255.255
}

func (f frame) bytes() []byte {
	b := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0x5e, 0, 0, 1}
	if f.dstMAC != nil {
		copy(b, f.dstMAC[:])
	}
	for i, tpid := range f.vlans {
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, uint16(100+i)) // TCI: VLAN id
	}
	et := f.etherType
	if et == 0 {
		et = 0x0800
	}
	b = binary.BigEndian.AppendUint16(b, et)
	if et != 0x0800 {
		b = append(b, f.payload...)
		return f.trim(b)
	}
	ver, ihl, proto, port := f.version, f.ihl, f.proto, f.dstPort
	if ver == 0 {
		ver = 4
	}
	if ihl == 0 {
		ihl = 5
	}
	if proto == 0 {
		proto = unix.IPPROTO_UDP
	}
	if port == 0 {
		port = 67
	}
	udpLen := 8 + len(f.payload)
	ip := make([]byte, int(ihl)*4)
	ip[0] = ver<<4 | ihl
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+udpLen))
	binary.BigEndian.PutUint16(ip[6:], f.fragOff)
	ip[8], ip[9] = 64, proto
	copy(ip[12:], []byte{0, 0, 0, 0})
	copy(ip[16:], []byte{255, 255, 255, 255})
	if f.dstIP.Is4() {
		a := f.dstIP.As4()
		copy(ip[16:], a[:])
	}
	for i := 20; i < len(ip); i++ {
		ip[i] = 1 // NOP option
	}
	var sum uint32
	for i := 0; i < len(ip); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	b = append(b, ip...)
	b = binary.BigEndian.AppendUint16(b, 68)
	b = binary.BigEndian.AppendUint16(b, port)
	b = binary.BigEndian.AppendUint16(b, uint16(udpLen+f.udpLenAdj))
	b = binary.BigEndian.AppendUint16(b, 0) // no checksum
	b = append(b, f.payload...)
	return f.trim(b)
}

func (f frame) trim(b []byte) []byte {
	if f.cut > 0 && f.cut < len(b) {
		return b[:f.cut]
	}
	return b
}

var testMAC = net.HardwareAddr{0x08, 0x00, 0x27, 0x12, 0x34, 0x56} // hash 52 (docs/kea/lb-hash.md §5)

// msg builds a DHCP payload with dhcpv4 and lets mod adjust the message.
func msg(t testing.TB, mt dhcpv4.MessageType, mod func(*dhcpv4.DHCPv4), opts ...dhcpv4.Option) []byte {
	t.Helper()
	mods := []dhcpv4.Modifier{dhcpv4.WithHwAddr(testMAC)}
	if mt != 0 {
		mods = append(mods, dhcpv4.WithMessageType(mt))
	}
	for _, o := range opts {
		mods = append(mods, dhcpv4.WithOption(o))
	}
	m, err := dhcpv4.New(mods...)
	if err != nil {
		t.Fatalf("build dhcp message: %v", err)
	}
	if mod != nil {
		mod(m)
	}
	return m.ToBytes()
}

// raw builds a BOOTREQUEST by hand (for layouts dhcpv4 will not produce):
// chaddr testMAC, hlen 6, then the given option bytes verbatim.
func raw(opts ...byte) []byte {
	p := make([]byte, 240, 240+len(opts))
	p[0], p[1], p[2] = 1, 1, 6
	copy(p[28:], testMAC)
	copy(p[236:], []byte{99, 130, 83, 99})
	return append(p, opts...)
}

// ---- harness ----

func loadTest(t testing.TB) *Datapath {
	t.Helper()
	testenv.RequireBPF(t)
	d, err := Load(Options{})
	if errors.Is(err, ebpf.ErrNotSupported) {
		t.Skipf("kernel lacks a needed feature: %v", err)
	}
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return d
}

func setServe(t testing.TB, d *Datapath, f func(h int) bool) {
	t.Helper()
	var serve [Buckets]bool
	for h := range serve {
		serve[h] = f(h)
	}
	if err := d.SetBuckets(serve); err != nil {
		t.Fatalf("set buckets: %v", err)
	}
}

func serveAll(int) bool  { return true }
func serveNone(int) bool { return false }

// run runs the program once on data and returns the verdict and the
// counter deltas.
func run(t testing.TB, d *Datapath, data []byte) (uint32, Stats) {
	t.Helper()
	before, err := d.Stats()
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	ret, err := d.Program().Run(&ebpf.RunOptions{Data: data})
	if err != nil {
		t.Fatalf("program run: %v", err)
	}
	after, err := d.Stats()
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	delta := Stats{}
	for k, v := range after {
		if v != before[k] {
			delta[k] = v - before[k]
		}
	}
	return ret, delta
}

func isVerdict(name string) bool {
	return strings.HasPrefix(name, "pass_") || strings.HasPrefix(name, "redirect_") || strings.HasPrefix(name, "drop_") || strings.HasPrefix(name, "tx_")
}

// ---- tests ----

func TestVerifier(t *testing.T) {
	d := loadTest(t)
	info, err := d.Program().Info()
	if err != nil {
		t.Fatalf("program info: %v", err)
	}
	n, ok := info.VerifiedInstructions()
	if !ok {
		t.Skip("kernel does not report verified instructions")
	}
	if n == 0 {
		t.Fatal("verifier processed 0 instructions")
	}
	t.Logf("%s: verifier processed %d instructions (limit 1000000)", info.Name, n)
	if info.Name != "xdhcp_xdp" {
		t.Errorf("program name %q, want xdhcp_xdp", info.Name)
	}
}

func TestStatNames(t *testing.T) {
	d := loadTest(t)
	names := d.StatNames()
	if len(names) != int(xdhcpXdhcpStatXDHCP_STAT_MAX) {
		t.Fatalf("%d names, want %d", len(names), xdhcpXdhcpStatXDHCP_STAT_MAX)
	}
	for i, want := range map[int]string{
		int(xdhcpXdhcpStatXDHCP_STAT_RX_TOTAL):              "rx_total",
		int(xdhcpXdhcpStatXDHCP_STAT_DROP_PARTNER):          "drop_partner",
		int(xdhcpXdhcpStatXDHCP_STAT_REDIRECT_OURS):         "redirect_ours",
		int(xdhcpXdhcpStatXDHCP_STAT_NO_SOCKET):             "no_socket",
		int(xdhcpXdhcpStatXDHCP_STAT_PASS_FRAGMENT):         "pass_fragment",
		int(xdhcpXdhcpStatXDHCP_STAT_PASS_NOT_IP):           "pass_not_ip",
		int(xdhcpXdhcpStatXDHCP_STAT_REDIRECT_NOT_BALANCED): "redirect_not_balanced",
	} {
		if names[i] != want {
			t.Errorf("name[%d] = %q, want %q", i, names[i], want)
		}
	}
}

func TestVerdicts(t *testing.T) {
	d := loadTest(t)
	discover := msg(t, dhcpv4.MessageTypeDiscover, nil)
	longCID := bytes.Repeat([]byte{0xcd}, 200)

	// 70 two-byte options (code 224, private use) before option 53 and 61.
	var many []byte
	for range 70 {
		many = append(many, 224, 0)
	}
	farCID := []byte{1, 0x52, 0x54, 0, 0, 0, 1}
	farOpts := append(append(append([]byte{}, many...), 53, 1, 1, 61, byte(len(farCID))), farCID...)
	farOpts = append(farOpts, 255)

	tests := []struct {
		name  string
		data  []byte
		serve func(int) bool
		want  uint32
		stat  string
	}{
		// Not DHCP: to the stack.
		{"arp", frame{etherType: 0x0806, payload: make([]byte, 28)}.bytes(), serveNone, xdpPass, "pass_not_ip"},
		{"ipv6", frame{etherType: 0x86dd, payload: make([]byte, 60)}.bytes(), serveNone, xdpPass, "pass_not_ip"},
		{"ipv6 in vlan", frame{vlans: []uint16{0x8100}, etherType: 0x86dd, payload: make([]byte, 60)}.bytes(), serveNone, xdpPass, "pass_vlan"},
		{"three vlan tags", frame{vlans: []uint16{0x88a8, 0x8100, 0x8100}, payload: discover}.bytes(), serveNone, xdpPass, "pass_vlan"},
		{"tcp", frame{proto: unix.IPPROTO_TCP, payload: discover}.bytes(), serveNone, xdpPass, "pass_not_udp"},
		{"icmp", frame{proto: unix.IPPROTO_ICMP, payload: make([]byte, 16)}.bytes(), serveNone, xdpPass, "pass_not_udp"},
		{"udp to 68", frame{dstPort: 68, payload: discover}.bytes(), serveNone, xdpPass, "pass_not_dhcp_port"},
		{"udp to 53", frame{dstPort: 53, payload: make([]byte, 30)}.bytes(), serveNone, xdpPass, "pass_not_dhcp_port"},
		{"first fragment (MF)", frame{fragOff: 0x2000, payload: discover}.bytes(), serveNone, xdpPass, "pass_fragment"},
		{"later fragment", frame{fragOff: 0x00b9, payload: discover}.bytes(), serveNone, xdpPass, "pass_fragment"},
		{"DF is not a fragment", frame{fragOff: 0x4000, payload: discover}.bytes(), serveNone, xdpDrop, "drop_partner"},
		{"ip options", frame{ihl: 6, payload: discover}.bytes(), serveNone, xdpPass, "pass_ip_options"},
		{"ip options max", frame{ihl: 15, payload: discover}.bytes(), serveNone, xdpPass, "pass_ip_options"},
		{"ihl 4", frame{ihl: 4, payload: discover}.bytes(), serveNone, xdpPass, "pass_malformed"},
		{"ip version 6 in ipv4 ethertype", frame{version: 6, payload: discover}.bytes(), serveNone, xdpPass, "pass_malformed"},
		{"truncated ethernet", frame{payload: discover, cut: 14}.bytes()[:14], serveNone, xdpPass, "pass_malformed"},
		{"truncated vlan tag", frame{vlans: []uint16{0x8100}, payload: discover, cut: 16}.bytes(), serveNone, xdpPass, "pass_vlan"},
		{"truncated ip", frame{payload: discover, cut: 14 + 19}.bytes(), serveNone, xdpPass, "pass_malformed"},
		{"truncated udp", frame{payload: discover, cut: 14 + 20 + 7}.bytes(), serveNone, xdpPass, "pass_malformed"},
		{"udp length < 8", frame{payload: discover, udpLenAdj: -len(discover) - 1}.bytes(), serveNone, xdpPass, "pass_malformed"},

		// DHCP the kernel cannot decide: to user space, never dropped.
		{"truncated dhcp (cut)", frame{payload: discover, cut: 14 + 20 + 8 + 100}.bytes(), serveNone, xdpPass, "redirect_truncated"},
		{"udp length beyond frame", frame{payload: discover, udpLenAdj: 10}.bytes(), serveNone, xdpPass, "redirect_truncated"},
		{"dhcp shorter than header", frame{payload: discover[:239]}.bytes(), serveNone, xdpDrop, "drop_short"},
		{"option runs past payload", frame{payload: raw(53, 1, 1, 61, 20, 1, 2, 3)}.bytes(), serveNone, xdpPass, "redirect_truncated"},
		{"option length byte missing", frame{payload: raw(53, 1, 1, 61)}.bytes(), serveNone, xdpPass, "redirect_truncated"},
		{"no magic cookie", frame{payload: func() []byte { p := raw(53, 1, 1, 255); p[236] = 0; return p }()}.bytes(), serveNone, xdpPass, "redirect_uncertain"},
		{"duplicate option 53", frame{payload: raw(53, 1, 1, 53, 1, 3, 255)}.bytes(), serveNone, xdpPass, "redirect_uncertain"},
		{"duplicate option 61", frame{payload: raw(53, 1, 1, 61, 2, 1, 2, 61, 2, 3, 4, 255)}.bytes(), serveNone, xdpPass, "redirect_uncertain"},
		{"option overload", frame{payload: raw(52, 1, 3, 53, 1, 1, 255)}.bytes(), serveNone, xdpPass, "redirect_uncertain"},
		{"option 53 length 2", frame{payload: raw(53, 2, 1, 0, 255)}.bytes(), serveNone, xdpPass, "redirect_uncertain"},
		{"option 61 empty", frame{payload: msg(t, dhcpv4.MessageTypeDiscover, nil, dhcpv4.OptClientIdentifier(nil))}.bytes(), serveNone, xdpPass, "redirect_uncertain"},
		{"hlen 17", frame{payload: msg(t, dhcpv4.MessageTypeDiscover, func(m *dhcpv4.DHCPv4) { m.ClientHWAddr = make(net.HardwareAddr, 17) })}.bytes(), serveNone, xdpPass, "redirect_uncertain"},
		{"too many options", frame{payload: raw(append(bytes.Repeat([]byte{224, 0}, 520), 53, 1, 1, 255)...)}.bytes(), serveNone, xdpPass, "redirect_uncertain"},
		{"no identifier (hlen 0, no option 61)", frame{payload: msg(t, dhcpv4.MessageTypeDiscover, func(m *dhcpv4.DHCPv4) { m.ClientHWAddr = nil })}.bytes(), serveNone, xdpPass, "redirect_no_ident"},
		{"bootreply", frame{payload: msg(t, dhcpv4.MessageTypeOffer, func(m *dhcpv4.DHCPv4) { m.OpCode = dhcpv4.OpcodeBootReply })}.bytes(), serveNone, xdpDrop, "drop_not_request"},

		// Not load-balanced: every server takes it.
		{"no option 53 (bootp)", frame{payload: msg(t, 0, nil)}.bytes(), serveNone, xdpPass, "redirect_not_balanced"},
		{"leasequery (10)", frame{payload: msg(t, dhcpv4.MessageType(10), nil)}.bytes(), serveNone, xdpPass, "redirect_not_balanced"},
		{"offer (2) as request op", frame{payload: msg(t, dhcpv4.MessageTypeOffer, nil)}.bytes(), serveNone, xdpPass, "redirect_not_balanced"},
		{"decline with end only after pads", frame{payload: raw(0, 0, 0, 53, 1, 9, 255)}.bytes(), serveNone, xdpPass, "redirect_not_balanced"},

		// Balanced types: ours -> redirect, partner's -> drop.
		{"discover ours", frame{payload: discover}.bytes(), serveAll, xdpPass, "redirect_ours"},
		{"discover partner", frame{payload: discover}.bytes(), serveNone, xdpDrop, "drop_partner"},
		{"request partner", frame{payload: msg(t, dhcpv4.MessageTypeRequest, nil)}.bytes(), serveNone, xdpDrop, "drop_partner"},
		{"decline partner", frame{payload: msg(t, dhcpv4.MessageTypeDecline, nil)}.bytes(), serveNone, xdpDrop, "drop_partner"},
		{"release partner", frame{payload: msg(t, dhcpv4.MessageTypeRelease, nil)}.bytes(), serveNone, xdpDrop, "drop_partner"},
		{"inform partner", frame{payload: msg(t, dhcpv4.MessageTypeInform, nil)}.bytes(), serveNone, xdpDrop, "drop_partner"},
		{"inform ours", frame{payload: msg(t, dhcpv4.MessageTypeInform, nil)}.bytes(), serveAll, xdpPass, "redirect_ours"},
		// testMAC hashes to 52; client id 01:0a:0b:0c:0d:0e:0f to 34 (docs/kea/lb-hash.md §6 #11).
		{"chaddr bucket 52 served", frame{payload: discover}.bytes(), func(h int) bool { return h == 52 }, xdpPass, "redirect_ours"},
		{"chaddr bucket 52 not served", frame{payload: discover}.bytes(), func(h int) bool { return h != 52 }, xdpDrop, "drop_partner"},
		{"client id wins over chaddr", frame{payload: msg(t, dhcpv4.MessageTypeDiscover, nil, dhcpv4.OptClientIdentifier([]byte{1, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}))}.bytes(), func(h int) bool { return h == 34 }, xdpPass, "redirect_ours"},
		{"client id bucket not served", frame{payload: msg(t, dhcpv4.MessageTypeDiscover, nil, dhcpv4.OptClientIdentifier([]byte{1, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}))}.bytes(), func(h int) bool { return h == 52 }, xdpDrop, "drop_partner"},
		{"long client id", frame{payload: msg(t, dhcpv4.MessageTypeDiscover, nil, dhcpv4.OptClientIdentifier(longCID))}.bytes(), func(h int) bool { return h == int(lbhash.Hash(longCID)) }, xdpPass, "redirect_ours"},
		{"options after 70 others", frame{payload: raw(farOpts...)}.bytes(), func(h int) bool { return h == int(lbhash.Hash(farCID)) }, xdpPass, "redirect_ours"},
		{"options after 70 others, partner", frame{payload: raw(farOpts...)}.bytes(), func(h int) bool { return h != int(lbhash.Hash(farCID)) }, xdpDrop, "drop_partner"},
		{"options end at payload end", frame{payload: raw(53, 1, 1)}.bytes(), serveNone, xdpDrop, "drop_partner"},
		// Tagged frames belong to a VLAN sub-interface: the stack's.
		{"one vlan tag", frame{vlans: []uint16{0x8100}, payload: discover}.bytes(), serveAll, xdpPass, "pass_vlan"},
		{"one vlan tag, partner", frame{vlans: []uint16{0x8100}, payload: discover}.bytes(), serveNone, xdpPass, "pass_vlan"},
		{"two vlan tags (QinQ)", frame{vlans: []uint16{0x88a8, 0x8100}, payload: discover}.bytes(), serveAll, xdpPass, "pass_vlan"},
		{"old QinQ tpid 0x9100", frame{vlans: []uint16{0x9100}, payload: discover}.bytes(), serveAll, xdpPass, "pass_vlan"},
		{"trailing ethernet padding", append(frame{payload: discover}.bytes(), make([]byte, 20)...), serveNone, xdpDrop, "drop_partner"},
		{"hlen 16", frame{payload: msg(t, dhcpv4.MessageTypeDiscover, func(m *dhcpv4.DHCPv4) { m.ClientHWAddr = bytes.Repeat([]byte{7}, 16) })}.bytes(), func(h int) bool { return h == int(lbhash.Hash(bytes.Repeat([]byte{7}, 16))) }, xdpPass, "redirect_ours"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			setServe(t, d, tc.serve)
			ret, delta := run(t, d, tc.data)
			if ret != tc.want {
				t.Errorf("verdict %d, want %d", ret, tc.want)
			}
			if delta["rx_total"] != 1 {
				t.Errorf("rx_total +%d, want +1", delta["rx_total"])
			}
			var verdicts uint64
			for name, v := range delta {
				if isVerdict(name) {
					verdicts += v
					if name != tc.stat {
						t.Errorf("unexpected %s +%d", name, v)
					}
				}
			}
			if delta[tc.stat] != 1 || verdicts != 1 {
				t.Errorf("%s +%d (verdict counters +%d), want +1; deltas %v", tc.stat, delta[tc.stat], verdicts, delta)
			}
			// Test-run has no socket in the XSKMAP: every redirect falls back to PASS.
			wantNoSock := uint64(0)
			if strings.HasPrefix(tc.stat, "redirect_") {
				wantNoSock = 1
			}
			if delta["no_socket"] != wantNoSock {
				t.Errorf("no_socket +%d, want +%d", delta["no_socket"], wantNoSock)
			}
		})
	}
}

// TestHashMatchesLbhash checks that the kernel's bucket is lbhash.Hash of
// lbhash.KeyFromPayload for the docs/kea/lb-hash.md vectors and thousands of random
// keys: with only that bucket served the program keeps the query, with
// every other bucket served it drops it.
func TestHashMatchesLbhash(t *testing.T) {
	d := loadTest(t)
	setServe(t, d, serveNone)
	r := rand.New(rand.NewPCG(2026, 74))

	type tcase struct {
		name    string
		payload []byte
	}
	var cases []tcase
	// docs/kea/lb-hash.md §6 vectors.
	vec := []struct {
		opt61  []byte
		chaddr []byte
		hlen   int
		hash   uint8
	}{
		{nil, []byte{0, 0, 0, 0, 0, 0}, 6, 254},
		{nil, []byte{0, 1, 2, 3, 4, 5}, 6, 161},
		{nil, []byte{0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}, 6, 31},
		{nil, []byte{0x08, 0, 0x27, 0x12, 0x34, 0x56}, 6, 52},
		{nil, []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}, 6, 57},
		{nil, []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66}, 6, 66},
		{nil, []byte{0x52, 0x54, 0, 0, 0, 1}, 6, 149},
		{nil, []byte{0x52, 0x54, 0, 0, 0, 2}, 6, 101},
		{nil, []byte{0x52, 0x54, 0, 0, 0, 3}, 6, 108},
		{nil, []byte{0x52, 0x54, 0, 0, 0, 4}, 6, 240},
		{[]byte{1, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}, []byte{0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}, 6, 34},
		{[]byte{1, 0, 1, 2, 3, 4, 5}, []byte{0, 0, 0, 0, 0, 0}, 6, 107},
		{[]byte{1, 0, 1, 2, 3, 4, 5}, []byte{0, 1, 2, 3, 4, 5}, 6, 107},
		{nil, []byte{0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0}, 8, 90},
		{nil, []byte{0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0}, 6, 31},
		{nil, []byte{0, 0, 0, 0, 0, 0, 0x10, 0}, 8, 195},
		{nil, []byte{0, 0, 0, 0, 0, 0, 0x10, 0}, 6, 254},
	}
	for i, v := range vec {
		p := make([]byte, 240, 300)
		p[0], p[1], p[2] = 1, 1, byte(v.hlen)
		copy(p[28:44], v.chaddr)
		copy(p[236:], []byte{99, 130, 83, 99})
		p = append(p, 53, 1, 1)
		if v.opt61 != nil {
			p = append(p, 61, byte(len(v.opt61)))
			p = append(p, v.opt61...)
		}
		p = append(p, 255)
		key, _ := lbhash.KeyFromPayload(p)
		if got := lbhash.Hash(key); got != v.hash {
			t.Fatalf("vector %d: lbhash %d, spec %d", i+1, got, v.hash)
		}
		cases = append(cases, tcase{name: "vector", payload: p})
	}
	// Random chaddr (hlen 1..16) and option 61 (1..255 bytes) keys, with
	// random other options in front so the key sits at varying offsets.
	for i := range 3000 {
		hw := make(net.HardwareAddr, 1+r.IntN(16))
		for j := range hw {
			hw[j] = byte(r.Uint32())
		}
		mods := []dhcpv4.Modifier{dhcpv4.WithHwAddr(hw), dhcpv4.WithMessageType(dhcpv4.MessageType([]int{1, 3, 4, 7, 8}[r.IntN(5)]))}
		if i%2 == 1 {
			cid := make([]byte, 1+r.IntN(255))
			for j := range cid {
				cid[j] = byte(r.Uint32())
			}
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClientIdentifier(cid)))
		}
		if r.IntN(2) == 0 {
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(strings.Repeat("h", 1+r.IntN(60)))))
		}
		m, err := dhcpv4.New(mods...)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, tcase{name: "random", payload: m.ToBytes()})
	}

	for i, c := range cases {
		key, ok := lbhash.KeyFromPayload(c.payload)
		if !ok {
			t.Fatalf("case %d: no key", i)
		}
		want := uint32(lbhash.Hash(key))
		data := frame{payload: c.payload}.bytes()

		if err := d.objs.XdhcpBuckets.Put(want, xdhcpXdhcpBucketOwnerXDHCP_BUCKET_OURS); err != nil {
			t.Fatal(err)
		}
		ret, delta := run(t, d, data)
		if ret != xdpPass || delta["redirect_ours"] != 1 {
			t.Fatalf("%s case %d key %x: only bucket %d served: verdict %d deltas %v (kernel hash differs from lbhash)", c.name, i, key, want, ret, delta)
		}
		if err := d.objs.XdhcpBuckets.Put(want, xdhcpXdhcpBucketOwnerXDHCP_BUCKET_PARTNER); err != nil {
			t.Fatal(err)
		}
		// Other buckets served, ours not: must drop.
		other := (want + 1 + uint32(r.IntN(255))) % 256
		if err := d.objs.XdhcpBuckets.Put(other, xdhcpXdhcpBucketOwnerXDHCP_BUCKET_OURS); err != nil {
			t.Fatal(err)
		}
		ret, delta = run(t, d, data)
		if ret != xdpDrop || delta["drop_partner"] != 1 {
			t.Fatalf("%s case %d key %x: bucket %d not served: verdict %d deltas %v", c.name, i, key, want, ret, delta)
		}
		if err := d.objs.XdhcpBuckets.Put(other, xdhcpXdhcpBucketOwnerXDHCP_BUCKET_PARTNER); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d keys: kernel bucket == lbhash.Hash", len(cases))
}

func TestSocketsAndBuckets(t *testing.T) {
	d := loadTest(t)
	for _, q := range []int{-1, Buckets} {
		if err := d.RegisterSocket(q, 3); err == nil {
			t.Errorf("RegisterSocket(%d) succeeded", q)
		}
		if err := d.UnregisterSocket(q); err == nil {
			t.Errorf("UnregisterSocket(%d) succeeded", q)
		}
	}
	// An empty slot is fine to remove.
	if err := d.UnregisterSocket(0); err != nil {
		t.Errorf("UnregisterSocket(0) on empty slot: %v", err)
	}
	// A non-XSK fd is rejected by the kernel.
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := d.RegisterSocket(0, int(f.Fd())); err == nil {
		t.Error("RegisterSocket with /dev/null fd succeeded")
	}

	var serve [Buckets]bool
	for h := range serve {
		serve[h] = h%2 == 0
	}
	if err := d.SetBuckets(serve); err != nil {
		t.Fatal(err)
	}
	for h := range Buckets {
		var v xdhcpXdhcpBucketOwner
		if err := d.objs.XdhcpBuckets.Lookup(uint32(h), &v); err != nil {
			t.Fatal(err)
		}
		if (v == xdhcpXdhcpBucketOwnerXDHCP_BUCKET_OURS) != serve[h] || v > xdhcpXdhcpBucketOwnerXDHCP_BUCKET_OURS {
			t.Fatalf("bucket %d = %d, want %v", h, v, serve[h])
		}
	}
}

func TestStatsSumOverCPUs(t *testing.T) {
	d := loadTest(t)
	setServe(t, d, serveNone)
	data := frame{payload: msg(t, dhcpv4.MessageTypeDiscover, nil)}.bytes()
	ret, err := d.Program().Run(&ebpf.RunOptions{Data: data, Repeat: 50})
	if err != nil || ret != xdpDrop {
		t.Fatalf("run: %d %v", ret, err)
	}
	s, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s["rx_total"] != 50 || s["drop_partner"] != 50 {
		t.Fatalf("stats %v, want rx_total 50 drop_partner 50", s)
	}
	var sum uint64
	for name, v := range s {
		if isVerdict(name) {
			sum += v
		}
	}
	if sum != s["rx_total"] {
		t.Fatalf("verdicts sum %d != rx_total %d", sum, s["rx_total"])
	}
}

// mountBPFFS mounts a private bpffs for pin tests.
func mountBPFFS(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("bpf", dir, "bpf", 0, ""); err != nil {
		if testenv.Required() {
			t.Fatalf("mount bpffs: %v", err)
		}
		t.Skipf("mount bpffs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

func TestPinning(t *testing.T) {
	testenv.RequireBPF(t)
	root := filepath.Join(mountBPFFS(t), "xdhcp")
	d, err := Load(Options{PinPath: root})
	if err != nil {
		t.Fatalf("load pinned: %v", err)
	}
	setServe(t, d, serveNone)
	if ret, err := d.Program().Run(&ebpf.RunOptions{Data: frame{payload: msg(t, dhcpv4.MessageTypeDiscover, nil)}.bytes()}); err != nil || ret != xdpDrop {
		t.Fatalf("run: %d %v", ret, err)
	}
	for _, n := range []string{"xdhcp_stats", "xdhcp_buckets", "xdhcp_xsks", "xdhcp_xdp"} {
		if _, err := os.Stat(filepath.Join(root, n)); err != nil {
			t.Errorf("pin %s: %v", n, err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// A restart reuses the pinned maps: the counters survive.
	d2, err := Load(Options{PinPath: root})
	if err != nil {
		t.Fatalf("reload pinned: %v", err)
	}
	defer d2.Close()
	s, err := d2.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s["drop_partner"] != 1 {
		t.Fatalf("pinned stats after reload: %v, want drop_partner 1", s)
	}
}

func BenchmarkProgramRun(b *testing.B) {
	d := loadTest(b)
	setServe(b, d, func(h int) bool { return h%2 == 0 })
	cid := []byte{1, 0x52, 0x54, 0, 0x12, 0x34, 0x56}
	for _, bc := range []struct {
		name string
		data []byte
		want uint32
	}{
		{"arp", frame{etherType: 0x0806, payload: make([]byte, 28)}.bytes(), xdpPass},
		{"discover-chaddr", frame{payload: msg(b, dhcpv4.MessageTypeDiscover, nil, dhcpv4.OptParameterRequestList(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer, dhcpv4.OptionDomainName, dhcpv4.OptionIPAddressLeaseTime, dhcpv4.OptionServerIdentifier))}.bytes(), xdpPass},
		{"request-clientid", frame{payload: msg(b, dhcpv4.MessageTypeRequest, nil, dhcpv4.OptClientIdentifier(cid), dhcpv4.OptHostName("host-1"), dhcpv4.OptParameterRequestList(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer, dhcpv4.OptionDomainName, dhcpv4.OptionIPAddressLeaseTime, dhcpv4.OptionServerIdentifier))}.bytes(), xdpDrop},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ret, per, err := d.Program().Benchmark(bc.data, b.N, b.ResetTimer)
			if err != nil {
				b.Fatal(err)
			}
			if ret != bc.want {
				b.Fatalf("verdict %d, want %d", ret, bc.want)
			}
			b.ReportMetric(float64(per.Nanoseconds()), "ns/pkt")
		})
	}
}

// ---- attach ----

// xdpProgID returns the XDP program id attached to name in ns (0 = none).
func xdpProgID(t *testing.T, ns *testenv.Netns, name string) (id uint32, mode uint32) {
	t.Helper()
	err := ns.Do(func() error {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return err
		}
		if x := l.Attrs().Xdp; x != nil && x.Attached {
			id, mode = x.ProgId, x.AttachMode
		}
		return nil
	})
	if err != nil {
		t.Fatalf("link %s: %v", name, err)
	}
	return id, mode
}

func progID(t *testing.T, p *ebpf.Program) uint32 {
	t.Helper()
	info, err := p.Info()
	if err != nil {
		t.Fatal(err)
	}
	id, ok := info.ID()
	if !ok {
		t.Skip("kernel does not report program ids")
	}
	return uint32(id)
}

// attachNetlink attaches p to name in ns the old way (RTM_SETLINK), which
// outlives the process that did it: a crashed run's leftover.
func attachNetlink(t *testing.T, ns *testenv.Netns, name string, p *ebpf.Program, mode Mode) {
	t.Helper()
	flags := unix.XDP_FLAGS_DRV_MODE
	if mode == ModeGeneric {
		flags = unix.XDP_FLAGS_SKB_MODE
	}
	err := ns.Do(func() error {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return err
		}
		return netlink.LinkSetXdpFdWithFlags(l, p.FD(), flags)
	})
	if err != nil {
		t.Fatalf("netlink attach to %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = ns.Do(func() error {
			l, err := netlink.LinkByName(name)
			if err == nil {
				_ = netlink.LinkSetXdpFdWithFlags(l, -1, flags)
			}
			return nil
		})
	})
}

func TestAttach(t *testing.T) {
	testenv.RequireBPF(t)
	for _, mode := range []Mode{ModeNative, ModeGeneric} {
		t.Run(mode.String(), func(t *testing.T) {
			srv, cli := testenv.NewNetns(t), testenv.NewNetns(t)
			testenv.Veth(t, srv, "xs0", "198.18.0.1/24", cli, "xc0", "198.18.0.2/24")
			ifindex := 0
			if err := srv.Do(func() error {
				ifc, err := net.InterfaceByName("xs0")
				if err == nil {
					ifindex = ifc.Index
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			wantMode := uint32(nl.XDP_ATTACHED_DRV)
			if mode == ModeGeneric {
				wantMode = nl.XDP_ATTACHED_SKB
			}

			// A stale xdhcp program left by a "crashed" run via netlink.
			stale := loadTest(t)
			attachNetlink(t, srv, "xs0", stale.Program(), mode)
			if id, _ := xdpProgID(t, srv, "xs0"); id != progID(t, stale.Program()) {
				t.Fatalf("stale program not attached (id %d)", id)
			}

			d := loadTest(t)
			if err := srv.Do(func() error { return d.Attach(ifindex, mode) }); err != nil {
				t.Fatalf("attach over stale program: %v", err)
			}
			t.Cleanup(func() { _ = d.Detach() })
			id, m := xdpProgID(t, srv, "xs0")
			if id != progID(t, d.Program()) || m != wantMode {
				t.Fatalf("attached id %d mode %d, want id %d mode %d", id, m, progID(t, d.Program()), wantMode)
			}

			// Re-attaching from the same Datapath replaces its own link.
			if err := srv.Do(func() error { return d.Attach(ifindex, mode) }); err != nil {
				t.Fatalf("re-attach: %v", err)
			}
			if id, _ := xdpProgID(t, srv, "xs0"); id != progID(t, d.Program()) {
				t.Fatalf("after re-attach id %d", id)
			}

			// Traffic goes through the program: the client's broadcast DISCOVER
			// (partner bucket, nothing served) is counted and dropped.
			setServe(t, d, serveNone)
			// Delivery to the peer is asynchronous (NAPI): resend and poll a
			// bounded number of times; this asserts an event, not a duration.
			var (
				s   Stats
				err error
			)
			for range 100 {
				sendDiscover(t, cli)
				if s, err = d.Stats(); err != nil {
					t.Fatal(err)
				}
				if s["drop_partner"] > 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if s["rx_total"] == 0 || s["drop_partner"] == 0 {
				t.Errorf("after DISCOVERs through the veth: %v", s)
			}

			if err := d.Detach(); err != nil {
				t.Fatalf("detach: %v", err)
			}
			if id, _ := xdpProgID(t, srv, "xs0"); id != 0 {
				t.Fatalf("program %d still attached after Detach", id)
			}
		})
	}
}

// TestAttachRefusesForeignProgram: a program that is not xdhcp_xdp stays.
func TestAttachRefusesForeignProgram(t *testing.T) {
	testenv.RequireBPF(t)
	srv, cli := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srv, "xs0", "", cli, "xc0", "")
	foreign, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "other_xdp", Type: ebpf.XDP, License: "MIT",
		Instructions: asm.Instructions{asm.LoadImm(asm.R0, 2, asm.DWord), asm.Return()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	attachNetlink(t, srv, "xs0", foreign, ModeGeneric)
	d := loadTest(t)
	err = srv.Do(func() error {
		ifc, err := net.InterfaceByName("xs0")
		if err != nil {
			return err
		}
		return d.Attach(ifc.Index, ModeGeneric)
	})
	if err == nil || !strings.Contains(err.Error(), "not ours") {
		t.Fatalf("attach over a foreign program: err %v, want a refusal", err)
	}
	if id, _ := xdpProgID(t, srv, "xs0"); id != progID(t, foreign) {
		t.Fatalf("foreign program replaced (now id %d)", id)
	}
}

// TestAttachReplacesPinnedLink: a bpf_link pinned by an earlier run keeps
// its program attached after the process is gone; Attach detaches it.
func TestAttachReplacesPinnedLink(t *testing.T) {
	testenv.RequireBPF(t)
	fs := mountBPFFS(t)
	srv, cli := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srv, "xs0", "", cli, "xc0", "")
	var ifindex int
	old := loadTest(t)
	if err := srv.Do(func() error {
		ifc, err := net.InterfaceByName("xs0")
		if err != nil {
			return err
		}
		ifindex = ifc.Index
		return old.Attach(ifindex, ModeNative)
	}); err != nil {
		t.Fatal(err)
	}
	pin := filepath.Join(fs, "stale_link")
	if err := old.links[ifindex].Pin(pin); err != nil {
		t.Fatalf("pin link: %v", err)
	}
	t.Cleanup(func() { _ = os.Remove(pin) })
	// "Crash": close our fds without unpinning; the pin keeps the link.
	if err := old.links[ifindex].Close(); err != nil {
		t.Fatal(err)
	}
	old.links = map[int]link.Link{}
	_ = old.objs.Close()

	d := loadTest(t)
	if err := srv.Do(func() error { return d.Attach(ifindex, ModeGeneric) }); err != nil {
		t.Fatalf("attach over pinned link: %v", err)
	}
	id, m := xdpProgID(t, srv, "xs0")
	if id != progID(t, d.Program()) || m != nl.XDP_ATTACHED_SKB {
		t.Fatalf("attached id %d mode %d, want %d generic", id, m, progID(t, d.Program()))
	}
}

// sendDiscover broadcasts one DHCPDISCOVER from ns (out of xc0) to port 67.
func sendDiscover(t *testing.T, ns *testenv.Netns) {
	t.Helper()
	m, err := dhcpv4.NewDiscovery(testMAC)
	if err != nil {
		t.Fatal(err)
	}
	err = ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
			return err
		}
		if err := unix.BindToDevice(fd, "xc0"); err != nil {
			return err
		}
		return unix.Sendto(fd, m.ToBytes(), 0, &unix.SockaddrInet4{Port: 67, Addr: [4]byte{255, 255, 255, 255}})
	})
	if err != nil {
		t.Fatalf("send discover: %v", err)
	}
}
