package afxdp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/internal/xskprog"
)

// Addresses of the test topology (RFC 2544 benchmarking range).
var (
	clientAddr = netip.MustParseAddr("198.18.0.1")
	serverAddr = netip.MustParseAddr("198.18.0.2")
)

const echoPort = 9 // UDP discard/echo: what the test XDP program redirects

// testNet is a client and a server namespace joined by a veth pair, with
// an XDP program on the server end that redirects UDP-to-port-9 frames to
// an XSKMAP slot chosen by rx_queue_index (XDP_PASS when the slot is empty
// or the frame is anything else, so ARP and the rest reach the stack).
type testNet struct {
	server, client *testenv.Netns
	srvIf, cliIf   string
	srvIndex       int
	srvMAC         net.HardwareAddr
	xsks           *ebpf.Map
}

func newTestNet(t testing.TB, extra ...string) *testNet {
	t.Helper()
	return newTestNetMode(t, 0, extra...)
}

// newTestNetMode is newTestNet with explicit XDP attach flags (0: native
// if the driver has it, which veth does).
func newTestNetMode(t testing.TB, mode link.XDPAttachFlags, extra ...string) *testNet {
	t.Helper()
	testenv.RequireBPF(t)
	tn := &testNet{server: testenv.NewNetns(t), client: testenv.NewNetns(t),
		srvIf: testenv.Name("xs"), cliIf: testenv.Name("xc")}
	testenv.Veth(t, tn.server, tn.srvIf, serverAddr.String()+"/24", tn.client, tn.cliIf, clientAddr.String()+"/24", extra...)

	xsks, err := ebpf.NewMap(&ebpf.MapSpec{Name: "test_xsks", Type: ebpf.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: 8})
	if err != nil {
		t.Fatalf("create xskmap: %v", err)
	}
	t.Cleanup(func() { xsks.Close() })
	tn.xsks = xsks
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "test_xsk_redir", Type: ebpf.XDP, License: "GPL",
		Instructions: redirectProgram(xsks.FD())})
	if err != nil {
		t.Fatalf("load xdp program: %v", err)
	}
	t.Cleanup(func() { prog.Close() })

	err = tn.server.Do(func() error {
		ifi, err := net.InterfaceByName(tn.srvIf)
		if err != nil {
			return err
		}
		tn.srvIndex, tn.srvMAC = ifi.Index, ifi.HardwareAddr
		l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifi.Index, Flags: mode})
		if err != nil {
			return fmt.Errorf("attach xdp to %s: %w", tn.srvIf, err)
		}
		t.Cleanup(func() { l.Close() })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// No ARP race for the first datagrams: the client knows the server MAC.
	tn.client.Run(t, "ip", "neigh", "replace", serverAddr.String(), "lladdr", tn.srvMAC.String(), "dev", tn.cliIf, "nud", "permanent")
	return tn
}

// redirectProgram sends UDP frames to port echoPort to the XSKMAP slot
// of their RX queue; everything else goes to the kernel.
func redirectProgram(xsksFD int) asm.Instructions { return xskprog.RedirectUDP(xsksFD, 0, echoPort) }

// openServer opens a socket on the server veth inside its namespace and
// registers it in the XSKMAP slot of its queue.
func (tn *testNet) openServer(t testing.TB, cfg Config) *Socket {
	t.Helper()
	cfg.IfIndex = tn.srvIndex
	var s *Socket
	err := tn.server.Do(func() error {
		var err error
		s, err = Open(cfg)
		return err
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if err := tn.xsks.Put(uint32(cfg.QueueID), uint32(s.FD())); err != nil {
		t.Fatalf("register socket in xskmap slot %d: %v", cfg.QueueID, err)
	}
	return s
}

// dialClient opens a UDP socket in the client namespace with a 4 MiB
// receive buffer.
func (tn *testNet) dialClient(t testing.TB) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := tn.client.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(clientAddr, 0)))
		if err != nil {
			return err
		}
		rc, err := c.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
		}); err != nil {
			return err
		}
		return serr
	})
	if err != nil {
		t.Fatalf("client socket: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var serverEcho = net.UDPAddrFromAddrPort(netip.AddrPortFrom(serverAddr, echoPort))

// payload is datagram seq's body: the sequence number and a pattern.
func payload(seq uint32) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b, seq)
	for i := 4; i < len(b); i++ {
		b[i] = byte(seq) ^ byte(i)
	}
	return b
}

// parseUDP checks an Ethernet/IPv4/UDP frame from the client to the echo
// port and returns its payload.
func parseUDP(frame []byte) ([]byte, error) {
	if len(frame) < 42 {
		return nil, fmt.Errorf("short frame (%d bytes)", len(frame))
	}
	ip := frame[14:]
	if binary.BigEndian.Uint16(frame[12:]) != 0x0800 || ip[0] != 0x45 || ip[9] != unix.IPPROTO_UDP {
		return nil, errors.New("not ipv4/udp without options")
	}
	src, dst := netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
	if src != clientAddr || dst != serverAddr {
		return nil, fmt.Errorf("addresses %s -> %s", src, dst)
	}
	udp := ip[20:]
	if port := binary.BigEndian.Uint16(udp[2:]); port != echoPort {
		return nil, fmt.Errorf("destination port %d", port)
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	if ulen < 8 || ulen > len(udp) {
		return nil, fmt.Errorf("udp length %d of %d bytes", ulen, len(udp))
	}
	return udp[8:ulen], nil
}

// makeEcho turns an Ethernet/IPv4/UDP frame (in place) into the reply:
// MACs, addresses and ports swapped, TTL reset, checksums recomputed (the
// client's kernel leaves a partial UDP checksum for offload on veth).
func makeEcho(f []byte) {
	var mac [6]byte
	copy(mac[:], f[0:6])
	copy(f[0:6], f[6:12])
	copy(f[6:12], mac[:])
	ip := f[14:34]
	var a [4]byte
	copy(a[:], ip[12:16])
	copy(ip[12:16], ip[16:20])
	copy(ip[16:20], a[:])
	ip[8] = 64
	binary.BigEndian.PutUint16(ip[10:], 0)
	binary.BigEndian.PutUint16(ip[10:], ^fold(sum(ip, 0)))
	udp := f[34:]
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	udp = udp[:ulen]
	sp := binary.BigEndian.Uint16(udp[0:])
	binary.BigEndian.PutUint16(udp[0:], binary.BigEndian.Uint16(udp[2:]))
	binary.BigEndian.PutUint16(udp[2:], sp)
	binary.BigEndian.PutUint16(udp[6:], 0)
	s := sum(ip[12:20], uint32(unix.IPPROTO_UDP)+uint32(ulen))
	c := ^fold(sum(udp, s))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], c)
}

func sum(b []byte, s uint32) uint32 {
	for ; len(b) >= 2; b = b[2:] {
		s += uint32(binary.BigEndian.Uint16(b))
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// echo receives one batch, checks it with check (if not nil), answers
// every frame through the TX ring and releases the RX frames. It returns
// how many frames it received.
func echo(s *Socket, descs []Desc, check func([]byte) error) (int, error) {
	n, err := s.Receive(descs)
	if err != nil || n == 0 {
		return n, err
	}
	defer s.Release(descs[:n])
	for _, d := range descs[:n] {
		f := s.Frame(d)
		if check != nil {
			if err := check(f); err != nil {
				return n, err
			}
		}
		buf, addr, ok := s.TxBuffer()
		if !ok {
			if err := s.Flush(); err != nil {
				return n, err
			}
			if buf, addr, ok = s.TxBuffer(); !ok {
				return n, errors.New("no tx frame after flush")
			}
		}
		copy(buf, f)
		makeEcho(buf[:len(f)])
		if err := s.Submit(addr, len(f)); err != nil {
			return n, err
		}
	}
	return n, s.Flush()
}
