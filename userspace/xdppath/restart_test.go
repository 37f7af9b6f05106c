//go:build linux

package xdppath

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/pipeline"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// waitCell waits (bounded) until the named statistic reaches want.
func waitCell(t *testing.T, reg *stats.Registry, name string, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for reg.Cell(name).Value() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d, want %d", name, reg.Cell(name).Value(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// restartLab is a started path on a two-queue lab, its relay socket and a
// sender per queue, with the relay's MAC known to the path.
type restartLab struct {
	*lab
	*serving
	relay   *net.UDPConn
	senders []*clientSender
}

func newRestartLab(t *testing.T) *restartLab {
	t.Helper()
	l := &restartLab{lab: newLab(t)}
	l.serving = startServing(t, l.lab, nil, nil)
	l.relay = relaySocket(t, l.lab)
	l.senders = []*clientSender{newClientSender(t, l.lab, 0), newClientSender(t, l.lab, 1)}
	// The first OFFER resolves the relay's MAC.
	l.senders[0].discover(t, 0, 0)
	if got := readOffers(t, l.relay, 1); got != 1 {
		t.Fatalf("first offer: got %d", got)
	}
	waitNeigh(t, l.lab, "198.18.0.1")
	waitTable(t, l.p.neigh, "198.18.0.1")
	return l
}

// TestQueueRestart: an error seen by queue 0's loop (injected where the
// loop checks its socket) makes it replace its socket; the queue then
// answers through the new socket's TX ring.
func TestQueueRestart(t *testing.T) {
	l := newRestartLab(t)
	q := l.p.queues[0]
	rx0, fb0 := q.c.rxFrames.Load(), l.fb.sent.Load()
	before, err := l.p.Stats()
	if err != nil {
		t.Fatalf("stats: %v", err)
	}

	q.failNext.Store(errBox{errors.New("injected socket failure")})
	waitCell(t, l.reg, cellQueueRestarts, 1)
	if q.isDown.Load() || q.sockFD() < 0 {
		t.Fatal("queue 0 has no socket after its restart")
	}

	const n = 16
	for i := range n {
		l.senders[0].discover(t, 0, byte(i+1))
	}
	if got := readOffers(t, l.relay, n); got != n {
		t.Fatalf("after the restart: %d offers for %d discovers", got, n)
	}
	after, err := l.p.Stats()
	if err != nil {
		t.Fatalf("stats after the restart: %v", err)
	}
	if got := q.c.rxFrames.Load() - rx0; got != n {
		t.Errorf("queue 0 received %d frames after the restart, want %d", got, n)
	}
	if got := after.TxFrames - before.TxFrames; got != n || l.fb.sent.Load() != fb0 {
		t.Errorf("%d replies through the TX ring, %d through the fallback; want %d, 0", got, l.fb.sent.Load()-fb0, n)
	}
	if after.Sockets.RxPackets < before.Sockets.RxPackets+n {
		t.Errorf("socket statistics went back over the restart: rx %d then %d", before.Sockets.RxPackets, after.Sockets.RxPackets)
	}
	if v := l.reg.Cell(cellQueueToKernel).Value(); v != 0 {
		t.Errorf("%s = %d, want 0", cellQueueToKernel, v)
	}
}

// TestQueueHandedToKernel: when the socket of queue 0 fails and cannot be
// bound again (every reopen fails, injected), the queue leaves the XSKMAP:
// its frames take XDP_PASS to the kernel, where a UDP server (here a small
// loop over the fallback socket and a pipeline worker, as the daemon's UDP
// path does) answers them. Queue 1 keeps its AF_XDP socket.
func TestQueueHandedToKernel(t *testing.T) {
	l := newRestartLab(t)
	var served atomic.Int64
	serveUDP(t, l, &served)
	q := l.p.queues[0]
	bpf0, err := l.p.BPFCounters()
	if err != nil {
		t.Fatalf("bpf counters: %v", err)
	}

	q.failOpens.Store(restartAttempts)
	q.failNext.Store(errBox{errors.New("injected socket failure")})
	waitCell(t, l.reg, cellQueueToKernel, 1)
	if v := l.reg.Cell(cellQueueRestarts).Value(); v != 0 {
		t.Errorf("%s = %d, want 0", cellQueueRestarts, v)
	}
	if fd := q.sockFD(); fd != -1 {
		t.Errorf("queue handed to the kernel still has socket fd %d", fd)
	}

	const n = 16
	fb0 := l.fb.sent.Load()
	for i := range n {
		l.senders[0].discover(t, 0, byte(i+1))
	}
	if got := readOffers(t, l.relay, n); got != n {
		t.Fatalf("queue handed to the kernel: %d offers for %d discovers", got, n)
	}
	if got := served.Load(); got != n {
		t.Errorf("the kernel path served %d requests, want %d", got, n)
	}
	if got := l.fb.sent.Load() - fb0; got != n {
		t.Errorf("%d replies through the UDP socket, want %d", got, n)
	}
	bpf1, err := l.p.BPFCounters()
	if err != nil {
		t.Fatalf("bpf counters: %v", err)
	}
	if got := bpf1["no_socket"] - bpf0["no_socket"]; got != n {
		t.Errorf("no_socket counted %d frames, want %d", got, n)
	}

	// Queue 1 still has its socket.
	tx0 := l.p.queues[1].c.txFrames.Load()
	for i := range n {
		l.senders[1].discover(t, 1, byte(i+1))
	}
	if got := readOffers(t, l.relay, n); got != n {
		t.Fatalf("queue 1: %d offers for %d discovers", got, n)
	}
	if got := l.p.queues[1].c.txFrames.Load() - tx0; got != n {
		t.Errorf("queue 1 sent %d replies through its TX ring, want %d", got, n)
	}
	if _, err := l.p.Stats(); err != nil {
		t.Errorf("stats with a queue handed to the kernel: %v", err)
	}
}

// serveUDP answers what reaches the fallback socket through the kernel,
// with its own pipeline worker, until the test ends.
func serveUDP(t *testing.T, l *restartLab, served *atomic.Int64) {
	t.Helper()
	w := l.pl.NewWorker(l.fb, nil)
	done := make(chan struct{})
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); <-done; l.pl.Release(w) })
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = l.fb.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			k, from, err := l.fb.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				continue
			}
			served.Add(1)
			m := pipeline.Meta{
				Iface: l.srvIf, IfIndex: l.p.ifindex, IfAddr: l.p.ifaddr,
				Src: from, Dst: netip.MustParseAddr(srvAddr), Time: time.Now(),
				Frame: packet.Frame{Src: from.Addr(), Dst: netip.MustParseAddr(srvAddr), SrcPort: from.Port(), DstPort: packet.ServerPort},
			}
			w.Process(buf[:k], &m)
		}
	}()
}
