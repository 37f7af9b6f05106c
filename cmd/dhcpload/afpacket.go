package main

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// packetTransport sends and receives through an AF_PACKET raw socket
// bound to the interface, with a classic BPF filter that keeps only
// IPv4/UDP frames from port 67 to port 67 addressed to the relay. It is
// the fallback for when XDP cannot be used; it makes one syscall per
// frame.
type packetTransport struct {
	fd       int
	tx, rx   []byte
	txErrs   uint64
	rxFrames uint64
	txFrames uint64
	pfd      [1]unix.PollFd
	relayFD  int // the relay's own UDP port 67, never read (see openRelayPort)
}

// replyFilter accepts Ethernet/IPv4/UDP frames, not fragments, from port
// 67 to port 67 with destination address giaddr.
func replyFilter(giaddr uint32) ([]unix.SockFilter, error) {
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0x0800, SkipTrue: 10},
		bpf.LoadAbsolute{Off: 23, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.IPPROTO_UDP, SkipTrue: 8},
		bpf.LoadAbsolute{Off: 20, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x3fff, SkipTrue: 6},
		bpf.LoadAbsolute{Off: 30, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: giaddr, SkipTrue: 4},
		bpf.LoadMemShift{Off: 14},
		bpf.LoadIndirect{Off: 14, Size: 4}, // source and destination ports
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 67<<16 | 67, SkipTrue: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		return nil, fmt.Errorf("assemble socket filter: %w", err)
	}
	f := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		f[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	return f, nil
}

// openPacket opens the socket on ifindex. The filter is attached before
// the socket is bound, so it never sees an unfiltered frame.
func openPacket(ifindex int, giaddr uint32) (_ *packetTransport, err error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("af_packet socket: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
		}
	}()
	filter, err := replyFilter(giaddr)
	if err != nil {
		return nil, err
	}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
		&unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}); err != nil {
		return nil, fmt.Errorf("attach socket filter: %w", err)
	}
	// Our own relayed requests match the filter's ports: never loop them back.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return nil, fmt.Errorf("packet_ignore_outgoing: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
		return nil, fmt.Errorf("packet_qdisc_bypass: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 16<<20)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifindex}); err != nil {
		return nil, fmt.Errorf("bind af_packet to ifindex %d: %w", ifindex, err)
	}
	t := &packetTransport{fd: fd, tx: make([]byte, 2048), rx: make([]byte, 2048), relayFD: openRelayPort(giaddr)}
	t.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	return t, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (t *packetTransport) txBuf() []byte { return t.tx }

// submit sends the frame at once (write on a bound packet socket).
func (t *packetTransport) submit(n int) error {
	for {
		_, err := unix.Write(t.fd, t.tx[:n])
		switch {
		case err == nil:
			t.txFrames++
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.ENOBUFS):
			t.txErrs++ // the exchange times out and counts as a drop
			return nil
		default:
			return fmt.Errorf("af_packet send: %w", err)
		}
	}
}

func (t *packetTransport) flush() error { return nil }

func (t *packetTransport) receive(max int, fn func([]byte)) (int, error) {
	for i := range max {
		n, err := unix.Read(t.fd, t.rx)
		switch {
		case err == nil:
			t.rxFrames++
			fn(t.rx[:n])
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			return i, nil
		default:
			return i, fmt.Errorf("af_packet receive: %w", err)
		}
	}
	return max, nil
}

func (t *packetTransport) wait(d time.Duration) error {
	ms := int((d + time.Millisecond - 1) / time.Millisecond)
	if _, err := unix.Poll(t.pfd[:], ms); err != nil && !errors.Is(err, unix.EINTR) {
		return fmt.Errorf("af_packet poll: %w", err)
	}
	return nil
}

func (t *packetTransport) counters() map[string]uint64 {
	m := map[string]uint64{"rx_packets": t.rxFrames, "tx_packets": t.txFrames, "tx_errors": t.txErrs}
	if st, err := unix.GetsockoptTpacketStats(t.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		m["rx_dropped"] = uint64(st.Drops)
	}
	return m
}

func (t *packetTransport) close() error {
	if t.relayFD >= 0 {
		unix.Close(t.relayFD)
	}
	return unix.Close(t.fd)
}

// openRelayPort binds a UDP socket to giaddr:67, as a relay agent has
// one: without it the load namespace's IP stack answers every reply the
// packet socket copied with an ICMP port unreachable to the server, work
// (route lookup, ICMP send, the server's ICMP receive) charged to whichever
// server sent the reply. The socket is never read; once its small buffer
// is full the kernel drops further replies silently. -1 when the port is
// taken (another relay process on the same address): nothing is lost but
// the ICMP saving.
func openRelayPort(giaddr uint32) int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1)
	sa := &unix.SockaddrInet4{Port: 67, Addr: [4]byte{byte(giaddr >> 24), byte(giaddr >> 16), byte(giaddr >> 8), byte(giaddr)}}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1
	}
	return fd
}
