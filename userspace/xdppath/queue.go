//go:build linux

package xdppath

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/vishvananda/netlink"

	"github.com/xdhcp/xdhcp/userspace/afxdp"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// queue is one RX queue: its socket, neighbour cache and netlink handle,
// owned by the queue's goroutine, and its pool of handler goroutines fed
// through a bounded work queue. Nothing here is shared with other queues.
type queue struct {
	p     *Path
	id    int
	sock  *afxdp.Socket
	nl    *netlink.Handle
	neigh *resolver

	descs []afxdp.Desc
	req   packet.Frame // decode scratch
	dirty bool         // frames submitted since the last complete flush
	wait  *waiter

	work     *workQueue
	out      replyBox
	handlers []*handler
	live     atomic.Int32 // handler goroutines running
	batch    []*rxJob     // decoded jobs of the current RX batch
	stash    []*rxJob     // free jobs taken from the work queue
	replies  []txJob      // spare reply slice (swapped with out.jobs)
	shard    *stats.Shard // queue-full drops and failed replies (see sendFailed)

	c queueCounters
}

// queueCounters are the queue's own statistics, written by its goroutine
// and read by Stats.
type queueCounters struct {
	rxFrames, rxDropped           atomic.Uint64
	txFrames, txFallback, txError atomic.Uint64
	neighMisses, neighTriggers    atomic.Uint64
	queueFull                     atomic.Uint64
}

// stopDrain bounds how long Stop waits for a queue's handlers to finish
// the requests already queued.
const stopDrain = 3 * time.Second

// run is the queue goroutine: poll the socket and the reply eventfd,
// receive a batch into the work queue, send the handlers' replies, flush.
// On stop it closes the work queue and keeps sending replies until the
// handlers are done (bounded by stopDrain).
func (q *queue) run(stop <-chan struct{}) {
	log := q.p.log.With().Int("queue", q.id).Logger()
	defer q.finish()
	for {
		select {
		case <-stop:
			q.drain()
			return
		default:
		}
		timeout := 0
		if q.out.sleep() {
			timeout = int(pollTimeout / time.Millisecond)
		}
		if err := q.poll(timeout); err != nil {
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
		q.serveReplies()
		q.flush() // also leftovers of a Flush that stalled
		q.c.neighMisses.Store(q.neigh.misses)
		q.c.neighTriggers.Store(q.neigh.triggers)
	}
}

// poll waits up to timeout ms for RX frames or a reply wake-up.
func (q *queue) poll(timeout int) error {
	if err := q.wait.wait(time.Duration(timeout) * time.Millisecond); err != nil {
		return fmt.Errorf("queue %d: %w", q.id, err)
	}
	return nil
}

// drain runs after stop: no more RX; the handlers finish what is queued
// while their replies are still sent.
func (q *queue) drain() {
	q.work.close()
	deadline := time.Now().Add(stopDrain)
	for q.live.Load() > 0 && time.Now().Before(deadline) {
		timeout := 0
		if q.out.sleep() {
			timeout = 10
		}
		if err := q.poll(timeout); err != nil {
			break
		}
		q.serveReplies()
		q.flush()
	}
	q.serveReplies()
	q.flush()
	if n := q.live.Load(); n > 0 {
		q.p.log.Warn().Int("queue", q.id).Int32("handlers", n).Int("queued", q.work.len()).
			Msg("handlers still busy after the stop timeout; their replies are dropped")
	}
}

// finish refuses replies from now on (a handler still busy after the
// stop timeout gets errStopped) and counts those left unsent.
func (q *queue) finish() {
	for _, j := range q.out.shut() {
		q.sendFailed(j.reply, errStopped)
	}
	q.work.close()
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

// receive decodes the batch's frames, copies each request's payload into
// a job, releases every frame to the fill ring at once and queues the jobs
// for the handlers (dropping the oldest queued ones when full).
func (q *queue) receive(n int, now time.Time) {
	q.c.rxFrames.Add(uint64(n))
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
		var j *rxJob
		if k := len(q.stash); k > 0 {
			j = q.stash[k-1]
			q.stash[k-1] = nil
			q.stash = q.stash[:k-1]
		} else {
			j = &rxJob{buf: make([]byte, 0, payloadCap)}
		}
		j.frame = q.req
		j.buf = append(j.buf[:0], q.req.Payload...)
		j.frame.Payload = j.buf
		j.now = now
		q.batch = append(q.batch, j)
	}
	q.sock.Release(q.descs[:n])
	if len(q.batch) == 0 {
		return
	}
	var dropped int
	dropped, q.stash = q.work.push(q.batch, q.stash, cap(q.descs))
	clear(q.batch)
	q.batch = q.batch[:0]
	if dropped > 0 {
		q.shard.Add(stats.Pkt4Received, int64(dropped))
		q.shard.Add(stats.Pkt4ReceiveDrop, int64(dropped))
		q.p.queueFull.Add(int64(dropped))
		q.c.queueFull.Add(uint64(dropped))
	}
}

// serveReplies sends every reply the handlers have queued.
func (q *queue) serveReplies() {
	js := q.out.take(q.replies)
	for i := range js {
		j := &js[i]
		if err := q.send(&j.rf, j.req, j.reply); err != nil {
			q.sendFailed(j.reply, err)
		}
		*j = txJob{}
	}
	q.replies = js[:0]
}

// sendFailed accounts for a reply the handler's worker already counted as
// sent: it is taken back from pkt4-sent (and pkt4-<type>-sent) and counted
// in pkt4-send-failed, as the server does for a failed synchronous send.
func (q *queue) sendFailed(reply *dhcp.Reply, err error) {
	q.shard.Add(stats.Pkt4Sent, -1)
	switch reply.Msg.MessageType() {
	case dhcpv4.MessageTypeOffer:
		q.shard.Add(stats.Pkt4OfferSent, -1)
	case dhcpv4.MessageTypeAck:
		q.shard.Add(stats.Pkt4AckSent, -1)
	case dhcpv4.MessageTypeNak:
		q.shard.Add(stats.Pkt4NakSent, -1)
	}
	q.p.sendFailed.Add(1)
	q.p.dbg.Debug().Err(err).Int("queue", q.id).Str("xid", reply.Msg.TransactionID.String()).
		Stringer("dest", reply.Dest.IP).Msg("send reply")
}

// send builds the reply frame in a TX frame of the queue's socket, or
// hands the reply to the fallback. It runs on the queue goroutine.
func (q *queue) send(rf *packet.Frame, req *dhcp.Request, reply *dhcp.Reply) error {
	var out packet.Frame
	why, err := q.p.replyFrame(rf, req, reply, q.neigh, &out)
	if err != nil {
		return q.fallback(why, req, reply, err)
	}
	buf, addr, ok := q.sock.TxBuffer()
	if !ok {
		// Every TX frame is in flight: drive the kernel and look again.
		q.flush()
		if buf, addr, ok = q.sock.TxBuffer(); !ok {
			return q.fallback("no-tx-frame", req, reply, errors.New("every tx frame in flight"))
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

// fallback sends reply through the configured fallback, counting why.
func (q *queue) fallback(why string, req *dhcp.Request, reply *dhcp.Reply, cause error) error {
	q.p.fallbackCell(why).Add(1)
	q.c.txFallback.Add(1)
	if q.p.cfg.Fallback == nil {
		return fmt.Errorf("xdp send reply to %s: %w (no fallback)", reply.Dest.IP, cause)
	}
	if err := q.p.cfg.Fallback(req, reply); err != nil {
		return fmt.Errorf("xdp fallback send to %s (%s): %w", reply.Dest.IP, why, err)
	}
	return nil
}
