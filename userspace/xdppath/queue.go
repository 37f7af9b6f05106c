//go:build linux

package xdppath

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/userspace/afxdp"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/pipeline"
)

// queue is one RX queue: its socket, neighbour cache, netlink handle and
// pipeline worker, all owned by the queue's goroutine. Nothing here is
// shared with other queues. The goroutine runs every request to
// completion: decode, pipeline, reply frame in the TX ring; one flush per
// RX batch. A reply that waits for the HA partner comes back through the
// pipeline worker, which wakes the goroutine through an eventfd.
type queue struct {
	p     *Path
	id    int
	sock  *afxdp.Socket
	nl    *netlink.Handle
	neigh *resolver
	w     *pipeline.Worker

	descs []afxdp.Desc
	req   packet.Frame  // decode scratch
	meta  pipeline.Meta // the request being processed (reused)
	dirty bool          // frames submitted since the last complete flush
	wait  *waiter
	efdMu sync.RWMutex // wake holds it shared, closeEfd exclusively
	efd   int          // written by wake; -1 once closed

	c queueCounters
}

// queueCounters are the queue's own statistics, written by its goroutine
// and read by Stats.
type queueCounters struct {
	rxFrames, rxDropped           atomic.Uint64
	txFrames, txFallback, txError atomic.Uint64
	neighMisses, neighTriggers    atomic.Uint64
}

// stopDrain bounds how long Stop waits for replies pending on the HA
// partner.
const stopDrain = 3 * time.Second

var efdOne = [8]byte{1} // eventfd counter increment (host order, little endian)

// wake is the pipeline worker's wake function: a completed pending reply
// is waiting. It runs on the completing goroutine.
func (q *queue) wake() {
	q.efdMu.RLock()
	if q.efd >= 0 {
		_, _ = unix.Write(q.efd, efdOne[:])
	}
	q.efdMu.RUnlock()
}

// run is the queue goroutine: poll the socket and the eventfd, run the
// received batch through the pipeline, send the completed pending
// replies, flush once. On stop it keeps completing pending replies
// (bounded by stopDrain).
func (q *queue) run(stop <-chan struct{}) {
	log := q.p.log.With().Int("queue", q.id).Logger()
	defer q.p.cfg.Pipeline.Release(q.w)
	timeout := pollTimeout
	for {
		select {
		case <-stop:
			q.drain()
			return
		default:
		}
		if err := q.wait.wait(timeout); err != nil {
			log.Error().Err(err).Msg("poll failed; queue stopped")
			return
		}
		n, err := q.sock.Receive(q.descs)
		if err != nil {
			log.Error().Err(err).Msg("receive failed; queue stopped")
			return
		}
		if n > 0 {
			q.receive(n, time.Now())
		}
		q.w.Complete()
		q.flush()
		q.c.neighMisses.Store(q.neigh.misses)
		q.c.neighTriggers.Store(q.neigh.triggers)
		// A full batch means more is waiting: look again at once.
		timeout = pollTimeout
		if n == len(q.descs) {
			timeout = 0
		}
	}
}

// drain runs after stop: no more RX; replies pending on the HA partner
// are still completed and sent for a while.
func (q *queue) drain() {
	deadline := time.Now().Add(stopDrain)
	for q.p.cfg.Pipeline.Parked() > 0 && time.Now().Before(deadline) {
		if err := q.wait.wait(10 * time.Millisecond); err != nil {
			break
		}
		q.w.Complete()
		q.flush()
	}
	q.w.Complete()
	q.flush()
}

// flush publishes submitted TX frames and drives the kernel.
func (q *queue) flush() {
	if !q.dirty {
		return
	}
	if err := q.sock.Flush(); err != nil {
		q.p.dbg.Debug().Err(err).Int("queue", q.id).Msg("flush tx")
		return
	}
	q.dirty = false
}

// receive runs the batch's frames through the pipeline, straight from
// their UMEM frames, then gives every frame back to the fill ring at once.
func (q *queue) receive(n int, now time.Time) {
	q.c.rxFrames.Add(uint64(n))
	m := &q.meta
	for _, d := range q.descs[:n] {
		if err := packet.Decode(q.sock.Frame(d), &q.req); err != nil {
			q.p.dropCell(packet.Reason(err)).Add(1)
			q.c.rxDropped.Add(1)
			continue
		}
		if q.req.DstPort != packet.ServerPort {
			q.p.dropCell("not-server-port").Add(1)
			q.c.rxDropped.Add(1)
			continue
		}
		*m = pipeline.Meta{
			Iface: q.p.ifname, IfIndex: q.p.ifindex, IfAddr: q.p.ifaddr,
			Src: netip.AddrPortFrom(q.req.Src, q.req.SrcPort), Dst: q.req.Dst,
			Time: now, Frame: q.req,
		}
		q.w.Process(q.req.Payload, m)
	}
	q.sock.Release(q.descs[:n])
}

// Send implements pipeline.Transport for the queue's worker: build the
// reply frame in a TX frame (flushed with the batch), or hand the reply to
// the fallback. It runs on the queue goroutine.
func (q *queue) Send(m *pipeline.Meta, req *dhcp.Request, reply *dhcp.Reply) error {
	var out packet.Frame
	why, err := q.p.replyFrame(&m.Frame, req, reply, q.neigh, &out)
	if err != nil {
		return q.fallback(why, m, req, reply, err)
	}
	buf, addr, ok := q.sock.TxBuffer()
	if !ok {
		// Every TX frame is in flight: drive the kernel and look again.
		q.flush()
		if buf, addr, ok = q.sock.TxBuffer(); !ok {
			return q.fallback("no-tx-frame", m, req, reply, errors.New("every tx frame in flight"))
		}
	}
	n, err := packet.EncodeUDP(buf, &out, reply.Msg.ToBytes())
	if err != nil {
		_ = q.sock.FreeTxBuffer(addr)
		q.c.txError.Add(1)
		return fmt.Errorf("xdp encode reply to %s: %w", out.Dst, err)
	}
	if err := q.sock.Submit(addr, n); err != nil {
		q.c.txError.Add(1)
		return fmt.Errorf("xdp submit reply to %s: %w", out.Dst, err)
	}
	q.dirty = true
	q.c.txFrames.Add(1)
	return nil
}

// fallback sends reply through the configured fallback transport,
// counting why.
func (q *queue) fallback(why string, m *pipeline.Meta, req *dhcp.Request, reply *dhcp.Reply, cause error) error {
	q.p.fallbackCell(why).Add(1)
	q.c.txFallback.Add(1)
	if q.p.cfg.Fallback == nil {
		return fmt.Errorf("xdp send reply to %s: %w (no fallback)", reply.Dest.IP, cause)
	}
	if err := q.p.cfg.Fallback.Send(m, req, reply); err != nil {
		return fmt.Errorf("xdp fallback send to %s (%s): %w", reply.Dest.IP, why, err)
	}
	return nil
}

// closeEfd closes the eventfd; a completion that wakes the queue later
// finds it gone instead of writing to a descriptor number reused since.
func (q *queue) closeEfd() {
	q.efdMu.Lock()
	defer q.efdMu.Unlock()
	if q.efd >= 0 {
		unix.Close(q.efd)
		q.efd = -1
	}
}

// newEventfd returns a non-blocking eventfd.
func newEventfd() (int, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("eventfd: %w", err)
	}
	return fd, nil
}
