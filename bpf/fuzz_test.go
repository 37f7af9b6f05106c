//go:build linux

package bpf

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/ha/lbhash"
	"github.com/xdhcp/xdhcp/userspace/admission"
)

// ---- the model: xdhcp.c's decision in Go, from ha/lbhash and admission ----

// modelResult is what the model expects for one frame.
type modelResult struct {
	stat   string // the verdict counter
	bucket int    // RFC 3074 hash of the client key, -1 if the program gets no key
	key    uint64 // client key when bucket >= 0
	limit  bool   // a DISCOVER/REQUEST that reaches the rate limits if served
	relay  uint64 // its relay key
}

// verdict is the XDP return code Program.Run gives for stat (no socket is
// bound in test runs, so a redirect falls back to PASS).
func (r modelResult) verdict() uint32 {
	if len(r.stat) > 5 && r.stat[:5] == "drop_" {
		return xdpDrop
	}
	return xdpPass
}

type model struct {
	mac      [6]byte
	local    map[[4]byte]bool // true: local, false: subnet broadcast
	serve    [Buckets]bool
	limiter  *admission.Limiter
	known    *admission.KnownSet
	limits   admission.Limits
	clock    uint64
	resetCnt int
}

// classify mirrors classify() and classify_dhcp() in xdhcp.c up to the
// bucket; decide applies the bucket and the limits.
func (m *model) classify(f []byte) modelResult {
	r := modelResult{bucket: -1}
	res := func(s string) modelResult { r.stat = s; return r }
	if len(f) < 14 {
		return res("pass_malformed")
	}
	switch binary.BigEndian.Uint16(f[12:]) {
	case 0x8100, 0x88a8, 0x9100:
		return res("pass_vlan")
	case 0x0800:
	default:
		return res("pass_not_ip")
	}
	if len(f) < 34 || f[14]>>4 != 4 || f[14]&15 < 5 || int(binary.BigEndian.Uint16(f[16:])) < int(f[14]&15)*4 {
		return res("pass_malformed")
	}
	if f[23] != 17 {
		return res("pass_not_udp")
	}
	if binary.BigEndian.Uint16(f[20:])&0x3fff != 0 {
		return res("pass_fragment")
	}
	if f[14]&15 != 5 {
		return res("pass_ip_options")
	}
	if len(f) < 42 {
		return res("pass_malformed")
	}
	if binary.BigEndian.Uint16(f[36:]) != 67 {
		return res("pass_not_dhcp_port")
	}
	dst := [6]byte(f[0:6])
	set := m.mac != [6]byte{}
	if dst != [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} && !(set && dst == m.mac) {
		return res("pass_not_our_mac")
	}
	unicast := false
	if daddr := [4]byte(f[30:34]); daddr != [4]byte{255, 255, 255, 255} {
		loc, ok := m.local[daddr]
		if !ok {
			return res("pass_not_our_ip")
		}
		unicast = loc
	}
	udpLen := int(binary.BigEndian.Uint16(f[38:]))
	if udpLen < 8 {
		return res("pass_malformed")
	}
	if 34+udpLen > len(f) {
		return res("redirect_truncated")
	}
	d := f[42 : 34+udpLen]
	if len(d) < 240 {
		return res("drop_short")
	}
	if d[0] != 1 {
		return res("drop_not_request")
	}
	if [4]byte(d[236:240]) != [4]byte{99, 130, 83, 99} {
		return res("redirect_uncertain")
	}
	// The option walk (scan_options): 512 option headers at most, an
	// area of at most 2048 bytes.
	area := d[240:]
	base := 42 + 240 // absolute offset of the area in the frame
	if len(area) > 2048 {
		return res("redirect_uncertain")
	}
	var (
		typ                        byte
		hasType, hasCID, uncertain bool
		cidOff, cidLen             int
		done                       bool
	)
	off := 0
	for range 512 {
		if off >= len(area) {
			done = true
			break
		}
		code := area[off]
		if code == 0 {
			off++
			continue
		}
		if code == 255 {
			done = true
			break
		}
		if off+2 > len(area) {
			return res("redirect_truncated")
		}
		olen := int(area[off+1])
		if off+2+olen > len(area) {
			return res("redirect_truncated")
		}
		switch code {
		case 53:
			if hasType || olen != 1 {
				uncertain = true
			}
			hasType = true
			if base+off+3 > len(f) { // the program reads the value byte within the frame
				return res("redirect_truncated")
			}
			typ = f[base+off+2]
		case 61:
			if hasCID {
				uncertain = true
			}
			hasCID, cidOff, cidLen = true, off+2, olen
		case 52:
			uncertain = true
		}
		off += 2 + olen
	}
	if !done || uncertain {
		return res("redirect_uncertain")
	}
	if !hasType || !lbhash.Balanced(dhcpv4.MessageType(typ)) {
		return res("redirect_not_balanced")
	}
	var cid, hw []byte
	if hasCID {
		if cidLen == 0 {
			return res("redirect_uncertain")
		}
		cid = area[cidOff : cidOff+cidLen]
	} else {
		hlen := int(d[2])
		if hlen == 0 {
			return res("redirect_no_ident")
		}
		if hlen > 16 {
			return res("redirect_uncertain")
		}
		hw = d[28 : 28+hlen]
	}
	r.key, _ = admission.ClientKey(cid, hw)
	if cid != nil {
		r.bucket = int(lbhash.Hash(cid))
	} else {
		r.bucket = int(lbhash.Hash(hw))
	}
	r.limit = typ == 1 || typ == 3
	r.relay = admission.RelayKey(netip.AddrFrom4([4]byte(d[24:28])), unicast)
	return r
}

// decide finishes r with the served buckets and the limits (consuming
// tokens in the model's limiter as the kernel does in its maps).
func (m *model) decide(r modelResult) modelResult {
	if r.bucket < 0 {
		return r
	}
	if !m.serve[r.bucket] {
		r.stat = "drop_partner"
		return r
	}
	r.stat = "redirect_ours"
	if r.limit {
		if v := m.limiter.AdmitKey(r.key, r.relay); v != admission.Admit {
			r.stat = v.String()
		}
	}
	return r
}

// ---- the harness ----

var fuzzLimits = admission.Limits{Enabled: true, ClientRate: 1, ClientBurst: 2, RelayRate: 2, RelayBurst: 4, UnknownRate: 5, UnknownBurst: 8, TableSize: 1 << 16}

// fuzzResetEvery bounds the distinct bucket keys between resets, so that
// neither side's table evicts (their eviction orders differ).
const fuzzResetEvery = 200

func (m *model) reset(t testing.TB, d *Datapath) {
	t.Helper()
	m.limiter = admission.NewLimiter(fuzzLimits, admission.Options{Known: m.known, Now: func() uint64 { return m.clock }})
	var (
		k    xdhcpXdhcpLimitKey
		v    xdhcpXdhcpTokens
		keys []xdhcpXdhcpLimitKey
	)
	it := d.objs.XdhcpLimits.Iterate()
	for it.Next(&k, &v) {
		keys = append(keys, k)
	}
	if err := it.Err(); err != nil {
		t.Fatalf("list limits: %v", err)
	}
	for _, k := range keys {
		if err := d.objs.XdhcpLimits.Delete(k); err != nil {
			t.Fatalf("reset limits: %v", err)
		}
	}
	if err := d.objs.XdhcpGlobal.Put(uint32(0), xdhcpXdhcpTokens{}); err != nil {
		t.Fatalf("reset global: %v", err)
	}
	m.resetCnt = 0
}

func (m *model) setClock(t testing.TB, d *Datapath) {
	t.Helper()
	l := m.limits
	err := d.SetConfig(Config{MAC: m.mac, RateLimits: l.Enabled, ClientRate: l.ClientRate, ClientBurst: l.ClientBurst,
		RelayRate: l.RelayRate, RelayBurst: l.RelayBurst, UnknownRate: l.UnknownRate, UnknownBurst: l.UnknownBurst, ClockNs: m.clock})
	if err != nil {
		t.Fatalf("set config: %v", err)
	}
}

// fuzzFrame builds the frame for one input. shape bits:
//
//	0-1 destination MAC: broadcast, ours, another host's, zero
//	2-3 destination IP: 255.255.255.255, ours, subnet broadcast, another host's
//	4   payload is the whole frame (raw), else the DHCP payload
//	5-6 a VLAN tag, a fragment, IP options, or none
//	7   the client is known (its key is added first)
//	8   serve only the client's bucket, else every other bucket
//	9   destination port 68
//	16-27 cut the frame to this many bytes, if not 0
func fuzzFrame(shape uint32, payload []byte) []byte {
	if shape&(1<<4) != 0 {
		return payload
	}
	f := frame{payload: payload}
	switch shape & 3 {
	case 1:
		f.dstMAC = &ourMAC
	case 2:
		f.dstMAC = &otherMAC
	case 3:
		f.dstMAC = &[6]byte{}
	}
	switch shape >> 2 & 3 {
	case 1:
		f.dstIP = ourIP
	case 2:
		f.dstIP = subBcast
	case 3:
		f.dstIP = otherIP
	}
	switch shape >> 5 & 3 {
	case 1:
		f.vlans = []uint16{0x8100}
	case 2:
		f.fragOff = 0x2000
	case 3:
		f.ihl = 6
	}
	if shape&(1<<9) != 0 {
		f.dstPort = 68
	}
	f.cut = int(shape >> 16 & 0xfff)
	return f.bytes()
}

func FuzzProgramVsModel(f *testing.F) {
	d := loadTest(f)
	m := &model{mac: ourMAC, local: map[[4]byte]bool{ourIP.As4(): true, ourIP2.As4(): true, subBcast.As4(): false},
		known: admission.NewKnownSet(1 << 16), limits: fuzzLimits, clock: 1e9}
	if err := d.SetAddrs([]netip.Addr{ourIP, ourIP2}, []netip.Addr{subBcast}); err != nil {
		f.Fatal(err)
	}
	m.reset(f, d)

	// Seeds: one per verdict.
	disc := msg(f, dhcpv4.MessageTypeDiscover, nil)
	req := msg(f, dhcpv4.MessageTypeRequest, func(x *dhcpv4.DHCPv4) { x.GatewayIPAddr = relayA.AsSlice() }, dhcpv4.OptClientIdentifier([]byte{1, 2, 3, 4, 5, 6, 7}))
	const (
		ours      = 1 << 8
		unicastUs = 1 | 1<<2
	)
	for _, s := range []struct {
		shape, dt uint32
		payload   []byte
	}{
		{ours, 0, disc},                         // redirect_ours
		{0, 0, disc},                            // drop_partner
		{ours, 0, disc},                         // drop_rate_client (third within the burst of 2)
		{ours | unicastUs, 1e6, req},            // redirect_ours, relay A
		{ours | unicastUs | 1<<7, 1e6, req},     // known
		{ours | 2, 0, disc},                     // pass_not_our_mac
		{ours | 1 | 3<<2, 0, disc},              // pass_not_our_ip
		{ours | 2<<2, 0, disc},                  // subnet broadcast
		{ours | 1<<5, 0, disc},                  // pass_vlan
		{ours | 2<<5, 0, disc},                  // pass_fragment
		{ours | 3<<5, 0, disc},                  // pass_ip_options
		{ours | 1<<9, 0, disc},                  // pass_not_dhcp_port
		{ours | 100<<16, 0, disc},               // redirect_truncated
		{ours, 0, disc[:239]},                   // drop_short
		{ours, 0, raw(53, 1, 1, 53, 1, 3, 255)}, // redirect_uncertain
		{ours, 0, raw(53, 1, 9, 255)},           // redirect_not_balanced
		{ours, 0, raw(52, 1, 3, 53, 1, 1, 255)}, // overload
		{ours, 0, msg(f, dhcpv4.MessageTypeOffer, func(x *dhcpv4.DHCPv4) { x.OpCode = dhcpv4.OpcodeBootReply })}, // not_request
		{ours, 0, msg(f, dhcpv4.MessageTypeDiscover, func(x *dhcpv4.DHCPv4) { x.ClientHWAddr = nil })},           // no_ident
		{ours | 1<<4, 0, frame{etherType: 0x0806, payload: make([]byte, 28)}.bytes()},                            // pass_not_ip
		{ours | 1<<4, 0, frame{proto: 6, payload: disc}.bytes()},                                                 // pass_not_udp
		{ours | 1<<4, 0, frame{ihl: 4, payload: disc}.bytes()},                                                   // pass_malformed
		{ours | unicastUs, 3e9, msg(f, dhcpv4.MessageTypeDiscover, func(x *dhcpv4.DHCPv4) { x.GatewayIPAddr = relayB.AsSlice() })},
	} {
		f.Add(s.shape, s.dt, s.payload)
	}
	// Several runs of one seed drain the buckets: the rate-limit drops
	// (client, then relay A's, then the unknown-client budget).
	for range 3 {
		f.Add(uint32(ours|unicastUs), uint32(0), req)
	}
	for i := range 18 {
		gi := relayA // its bucket drains
		if i >= 6 {
			gi = netip.AddrFrom4([4]byte{198, 18, 9, byte(i)}) // fresh relays: the global budget drains
		}
		f.Add(uint32(ours|unicastUs), uint32(0), msg(f, dhcpv4.MessageTypeDiscover, func(x *dhcpv4.DHCPv4) {
			x.GatewayIPAddr = gi.AsSlice()
			x.ClientHWAddr = hw(100 + i)
		}))
	}

	// Without -fuzz the seeds run once each: check they reach every verdict.
	seen := map[string]bool{}
	if fl := flag.Lookup("test.fuzz"); fl == nil || fl.Value.String() == "" {
		f.Cleanup(func() {
			if f.Failed() {
				return
			}
			for _, n := range d.StatNames() {
				// The model has no renewal cache: the fuzz runs with
				// xdhcp_config.renew off, and the kernel renewal verdicts
				// are userspace/renewcache's tests' (TestKernelRenew*).
				if n == "tx_renew" || n == "drop_renew_build" {
					continue
				}
				if isVerdict(n) && !seen[n] {
					f.Errorf("no seed reaches %s", n)
				}
			}
		})
	}

	f.Fuzz(func(t *testing.T, shape, dt uint32, payload []byte) {
		data := fuzzFrame(shape, payload)
		if len(data) < 14 || len(data) > 3000 {
			return // Program.Run refuses these sizes
		}
		if m.resetCnt++; m.resetCnt > fuzzResetEvery {
			m.reset(t, d)
		}
		m.clock += uint64(dt)
		m.setClock(t, d)

		r := m.classify(data)
		// Served buckets: only the client's, or all but the client's.
		for h := range m.serve {
			m.serve[h] = true
		}
		if r.bucket >= 0 {
			for h := range m.serve {
				m.serve[h] = (h == r.bucket) == (shape&(1<<8) != 0)
			}
			if shape&(1<<7) != 0 {
				m.known.Update([]uint64{r.key}, nil)
				if err := d.UpdateKnown([]uint64{r.key}, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := d.SetBuckets(m.serve); err != nil {
			t.Fatal(err)
		}
		r = m.decide(r)

		before, err := d.Stats()
		if err != nil {
			t.Fatal(err)
		}
		ret, err := d.Program().Run(&ebpf.RunOptions{Data: data})
		if err != nil {
			t.Fatalf("program run (%d bytes): %v", len(data), err)
		}
		after, err := d.Stats()
		if err != nil {
			t.Fatal(err)
		}
		var moved []string
		for n, v := range after {
			if v != before[n] && isVerdict(n) {
				moved = append(moved, fmt.Sprintf("%s+%d", n, v-before[n]))
			}
		}
		if after["rx_total"]-before["rx_total"] != 1 || len(moved) != 1 || moved[0] != r.stat+"+1" || ret != r.verdict() {
			t.Fatalf("kernel: verdict %d, counters %v; model: verdict %d, %s (bucket %d, key %#x, relay %#x, clock %d)\nframe % x",
				ret, moved, r.verdict(), r.stat, r.bucket, r.key, r.relay, m.clock, data)
		}
		seen[r.stat] = true
		wantNoSock := uint64(0)
		if r.stat[:5] == "redir" {
			wantNoSock = 1
		}
		if after["no_socket"]-before["no_socket"] != wantNoSock {
			t.Fatalf("no_socket +%d, want +%d (%s)", after["no_socket"]-before["no_socket"], wantNoSock, r.stat)
		}
	})
}
