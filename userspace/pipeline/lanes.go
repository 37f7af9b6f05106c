package pipeline

// Engine lanes: with a lease database (PostgreSQL) the engine's Handle
// waits on database round trips, and a transport worker running it inline
// (one per RX queue) would take no packet while a commit is in flight.
// Config.Lanes > 0 moves the engine off the transport goroutine onto a
// fixed set of lane goroutines fed by one bounded queue: the transport
// worker parses, gates and queues a pending record (its request and frame
// headers, not a goroutine) and goes back to its ring. A lane runs the
// engine (which returns only after the lease committed: the store's group
// commit batches the lanes' concurrent writes into one transaction), then
// HA as for an inline reply, and completes the record through the same
// path as an HA completion (the owner's completed list and wake, or a
// direct send for transports without wake). The order of the commit
// contract is unchanged: commit → partner → transport.
//
// A client's next query waits behind its pending one (as with HA). A full
// queue drops the packet and counts it (pkt4-dropped-lane-queue-full,
// pkt4-receive-drop). Lanes == 0 (memfile) keeps the engine inline.

import (
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// StatLaneFull counts queries dropped because every lane was busy and the
// lane queue was full.
const StatLaneFull = "pkt4-dropped-lane-queue-full"

// laneQueue bounds the queries waiting for a lane, per lane, and
// laneQueueMax in all: many lanes (each only waiting on the database)
// must not make an overloaded server answer queries clients gave up on.
const (
	laneQueue    = 64
	laneQueueMax = 1024
)

func (p *Pipeline) startLanes(n int) {
	p.lanes = make(chan *pending, min(n*laneQueue, laneQueueMax))
	p.laneFull = p.cfg.Stats.Cell(StatLaneFull)
	for range n {
		go p.lane(p.cfg.Stats.NewShard())
	}
}

// lane runs queued queries through the engine. It lives as long as the
// process (the pipeline has no stop; Close only stops sending).
func (p *Pipeline) lane(sh *stats.Shard) {
	var (
		cur *engineBox
		run func(*dhcp.Request) *dhcp.Reply
	)
	for pd := range p.lanes {
		e := p.engine.Load()
		if e != cur {
			cur, run = e, e.e.Handler(sh)
		}
		reply, ok := runEngine(p, run, pd.req)
		pd.reply = reply
		switch {
		case !ok:
			pd.w.shard.Inc(stats.Pkt4ReceiveDrop)
			pd.drop = true
			pd.complete(nil)
		case reply == nil:
			pd.drop = true
			pd.complete(nil)
		case len(reply.Changes) > 0 && p.cfg.Replicator != nil:
			if reply.Msg == nil {
				p.replicate(reply.Changes, func(err error) {
					if err != nil {
						p.c.unreplicated.Add(1)
					}
				})
				pd.drop = true
				pd.complete(nil)
				continue
			}
			if lim := p.limit.Load(); lim > 0 && p.parked.Load() > lim {
				pd.w.shard.Inc(stats.Pkt4ReceiveDrop)
				p.c.parkingFull.Add(1)
				pd.drop = true
				pd.complete(nil)
				continue
			}
			p.replicate(reply.Changes, pd.complete)
		default:
			pd.drop = reply.Msg == nil
			pd.complete(nil)
		}
	}
}

// toLane queues req for a lane as a pending record of w; false when the
// queue is full (counted).
func (w *Worker) toLane(req *dhcp.Request, m *Meta) bool {
	p := w.p
	p.parked.Add(1)
	pd := w.newPending()
	pd.key, pd.meta, pd.req = keyOf(req.Msg), *m, req
	pd.meta.Frame.Payload = nil
	w.mu.Lock()
	w.pending[pd.key] = pd
	w.mu.Unlock()
	select {
	case p.lanes <- pd:
		return true
	default:
	}
	p.laneFull.Add(1)
	w.mu.Lock()
	delete(w.pending, pd.key)
	*pd = pending{w: w}
	w.spare = append(w.spare, pd)
	w.mu.Unlock()
	p.parked.Add(-1)
	return false
}
