package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// ackTap records every DHCPACK that reaches an interface of a namespace
// (the client namespace's bridge, where the relayed replies of both
// servers arrive): what the clients were told, on the wire, whatever the
// servers' own counters say. A kill -9 test checks each such lease
// against the survivor's store.
type ackTap struct {
	fd   int
	mu   sync.Mutex
	acks map[string]wireAck // by yiaddr: the latest ACK of the address
	n    int
	stop chan struct{}
	done chan struct{}
}

// wireAck is one DHCPACK as seen on the wire.
type wireAck struct {
	IP, MAC string
	From    netip.Addr // the server's address
	At      time.Time
}

// startAckTap opens an AF_PACKET socket on ifname in ns and records the
// DHCPACKs (BOOTREPLY, option 53 = 5, UDP from port 67) until the test
// ends or stopAndGet.
func startAckTap(t *testing.T, ns *testenv.Netns, ifname string) *ackTap {
	t.Helper()
	tap := &ackTap{acks: map[string]wireAck{}, stop: make(chan struct{}), done: make(chan struct{})}
	proto := int(htons(unix.ETH_P_IP))
	err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return fmt.Errorf("AF_PACKET socket: %w", err)
		}
		tap.fd = fd
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi.Index}); err != nil {
			return fmt.Errorf("bind %s: %w", ifname, err)
		}
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
		tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	if err != nil {
		if tap.fd > 0 {
			unix.Close(tap.fd)
		}
		t.Fatalf("ack tap on %s: %v", ifname, err)
	}
	go tap.run()
	t.Cleanup(func() { tap.close() })
	return tap
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (a *ackTap) run() {
	defer close(a.done)
	buf := make([]byte, 2048)
	for {
		select {
		case <-a.stop:
			return
		default:
		}
		n, _, err := unix.Recvfrom(a.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		if ack, ok := parseAck(buf[:n]); ok {
			a.mu.Lock()
			a.acks[ack.IP] = ack
			a.n++
			a.mu.Unlock()
		}
	}
}

// parseAck decodes an IPv4/UDP DHCPACK.
func parseAck(p []byte) (wireAck, bool) {
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != unix.IPPROTO_UDP {
		return wireAck{}, false
	}
	ihl := int(p[0]&0xf) * 4
	if len(p) < ihl+8+240 || binary.BigEndian.Uint16(p[ihl:]) != 67 {
		return wireAck{}, false
	}
	d := p[ihl+8:]
	if d[0] != 2 || binary.BigEndian.Uint32(d[236:]) != 0x63825363 {
		return wireAck{}, false
	}
	for o := d[240:]; len(o) >= 2 && o[0] != 255; {
		if o[0] == 0 {
			o = o[1:]
			continue
		}
		l := int(o[1])
		if len(o) < 2+l {
			break
		}
		if o[0] == 53 && l == 1 {
			if o[2] != 5 {
				return wireAck{}, false
			}
			hlen := int(d[2])
			if hlen > 16 {
				hlen = 16
			}
			return wireAck{
				IP:   netip.AddrFrom4([4]byte(d[16:20])).String(),
				MAC:  net.HardwareAddr(d[28 : 28+hlen]).String(),
				From: netip.AddrFrom4([4]byte(p[12:16])),
				At:   time.Now(),
			}, true
		}
		o = o[2+l:]
	}
	return wireAck{}, false
}

// close stops the reader and closes the socket; idempotent.
func (a *ackTap) close() {
	select {
	case <-a.stop:
	default:
		close(a.stop)
		<-a.done
		unix.Close(a.fd)
	}
}

// stopAndGet stops recording and returns the ACKs by address, how many
// ACKs were seen in all and how many frames the kernel dropped on the
// socket (a non-zero count means the record is incomplete).
func (a *ackTap) stopAndGet(t *testing.T) (map[string]wireAck, int, uint32) {
	t.Helper()
	time.Sleep(200 * time.Millisecond) // the last replies in flight
	st, err := unix.GetsockoptTpacketStats(a.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		t.Fatalf("PACKET_STATISTICS: %v", err)
	}
	a.close()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.acks, a.n, st.Drops
}
