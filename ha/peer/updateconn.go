package peer

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// updateConn is one connection to the partner: the updates queued for it,
// the updates written on it and not answered yet, and the goroutine that
// reads its answers.
//
// Whoever queues an update writes it. While a plain TCP connection is open
// and carries updates (inline), Send, Release and Cancel write the updates
// they make writable with one write(2) on the socket, on the caller's
// goroutine, and the connection's goroutine, blocked in a read, matches
// the answers to the written updates in order and completes them. An
// update then costs its caller a system call and wakes nobody: only its
// answer wakes a goroutine, the reader, which completes it. Before the
// handoff was a goroutine wake per update, and the goroutine woken was
// often left waiting behind a queue goroutine that went to sleep in the
// kernel holding its P.
//
// The goroutine writes what callers cannot: it dials, it writes the tail of
// a write the socket took only part of, everything on a TLS connection,
// and the next update towards a partner that takes one at a time (Kea)
// once the previous one is answered. Everything written, by whomever, is
// written under mu and appended to written in the same critical section,
// so the stream holds the requests in queue order and written lists them
// in that order.
//
// A caller that cannot write (no connection, TLS, a short write pending,
// the connection draining) kicks the goroutine: a goroutine without a
// connection waits on wake; the reader is interrupted by moving its read
// deadline to the past (poke).
type updateConn struct {
	c    *UpdateClient
	wake chan struct{} // work for the goroutine while it has no connection

	mu       sync.Mutex
	queue    []*Update // not written yet, in order
	written  []*Update // written, not answered yet, in order
	running  bool      // the goroutine was started
	cur      net.Conn  // the open connection, for Close and pokes
	fd       int       // cur's socket while callers write inline; -1 otherwise
	reading  bool      // the goroutine reads cur's answers (open, not draining)
	rest     []byte    // written by the goroutine next: a short write's tail, TLS requests
	restN    int       // how many of written (the last ones) are not wholly written before rest
	wbroken  bool      // a write failed: nothing more is written on cur, its answers are still read
	poked    bool      // the reader's read was interrupted on purpose
	replying bool      // the reader is reading an answer: no poke may cut it
	deadline time.Time // cur's read deadline as last set by setDeadline
	lastUse  time.Time // last write or answer
	wbuf     []byte    // the requests being written

	// Owned by the goroutine.
	nc net.Conn
	br *bufio.Reader
}

func newUpdateConn(c *UpdateClient) *updateConn {
	return &updateConn{c: c, wake: make(chan struct{}, 1), fd: -1}
}

func (uc *updateConn) signal() {
	select {
	case uc.wake <- struct{}{}:
	default:
	}
}

// push adds p to the queue, starting the goroutine if needed. The caller
// holds c.mu and has checked that the client is open; it pumps after.
func (uc *updateConn) push(p *Update) {
	uc.mu.Lock()
	uc.queue = append(uc.queue, p)
	start := !uc.running
	uc.running = true
	uc.mu.Unlock()
	if start {
		uc.c.wg.Add(1)
		go uc.run()
	}
}

// limit is how many updates may be written and unanswered at once.
func (uc *updateConn) limit() int {
	if uc.c.partner.Pipelines() {
		return maxPipeline
	}
	return 1
}

// pump writes the queued updates that may go now, inline, or kicks the
// goroutine to write them. Any goroutine may call it, holding no lock.
func (uc *updateConn) pump() {
	for {
		uc.mu.Lock()
		p, err := uc.writeLocked(false)
		uc.mu.Unlock()
		if p == nil {
			return
		}
		uc.c.failUpdate(p, err)
	}
}

// writeLocked writes the queued updates that may be written now, in
// order: up to the pipeline limit, stopping at a held update. The front
// update, when it must not be written (canceled, deadline passed), is
// removed and returned with its error instead: the caller completes it
// without mu (its Done may cancel the rest of its chain) and calls again.
// self is the goroutine, which also writes on a TLS connection (the bytes
// go to rest, which it writes after unlocking); any other caller that
// cannot write kicks it.
func (uc *updateConn) writeLocked(self bool) (*Update, error) {
	if len(uc.queue) == 0 {
		return nil, nil
	}
	if !uc.reading || uc.rest != nil || uc.wbroken || (uc.fd < 0 && !self) {
		if !self && !uc.wbroken {
			uc.kickLocked()
		}
		return nil, nil
	}
	now := time.Now()
	room := uc.limit() - len(uc.written)
	uc.wbuf = uc.wbuf[:0]
	var ends [maxPipeline]int // where each request ends in wbuf
	n := 0
	for n < len(uc.queue) && n < room {
		p := uc.queue[n]
		if p.state.Load() == updHeld {
			break
		}
		if err := p.unwritable(now); err != nil {
			if n > 0 {
				break // write what is before it first
			}
			uc.popLocked(1)
			return p, err
		}
		uc.wbuf = append(uc.wbuf, uc.c.head...)
		uc.wbuf = strconv.AppendInt(uc.wbuf, int64(len(p.Body)), 10)
		uc.wbuf = append(uc.wbuf, "\r\n\r\n"...)
		uc.wbuf = append(uc.wbuf, p.Body...)
		ends[n] = len(uc.wbuf)
		p.wrote = now
		n++
	}
	if n == 0 {
		return nil, nil
	}
	if len(uc.written) == 0 && !uc.poked {
		uc.setDeadline(now.Add(uc.c.timeout))
	}
	uc.written = append(uc.written, uc.queue[:n]...)
	uc.popLocked(n)
	uc.lastUse = now
	k := 0
	if uc.fd >= 0 {
		var err error
		if k, err = uc.c.write(uc.fd, uc.wbuf); err != nil {
			// EAGAIN (a full socket buffer) or a broken connection: the
			// goroutine writes the rest and meets the error, if any.
			k = 0
		}
	}
	if k < len(uc.wbuf) {
		uc.rest = append([]byte(nil), uc.wbuf[k:]...)
		uc.restN = n
		for i := 0; i < n && ends[i] <= k; i++ {
			uc.restN--
		}
		if !self {
			uc.kickLocked()
		}
	}
	return nil, nil
}

// popLocked removes the first n queued updates.
func (uc *updateConn) popLocked(n int) {
	k := copy(uc.queue, uc.queue[n:])
	clear(uc.queue[k:])
	uc.queue = uc.queue[:k]
}

// kickLocked makes the goroutine look at its work: it interrupts the
// reader's read, or wakes a goroutine without a connection.
func (uc *updateConn) kickLocked() {
	if uc.reading && !uc.poked && !uc.replying {
		uc.poked = true
		uc.setDeadline(time.Unix(1, 0))
		return
	}
	uc.signal()
}

// setDeadline moves cur's read deadline to t (under mu).
func (uc *updateConn) setDeadline(t time.Time) {
	if uc.cur != nil && !t.Equal(uc.deadline) {
		_ = uc.cur.SetReadDeadline(t)
		uc.deadline = t
	}
}

// selfWorkLocked reports whether the goroutine has something to write.
func (uc *updateConn) selfWorkLocked() bool {
	if uc.rest != nil {
		return true
	}
	return uc.fd < 0 && !uc.wbroken && len(uc.queue) > 0 && len(uc.written) < uc.limit() &&
		uc.queue[0].state.Load() != updHeld
}

func (uc *updateConn) closedClient() bool { return uc.c.closed.Load() }

func (uc *updateConn) run() {
	defer uc.c.wg.Done()
	defer uc.drop()
	for {
		if uc.closedClient() {
			// Send queues nothing more: fail what is left, held
			// updates and written ones included.
			uc.mu.Lock()
			b := append(uc.written, uc.queue...)
			uc.written, uc.queue, uc.rest, uc.reading, uc.fd = nil, nil, nil, false, -1
			uc.mu.Unlock()
			uc.fail(b, ErrClientClosed)
			return
		}
		if uc.nc == nil {
			switch uc.open() {
			case openIdle:
				<-uc.wake
				continue
			case openFailed:
				continue
			}
		}
		uc.serve()
	}
}

// Results of open.
const (
	openIdle   = iota // nothing to write: wait for work
	openFailed        // the dial failed; the updates it was for failed
	opened
)

// open dials when the queue has an update to write.
func (uc *updateConn) open() int {
	if !uc.settle() {
		return openIdle
	}
	if err := uc.dial(); err != nil {
		uc.fail(uc.take(uc.limit()), err)
		return openFailed
	}
	return opened
}

// settle completes the front updates that must not be written and reports
// whether the front one may be.
func (uc *updateConn) settle() bool {
	for {
		now := time.Now()
		uc.mu.Lock()
		if len(uc.queue) == 0 {
			uc.mu.Unlock()
			return false
		}
		p := uc.queue[0]
		if p.state.Load() == updHeld {
			uc.mu.Unlock()
			return false
		}
		err := p.unwritable(now)
		if err == nil {
			uc.mu.Unlock()
			return true
		}
		uc.popLocked(1)
		uc.mu.Unlock()
		uc.c.failUpdate(p, err)
	}
}

// take removes up to n queued requests, stopping at one that is held.
func (uc *updateConn) take(n int) []*Update {
	uc.mu.Lock()
	defer uc.mu.Unlock()
	n = min(n, len(uc.queue))
	for i, p := range uc.queue[:n] {
		if p.state.Load() == updHeld {
			n = i
			break
		}
	}
	b := append([]*Update(nil), uc.queue[:n]...)
	uc.popLocked(n)
	return b
}

// serve carries updates on the open connection: it reads the answers and
// writes what only the goroutine writes, until the connection is dropped,
// drains or the client closes.
func (uc *updateConn) serve() {
	for uc.nc != nil {
		if !uc.writeSelf() {
			return
		}
		uc.mu.Lock()
		if uc.selfWorkLocked() {
			uc.mu.Unlock()
			continue
		}
		if uc.wbroken && len(uc.written) == 0 {
			// A write failed and every update written before it is
			// answered: the rest goes out on a fresh connection.
			uc.stopLocked()
			uc.mu.Unlock()
			uc.drop()
			return
		}
		// Clearing poked and setting the deadline under mu: a kick from
		// now on interrupts the read below.
		uc.poked = false
		dl := uc.lastUse.Add(updateIdleTimeout)
		if len(uc.written) > 0 {
			dl = uc.written[0].wrote.Add(uc.c.timeout)
		}
		uc.setDeadline(dl)
		uc.mu.Unlock()
		if uc.closedClient() {
			return
		}
		_, err := uc.br.Peek(1)
		switch {
		case err == nil:
			// An answer is coming: read it whole. A poke that raced the
			// peek is cancelled (the loop looks at the work after it).
			uc.mu.Lock()
			uc.replying = true
			if uc.poked {
				uc.poked = false
				dl := time.Now().Add(uc.c.timeout)
				if len(uc.written) > 0 {
					dl = uc.written[0].wrote.Add(uc.c.timeout)
				}
				uc.setDeadline(dl)
			}
			uc.mu.Unlock()
			uc.answer()
			uc.mu.Lock()
			uc.replying = false
			uc.mu.Unlock()
		case isTimeout(err):
			uc.expired()
		default:
			uc.lost(err)
		}
	}
}

// writeSelf writes what the goroutine must: the queue on a TLS connection,
// the updates a partner taking one at a time may now have, and rest. It
// reports false when the connection broke (it is then handled).
func (uc *updateConn) writeSelf() bool {
	for {
		uc.mu.Lock()
		p, err := uc.writeLocked(true)
		rest := uc.rest
		uc.mu.Unlock()
		if p != nil {
			uc.c.failUpdate(p, err)
			continue
		}
		if rest == nil {
			return true
		}
		_ = uc.nc.SetWriteDeadline(time.Now().Add(uc.c.timeout))
		_, werr := uc.nc.Write(rest)
		uc.mu.Lock()
		uc.rest = nil
		if werr != nil && partnerClosed(werr) {
			// The partner closed (or reset) the connection: what
			// rest held never reached it and goes out again on a fresh
			// connection; the answers to what did are still read.
			n := len(uc.written) - uc.restN
			uc.requeueLocked(uc.written[n:], false)
			clear(uc.written[n:])
			uc.written = uc.written[:n]
			uc.wbroken = true
			werr = nil
		}
		uc.restN = 0
		uc.mu.Unlock()
		if werr != nil {
			if isTimeout(werr) {
				uc.timedOut()
			} else {
				uc.lost(werr)
			}
			return false
		}
	}
}

// answer reads one answer and completes the oldest written update with it.
func (uc *updateConn) answer() {
	r, err := readReply(uc.br)
	if err != nil {
		uc.lost(err)
		return
	}
	uc.c.partner.Observe(r.server)
	uc.mu.Lock()
	if len(uc.written) == 0 {
		uc.mu.Unlock()
		uc.lost(errors.New("read reply: an answer to nothing"))
		return
	}
	p := uc.written[0]
	k := copy(uc.written, uc.written[1:])
	uc.written[k] = nil
	uc.written = uc.written[:k]
	uc.lastUse = time.Now()
	if r.close {
		// The partner answers nothing more on this connection: what
		// follows p is resent on a fresh one.
		uc.stopLocked()
		uc.requeueLocked(uc.written, false)
		uc.written = nil
	}
	uc.mu.Unlock()
	uc.c.finish(p, UpdateResult{Answer: r.a, Err: r.err})
	if r.close {
		uc.drop()
	}
}

// stopLocked stops inline writes and reading: the goroutine alone decides
// what happens to the connection from now on.
func (uc *updateConn) stopLocked() {
	uc.reading, uc.fd, uc.rest, uc.restN, uc.wbroken = false, -1, nil, 0, false
}

// requeueLocked puts b back at the front of the queue, in order; retry
// marks each one as resent (an update is resent once after its connection
// closed under it).
func (uc *updateConn) requeueLocked(b []*Update, retry bool) {
	for _, p := range b {
		if retry {
			p.retried = true
		}
	}
	uc.queue = append(append([]*Update(nil), b...), uc.queue...)
}

// expired handles a read deadline: a poke, the oldest written update's
// timeout, the idle timeout, or a deadline moved while it passed.
func (uc *updateConn) expired() {
	now := time.Now()
	uc.mu.Lock()
	switch {
	case uc.poked:
		uc.mu.Unlock()
	case len(uc.written) > 0 && !now.Before(uc.written[0].wrote.Add(uc.c.timeout)):
		uc.mu.Unlock()
		uc.timedOut()
	case len(uc.written) == 0 && !now.Before(uc.lastUse.Add(updateIdleTimeout)):
		// Closed before the partner's idle close (30 s) can race a
		// write; the next update dials again.
		uc.stopLocked()
		uc.mu.Unlock()
		uc.drop()
	default:
		uc.mu.Unlock()
	}
}

// timedOut fails the written, unanswered updates: the partner may still
// apply them, so the connection drains before it carries updates again
// (see UpdateClient).
func (uc *updateConn) timedOut() {
	uc.mu.Lock()
	fd := uc.fd
	b := uc.written
	uc.written = nil
	uc.stopLocked()
	uc.mu.Unlock()
	if uc.closedClient() {
		uc.fail(b, ErrClientClosed)
		return
	}
	// Draining is counted before they complete, so that Send never sees
	// nothing in flight and nothing draining while this connection still
	// holds them.
	uc.c.draining.Add(1)
	uc.c.timedOut.Add(int64(len(b)))
	uc.fail(b, ErrUpdateTimeout)
	ok := uc.drain(len(b))
	uc.c.draining.Add(-1)
	if !ok {
		uc.drop()
		return
	}
	uc.mu.Lock()
	uc.reading, uc.fd, uc.deadline = true, fd, time.Time{}
	uc.mu.Unlock()
}

// lost handles a connection that broke or answered something that is not a
// reply.
func (uc *updateConn) lost(err error) {
	closed := uc.closedClient()
	uc.mu.Lock()
	b := uc.written
	uc.written = nil
	uc.stopLocked()
	if partnerClosed(err) || closed {
		// Nothing written on it can be applied any more except what it
		// answered: updates are idempotent, so each unanswered one is
		// resent once on a fresh connection (as net/http resends on a
		// kept-alive connection the server closed).
		var again, failed []*Update
		for _, p := range b {
			if p.retried {
				failed = append(failed, p)
			} else {
				again = append(again, p)
			}
		}
		uc.requeueLocked(again, true)
		uc.mu.Unlock()
		uc.fail(failed, err)
		uc.drop()
		return
	}
	uc.mu.Unlock()
	// Not a reply (garbage, a broken frame): the stream is lost, but what
	// we wrote may still be applied, so it is neither resent nor followed
	// on a fresh connection until the partner closes this one.
	uc.c.draining.Add(1)
	uc.c.badAnswers.Add(1)
	uc.fail(b, err)
	uc.awaitClose()
	uc.c.draining.Add(-1)
	uc.drop()
}

// drop closes the connection.
func (uc *updateConn) drop() {
	if uc.nc == nil {
		return
	}
	uc.mu.Lock()
	uc.stopLocked()
	uc.cur, uc.deadline = nil, time.Time{}
	uc.mu.Unlock()
	_ = uc.nc.Close()
	uc.nc, uc.br = nil, nil
}

// fail completes every request of b with err.
func (uc *updateConn) fail(b []*Update, err error) {
	for _, p := range b {
		uc.c.failUpdate(p, err)
	}
}

// isTimeout reports whether err is an I/O deadline passing (the timeout,
// a poke, or Close interrupting an exchange).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// drain reads the answers to n requests written and timed out, writing
// nothing, so that nothing written later on this connection's keys can be
// applied before them (see UpdateClient). It reports whether the
// connection may carry updates again: false when the partner closed it or
// it broke (the partner can no longer apply anything from it) or the
// client closed. The updates queued meanwhile fail as their deadlines
// pass.
func (uc *updateConn) drain(n int) bool {
	for n > 0 {
		if uc.closedClient() {
			return false
		}
		_ = uc.nc.SetReadDeadline(time.Now().Add(drainPoll))
		if _, err := uc.br.Peek(1); err != nil {
			if isTimeout(err) {
				uc.expireQueued(time.Now())
				continue
			}
			uc.c.drainsCut.Add(1)
			return false
		}
		_ = uc.nc.SetReadDeadline(time.Now().Add(uc.c.timeout))
		r, err := readReply(uc.br)
		if err != nil {
			if !partnerClosed(err) {
				uc.c.badAnswers.Add(1)
				uc.awaitClose()
			}
			uc.c.drainsCut.Add(1)
			return false
		}
		uc.c.partner.Observe(r.server)
		uc.c.staleAnswers.Add(1)
		n--
		if r.close {
			uc.c.drainsCut.Add(1)
			return false
		}
	}
	uc.mu.Lock()
	uc.lastUse = time.Now()
	uc.mu.Unlock()
	return true
}

// partnerClosed reports whether err means the partner closed the
// connection (or it broke): nothing more written on it can be applied.
func partnerClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// awaitClose discards what the partner sends on a connection whose stream
// is lost, writing nothing, until the partner closes it (Kea and xdhcpd
// close a connection idle for 30 s, after answering what they read), the
// client closes, or fenceMax passes (a partner that never closes). The
// updates queued meanwhile fail as their deadlines pass.
func (uc *updateConn) awaitClose() {
	buf := make([]byte, 4096)
	for end := time.Now().Add(fenceMax); time.Now().Before(end) && !uc.closedClient(); {
		_ = uc.nc.SetReadDeadline(time.Now().Add(drainPoll))
		if _, err := uc.br.Read(buf); err != nil {
			if isTimeout(err) {
				uc.expireQueued(time.Now())
				continue
			}
			return
		}
	}
}

// expireQueued fails the queued updates that must no longer be written
// (deadline passed, or canceled), keeping the others in order.
func (uc *updateConn) expireQueued(now time.Time) {
	type expired struct {
		p   *Update
		err error
	}
	uc.mu.Lock()
	var out []expired
	k := 0
	for _, p := range uc.queue {
		if err := p.unwritable(now); err != nil {
			out = append(out, expired{p, err})
			continue
		}
		uc.queue[k] = p
		k++
	}
	clear(uc.queue[k:])
	uc.queue = uc.queue[:k]
	uc.mu.Unlock()
	for _, e := range out {
		uc.c.failUpdate(e.p, e.err)
	}
}

// dial opens the connection (TLS when configured) and starts carrying
// updates on it: inline on a plain TCP socket.
func (uc *updateConn) dial() error {
	d := &net.Dialer{Timeout: uc.c.timeout, KeepAlive: 30 * time.Second}
	var nc net.Conn
	var err error
	if uc.c.tls != nil {
		nc, err = tls.DialWithDialer(d, "tcp", uc.c.addr, uc.c.tls)
	} else {
		nc, err = d.Dial("tcp", uc.c.addr)
	}
	if err != nil {
		return err
	}
	fd := socketFD(nc)
	uc.nc, uc.br = nc, bufio.NewReaderSize(nc, 16<<10)
	uc.mu.Lock()
	uc.cur, uc.fd, uc.reading, uc.deadline = nc, fd, true, time.Time{}
	uc.lastUse = time.Now()
	uc.mu.Unlock()
	return nil
}
