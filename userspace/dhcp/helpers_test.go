package dhcp

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// env is an engine over a real in-memory lease.Store with a settable clock.
type env struct {
	t     testing.TB
	e     *Engine
	w     *Worker
	store *lease.Store
	reg   *stats.Registry
	now   atomic.Int64 // Unix seconds
}

var t0 = time.Unix(1_800_000_000, 0)

func (v *env) clock() time.Time        { return time.Unix(v.now.Load(), 0) }
func (v *env) advance(d time.Duration) { v.now.Add(int64(d / time.Second)) }

// newStore is the one place tests construct the lease store.
func newStore(t testing.TB, onChange func(lease.Change), now func() time.Time) *lease.Store {
	t.Helper()
	st, _, err := lease.Open(lease.Options{Persist: false, OnChange: onChange, Now: now})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func parseConfig(t testing.TB, js string) *config.Config {
	t.Helper()
	cfg, _, err := config.Parse("test.json", []byte(js))
	if err != nil {
		t.Fatalf("parse config: %v", err)
	}
	return cfg
}

func newEnv(t testing.TB, js string, mod ...func(*Deps)) *env {
	t.Helper()
	v := &env{t: t, reg: stats.New()}
	v.now.Store(t0.Unix())
	var eng atomic.Pointer[Engine]
	v.store = newStore(t, func(c lease.Change) {
		if e := eng.Load(); e != nil {
			e.LeaseChanged(c)
		}
	}, v.clock)
	d := Deps{Store: v.store, Clock: v.clock, Stats: v.reg}
	for _, m := range mod {
		m(&d)
	}
	e, err := New(parseConfig(t, js), d)
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	eng.Store(e)
	v.e, v.w = e, e.NewWorker()
	return v
}

var (
	ifAddr = netip.MustParseAddr("192.0.2.1")
	bcast  = netip.MustParseAddr("255.255.255.255")
)

func mac(last byte) net.HardwareAddr { return net.HardwareAddr{0xaa, 0xbb, 0xcc, 0, 0, last} }

func ip(s string) net.IP { return net.ParseIP(s).To4() }

func msg(t testing.TB, mt dhcpv4.MessageType, hw net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	all := append([]dhcpv4.Modifier{
		dhcpv4.WithMessageType(mt), dhcpv4.WithHwAddr(hw),
		dhcpv4.WithTransactionID(dhcpv4.TransactionID{1, 2, 3, 4}),
	}, mods...)
	m, err := dhcpv4.New(all...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// broadcastReq wraps a message as received broadcast on eth0.
func broadcastReq(m *dhcpv4.DHCPv4) *Request {
	return &Request{Msg: m, Iface: "eth0", IfIndex: 2, IfAddr: ifAddr,
		Src: netip.AddrPortFrom(netip.IPv4Unspecified(), 68), Dst: bcast, Len: len(m.ToBytes())}
}

// unicastReq wraps a message unicast from src to our address.
func unicastReq(m *dhcpv4.DHCPv4, src string) *Request {
	return &Request{Msg: m, Iface: "eth0", IfIndex: 2, IfAddr: ifAddr,
		Src: netip.AddrPortFrom(netip.MustParseAddr(src), 68), Dst: ifAddr, Len: len(m.ToBytes())}
}

func (v *env) handle(r *Request) *Reply { return v.w.Handle(r) }

// dora runs DISCOVER+REQUEST for hw and returns the ACK (failing if none).
func (v *env) dora(hw net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	v.t.Helper()
	off := v.handle(broadcastReq(msg(v.t, dhcpv4.MessageTypeDiscover, hw, mods...)))
	if off == nil || off.Msg.MessageType() != dhcpv4.MessageTypeOffer {
		v.t.Fatalf("no OFFER for %s", hw)
	}
	req := msg(v.t, dhcpv4.MessageTypeRequest, hw, append(mods,
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(off.Msg.YourIPAddr)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(off.Msg.ServerIdentifier())))...)
	ack := v.handle(broadcastReq(req))
	if ack == nil || ack.Msg.MessageType() != dhcpv4.MessageTypeAck {
		v.t.Fatalf("no ACK for %s: %+v", hw, ack)
	}
	return ack.Msg
}

// request sends a SELECTING REQUEST for a from hw and returns the reply
// (failing if there is none).
func (v *env) request(hw net.HardwareAddr, a netip.Addr) *dhcpv4.DHCPv4 {
	v.t.Helper()
	r := v.handle(broadcastReq(msg(v.t, dhcpv4.MessageTypeRequest, hw,
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(a.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ifAddr.AsSlice())))))
	if r == nil || r.Msg == nil {
		v.t.Fatalf("no reply to REQUEST of %s from %s", a, hw)
	}
	return r.Msg
}

func (v *env) cell(name string) int64 { return v.reg.Cell(name).Value() }

func addrOf(ipv net.IP) netip.Addr { a, _ := netip.AddrFromSlice(ipv.To4()); return a }

// scopeFunc is a ScopeFilter test double.
type scopeFunc func(m *dhcpv4.DHCPv4) (string, bool)

func (f scopeFunc) Scope(m *dhcpv4.DHCPv4) (string, bool) { return f(m) }
