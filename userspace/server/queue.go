package server

import (
	"sync"

	"github.com/xdhcp/xdhcp/userspace/stats"
)

// queue is a bounded FIFO that, when full, drops its oldest packet (Kea's
// packet-queue behaviour) and counts it. It grows its ring on demand up to
// the bound, so a large or "unlimited" bound costs nothing until used.
type queue struct {
	mu       sync.Mutex
	nonEmpty sync.Cond
	ring     []Packet
	head, n  int
	limit    int
	closed   bool

	shard *stats.Shard // written only under mu
	full  *stats.Cell
}

const initialRing = 64

func newQueue(limit int, shard *stats.Shard, full *stats.Cell) *queue {
	q := &queue{ring: make([]Packet, min(limit, initialRing)), limit: limit, shard: shard, full: full}
	q.nonEmpty.L = &q.mu
	return q
}

// push appends j. When the queue is full the oldest packet is released and
// counted (pkt4-received, pkt4-receive-drop, the queue-full cell). It
// reports false, releasing j's packet, once the queue is closed.
func (q *queue) push(j Packet) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		j.release()
		return false
	}
	if q.n == len(q.ring) && len(q.ring) < q.limit {
		q.grow()
	}
	if q.n == len(q.ring) {
		old := &q.ring[q.head]
		old.release()
		*old = Packet{}
		q.head = (q.head + 1) % len(q.ring)
		q.n--
		q.shard.Inc(stats.Pkt4Received)
		q.shard.Inc(stats.Pkt4ReceiveDrop)
		q.full.Add(1)
	}
	q.ring[(q.head+q.n)%len(q.ring)] = j
	q.n++
	q.mu.Unlock()
	q.nonEmpty.Signal()
	return true
}

// pushIfEmpty queues j only when nothing is queued (and the queue is
// open), so it never displaces a packet; it reports whether j was queued.
func (q *queue) pushIfEmpty(j Packet) bool {
	q.mu.Lock()
	if q.closed || q.n != 0 {
		q.mu.Unlock()
		return false
	}
	q.ring[q.head] = j
	q.n++
	q.mu.Unlock()
	q.nonEmpty.Signal()
	return true
}

// grow doubles the ring (up to the limit), unwrapping it. Caller holds mu.
func (q *queue) grow() {
	ring := make([]Packet, min(2*len(q.ring), q.limit))
	for i := range q.n {
		ring[i] = q.ring[(q.head+i)%len(q.ring)]
	}
	q.ring, q.head = ring, 0
}

// pop blocks for the oldest job. After close it keeps returning the queued
// jobs and then reports false.
func (q *queue) pop() (Packet, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n == 0 {
		if q.closed {
			return Packet{}, false
		}
		q.nonEmpty.Wait()
	}
	j := q.ring[q.head]
	q.ring[q.head] = Packet{}
	q.head = (q.head + 1) % len(q.ring)
	q.n--
	return j, true
}

// len is the number of queued jobs.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// close refuses further pushes and wakes every waiting pop.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.nonEmpty.Broadcast()
}
