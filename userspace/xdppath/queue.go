//go:build linux

package xdppath

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/crash"
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
	wait  *waiter       // nil while the socket is being replaced
	efdMu sync.RWMutex  // wake holds it shared, closeEfd exclusively
	efd   int           // written by wake; -1 once closed

	// Socket failure handling (see restart). sockMu guards sock against
	// Stats while the queue goroutine replaces it; the goroutine itself
	// reads sock without it.
	sockMu    sync.Mutex
	closedSum afxdp.Stats  // statistics of the sockets replaced so far
	sockErr   error        // a TX error seen outside the loop's own calls
	down      bool         // handed to the kernel path: no socket any more
	restarts  []time.Time  // recent restarts, for the restart budget
	isDown    atomic.Bool  // down, for other goroutines
	failNext  atomic.Value // test hook: error the loop sees next (errBox)
	failOpens atomic.Int32 // test hook: socket reopens that fail

	c queueCounters

	// turns counts the loop's turns (each at most pollTimeout apart while
	// the goroutine is live): the service watchdog's liveness evidence.
	turns atomic.Uint64
}

// errBox carries an injected error through atomic.Value.
type errBox struct{ err error }

// queueCounters are the queue's own statistics, written by its goroutine
// and read by Stats.
type queueCounters struct {
	rxFrames, rxDropped           atomic.Uint64
	txFrames, txFallback, txError atomic.Uint64
	neighMisses                   atomic.Uint64
}

// stopDrain bounds how long Stop waits for replies pending on the HA
// partner.
const stopDrain = 3 * time.Second

// Restarting a failed queue socket: each failure gets restartAttempts
// reopen attempts, restartFirstDelay apart and doubling; a queue that
// needed restartBudget restarts within restartWindow is failing for a
// reason a new socket does not fix, and is handed to the kernel path.
const (
	restartAttempts   = 5
	restartFirstDelay = 20 * time.Millisecond
	restartBudget     = 5
	restartWindow     = time.Minute
)

// Names of the queue event counters (stats.Registry cells).
const (
	cellQueueRestarts = "xdp-queue-restarts"
	cellQueueToKernel = "xdp-queue-handed-to-kernel"
)

// queueCells are created by makeCells with the drop and fallback cells.
var queueCells = []string{cellQueueRestarts, cellQueueToKernel}

// errInjected is what the failOpens test hook makes a reopen return.
var errInjected = errors.New("injected by a test")

var efdOne = [8]byte{1} // eventfd counter increment (host order, little endian)

// wake is the pipeline worker's wake function: a completed pending reply
// is waiting. It runs on the completing goroutine.
func (q *queue) wake() {
	q.efdMu.RLock()
	if q.efd >= 0 {
		_, _ = afxdp.RawWrite(q.efd, efdOne[:]) // non-blocking: nothing for the scheduler to see
	}
	q.efdMu.RUnlock()
}

// run is the queue goroutine: poll the socket and the eventfd, run the
// received batch through the pipeline, send the completed pending
// replies, flush once. An error from the socket (poll, receive, TX kick)
// makes it replace the socket or hand the queue to the kernel path
// (restart). On stop it keeps completing pending replies (bounded by
// stopDrain). A panic outside a frame's processing exits the process
// (crash.Recover): the queue's state can no longer be trusted.
func (q *queue) run(stop <-chan struct{}) {
	log := q.p.log.With().Int("queue", q.id).Logger()
	defer q.p.cfg.Pipeline.Release(q.w)
	defer crash.Recover(log, fmt.Sprintf("xdp-queue-%d", q.id))
	timeout := pollTimeout
	for {
		q.turns.Add(1)
		select {
		case <-stop:
			q.drain()
			return
		default:
		}
		if q.down {
			q.serveDown()
			continue
		}
		n, err := q.step(timeout)
		if err != nil {
			q.restart(err, stop, log)
			continue
		}
		// A full batch means more is waiting: look again at once.
		timeout = pollTimeout
		if n == len(q.descs) {
			timeout = 0
		}
	}
}

// step is one turn of the loop on a live socket: how many frames it
// received, or the socket's error.
func (q *queue) step(timeout time.Duration) (int, error) {
	if err := q.wait.wait(timeout); err != nil {
		return 0, fmt.Errorf("poll: %w", err)
	}
	if b, ok := q.failNext.Swap(errBox{}).(errBox); ok && b.err != nil {
		return 0, b.err
	}
	n, err := q.sock.Receive(q.descs)
	if err != nil {
		return 0, fmt.Errorf("receive: %w", err)
	}
	if n > 0 {
		q.receive(n, time.Now())
	}
	q.w.Complete()
	if err := q.flush(); err != nil {
		q.sockErr = err
	}
	q.c.neighMisses.Store(q.neigh.misses)
	if err := q.sockErr; err != nil {
		q.sockErr = nil
		return n, fmt.Errorf("tx: %w", err)
	}
	return n, nil
}

// serveDown is the loop of a queue handed to the kernel path: no socket,
// but replies pending on the HA partner still complete here and leave
// through the fallback (Send).
func (q *queue) serveDown() {
	if q.wait != nil {
		_ = q.wait.wait(pollTimeout)
	} else {
		time.Sleep(pollTimeout)
	}
	q.w.Complete()
}

// restart handles a failed socket: it unregisters it from the XSKMAP at
// once (the queue's frames then take XDP_PASS to the kernel stack, where
// the UDP path serves them), closes it, and binds a new one, with bounded
// retries and back-off. If that fails, or the queue has used its restart
// budget, the queue stays with the kernel path for good. Each event is
// logged once and counted (xdp-queue-restarts, xdp-queue-handed-to-kernel).
// Replies already in the old TX ring are lost with it; replies pending on
// the HA partner are not (they live in the pipeline worker).
func (q *queue) restart(cause error, stop <-chan struct{}, log zerolog.Logger) {
	if err := q.p.dp.UnregisterSocket(q.id); err != nil {
		log.Error().Err(err).Msg("unregister failed queue socket")
	}
	q.closeSocket()
	now := time.Now()
	recent := q.restarts[:0]
	for _, t := range q.restarts {
		if now.Sub(t) < restartWindow {
			recent = append(recent, t)
		}
	}
	q.restarts = recent
	if len(recent) >= restartBudget {
		q.handOver(log, cause, fmt.Errorf("%d restarts within %s", len(recent), restartWindow))
		return
	}
	var last error
	delay := restartFirstDelay
	for attempt := 1; attempt <= restartAttempts; attempt++ {
		select {
		case <-stop:
			// Stopping anyway: drain needs only the eventfd.
			q.handOver(log, cause, errStopping)
			return
		case <-time.After(delay):
		}
		delay *= 2
		if last = q.reopen(); last == nil {
			q.restarts = append(q.restarts, now)
			q.p.cells[cellQueueRestarts].Add(1)
			log.Warn().Err(cause).Int("attempt", attempt).Msg("af_xdp queue failed; socket restarted")
			return
		}
	}
	q.handOver(log, cause, last)
}

// handOver leaves the queue to the kernel path: its XSKMAP slot is empty
// (restart emptied it), so the XDP program's redirect falls back to
// XDP_PASS and the UDP path answers its clients; the goroutine keeps
// completing replies pending on the HA partner through the fallback.
func (q *queue) handOver(log zerolog.Logger, cause, why error) {
	q.down = true
	q.isDown.Store(true)
	if w, err := newWaiter(nil, q.efd); err == nil {
		q.wait = w
	}
	if errors.Is(why, errStopping) {
		log.Warn().Err(cause).Msg("af_xdp queue failed while the path stops; not restarted")
		return
	}
	q.p.cells[cellQueueToKernel].Add(1)
	log.Error().Err(cause).AnErr("restart", why).
		Msg("af_xdp queue failed and was not restarted; its clients are served by the kernel path (udp)")
}

// errStopping marks a hand-over caused by Stop, which is not counted.
var errStopping = errors.New("stopped while restarting")

// closeSocket closes the queue's socket and waiter, keeping the socket's
// statistics.
func (q *queue) closeSocket() {
	if q.wait != nil {
		q.wait.close()
		q.wait = nil
	}
	q.dirty = false
	q.sockMu.Lock()
	defer q.sockMu.Unlock()
	if ss, err := q.sock.Stats(); err == nil {
		addSocketStats(&q.closedSum, ss)
	}
	if err := q.sock.Close(); err != nil {
		q.p.log.Warn().Err(err).Int("queue", q.id).Msg("close failed queue socket")
	}
}

// reopen binds a new socket to the queue (in the interface's namespace),
// waits on it and registers it in the XSKMAP.
func (q *queue) reopen() error {
	if q.failOpens.Load() > 0 {
		q.failOpens.Add(-1)
		return errInjected
	}
	var s *afxdp.Socket
	err := doInNetns(q.p.log, q.p.home, func() error {
		var err error
		s, err = afxdp.Open(q.p.socketConfig(q.id))
		return err
	})
	if err != nil {
		return err
	}
	w, err := newWaiter(s, q.efd)
	if err != nil {
		s.Close()
		return err
	}
	if err := q.p.dp.RegisterSocket(q.id, s.FD()); err != nil {
		w.close()
		s.Close()
		return err
	}
	q.sockMu.Lock()
	q.sock = s
	q.sockMu.Unlock()
	q.wait = w
	return nil
}

// sockFD is the current socket's descriptor (-1 when handed over).
func (q *queue) sockFD() int {
	q.sockMu.Lock()
	defer q.sockMu.Unlock()
	if q.isDown.Load() {
		return -1
	}
	return q.sock.FD()
}

// sockStats is the queue's socket statistics, those of replaced sockets
// included. Safe from any goroutine.
func (q *queue) sockStats() (afxdp.Stats, error) {
	q.sockMu.Lock()
	defer q.sockMu.Unlock()
	s := q.closedSum
	if q.isDown.Load() {
		return s, nil
	}
	cur, err := q.sock.Stats()
	if err != nil {
		return s, err
	}
	addSocketStats(&s, cur)
	return s, nil
}

// socketConfig is the AF_XDP socket configuration of queue id.
func (p *Path) socketConfig(id int) afxdp.Config {
	rings := nextPow2(p.cfg.FrameCount / 2)
	return afxdp.Config{
		IfIndex: p.ifindex, QueueID: id,
		NumFrames: p.cfg.FrameCount, FrameSize: p.cfg.FrameSize,
		FillRingSize: rings, CompRingSize: rings, RxRingSize: rings, TxRingSize: rings,
	}
}

// drain runs after stop: no more RX; replies pending on the HA partner
// are still completed and sent for a while.
func (q *queue) drain() {
	deadline := time.Now().Add(stopDrain)
	for q.p.cfg.Pipeline.Parked() > 0 && time.Now().Before(deadline) {
		if q.wait == nil {
			time.Sleep(10 * time.Millisecond)
		} else if err := q.wait.wait(10 * time.Millisecond); err != nil {
			break
		}
		q.w.Complete()
		_ = q.flush()
	}
	q.w.Complete()
	_ = q.flush()
}

// flush publishes submitted TX frames and drives the kernel. Its error is
// the socket's: the loop restarts the socket.
func (q *queue) flush() error {
	if !q.dirty {
		return nil
	}
	if err := q.sock.Flush(); err != nil {
		return fmt.Errorf("flush tx: %w", err)
	}
	q.dirty = false
	return nil
}

// receive runs the batch's frames through the pipeline, straight from
// their UMEM frames, then gives every frame back to the fill ring at once.
func (q *queue) receive(n int, now time.Time) {
	q.c.rxFrames.Add(uint64(n))
	for _, d := range q.descs[:n] {
		q.frame(d, now)
	}
	q.sock.Release(q.descs[:n])
}

// frame runs one received frame through the pipeline. A panic here is a
// per-packet one: the frame is dropped, counted (xdp-rx-drop-panic) and
// logged with its stack (sampled), and the queue carries on.
func (q *queue) frame(d afxdp.Desc, now time.Time) {
	defer func() {
		if r := recover(); r != nil {
			q.p.dropCell("panic").Add(1)
			q.c.rxDropped.Add(1)
			q.p.dbg.Error().Int("queue", q.id).Str("panic", fmt.Sprint(r)).Str("stack", string(debug.Stack())).
				Msg("panic while processing a frame; frame dropped")
		}
	}()
	if err := packet.Decode(q.sock.Frame(d), &q.req); err != nil {
		q.p.dropCell(packet.Reason(err)).Add(1)
		q.c.rxDropped.Add(1)
		return
	}
	if q.req.DstPort != packet.ServerPort {
		q.p.dropCell("not-server-port").Add(1)
		q.c.rxDropped.Add(1)
		return
	}
	m := &q.meta
	*m = pipeline.Meta{
		Iface: q.p.ifname, IfIndex: q.p.ifindex, IfAddr: q.p.ifaddr,
		Src: netip.AddrPortFrom(q.req.Src, q.req.SrcPort), Dst: q.req.Dst,
		Time: now, Frame: q.req,
	}
	q.w.Process(q.req.Payload, m)
}

// Send implements pipeline.Transport for the queue's worker: build the
// reply frame in a TX frame (flushed with the batch), or hand the reply to
// the fallback. It runs on the queue goroutine.
func (q *queue) Send(m *pipeline.Meta, req *dhcp.Request, reply *dhcp.Reply) error {
	if q.down {
		return q.fallback("queue-down", m, req, reply, errors.New("queue handed to the kernel path"))
	}
	var out packet.Frame
	why, err := q.p.replyFrame(&m.Frame, req, reply, q.neigh, &out)
	if err != nil {
		return q.fallback(why, m, req, reply, err)
	}
	buf, addr, ok := q.sock.TxBuffer()
	if !ok {
		// Every TX frame is in flight: drive the kernel and look again.
		if err := q.flush(); err != nil {
			q.sockErr = err
		}
		if buf, addr, ok = q.sock.TxBuffer(); !ok {
			return q.fallback("no-tx-frame", m, req, reply, errors.New("every tx frame in flight"))
		}
	}
	payload := reply.Msg.ToBytes()
	n, err := packet.EncodeUDP(buf, &out, payload)
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
	q.learnRenewal(m, reply, &out, payload)
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
