//go:build linux

package xdppath

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/server"
)

// rxJob is one received request, copied out of its UMEM frame: the decoded
// headers (frame, Payload pointing into buf) and the receive time. Jobs are
// recycled through their queue's free list.
type rxJob struct {
	frame packet.Frame
	buf   []byte
	now   time.Time
}

// payloadCap is the initial capacity of a job's payload buffer (a DHCP
// message is at most ~1.5 KB; larger ones grow the buffer).
const payloadCap = 1536

// workQueue is a queue's bounded FIFO of received requests, shared by the
// queue goroutine (producer) and the queue's handlers (consumers) only.
// When full, the oldest request is dropped (Kea's packet-queue behaviour).
// It also keeps the free jobs, so memory stays bounded by the peak number
// of jobs in flight.
type workQueue struct {
	mu       sync.Mutex
	nonEmpty sync.Cond
	ring     []*rxJob
	head, n  int
	limit    int
	waiting  int // handlers blocked in pop
	closed   bool
	free     []*rxJob
}

func newWorkQueue(limit int) *workQueue {
	w := &workQueue{ring: make([]*rxJob, min(limit, 64)), limit: limit}
	w.nonEmpty.L = &w.mu
	return w
}

// push appends js, dropping the oldest queued jobs when the queue is full
// (it reports how many), and tops stash up to want free jobs.
func (w *workQueue) push(js []*rxJob, stash []*rxJob, want int) (dropped int, _ []*rxJob) {
	w.mu.Lock()
	for _, j := range js {
		if w.n == len(w.ring) && len(w.ring) < w.limit {
			w.grow()
		}
		if w.n == len(w.ring) {
			w.free = append(w.free, w.ring[w.head])
			w.ring[w.head] = nil
			w.head = (w.head + 1) % len(w.ring)
			w.n--
			dropped++
		}
		w.ring[(w.head+w.n)%len(w.ring)] = j
		w.n++
	}
	for len(stash) < want && len(w.free) > 0 {
		k := len(w.free) - 1
		stash = append(stash, w.free[k])
		w.free[k] = nil
		w.free = w.free[:k]
	}
	wake := min(len(js), w.waiting)
	w.mu.Unlock()
	for range wake {
		w.nonEmpty.Signal()
	}
	return dropped, stash
}

// grow doubles the ring (up to the limit), unwrapping it. Caller holds mu.
func (w *workQueue) grow() {
	ring := make([]*rxJob, min(2*len(w.ring), w.limit))
	for i := range w.n {
		ring[i] = w.ring[(w.head+i)%len(w.ring)]
	}
	w.ring, w.head = ring, 0
}

// pop gives done (if not nil) back to the free list and blocks for the
// oldest job. After close it returns the queued jobs, then false.
func (w *workQueue) pop(done *rxJob) (*rxJob, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if done != nil {
		w.free = append(w.free, done)
	}
	for w.n == 0 {
		if w.closed {
			return nil, false
		}
		w.waiting++
		w.nonEmpty.Wait()
		w.waiting--
	}
	j := w.ring[w.head]
	w.ring[w.head] = nil
	w.head = (w.head + 1) % len(w.ring)
	w.n--
	return j, true
}

// close makes pop return false once the queue is empty.
func (w *workQueue) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.nonEmpty.Broadcast()
}

// len is the number of queued jobs.
func (w *workQueue) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// txJob is a reply handed from a handler to its queue goroutine: what
// replyFrame needs (the request's L2/L3 headers, the request and the
// reply).
type txJob struct {
	rf    packet.Frame // Payload is nil
	req   *dhcp.Request
	reply *dhcp.Reply
}

// errStopped fails a reply whose queue goroutine has exited (Stop gave up
// waiting for a slow handler).
var errStopped = errors.New("xdp path stopped")

// replyBox carries replies from a queue's handlers to its goroutine, which
// sleeps in poll(2) on the socket and an eventfd: a handler writes the
// eventfd only when the goroutine is (about to be) asleep.
type replyBox struct {
	mu       sync.Mutex
	jobs     []txJob
	sleeping bool
	gone     bool
	efd      int
}

var efdOne = [8]byte{1} // eventfd counter increment (host order, little endian)

// put queues j for the queue goroutine and wakes it if needed.
func (b *replyBox) put(j txJob) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gone {
		return errStopped
	}
	b.jobs = append(b.jobs, j)
	if b.sleeping {
		b.sleeping = false
		b.writeEfd()
	}
	return nil
}

// wake makes the queue goroutine's poll return (a handler exiting).
func (b *replyBox) wake() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.gone {
		b.writeEfd()
	}
}

// writeEfd bumps the eventfd. Caller holds mu and checked gone, so the
// descriptor is still open (closeEfd closes it under mu).
func (b *replyBox) writeEfd() {
	_, _ = unix.Write(b.efd, efdOne[:])
}

// closeEfd closes the eventfd once no handler can write it.
func (b *replyBox) closeEfd() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gone = true
	if b.efd >= 0 {
		unix.Close(b.efd)
		b.efd = -1
	}
}

// take swaps the queued replies into spare (which it returns) and marks
// the goroutine awake.
func (b *replyBox) take(spare []txJob) []txJob {
	b.mu.Lock()
	b.sleeping = false
	out := b.jobs
	b.jobs = spare[:0]
	b.mu.Unlock()
	return out
}

// sleep marks the goroutine asleep unless replies are waiting (then it
// reports false and the goroutine should not block).
func (b *replyBox) sleep() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.jobs) > 0 {
		return false
	}
	b.sleeping = true
	return true
}

// shut refuses every later put and returns the replies still queued: the
// queue goroutine is exiting.
func (b *replyBox) shut() []txJob {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gone = true
	js := b.jobs
	b.jobs = nil
	return js
}

// handler is one of a queue's handler goroutines: it runs requests
// through its own server.Worker; replies go back to the queue goroutine.
type handler struct {
	q      *queue
	w      *server.Worker
	sendFn server.SendFunc
}

func newHandler(q *queue, w *server.Worker) *handler {
	h := &handler{q: q, w: w}
	h.sendFn = h.send
	return h
}

// run processes jobs until the work queue is closed and empty.
func (h *handler) run() {
	q := h.q
	var j *rxJob
	for {
		var ok bool
		if j, ok = q.work.pop(j); !ok {
			return
		}
		pk := server.Packet{
			Data:    j.frame.Payload,
			Iface:   q.p.ifname,
			IfIndex: q.p.ifindex,
			IfAddr:  q.p.ifaddr,
			Src:     netip.AddrPortFrom(j.frame.Src, j.frame.SrcPort),
			Dst:     j.frame.Dst,
			Time:    j.now,
			Cookie:  j,
		}
		h.w.Process(&pk, h.sendFn)
	}
}

// send is the handler's server.SendFunc: it hands the reply to the queue
// goroutine (which owns the socket) and returns at once, so the server
// counts the reply as sent; a reply the queue goroutine then fails to send
// is moved from pkt4-sent to pkt4-send-failed there (see sendFailed).
// Not waiting for the outcome keeps the handler free for the next
// request: the round trip through the queue goroutine costs more than the
// rare failure's exact accounting is worth.
func (h *handler) send(p *server.Packet, req *dhcp.Request, reply *dhcp.Reply) error {
	j, ok := p.Cookie.(*rxJob)
	if !ok {
		return fmt.Errorf("xdp send: packet cookie is %T, not a request job", p.Cookie)
	}
	t := txJob{rf: j.frame, req: req, reply: reply}
	t.rf.Payload = nil
	return h.q.out.put(t)
}

// newEventfd returns a non-blocking eventfd.
func newEventfd() (int, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("eventfd: %w", err)
	}
	return fd, nil
}
