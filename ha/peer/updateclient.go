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
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
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
// own, one reading goroutine each. It never blocks its caller: Send queues
// an Update (a small struct with a completion callback, no goroutine, no
// channel) on a connection and, on an open plain TCP connection, writes it
// right away with one non-blocking write (see updateConn); the
// connection's goroutine reads the replies in order and calls each
// update's Done. Against an xdhcpd partner (PartnerInfo) that is HTTP/1.1
// pipelining (RFC 9112 §9.3.2): up to maxPipeline updates are written
// before their answers come, and under load one read carries many
// answers. Against anything else, Kea included (which never pipelines and
// is not known to accept it), a connection carries one request at a time,
// as Kea's own client does: the next is written when the previous is
// answered.
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
	// write is write(2) on a connection's socket (SetWrite).
	write func(fd int, b []byte) (int, error)
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
	closed atomic.Bool // set under mu; read without it by the connections' goroutines
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
	// Under uc.mu: when it was written, and whether it was resent after
	// its connection closed under it.
	wrote   time.Time
	retried bool
}

// unwritable is why u must not be written at now (canceled, or its
// deadline passed), nil when it may be (held or not).
func (u *Update) unwritable(now time.Time) error {
	switch {
	case u.state.Load() == updCanceled:
		return ErrUpdateCanceled
	case !now.Before(u.Deadline):
		return ErrUpdateExpired
	}
	return nil
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
	c := &UpdateClient{addr: addr, head: h.Bytes(), tls: tc, partner: info, piped: threads, timeout: RequestTimeout,
		write: writeEINTR}
	for range threads * updateConnsPerThread {
		c.conns = append(c.conns, newUpdateConn(c))
	}
	return c, nil
}

// Send queues chain and returns at once; see UpdateClient for the order
// and deadline rules. Every update's Done is called exactly once: with
// ErrClientClosed before Send returns when the client is closed.
func (c *UpdateClient) Send(chain []Update) {
	now := time.Now()
	c.mu.Lock()
	if c.closed.Load() {
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
		if i == 0 || chain[i].uc != chain[i-1].uc {
			chain[i].uc.pump()
		}
	}
}

// Release lets p, held behind its chain predecessor, be written: the
// predecessor was answered.
func (c *UpdateClient) Release(p *Update) {
	if p.state.CompareAndSwap(updHeld, updReady) {
		p.uc.pump()
	}
}

// Cancel keeps p from being written if it has not been yet (best effort: a
// write already under way is not recalled); p then fails with
// ErrUpdateCanceled.
func (c *UpdateClient) Cancel(p *Update) {
	if p.state.Swap(updCanceled) == updHeld {
		p.uc.pump()
	}
}

// finish completes p.
func (c *UpdateClient) finish(p *Update, r UpdateResult) {
	c.inflight.Add(-1)
	p.Done(r)
}

// failUpdate completes p with err, as a *CommError.
func (c *UpdateClient) failUpdate(p *Update, err error) {
	c.finish(p, UpdateResult{Err: &CommError{p.Command, err}})
}

// SetWrite replaces the write(2) the callers of Send use on a plain TCP
// connection (default unix.Write): the daemon gives afxdp.RawWrite, a raw
// system call the Go scheduler does not see, because Send runs on hot
// queue goroutines that must keep their P. Call it before the first Send.
func (c *UpdateClient) SetWrite(f func(fd int, b []byte) (int, error)) {
	if f != nil {
		c.write = f
	}
}

// writeEINTR is unix.Write retried on EINTR.
func writeEINTR(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Write(fd, b)
		if err != unix.EINTR {
			return n, err
		}
	}
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
	if c.closed.Load() {
		c.mu.Unlock()
		return
	}
	c.closed.Store(true)
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
