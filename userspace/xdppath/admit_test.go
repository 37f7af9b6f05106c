//go:build linux

package xdppath

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/bpf"
	"github.com/xdhcp/xdhcp/config"
)

// sendDHCP sends one DISCOVER from the client namespace to dst:67.
func sendDHCP(t *testing.T, l *lab, dst netip.Addr) {
	t.Helper()
	m, err := dhcpv4.NewDiscovery([]byte{0x52, 0x54, 0, 0x11, 0x22, 0x33})
	if err != nil {
		t.Fatal(err)
	}
	err = l.cli.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
			return err
		}
		if err := unix.BindToDevice(fd, l.cliIf); err != nil {
			return err
		}
		return unix.Sendto(fd, m.ToBytes(), 0, &unix.SockaddrInet4{Port: 67, Addr: dst.As4()})
	})
	if err != nil {
		t.Fatalf("send to %s: %v", dst, err)
	}
}

// stackTap is an AF_PACKET socket on the server interface: it sees what
// XDP passed to the kernel stack (XDP runs before the taps), never what
// went to AF_XDP or was dropped.
type stackTap struct{ fd int }

func newStackTap(t *testing.T, l *lab) *stackTap {
	t.Helper()
	proto := uint16(unix.ETH_P_IP)
	proto = proto<<8 | proto>>8 // network order
	tap := &stackTap{fd: -1}
	err := l.srv.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM, int(proto))
		if err != nil {
			return err
		}
		tap.fd = fd
		ifc, err := net.InterfaceByName(l.srvIf)
		if err != nil {
			return err
		}
		tv := unix.Timeval{Usec: 20000}
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifc.Index})
	})
	if err != nil {
		if tap.fd >= 0 {
			unix.Close(tap.fd)
		}
		t.Fatalf("packet socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(tap.fd) })
	return tap
}

// sawDHCPTo drains the tap and reports whether an IPv4/UDP datagram to
// dst:67 went by.
func (s *stackTap) sawDHCPTo(dst netip.Addr) bool {
	buf := make([]byte, 2048)
	saw := false
	for {
		n, _, err := unix.Recvfrom(s.fd, buf, 0)
		if err != nil {
			return saw
		}
		b := buf[:n]
		if n >= 28 && b[9] == unix.IPPROTO_UDP && [4]byte(b[16:20]) == dst.As4() && binary.BigEndian.Uint16(b[int(b[0]&15)*4+2:]) == 67 {
			saw = true
		}
	}
}

// TestAdmissionFollowsLocalAddresses: DHCP unicast to an address the
// server does not have goes to the kernel stack (counted pass_not_our_ip),
// not to AF_XDP; once the address is added (on another interface, lo) the
// program admits it, and after it is removed it passes again. A served
// subnet's broadcast address is admitted.
func TestAdmissionFollowsLocalAddresses(t *testing.T) {
	l := newLab(t)
	pl, h, reg := newEnginePipeline(t, nil)
	bcast := SubnetBroadcast(netip.MustParsePrefix(srvCIDR))
	p := openPath(t, l, Config{Pipeline: pl, Stats: reg, Logger: zerolog.Nop(),
		RateLimits: config.DefaultRateLimits(), SubnetBroadcasts: []netip.Addr{bcast}})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	tap := newStackTap(t, l)
	other := netip.MustParseAddr("198.18.0.77")
	mac := p.ifmac
	l.cli.Run(t, "ip", "neigh", "replace", other.String(), "lladdr",
		net.HardwareAddr(mac[:]).String(), "dev", l.cliIf, "nud", "permanent")

	counter := func(name string) int64 {
		c, err := p.BPFCounters()
		if err != nil {
			t.Fatal(err)
		}
		return c[name]
	}
	// poll resends to dst until cond holds; bounded in count.
	poll := func(what string, dst netip.Addr, cond func() bool) {
		t.Helper()
		for range 150 {
			sendDHCP(t, l, dst)
			time.Sleep(20 * time.Millisecond)
			if cond() {
				return
			}
		}
		t.Fatalf("%s: not seen after 150 sends (counters %v)", what, p.Counters())
	}

	// 1. Not ours: the stack sees it, AF_XDP does not.
	sawStack := false
	poll("DISCOVER to another host's IP reaching the stack", other, func() bool {
		sawStack = sawStack || tap.sawDHCPTo(other)
		return sawStack && counter("pass_not_our_ip") > 0
	})
	if n := h.discovers.Load(); n != 0 {
		t.Fatalf("the engine saw %d DISCOVERs sent to %s", n, other)
	}
	if st, _ := p.Stats(); st.RxFrames != 0 || counter("redirect_ours") != 0 {
		t.Fatalf("AF_XDP received %d frames, redirect_ours %d: want 0", st.RxFrames, counter("redirect_ours"))
	}

	// 2. The address is added (netlink): now admitted to AF_XDP.
	l.srv.Run(t, "ip", "addr", "add", other.String()+"/32", "dev", "lo")
	poll("DISCOVER to a newly added address reaching the engine", other, func() bool { return h.discovers.Load() > 0 })
	if counter("redirect_ours") == 0 {
		t.Fatalf("engine saw the DISCOVER but redirect_ours is 0: %v", p.Counters())
	}
	if st, _ := p.Stats(); st.AddrUpdates == 0 {
		t.Fatal("no address update counted")
	}
	tap.sawDHCPTo(other) // drain

	// 3. The served subnet's broadcast address is admitted.
	before := h.discovers.Load()
	poll("DISCOVER to the subnet broadcast reaching the engine", bcast, func() bool { return h.discovers.Load() > before })

	// 4. The address is removed: passed to the stack again.
	l.srv.Run(t, "ip", "addr", "del", other.String()+"/32", "dev", "lo")
	passed := counter("pass_not_our_ip")
	poll("DISCOVER to a removed address passed again", other, func() bool { return counter("pass_not_our_ip") > passed })
	c := p.Counters()
	t.Logf("bpf pass_not_our_ip %d, redirect_ours %d; path rx %d, address updates %d",
		c["bpf_pass_not_our_ip"], c["bpf_redirect_ours"], c["path_rx_frames"], c["path_addr_updates"])
}

// TestSecondPathFails: a second path on the same interface (another
// instance) fails naming the holder and leaves the first one serving.
func TestSecondPathFails(t *testing.T) {
	l := newLab(t)
	pl, _, reg := newEnginePipeline(t, nil)
	first := openPath(t, l, Config{Pipeline: pl, Stats: reg, Logger: zerolog.Nop()})
	pl2, _, reg2 := newEnginePipeline(t, nil)
	err := l.srv.Do(func() error {
		p, err := Open(Config{Interface: l.srvIf, Pipeline: pl2, Stats: reg2, Logger: zerolog.Nop()})
		if err == nil {
			p.Stop()
		}
		return err
	})
	if !errors.Is(err, bpf.ErrInUse) || !strings.Contains(err.Error(), "held by pid") {
		t.Fatalf("second path: %v; want bpf.ErrInUse naming the holder", err)
	}
	t.Logf("second path: %v", err)
	if first.Mode() != "native" {
		t.Fatalf("first path mode %s", first.Mode())
	}
	// The first path still owns the interface: its program is attached.
	var progID uint32
	if err := l.srv.Do(func() error {
		lk, err := netlink.LinkByName(l.srvIf)
		if err == nil && lk.Attrs().Xdp != nil {
			progID = lk.Attrs().Xdp.ProgId
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	info, err := first.Datapath().Program().Info()
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := info.ID(); uint32(id) != progID {
		t.Fatalf("interface runs program %d, first path's is %d", progID, id)
	}
}
