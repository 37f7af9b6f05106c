//go:build linux

package xdppath

import (
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/xdhcp/xdhcp/userspace/afxdp"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/server"
)

// queue is one RX queue: its socket, worker, neighbour cache and netlink
// handle, all owned by the queue's goroutine.
type queue struct {
	p     *Path
	id    int
	sock  *afxdp.Socket
	w     *server.Worker
	nl    *netlink.Handle
	neigh *resolver

	descs   []afxdp.Desc
	cur     [1]afxdp.Desc // the frame being processed (for releaseCur)
	curHeld bool
	req     packet.Frame // decoded current request (Cookie points here)
	relFn   func([]byte) // q.releaseCur, bound once
	sendFn  server.SendFunc
	dirty   bool // frames submitted since the last complete flush

	c queueCounters
}

// queueCounters are the queue's own statistics, written by its goroutine
// and read by Stats.
type queueCounters struct {
	rxFrames, rxDropped           atomic.Uint64
	txFrames, txFallback, txError atomic.Uint64
	neighMisses, neighTriggers    atomic.Uint64
}

// run is the queue goroutine: poll, receive a batch, process it, flush.
func (q *queue) run(stop <-chan struct{}) {
	log := q.p.log.With().Int("queue", q.id).Logger()
	for {
		select {
		case <-stop:
			q.flush()
			return
		default:
		}
		if _, err := q.sock.Poll(pollTimeout); err != nil {
			log.Error().Err(err).Msg("poll failed; queue stopped")
			return
		}
		n, err := q.sock.Receive(q.descs)
		if err != nil {
			log.Error().Err(err).Msg("receive failed; queue stopped")
			return
		}
		if n == 0 {
			q.flush() // leftovers of a Flush that stalled
			continue
		}
		now := time.Now()
		for _, d := range q.descs[:n] {
			q.handle(d, now)
		}
		q.flush()
		q.c.neighMisses.Store(q.neigh.misses)
		q.c.neighTriggers.Store(q.neigh.triggers)
	}
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

// handle decodes one received frame and runs it through the worker.
func (q *queue) handle(d afxdp.Desc, now time.Time) {
	q.c.rxFrames.Add(1)
	q.cur[0], q.curHeld = d, true
	data := q.sock.Frame(d)
	if err := packet.Decode(data, &q.req); err != nil {
		q.p.dropCell(packet.Reason(err)).Add(1)
		q.c.rxDropped.Add(1)
		q.releaseCur(nil)
		return
	}
	if q.req.DstPort != packet.ServerPort {
		q.p.dropCell("not-server-port").Add(1)
		q.c.rxDropped.Add(1)
		q.releaseCur(nil)
		return
	}
	pk := server.Packet{
		Data:    q.req.Payload,
		Iface:   q.p.ifname,
		IfIndex: q.p.ifindex,
		IfAddr:  q.p.ifaddr,
		Src:     netip.AddrPortFrom(q.req.Src, q.req.SrcPort),
		Dst:     q.req.Dst,
		Time:    now,
		Cookie:  &q.req,
		Release: q.relFn,
	}
	q.w.Process(&pk, q.sendFn)
	q.releaseCur(nil) // in case the server did not (it always should)
}

// releaseCur gives the current RX frame back to the fill ring (once).
func (q *queue) releaseCur([]byte) {
	if q.curHeld {
		q.curHeld = false
		q.sock.Release(q.cur[:])
	}
}

// send is the queue's server.SendFunc: it builds the reply frame in a TX
// frame of the queue's socket, or hands the reply to the fallback.
func (q *queue) send(p *server.Packet, req *dhcp.Request, reply *dhcp.Reply) error {
	rf, ok := p.Cookie.(*packet.Frame)
	if !ok {
		return fmt.Errorf("xdp send: packet cookie is %T, not a request frame", p.Cookie)
	}
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
