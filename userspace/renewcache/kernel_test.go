//go:build linux

package renewcache

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/bpf"
	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/packet"
)

// XDP verdicts (BPF_PROG_TEST_RUN return values).
const (
	xdpPass = 2
	xdpTX   = 3
)

// xdpMd is struct xdp_md, the test-run context (Linux 5.15).
type xdpMd struct {
	Data, DataEnd, DataMeta      uint32
	IngressIfindex, RxQueueIndex uint32
	EgressIfindex                uint32
}

var (
	srvMAC    = [6]byte{0x02, 0, 0, 0, 0, 1}
	routerMAC = [6]byte{0x02, 0, 0, 0, 0, 0xfe}
	srvAddr   = netip.MustParseAddr("198.18.0.1")
	t0        = time.Unix(1_800_000_000, 0)
	mono0     = uint64(5_000_000_000_000)
)

// lab is a server namespace with one veth port (198.18.0.1/24; a client
// neighbour 198.18.0.10 and a router 198.18.0.254 to 198.19.0.0/24), the
// XDP program (not attached: driven by BPF_PROG_TEST_RUN with the port as
// ingress), the engine, and a Cache writing the program's maps. The engine's
// wall clock and the program's monotonic clock move together.
type lab struct {
	t       testing.TB
	ns      *testenv.Netns
	ifindex int
	d       *bpf.Datapath
	c       *Cache
	e       *dhcp.Engine
	w       *dhcp.Worker
	now     int64  // unix seconds
	mono    uint64 // program clock, ns
}

func newLab(t testing.TB, cfgJSON string, forwarding bool) *lab {
	t.Helper()
	testenv.RequireBPF(t)
	srv, cli := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srv, "s0", "198.18.0.1/24", cli, "c0", "198.18.0.10/24")
	srv.Run(t, "ip", "link", "set", "s0", "address", net.HardwareAddr(srvMAC[:]).String())
	for i := 10; i <= 20; i++ {
		srv.Run(t, "ip", "neigh", "replace", fmt.Sprintf("198.18.0.%d", i), "lladdr", net.HardwareAddr{2, 0, 0, 0, 0, byte(i)}.String(), "dev", "s0", "nud", "permanent")
	}
	srv.Run(t, "ip", "neigh", "replace", "198.18.0.254", "lladdr", net.HardwareAddr(routerMAC[:]).String(), "dev", "s0", "nud", "permanent")
	srv.Run(t, "ip", "route", "add", "198.19.0.0/24", "via", "198.18.0.254")
	fw := "0"
	if forwarding {
		fw = "1"
	}
	srv.Run(t, "sysctl", "-q", "-w", "net.ipv4.conf.s0.forwarding="+fw)
	l := &lab{t: t, ns: srv, now: t0.Unix(), mono: mono0}
	if err := srv.Do(func() error {
		ifi, err := net.InterfaceByName("s0")
		if err != nil {
			return err
		}
		l.ifindex = ifi.Index
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	d, err := bpf.Load(bpf.Options{})
	if errors.Is(err, ebpf.ErrNotSupported) {
		t.Skipf("kernel lacks a needed feature: %v", err)
	}
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	l.d = d
	if err := d.SetBuckets(allBuckets()); err != nil {
		t.Fatal(err)
	}
	if err := d.SetAddrs([]netip.Addr{srvAddr}, nil); err != nil {
		t.Fatal(err)
	}
	l.setClock()
	if l.c, err = New(d); err != nil {
		t.Fatal(err)
	}
	l.c.clock = func() (time.Time, uint64) { return time.Unix(l.now, 0), l.mono }

	cfg, _, err := config.Parse("test.json", []byte(cfgJSON))
	if err != nil {
		t.Fatalf("parse config: %v", err)
	}
	st, _, err := lease.Open(lease.Options{Persist: false, Now: func() time.Time { return time.Unix(l.now, 0) },
		OnChange: func(c lease.Change) {
			for _, x := range []*lease.Lease{c.Old, c.New} {
				if x != nil {
					l.c.Forget(x.Addr)
				}
			}
			if e := l.e; e != nil {
				e.LeaseChanged(c)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if l.e, err = dhcp.New(cfg, dhcp.Deps{Store: st, Clock: func() time.Time { return time.Unix(l.now, 0) }}); err != nil {
		t.Fatal(err)
	}
	l.w = l.e.NewWorker()
	l.c.SetCheck(func(w *dhcp.ReuseWindow) bool {
		cur, ok := st.Get(w.Addr)
		return ok && cur.State == lease.StateDefault && cur.CLTT == w.CLTT && cur.ValidLifetime == w.Valid
	})
	return l
}

func (l *lab) setClock() {
	l.t.Helper()
	if err := l.d.SetConfig(bpf.Config{MAC: srvMAC, ClockNs: l.mono, Renew: true}); err != nil {
		l.t.Fatal(err)
	}
}

func (l *lab) advance(s int64) {
	l.now += s
	l.mono += uint64(s) * uint64(time.Second)
	l.setClock()
}

// client describes one client's messages.
type client struct {
	hw    net.HardwareAddr
	cid   []byte // option 61 data, nil for none
	extra []dhcpv4.Option
	prl   []dhcpv4.OptionCode
	relay netip.Addr // renewals relayed (giaddr, option 82) when valid
	rai   []byte     // option 82 data the relay adds
}

func (c *client) msg(t testing.TB, xid byte, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	all := []dhcpv4.Modifier{dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithHwAddr(c.hw),
		dhcpv4.WithTransactionID(dhcpv4.TransactionID{9, 9, 9, xid})}
	if c.cid != nil {
		all = append(all, dhcpv4.WithOption(dhcpv4.OptClientIdentifier(c.cid)))
	}
	if c.prl != nil {
		all = append(all, dhcpv4.WithRequestedOptions(c.prl...))
	}
	for _, o := range c.extra {
		all = append(all, dhcpv4.WithOption(o))
	}
	m, err := dhcpv4.New(append(all, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// frame encodes m as sent from src to dst (client MAC to the server's).
func frame(t testing.TB, m *dhcpv4.DHCPv4, src, dst netip.Addr) []byte {
	t.Helper()
	f := packet.Frame{SrcMAC: [6]byte(m.ClientHWAddr), DstMAC: srvMAC, Src: src, Dst: dst,
		SrcPort: 68, DstPort: 67, Payload: m.ToBytes()}
	b, err := packet.AppendFrame(nil, &f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serve runs a frame through the engine as the AF_XDP path would and
// returns the reply, its frame (built with xdppath's addressing rules for
// the lab's neighbours) and the observation for the cache.
func (l *lab) serve(fr []byte) (*dhcp.Reply, []byte, *Observation) {
	l.t.Helper()
	var rf packet.Frame
	if err := packet.Decode(fr, &rf); err != nil {
		l.t.Fatalf("decode request: %v", err)
	}
	m, err := dhcpv4.FromBytes(rf.Payload)
	if err != nil {
		l.t.Fatalf("parse request: %v", err)
	}
	rep := l.w.Handle(&dhcp.Request{Msg: m, Iface: "s0", IfIndex: l.ifindex, IfAddr: srvAddr,
		Src: netip.AddrPortFrom(rf.Src, rf.SrcPort), Dst: rf.Dst, Len: len(rf.Payload), Time: time.Unix(l.now, 0)})
	if rep == nil || rep.Msg == nil {
		return rep, nil, nil
	}
	out := packet.Frame{SrcMAC: srvMAC, Src: packet.ReplySource(rf.Dst, srvAddr), Dst: rep.Dest.IP,
		SrcPort: 67, DstPort: rep.Dest.Port}
	switch {
	case rep.Dest.Kind == packet.DestBroadcast:
		out.DstMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	case netip.MustParsePrefix("198.18.0.0/24").Contains(rep.Dest.IP) && rep.Dest.IP.As4()[3] >= 10 && rep.Dest.IP.As4()[3] <= 20:
		out.DstMAC = [6]byte{2, 0, 0, 0, 0, rep.Dest.IP.As4()[3]}
	case netip.MustParsePrefix("198.19.0.0/24").Contains(rep.Dest.IP), rep.Dest.IP == netip.MustParseAddr("198.18.0.254"):
		out.DstMAC = routerMAC
	case rep.Dest.Kind == packet.DestL2Unicast:
		out.DstMAC = [6]byte(rep.Dest.MAC)
	default:
		l.t.Fatalf("no neighbour for %v in the lab", rep.Dest)
	}
	out.Payload = rep.Msg.ToBytes()
	b, err := packet.AppendFrame(nil, &out)
	if err != nil {
		l.t.Fatal(err)
	}
	o := &Observation{Ifindex: uint32(l.ifindex), ReqSrc: rf.Src, ReqDst: rf.Dst, Req: rf.Payload,
		Tagged: rf.NumVLANs > 0, ReplySrc: out.Src, ReplyDst: out.Dst, ReplyPort: out.DstPort,
		Reply: out.Payload, Window: rep.Reuse, ReplySrcMAC: out.SrcMAC, ReplyDstMAC: out.DstMAC}
	return rep, b, o
}

// run runs the program on fr with the lab's port as ingress; it returns
// the verdict, the output frame and the counters that moved.
func (l *lab) run(fr []byte) (uint32, []byte, map[string]uint64) {
	l.t.Helper()
	before, err := l.d.Stats()
	if err != nil {
		l.t.Fatal(err)
	}
	out := make([]byte, len(fr)+1024)
	var ret uint32
	ctx := xdpMd{DataEnd: uint32(len(fr)), IngressIfindex: uint32(l.ifindex)}
	opts := &ebpf.RunOptions{Data: fr, DataOut: out, Context: &ctx}
	if err := l.ns.Do(func() error {
		var err error
		ret, err = l.d.Program().Run(opts)
		return err
	}); err != nil {
		l.t.Fatalf("program run: %v", err)
	}
	after, err := l.d.Stats()
	if err != nil {
		l.t.Fatal(err)
	}
	moved := map[string]uint64{}
	for k, v := range after {
		if v != before[k] {
			moved[k] = v - before[k]
		}
	}
	return ret, opts.DataOut, moved
}

const labConfig = `{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "s0" ] },
  "lease-database": { "type": "memfile", "persist": false },
  "valid-lifetime": 3600, "calculate-tee-times": true, "cache-threshold": 0.25,
  "option-data": [ { "name": "domain-name-servers", "data": "198.18.0.53, 198.18.0.54" },
                   { "name": "domain-name", "data": "example.test" } ],
  "subnet4": [
    { "id": 1, "subnet": "198.18.0.0/24", "pools": [ { "pool": "198.18.0.10 - 198.18.0.20" } ],
      "option-data": [ { "name": "routers", "data": "198.18.0.1" } ] %s },
    { "id": 2, "subnet": "198.19.0.0/24", "pools": [ { "pool": "198.19.0.10 - 198.19.0.20" } ],
      "renew-timer": 600, "rebind-timer": 1200, "next-server": "198.19.0.5", "boot-file-name": "pxe.0",
      "option-data": [ { "name": "routers", "data": "198.19.0.1" } ] } ]
} }`

// lease gets addr for c through SELECTING (the engine allocates it).
func (l *lab) lease(c *client, addr netip.Addr) {
	l.t.Helper()
	m := c.msg(l.t, 1, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(addr.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(srvAddr.AsSlice())))
	src, dst := netip.IPv4Unspecified(), netip.MustParseAddr("255.255.255.255")
	if !netip.MustParsePrefix("198.18.0.0/24").Contains(addr) {
		// Off-link: the first lease comes through a relay on the client's subnet.
		gi := netip.AddrFrom4([4]byte{addr.As4()[0], addr.As4()[1], addr.As4()[2], 1})
		m.GatewayIPAddr = gi.AsSlice()
		m.HopCount = 1
		src, dst = gi, srvAddr
	}
	rep, _, _ := l.serve(frame(l.t, m, src, dst))
	if rep == nil || rep.Msg == nil || rep.Msg.MessageType() != dhcpv4.MessageTypeAck || !rep.Msg.YourIPAddr.Equal(addr.AsSlice()) {
		l.t.Fatalf("no ACK for %s: %v", addr, rep)
	}
}

// renewal is c's RENEWING request for addr with xid x and secs s, as the
// server receives it (through c's relay, if any).
func (l *lab) renewal(c *client, addr netip.Addr, x byte, secs uint16, mods ...dhcpv4.Modifier) []byte {
	m := c.msg(l.t, x, append([]dhcpv4.Modifier{dhcpv4.WithClientIP(addr.AsSlice())}, mods...)...)
	m.NumSeconds = secs
	if c.relay.IsValid() {
		m.GatewayIPAddr = c.relay.AsSlice()
		m.HopCount = 1
		if c.rai != nil {
			m.Options.Update(dhcpv4.OptGeneric(dhcpv4.OptionRelayAgentInformation, c.rai))
		}
		return frame(l.t, m, c.relay, srvAddr)
	}
	return frame(l.t, m, addr, srvAddr)
}

// teach serves one renewal in user space and caches it.
func (l *lab) teach(c *client, addr netip.Addr) {
	l.t.Helper()
	_, _, o := l.serve(l.renewal(c, addr, 2, 0))
	if o == nil || o.Window == nil {
		l.t.Fatalf("renewal of %s has no reuse window", addr)
	}
	if err := l.c.Learn(o); err != nil {
		l.t.Fatalf("learn %s: %v", addr, err)
	}
}

// TestKernelRenewIdentical: for the same renewal, the ACK the XDP program
// builds (XDP_TX) is byte for byte the frame the user-space path sends for
// it (engine + xdppath addressing), across client-id/no client-id, options,
// fixed and calculated T1/T2, a routed client, sname/file, and ages up to
// the reuse limit; past the limit the kernel stays out (renew_stale) and
// user space writes the lease (and the entry is forgotten).
func TestKernelRenewIdentical(t *testing.T) {
	l := newLab(t, fmt.Sprintf(labConfig, ""), true)
	type tc struct {
		name string
		c    *client
		addr netip.Addr
	}
	cases := []tc{
		{"chaddr, calculated T1/T2", &client{hw: net.HardwareAddr{2, 0, 0, 0, 0, 10}}, netip.MustParseAddr("198.18.0.10")},
		{"client-id echoed, PRL", &client{hw: net.HardwareAddr{2, 0, 0, 0, 0, 11}, cid: []byte{1, 2, 0, 0, 0, 0, 11},
			prl: []dhcpv4.OptionCode{dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer}}, netip.MustParseAddr("198.18.0.11")},
		{"routed, fixed timers, next-server and file", &client{hw: net.HardwareAddr{2, 0, 0, 0, 0, 0x12},
			extra: []dhcpv4.Option{dhcpv4.OptClassIdentifier("PXEClient:Arch:00000")}}, netip.MustParseAddr("198.19.0.12")},
		{"relayed, option 82 and client-id echoed", &client{hw: net.HardwareAddr{2, 0, 0, 0, 0, 0x13}, cid: []byte{1, 2, 0, 0, 0, 0, 0x13},
			relay: netip.MustParseAddr("198.19.0.1"), rai: []byte{1, 5, 'p', 'o', 'r', 't', '7', 2, 3, 'r', 'i', 'd'}}, netip.MustParseAddr("198.19.0.13")},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			l.t = t
			l.lease(k.c, k.addr)
			l.advance(5)
			l.teach(k.c, k.addr)
			for i, dt := range []int64{1, 60, 299, 300, 235} { // ages 6 .. 900: 0.25 × 3600 = 900 s after CLTT
				l.advance(dt)
				fr := l.renewal(k.c, k.addr, byte(10+i), uint16(i*7))
				ret, got, moved := l.run(fr)
				rep, want, _ := l.serve(fr)
				if ret != xdpTX || moved["tx_renew"] != 1 {
					t.Fatalf("age step %d: verdict %d, counters %v; want XDP_TX", i, ret, moved)
				}
				if len(rep.Changes) != 0 {
					t.Fatalf("age step %d: user space wrote the lease, kernel answered", i)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("age step %d: kernel ACK differs from user space's\nkernel % x\nuser   % x", i, got, want)
				}
			}
			if k.c.relay.IsValid() {
				// Another circuit: the kernel stays out; user space still reuses.
				o := *k.c
				o.rai = []byte{1, 5, 'p', 'o', 'r', 't', '8', 2, 3, 'r', 'i', 'd'}
				fr := l.renewal(&o, k.addr, 77, 0)
				if ret, _, moved := l.run(fr); ret != xdpPass || moved["renew_mismatch"] != 1 {
					t.Fatalf("other option 82: verdict %d, counters %v", ret, moved)
				}
				o.relay = netip.MustParseAddr("198.19.0.2")
				if ret, _, moved := l.run(l.renewal(&o, k.addr, 78, 0)); ret != xdpPass || moved["renew_miss"] != 1 {
					t.Fatalf("other relay: verdict %d, counters %v", ret, moved)
				}
			}
			// Age 901: not reused any more.
			l.advance(1)
			fr := l.renewal(k.c, k.addr, 99, 0)
			ret, _, moved := l.run(fr)
			if ret != xdpPass || moved["renew_stale"] != 1 || moved["redirect_ours"] != 1 {
				t.Fatalf("past the limit: verdict %d, counters %v; want redirect (pass, no socket) and renew_stale", ret, moved)
			}
			rep, _, _ := l.serve(fr)
			if len(rep.Changes) == 0 {
				t.Fatal("past the limit: user space reused the lease")
			}
			if _, ok := l.c.byAddr[k.addr]; ok {
				t.Fatal("the written lease's entry was not forgotten")
			}
		})
	}
	l.t = t
	if n := l.c.Counters()["profiles"]; n != 0 {
		t.Errorf("%d profiles left with no entry", n)
	}
}

// TestKernelRenewMismatch: a renewal that differs from the cached one in
// any way the reply could depend on gets no kernel answer: it is
// redirected to user space (counted renew_mismatch / renew_miss, or passed
// earlier), and user space answers it as the engine does.
func TestKernelRenewMismatch(t *testing.T) {
	l := newLab(t, fmt.Sprintf(labConfig, ""), true)
	c := &client{hw: net.HardwareAddr{2, 0, 0, 0, 0, 10}, prl: []dhcpv4.OptionCode{dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer}}
	addr := netip.MustParseAddr("198.18.0.10")
	l.lease(c, addr)
	l.advance(5)
	l.teach(c, addr)
	l.advance(5)
	other := netip.MustParseAddr("198.18.0.15")
	vlan := func(fr []byte) []byte {
		out := append([]byte{}, fr[:12]...)
		out = append(out, 0x81, 0, 0, 7)
		return append(out, fr[12:]...)
	}
	// mutate changes the DHCP payload in place (neither the program nor
	// the decoder checks the UDP checksum).
	mutate := func(fr []byte, f func(p []byte)) []byte {
		fr = append([]byte{}, fr...)
		f(fr[42:])
		return fr
	}
	rai := dhcpv4.OptRelayAgentInfo(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(1), []byte("port7")))
	cases := []struct {
		name     string
		fr       []byte
		verdict  uint32
		counters []string
		wantAck  bool // user space ACKs it (else NAK or no answer)
	}{
		{"option 82 added", l.renewal(c, addr, 3, 0, dhcpv4.WithOption(rai)), xdpPass, []string{"redirect_ours", "renew_mismatch"}, true},
		{"PRL changed", l.renewal(c, addr, 3, 0, dhcpv4.WithRequestedOptions(dhcpv4.OptionDomainName)), xdpPass, []string{"redirect_ours", "renew_mismatch"}, true},
		{"wrong server id", l.renewal(c, addr, 3, 0, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IP{198, 18, 0, 99}))), xdpPass, []string{"redirect_ours", "renew_mismatch"}, false},
		{"our server id added", l.renewal(c, addr, 3, 0, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(srvAddr.AsSlice()))), xdpPass, []string{"redirect_ours", "renew_mismatch"}, true},
		{"giaddr set", mutate(l.renewal(c, addr, 3, 0), func(p []byte) { copy(p[24:28], []byte{198, 18, 0, 254}) }), xdpPass, []string{"redirect_ours"}, true},
		{"broadcast flag", mutate(l.renewal(c, addr, 3, 0), func(p []byte) { p[10] = 0x80 }), xdpPass, []string{"redirect_ours", "renew_mismatch"}, true},
		{"other source address", frame(t, c.msg(t, 3, dhcpv4.WithClientIP(addr.AsSlice())), other, srvAddr), xdpPass, []string{"redirect_ours", "renew_mismatch"}, true},
		{"oversized (extra option)", l.renewal(c, addr, 3, 0, dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(224), bytes.Repeat([]byte{1}, 200)))), xdpPass, []string{"redirect_ours", "renew_mismatch"}, true},
		{"vlan tagged", vlan(l.renewal(c, addr, 3, 0)), xdpPass, []string{"pass_vlan"}, false},
		{"truncated frame", l.renewal(c, addr, 3, 0)[:200], xdpPass, []string{"redirect_truncated"}, false},
		// Last: user space moves the client to the other address.
		{"another ciaddr", l.renewal(c, other, 3, 0), xdpPass, []string{"redirect_ours", "renew_mismatch"}, true},
	}
	// The kernel's verdicts, while the entry is cached.
	for _, k := range cases {
		ret, _, moved := l.run(k.fr)
		if ret != k.verdict || moved["tx_renew"] != 0 {
			t.Errorf("%s: verdict %d, counters %v; want %d, no tx_renew", k.name, ret, moved, k.verdict)
		}
		for _, n := range k.counters {
			if moved[n] != 1 {
				t.Errorf("%s: counter %s moved %d, want 1 (%v)", k.name, n, moved[n], moved)
			}
		}
	}
	if ret, _, moved := l.run(l.renewal(c, addr, 50, 0)); ret != xdpTX {
		t.Fatalf("cached renewal after the mismatches: verdict %d, counters %v", ret, moved)
	}
	// User space's answers to the same frames.
	for _, k := range cases {
		if k.name == "vlan tagged" || k.name == "truncated frame" {
			continue // the stack's and the decoder's business, not the engine's
		}
		rep, _, _ := l.serve(k.fr)
		gotAck := rep != nil && rep.Msg != nil && rep.Msg.MessageType() == dhcpv4.MessageTypeAck
		if gotAck != k.wantAck {
			t.Errorf("%s: user space ACK %v, want %v (%v)", k.name, gotAck, k.wantAck, rep)
		}
	}
	// The client now holds the other address: the old entry is gone.
	if ret, _, moved := l.run(l.renewal(c, addr, 51, 0)); ret == xdpTX || moved["renew_miss"] != 1 {
		t.Fatalf("renewal of the old address: verdict %d, counters %v", ret, moved)
	}
}

// TestKernelRenewGates: the kernel stays out when the program's renew
// switch is off, when the HA bucket is the partner's, and when the lease
// changed (a release forgets the entry).
func TestKernelRenewGates(t *testing.T) {
	l := newLab(t, fmt.Sprintf(labConfig, ""), true)
	c := &client{hw: net.HardwareAddr{2, 0, 0, 0, 0, 10}}
	addr := netip.MustParseAddr("198.18.0.10")
	l.lease(c, addr)
	l.advance(5)
	l.teach(c, addr)
	l.advance(5)
	fr := l.renewal(c, addr, 3, 0)
	if ret, _, _ := l.run(fr); ret != xdpTX {
		t.Fatalf("cached renewal: verdict %d", ret)
	}
	if err := l.d.SetConfig(bpf.Config{MAC: srvMAC, ClockNs: l.mono}); err != nil {
		t.Fatal(err)
	}
	if ret, _, moved := l.run(fr); ret != xdpPass || moved["redirect_ours"] != 1 {
		t.Fatalf("renew off: verdict %d, counters %v", ret, moved)
	}
	l.setClock()
	var none [bpf.Buckets]bool
	if err := l.d.SetBuckets(none); err != nil {
		t.Fatal(err)
	}
	if ret, _, moved := l.run(fr); ret != 1 || moved["drop_partner"] != 1 {
		t.Fatalf("partner's bucket: verdict %d, counters %v", ret, moved)
	}
	if err := l.d.SetBuckets(allBuckets()); err != nil {
		t.Fatal(err)
	}
	rel := c.msg(t, 4, dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease), dhcpv4.WithClientIP(addr.AsSlice()),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(srvAddr.AsSlice())))
	l.serve(frame(t, rel, addr, srvAddr))
	if ret, _, moved := l.run(fr); ret != xdpPass || moved["renew_miss"] != 1 {
		t.Fatalf("after release: verdict %d, counters %v", ret, moved)
	}
}

// TestKernelRenewNoForwarding: with IPv4 forwarding off on the port (a
// server's usual setting) bpf_fib_lookup answers FWD_DISABLED; the program
// then uses the next hop user space resolved for the entry while it is
// fresh (NeighTTL, as xdppath caches routes), and after that leaves the
// renewal to user space (renew_route), which refreshes the entry.
func TestKernelRenewNoForwarding(t *testing.T) {
	l := newLab(t, fmt.Sprintf(labConfig, ""), false)
	c := &client{hw: net.HardwareAddr{2, 0, 0, 0, 0, 10}}
	addr := netip.MustParseAddr("198.18.0.10")
	l.lease(c, addr)
	l.advance(5)
	l.teach(c, addr)
	l.advance(4)
	fr := l.renewal(c, addr, 3, 0)
	ret, got, moved := l.run(fr)
	_, want, _ := l.serve(fr)
	if ret != xdpTX || !bytes.Equal(got, want) {
		t.Fatalf("fresh next hop: verdict %d, counters %v, identical %v", ret, moved, bytes.Equal(got, want))
	}
	l.advance(1)
	ret, _, moved = l.run(l.renewal(c, addr, 4, 0))
	if ret != xdpPass || moved["renew_route"] != 1 {
		t.Fatalf("stale next hop: verdict %d, counters %v; want redirect with renew_route", ret, moved)
	}
	l.teach(c, addr)
	if ret, _, moved = l.run(l.renewal(c, addr, 5, 0)); ret != xdpTX {
		t.Fatalf("refreshed entry: verdict %d, counters %v", ret, moved)
	}
	// RefreshMACs keeps the window open while the resolver agrees ...
	mac := [6]byte{2, 0, 0, 0, 0, 10}
	resolve := func(netip.Addr) ([6]byte, bool) { return mac, true }
	for range 3 {
		l.advance(4)
		if n, d := l.c.RefreshMACs(resolve, 2*time.Second); n != 1 || d != 0 {
			t.Fatalf("refresh: %d refreshed, %d dropped", n, d)
		}
	}
	if ret, _, moved = l.run(l.renewal(c, addr, 6, 0)); ret != xdpTX {
		t.Fatalf("after refreshes: verdict %d, counters %v", ret, moved)
	}
	// ... and drops the entry when the next hop's MAC changed.
	mac[5] = 99
	l.advance(4)
	if n, d := l.c.RefreshMACs(resolve, 2*time.Second); n != 0 || d != 1 {
		t.Fatalf("refresh after a MAC change: %d refreshed, %d dropped", n, d)
	}
	if ret, _, moved = l.run(l.renewal(c, addr, 7, 0)); ret != xdpPass || moved["renew_miss"] != 1 {
		t.Fatalf("after the MAC change: verdict %d, counters %v", ret, moved)
	}
}

func allBuckets() (b [bpf.Buckets]bool) {
	for i := range b {
		b[i] = true
	}
	return b
}
