package peer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ServerSoftware is what our peer listener puts in its Server header. Kea
// 2.2's listener sends no Server header.
const ServerSoftware = "xdhcpd"

// PartnerInfo is what the clients learned about the partner from its
// replies: whether it is an xdhcpd, whose listener accepts pipelined
// requests. Every reply refreshes it, so a partner replaced by Kea is
// noticed on its first reply.
type PartnerInfo struct {
	pipelines atomic.Bool
}

// Observe records a reply's Server header.
func (p *PartnerInfo) Observe(server []byte) {
	p.pipelines.Store(bytes.HasPrefix(server, []byte(ServerSoftware)))
}

// Pipelines reports whether the partner's listener takes pipelined
// requests (it answered with Server: xdhcpd).
func (p *PartnerInfo) Pipelines() bool { return p.pipelines.Load() }

// Why an update fails without an answer from the partner.
var (
	// ErrClientClosed fails the updates of a closed client.
	ErrClientClosed = errors.New("ha client closed")
	// ErrUpdateExpired fails an update whose deadline passed before it
	// could be written.
	ErrUpdateExpired = errors.New("lease update deadline passed before it was sent")
	// ErrUpdateCanceled fails an update that was not written because an
	// earlier update of its chain failed.
	ErrUpdateCanceled = errors.New("lease update not sent: an earlier update of its chain failed")
	// ErrUpdateTimeout fails an update written to the partner and not
	// answered within the timeout: its ACK is dropped, and the partner may
	// still apply it, so its connection drains (see UpdateClient).
	ErrUpdateTimeout = errors.New("lease update written, no answer within the timeout")
)

// Limits of the update client.
const (
	// maxPipeline bounds the requests written to one connection before
	// their replies are read.
	maxPipeline = 64
	// updateIdleTimeout closes a connection unused this long, before the
	// partner's listener does (Kea and we close after 30 s).
	updateIdleTimeout = 25 * time.Second
	// drainPoll is how often a draining connection stops waiting for a
	// stale answer to fail the queued updates whose deadline passed.
	drainPoll = 50 * time.Millisecond
	// fenceMax bounds awaitClose: twice the partner's idle close.
	fenceMax = 60 * time.Second
	// updateConnsPerThread is how many update connections the client
	// uses per http-client-threads towards a partner that does not
	// pipeline (Kea): each connection carries one update at a time, and
	// with many ACKs parked on their updates a thread's worth of
	// connections is too few. Towards a pipelining partner one connection
	// per thread is best: fuller pipelines, fewer writes.
	updateConnsPerThread = 4
)

// UpdateClient carries the DHCP hot path's lease updates (lease4-update,
// lease4-del) to the partner over persistent HTTP/1.1 connections of its
// own, one goroutine each. It never blocks its caller: Send queues an
// Update (a small struct with a completion callback, no goroutine,
// no channel) on a connection and returns; the connection's goroutine
// writes everything queued in one write, reads the replies in order and
// calls each update's Done. Against an xdhcpd partner (PartnerInfo) that is
// HTTP/1.1 pipelining (RFC 9112 §9.3.2): under load one write and one read
// carry many updates, instead of a write, a read and two wake-ups per
// update on each side. Against anything else, Kea included (which never
// pipelines and is not known to accept it), a connection carries one
// request at a time, as Kea's own client does.
//
// Ordering. The connection of an update is chosen by its key (a hash of
// the lease address), so the updates of one address queue on one
// connection and reach the partner in the order they were sent, whatever
// the load; the partner handles a connection's requests in order. The
// number of connections the key is reduced over (all of them towards Kea,
// the first http-client-threads towards a pipelining partner) changes only
// while nothing is queued or in flight, so a change of partner software
// cannot reorder one address either. The updates of one Send (a chain)
// reach the partner in chain order: one that goes to another connection
// than its predecessor is held in its queue, blocking the updates queued
// behind it there, until Release says the predecessor was answered. A
// chain is queued atomically, so holds only ever wait on updates queued
// earlier and cannot deadlock.
//
// Deadlines. Every update has one (send time + the client's timeout, Kea's
// request timeout). An update whose deadline passed before it was written
// is never written: it fails with ErrUpdateExpired when its connection
// reaches it (no timer: at the latest when the exchange ahead of it ends,
// itself bounded by the timeout). An update already written is not abandoned at its deadline:
// the connection's I/O deadline (write time + timeout) bounds the wait for
// its answer, and its Done reports that answer, success included (the
// partner may have applied it), or the timeout, which drops the connection
// and fails every written update not yet answered on it.
//
// Timeouts never reorder an address. An update written and not answered
// within the timeout fails with ErrUpdateTimeout (the caller drops the
// DHCP reply, as Kea drops a parked packet whose lease update failed:
// ha_service.cc, asyncSendLeaseUpdate's callback), but the partner may
// still be about to apply it: it sits in the partner's socket buffer, and
// closing our end does not stop the partner from reading and applying it
// (a request fully received is processed, whatever the client does next).
// A later update of the same address written on a fresh connection could
// then be applied before it, and the stale lease4-update would overwrite
// the newer lease, or resurrect a deleted one. So the connection is not
// closed: it drains. It reads (and discards, counting them) the answers
// to what it wrote, writing nothing new, until every stale request is
// answered or the partner closes the connection (from then on it cannot
// apply anything more from it); meanwhile the updates queued behind fail
// with ErrUpdateExpired when their deadlines pass, unwritten. Only then
// does the connection carry updates again. The key-to-connection mapping
// does not change while a connection drains. The one bound is Close: a
// partner that keeps the connection open and never answers also fails
// every update of that connection by expiry, which marks it unavailable.
//
// An answer that is not a reply (garbage, a broken frame) loses the
// stream but not what the partner read: that connection writes nothing
// more, and keys are not re-mapped, until the partner closes it
// (awaitClose), as after a timeout.
//
// Updates are idempotent (lease4-update carries force-create; a repeated
// lease4-del answers "not found", which counts as success), so a batch
// whose reused connection turns out closed by the partner (EOF, reset)
// before any reply is resent once on a fresh one, as net/http does for a
// keep-alive connection the server closed: nothing it wrote can be
// applied any more except what it had answered.
type UpdateClient struct {
	addr    string
	head    []byte // request line and fixed headers, up to "Content-Length: "
	piped   int    // connections used while the partner pipelines (a prefix of conns)
	tls     *tls.Config
	partner *PartnerInfo
	conns   []*updateConn
	timeout time.Duration // per-update deadline and per-exchange I/O deadline
	// inflight counts the updates sent and not yet done.
	inflight atomic.Int64
	// draining counts the connections waiting for stale answers.
	draining atomic.Int32
	// Named counters (Counters).
	timedOut     atomic.Int64 // updates written and not answered in time
	staleAnswers atomic.Int64 // answers read by a draining connection
	drainsCut    atomic.Int64 // drains ended by the partner closing or an error
	badAnswers   atomic.Int64 // answers that were not replies (the connection then awaits the partner's close)

	mu     sync.Mutex
	closed bool
	// piping: keys are reduced over the piped connections (the partner
	// pipelines). Changed only when inflight is zero, under mu.
	piping bool
	wg     sync.WaitGroup
}

// States of an Update.
const (
	updReady    int32 = iota // may be written
	updHeld                  // waits for release: its predecessor is on another connection
	updCanceled              // not to be written: done with ErrUpdateCanceled
)

// Update is one request waiting for its reply: what the client keeps per
// update.
type Update struct {
	Command  string
	Body     []byte    // the whole request body (EncodeCommand)
	Key      uint32    // connection affinity: the updates of one key keep their order
	Deadline time.Time // not written from then on; zero: send time + timeout
	// Done receives the answer or the failure, exactly once, on the
	// goroutine that completes the update (a connection's, or Send's
	// caller when the client is closed). It must not block.
	Done  func(UpdateResult)
	uc    *updateConn
	state atomic.Int32
}

// Sent reports whether u was queued by Send.
func (u *Update) Sent() bool { return u.uc != nil }

// UpdateResult is the answer to an Update, or why there is none (a
// *CommError).
type UpdateResult struct {
	Answer Answer
	Err    error
}

// NewUpdateClient builds a client for t with threads×updateConnsPerThread
// connections, of which the first threads are used while the partner
// pipelines (threads is at least one); tc is the TLS configuration for an
// https peer; info tells whether the partner pipelines.
func NewUpdateClient(t Target, tc *tls.Config, threads int, info *PartnerInfo) (*UpdateClient, error) {
	host, addr, err := HostPort(t.URL)
	if err != nil {
		return nil, fmt.Errorf("peer %q: %w", t.Name, err)
	}
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, fmt.Errorf("peer %q: %w", t.Name, err)
	}
	var h bytes.Buffer
	fmt.Fprintf(&h, "POST %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), host)
	if t.BasicAuthUser != "" {
		cred := base64.StdEncoding.EncodeToString([]byte(t.BasicAuthUser + ":" + t.BasicAuthPassword))
		fmt.Fprintf(&h, "Authorization: Basic %s\r\n", cred)
	}
	h.WriteString("Content-Type: application/json\r\nContent-Length: ")
	threads = max(threads, 1)
	c := &UpdateClient{addr: addr, head: h.Bytes(), tls: tc, partner: info, piped: threads, timeout: RequestTimeout}
	for range threads * updateConnsPerThread {
		c.conns = append(c.conns, &updateConn{c: c, wake: make(chan struct{}, 1)})
	}
	return c, nil
}

// Send queues chain and returns at once; see UpdateClient for the order
// and deadline rules. Every update's Done is called exactly once: with
// ErrClientClosed before Send returns when the client is closed.
func (c *UpdateClient) Send(chain []Update) {
	now := time.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		for i := range chain {
			p := &chain[i]
			p.Done(UpdateResult{Err: &CommError{p.Command, ErrClientClosed}})
		}
		return
	}
	if c.inflight.Load() == 0 && c.draining.Load() == 0 {
		// Nothing queued, in flight or draining: reducing keys
		// differently cannot reorder an address.
		c.piping = c.partner.pipelines.Load()
	}
	n := uint32(len(c.conns))
	if c.piping {
		n = uint32(c.piped)
	}
	c.inflight.Add(int64(len(chain)))
	// Settle the whole chain before queueing any of it: its first updates
	// may complete (and release the next) before the last is queued.
	for i := range chain {
		p := &chain[i]
		if p.Deadline.IsZero() {
			p.Deadline = now.Add(c.timeout)
		}
		p.uc = c.conns[p.Key%n]
		if i > 0 && p.uc != chain[i-1].uc {
			p.state.Store(updHeld)
		}
	}
	for i := range chain {
		chain[i].uc.push(&chain[i])
	}
	c.mu.Unlock()
	for i := range chain {
		chain[i].uc.signal()
	}
}

// Release lets p, held behind its chain predecessor, be written: the
// predecessor was answered.
func (c *UpdateClient) Release(p *Update) {
	if p.state.CompareAndSwap(updHeld, updReady) {
		p.uc.signal()
	}
}

// Cancel keeps p from being written if it has not been yet (best effort: a
// write already under way is not recalled); p then fails with
// ErrUpdateCanceled.
func (c *UpdateClient) Cancel(p *Update) {
	if p.state.Swap(updCanceled) == updHeld {
		p.uc.signal()
	}
}

// finish completes p.
func (c *UpdateClient) finish(p *Update, r UpdateResult) {
	c.inflight.Add(-1)
	p.Done(r)
}

// SetTimeout replaces the per-update deadline and I/O timeout (default
// RequestTimeout, Kea's fixed HTTP client timeout); for tests that make a
// partner slower than it. Call it before the first Send.
func (c *UpdateClient) SetTimeout(d time.Duration) { c.timeout = d }

// Counters are the update client's named failure counters.
func (c *UpdateClient) Counters() map[string]int64 {
	return map[string]int64{
		"update-timeouts":      c.timedOut.Load(),
		"update-stale-answers": c.staleAnswers.Load(),
		"update-drains-cut":    c.drainsCut.Load(),
		"update-bad-answers":   c.badAnswers.Load(),
	}
}

// InFlight is the number of updates sent and not yet done.
func (c *UpdateClient) InFlight() int64 { return c.inflight.Load() }

// ConnIndex is the index of the connection that Send, with nothing in
// flight, puts the updates of key on.
func (c *UpdateClient) ConnIndex(key uint32) int {
	if c.partner.Pipelines() {
		return int(key % uint32(c.piped))
	}
	return int(key % uint32(len(c.conns)))
}

// Conns is the number of update connections.
func (c *UpdateClient) Conns() int { return len(c.conns) }

// Do sends one command and waits for its reply or ctx: the blocking form
// of Send, for the backlog replay and tests. Every failure is a
// *CommError. When ctx ends first the update is canceled: if it was not
// written yet it never is; if it was, its connection's ordering rules
// (see UpdateClient) still hold.
func (c *UpdateClient) Do(ctx context.Context, key uint32, command string, body []byte) (Answer, error) {
	res := make(chan UpdateResult, 1) // the update may finish after ctx
	chain := []Update{{Command: command, Body: body, Key: key, Done: func(r UpdateResult) { res <- r }}}
	c.Send(chain)
	select {
	case r := <-res:
		return r.Answer, r.Err
	case <-ctx.Done():
		if chain[0].Sent() {
			c.Cancel(&chain[0])
		}
		return Answer{}, &CommError{command, ctx.Err()}
	}
}

// Close stops every connection; queued requests fail.
func (c *UpdateClient) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	for _, uc := range c.conns {
		uc.mu.Lock()
		if uc.cur != nil {
			_ = uc.cur.SetDeadline(time.Unix(1, 0)) // interrupt a pending exchange
		}
		uc.mu.Unlock()
		uc.signal()
	}
	c.wg.Wait()
}

// updateConn is one connection and its queue. The goroutine that owns the
// connection starts with the first request and ends at close.
type updateConn struct {
	c    *UpdateClient
	wake chan struct{}

	mu      sync.Mutex
	queue   []*Update
	running bool
	cur     net.Conn // the open connection, for close to interrupt

	// Owned by the connection goroutine.
	nc      net.Conn
	br      *bufio.Reader
	wbuf    []byte
	lastUse time.Time
}

func (uc *updateConn) signal() {
	select {
	case uc.wake <- struct{}{}:
	default:
	}
}

// push adds p to the queue, starting the goroutine if needed. The caller
// holds c.mu and has checked that the client is open; it signals after.
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

// take removes up to n queued requests, stopping at one that is held; all
// takes everything (close).
func (uc *updateConn) take(n int, all bool) []*Update {
	uc.mu.Lock()
	defer uc.mu.Unlock()
	n = min(n, len(uc.queue))
	if !all {
		for i, p := range uc.queue[:n] {
			if p.state.Load() == updHeld {
				n = i
				break
			}
		}
	}
	if n == 0 {
		return nil
	}
	b := make([]*Update, n)
	copy(b, uc.queue)
	k := copy(uc.queue, uc.queue[n:])
	clear(uc.queue[k:])
	uc.queue = uc.queue[:k]
	return b
}

func (uc *updateConn) closedClient() bool {
	uc.c.mu.Lock()
	defer uc.c.mu.Unlock()
	return uc.c.closed
}

func (uc *updateConn) run() {
	defer uc.c.wg.Done()
	defer uc.drop()
	for range uc.wake {
		if uc.closedClient() {
			// Send queues nothing more: fail what is left, held
			// updates included.
			for b := uc.take(maxPipeline, true); len(b) > 0; b = uc.take(maxPipeline, true) {
				uc.fail(b, ErrClientClosed)
			}
			return
		}
		for {
			n := 1
			if uc.c.partner.Pipelines() {
				n = maxPipeline
			}
			b := uc.take(n, false)
			if len(b) == 0 {
				break
			}
			uc.exchange(b)
		}
	}
}

// drop closes the connection.
func (uc *updateConn) drop() {
	if uc.nc != nil {
		_ = uc.nc.Close()
		uc.nc, uc.br = nil, nil
		uc.mu.Lock()
		uc.cur = nil
		uc.mu.Unlock()
	}
}

// fail completes every request of b with err.
func (uc *updateConn) fail(b []*Update, err error) {
	for _, p := range b {
		uc.c.finish(p, UpdateResult{Err: &CommError{p.Command, err}})
	}
}

// writable fails the updates of b that must not be written (canceled, or
// past their deadline at now) and returns the others, in order. It runs
// right before a write; completing an update here may cancel the rest of
// its chain, which the later iterations see.
func (uc *updateConn) writable(b []*Update, now time.Time) []*Update {
	k := 0
	for _, p := range b {
		switch {
		case p.state.Load() == updCanceled:
			uc.c.finish(p, UpdateResult{Err: &CommError{p.Command, ErrUpdateCanceled}})
		case !now.Before(p.Deadline):
			uc.c.finish(p, UpdateResult{Err: &CommError{p.Command, ErrUpdateExpired}})
		default:
			b[k] = p
			k++
		}
	}
	clear(b[k:])
	return b[:k]
}

// exchange writes batch b and reads its replies, in order.
func (uc *updateConn) exchange(b []*Update) {
	retried := false
	for len(b) > 0 {
		if uc.nc != nil && time.Since(uc.lastUse) > updateIdleTimeout {
			uc.drop()
		}
		if b = uc.writable(b, time.Now()); len(b) == 0 {
			return
		}
		fresh := uc.nc == nil
		if fresh {
			if err := uc.dial(); err != nil {
				uc.fail(b, err)
				return
			}
			// Dialing may take up to the timeout: check again.
			if b = uc.writable(b, time.Now()); len(b) == 0 {
				return
			}
		}
		uc.wbuf = uc.wbuf[:0]
		for _, p := range b {
			uc.wbuf = append(uc.wbuf, uc.c.head...)
			uc.wbuf = strconv.AppendInt(uc.wbuf, int64(len(p.Body)), 10)
			uc.wbuf = append(uc.wbuf, "\r\n\r\n"...)
			uc.wbuf = append(uc.wbuf, p.Body...)
		}
		_ = uc.nc.SetDeadline(time.Now().Add(uc.c.timeout))
		if uc.closedClient() {
			// Checked after the deadline is set: a close from now on
			// overrides it and interrupts the exchange.
			uc.fail(b, ErrClientClosed)
			return
		}
		_, err := uc.nc.Write(uc.wbuf)
		answered := 0
		for err == nil && answered < len(b) {
			var r reply1
			r, err = readReply(uc.br)
			if err != nil {
				break
			}
			uc.c.partner.Observe(r.server)
			uc.c.finish(b[answered], UpdateResult{Answer: r.a, Err: r.err})
			answered++
			if r.close {
				break
			}
		}
		uc.lastUse = time.Now()
		b = b[answered:]
		if err == nil {
			if len(b) > 0 { // the partner closed after an earlier reply
				uc.drop()
			}
			continue
		}
		if isTimeout(err) && !uc.closedClient() {
			// Written, unanswered: the partner may still apply them.
			// Draining is counted before they complete, so that Send
			// never sees nothing in flight and nothing draining while
			// this connection still holds them.
			uc.c.draining.Add(1)
			uc.c.timedOut.Add(int64(len(b)))
			uc.fail(b, ErrUpdateTimeout)
			ok := uc.drain(len(b))
			uc.c.draining.Add(-1)
			if !ok {
				uc.drop()
			}
			return
		}
		if !partnerClosed(err) && !uc.closedClient() {
			// Not a reply (garbage, a broken frame): the stream is lost,
			// but what we wrote may still be applied, so it is neither
			// resent nor followed on a fresh connection until the
			// partner closes this one (see awaitClose).
			uc.c.draining.Add(1)
			uc.c.badAnswers.Add(1)
			uc.fail(b, err)
			uc.awaitClose()
			uc.c.draining.Add(-1)
			uc.drop()
			return
		}
		uc.drop()
		if answered == 0 && !fresh && !retried {
			// A kept-alive connection the partner had closed: resend once.
			retried = true
			continue
		}
		uc.fail(b, err)
		return
	}
}

// isTimeout reports whether err is an I/O deadline passing (the timeout,
// or Close interrupting an exchange).
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
	uc.lastUse = time.Now()
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
	uc.mu.Lock()
	var out []*Update
	k := 0
	for _, p := range uc.queue {
		if p.state.Load() == updCanceled || !now.Before(p.Deadline) {
			out = append(out, p)
			continue
		}
		uc.queue[k] = p
		k++
	}
	clear(uc.queue[k:])
	uc.queue = uc.queue[:k]
	uc.mu.Unlock()
	uc.writable(out, now) // fails every one of them
}

// dial opens the connection (TLS when configured).
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
	uc.nc, uc.br = nc, bufio.NewReaderSize(nc, 16<<10)
	uc.mu.Lock()
	uc.cur = nc
	uc.mu.Unlock()
	return nil
}

// reply1 is one HTTP reply read from a connection.
type reply1 struct {
	a      Answer
	err    error // the body is not a usable reply (a *CommError)
	server []byte
	close  bool // Connection: close
}

// readReply reads one HTTP/1.1 response with a Content-Length body (Kea and
// we always send one) and decodes its body like Client.Call. A
// transport or framing error is returned as err; a body that is not a
// usable reply is reply1.err.
func readReply(br *bufio.Reader) (reply1, error) {
	var r reply1
	line, err := br.ReadSlice('\n')
	if err != nil {
		return r, fmt.Errorf("read reply: %w", err)
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return r, fmt.Errorf("read reply: bad status line %q", bytes.TrimSpace(line))
	}
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return r, fmt.Errorf("read reply headers: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return r, fmt.Errorf("read reply: bad header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || n > maxReplyBody {
				return r, fmt.Errorf("read reply: bad Content-Length %q", value)
			}
			length = n
		case bytes.EqualFold(name, []byte("Server")):
			r.server = append([]byte(nil), value...)
		case bytes.EqualFold(name, []byte("Connection")):
			r.close = bytes.Contains(bytes.ToLower(value), []byte("close"))
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return r, fmt.Errorf("read reply: unsupported Transfer-Encoding %q", value)
		}
	}
	if length < 0 {
		return r, errors.New("read reply: no Content-Length")
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(br, body); err != nil {
		return r, fmt.Errorf("read reply body: %w", err)
	}
	r.a, r.err = parseReply(body)
	return r, nil
}
