package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/crash"
	"github.com/xdhcp/xdhcp/userspace/admission"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/pipeline"
)

// udpListener serves the configured interfaces with one UDP socket each,
// as Kea does: a loopback interface gets a socket bound to its address (so
// that a relay on the same host, perfdhcp for instance, can bind its own
// address on port 67), any other interface a socket bound to 0.0.0.0:Port
// with SO_BINDTODEVICE, which also receives broadcasts. IP_PKTINFO tells
// each read the receiving interface and destination.
type udpListener struct {
	s      *Server
	socks  []*udpSocket
	byIf   map[int]*udpSocket // receiving interface → the socket replies leave by
	ifaces map[int]ifaceInfo
	trunc  *pipeline.Worker // counts oversized datagrams
	free   chan []byte      // recycled read buffers
}

// udpSocket is one interface's socket.
type udpSocket struct {
	conn *net.UDPConn
	pc   *ipv4.PacketConn
	addr string
	done chan struct{}
}

// listenUDP resolves the interfaces and opens their sockets.
func listenUDP(s *Server) (*udpListener, error) {
	specs, err := parseInterfaces(s.cfg.Interfaces)
	if err != nil {
		return nil, err
	}
	ifaces, err := resolveInterfaces(specs)
	if err != nil {
		return nil, err
	}
	l := &udpListener{
		s:      s,
		byIf:   make(map[int]*udpSocket, len(ifaces)),
		ifaces: ifaces,
		trunc:  s.pl.NewWorker(sender{s}, nil),
		free:   make(chan []byte, 4*s.cfg.BatchSize+s.cfg.PacketQueueSize),
	}
	for _, info := range ifaces {
		if !info.addr.IsValid() {
			s.log.Warn().Str("iface", info.name).Msg("interface has no IPv4 address; replies leave with a kernel-chosen source")
		}
		sock, err := openUDPSocket(info, s.cfg)
		if err != nil {
			l.close()
			return nil, err
		}
		l.socks = append(l.socks, sock)
		l.byIf[info.index] = sock
	}
	return l, nil
}

// openUDPSocket opens the socket serving one interface.
func openUDPSocket(info ifaceInfo, cfg Config) (*udpSocket, error) {
	host, device := "0.0.0.0", info.name
	if info.loopback {
		if !info.addr.IsValid() {
			return nil, fmt.Errorf("loopback interface %s has no IPv4 address to bind", info.name)
		}
		host, device = info.addr.String(), ""
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return setSocketOptions(c, cfg.ReceiveBuffer, device)
	}}
	addr := net.JoinHostPort(host, strconv.Itoa(int(cfg.Port)))
	pconn, err := lc.ListenPacket(context.Background(), "udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (%s): %w", addr, info.name, err)
	}
	conn := pconn.(*net.UDPConn)
	pc := ipv4.NewPacketConn(conn)
	if err := pc.SetControlMessage(ipv4.FlagInterface|ipv4.FlagDst, true); err != nil {
		conn.Close()
		return nil, fmt.Errorf("enable IP_PKTINFO on %s: %w", addr, err)
	}
	return &udpSocket{conn: conn, pc: pc, addr: addr + "%" + info.name, done: make(chan struct{})}, nil
}

// setSocketOptions sets SO_REUSEADDR, SO_BROADCAST, a large receive
// buffer (SO_RCVBUFFORCE needs CAP_NET_ADMIN; SO_RCVBUF is capped by
// net.core.rmem_max) and, when device is set, SO_BINDTODEVICE.
func setSocketOptions(c syscall.RawConn, rcvbuf int, device string) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if device != "" {
			if serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, device); serr != nil {
				serr = fmt.Errorf("set SO_BINDTODEVICE %s: %w", device, serr)
				return
			}
		}
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
			serr = fmt.Errorf("set SO_REUSEADDR: %w", serr)
			return
		}
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1); serr != nil {
			serr = fmt.Errorf("set SO_BROADCAST: %w", serr)
			return
		}
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf); serr != nil {
				serr = fmt.Errorf("set SO_RCVBUF %d: %w", rcvbuf, serr)
			}
		}
	})
	if err != nil {
		return fmt.Errorf("socket control: %w", err)
	}
	return serr
}

// getBuf returns a read buffer, recycled when possible.
func (l *udpListener) getBuf() []byte {
	select {
	case b := <-l.free:
		return b
	default:
		return make([]byte, readBufferSize)
	}
}

// putBuf recycles a read buffer (Packet.Release).
func (l *udpListener) putBuf(b []byte) {
	select {
	case l.free <- b[:cap(b)]:
	default:
	}
}

// start runs one read loop per socket.
func (l *udpListener) start() {
	for _, sock := range l.socks {
		crash.Go(l.s.log, "udp read loop", func() { l.readLoop(sock) })
	}
}

// readLoop reads batches of datagrams from sock and submits them until
// stopReading.
func (l *udpListener) readLoop(sock *udpSocket) {
	defer close(sock.done)
	flags := ipv4.FlagInterface | ipv4.FlagDst
	msgs := make([]ipv4.Message, l.s.cfg.BatchSize)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{l.getBuf()}
		msgs[i].OOB = ipv4.NewControlMessage(flags)
	}
	release := l.putBuf
	var cm ipv4.ControlMessage
	var am admission.Message
	for {
		n, err := sock.pc.ReadBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, ErrStopped) || isTimeout(err) {
				return
			}
			if n := l.s.cells.readErrs.Value(); n%1000 == 0 {
				l.s.log.Warn().Err(err).Int64("errors", n+1).Msg("udp read")
			}
			l.s.cells.readErrs.Add(1)
			continue
		}
		now := time.Now()
		for i := range n {
			m := &msgs[i]
			cm = ipv4.ControlMessage{}
			if err := cm.Parse(m.OOB[:m.NN]); err != nil {
				l.s.cells.readErrs.Add(1)
				continue
			}
			info, ok := l.ifaces[cm.IfIndex]
			if !ok {
				l.s.cells.ignoredInterface.Add(1)
				continue
			}
			if m.Flags&unix.MSG_TRUNC != 0 {
				l.trunc.CountTruncated()
				continue
			}
			src, ok := l.source(m.Addr)
			if !ok {
				continue
			}
			dst, _ := netip.AddrFromSlice(cm.Dst)
			dst = dst.Unmap()
			buf := m.Buffers[0]
			if lim := l.s.cfg.Limiter; lim != nil {
				unicast := dst.IsValid() && dst != packet.Broadcast4 && !slices.Contains(info.bcasts, dst)
				if admission.FromPayload(buf[:m.N], unicast, &am) {
					if v := lim.Admit(&am); v != admission.Admit {
						l.s.cells.rate[v].Add(1)
						continue
					}
				}
			}
			p := Packet{Data: buf[:m.N], Release: release, Meta: pipeline.Meta{
				Iface: info.name, IfIndex: info.index, IfAddr: info.addr,
				Src: netip.AddrPortFrom(addrFrom(src.IP), uint16(src.Port)), Dst: dst,
				Time: now,
			}}
			m.Buffers[0] = l.getBuf()
			l.s.Submit(p)
		}
	}
}

func addrFrom(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// stopReading makes the read loops return (a read deadline in the past)
// while the sockets stay open for replies, and waits for them.
// source returns a datagram's UDP source address; without one there is
// nothing to answer, and the datagram is counted (pkt4-udp-drop-no-source)
// and dropped.
func (l *udpListener) source(a net.Addr) (*net.UDPAddr, bool) {
	src, _ := a.(*net.UDPAddr)
	if src == nil {
		l.s.cells.noSource.Add(1)
		return nil, false
	}
	return src, true
}

func (l *udpListener) stopReading() {
	for _, sock := range l.socks {
		_ = sock.conn.SetReadDeadline(time.Unix(1, 0))
	}
	for _, sock := range l.socks {
		<-sock.done
	}
}

func (l *udpListener) close() {
	for _, sock := range l.socks {
		_ = sock.conn.Close()
	}
}

// sendReply sends a reply according to reply.Dest (RFC 2131 §4.1):
//
//	DestRelay      giaddr:Port, unicast (routed)
//	DestClientIP   ciaddr:ClientPort, unicast (routed)
//	DestBroadcast  255.255.255.255:ClientPort out of the receiving interface
//	DestL2Unicast  as DestBroadcast: a UDP socket cannot reach an address
//	               that has no ARP entry, so, like Kea's udp socket type,
//	               the reply is broadcast instead
//
// The source address follows packet.ReplySource.
func (l *udpListener) sendReply(p *pipeline.Meta, reply *dhcp.Reply) error {
	var cm ipv4.ControlMessage
	var to netip.AddrPort
	switch reply.Dest.Kind {
	case packet.DestRelay:
		to = netip.AddrPortFrom(reply.Dest.IP, l.s.cfg.Port)
	case packet.DestClientIP:
		to = netip.AddrPortFrom(reply.Dest.IP, l.s.cfg.ClientPort)
	case packet.DestBroadcast, packet.DestL2Unicast:
		to = netip.AddrPortFrom(packet.Broadcast4, l.s.cfg.ClientPort)
		cm.IfIndex = p.IfIndex
	default:
		return fmt.Errorf("send reply: unknown destination kind %d", reply.Dest.Kind)
	}
	if !to.Addr().Is4() {
		return fmt.Errorf("send reply: destination %s is not IPv4", to.Addr())
	}
	if src := packet.ReplySource(p.Dst, p.IfAddr); src.IsValid() {
		s4 := src.As4()
		cm.Src = net.IP(s4[:])
	}
	a4 := to.Addr().As4()
	dst := &net.UDPAddr{IP: net.IP(a4[:]), Port: int(to.Port())}
	sock := l.byIf[p.IfIndex]
	if sock == nil {
		return fmt.Errorf("send reply: no socket for interface %s", p.Iface)
	}
	if _, err := sock.pc.WriteTo(reply.Msg.ToBytes(), &cm, dst); err != nil {
		return fmt.Errorf("send reply to %s via %s: %w", to, p.Iface, err)
	}
	return nil
}
