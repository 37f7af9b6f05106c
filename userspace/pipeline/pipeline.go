// Package pipeline is the one packet pipeline every transport feeds:
// decode → count → gate (network state) → engine → replicate (HA) → send.
//
// A transport (the UDP socket, the AF_XDP queues) owns its goroutines and
// gives each one a Worker. The worker runs a request to completion on the
// calling goroutine whenever nothing has to wait: it decodes the DHCP
// message, counts it, drops it while the service is disabled, runs its own
// engine worker and hands the reply to the Transport, counting it as sent
// only once the transport has given it to the kernel.
//
// The asynchronous commit contract (ARCHITECTURE.md): the engine has
// written the lease to the store before it returns; when HA replicates the
// exchange, the reply waits as a small pending record (no goroutine) until
// the partner answered, and only then goes to the transport. A failed
// update drops the reply. Pending replies are bounded by Kea's
// parked-packet-limit; a query from a client whose previous query is still
// pending is held behind it (the newest one only, as Kea's client handler
// does); at Close pending replies finish or are dropped and counted, never
// sent without their commit.
package pipeline

import (
	"errors"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// Meta is what a transport knows about a received request beside its
// payload. The pipeline copies it into a pending record, so it must not
// point into transport buffers (Frame.Payload is cleared).
type Meta struct {
	Iface   string
	IfIndex int
	IfAddr  netip.Addr // receiving interface's IPv4 address
	Src     netip.AddrPort
	Dst     netip.Addr // datagram destination (broadcast or ours)
	Time    time.Time  // receive time; zero if unknown
	// Frame is the request's link, IP and UDP headers when the transport
	// saw them (AF_XDP); the zero Frame otherwise.
	Frame packet.Frame
}

// Transport hands a reply to the kernel. Send returns nil once the kernel
// has it (the TX ring accepted the frame, sendmsg returned), and only then
// is the reply counted as sent. Send is called on the goroutine that owns
// the Worker, except for a Worker without a wake function, whose pending
// replies are sent from the goroutine that completed them: such a
// transport must be safe for concurrent use.
type Transport interface {
	Send(m *Meta, req *dhcp.Request, reply *dhcp.Reply) error
}

// Engine is the DHCP engine as the pipeline uses it (*dhcp.Engine):
// Handler returns a handler that counts into sh and is used by one
// goroutine at a time.
type Engine interface {
	Handler(sh *stats.Shard) func(*dhcp.Request) *dhcp.Reply
}

// engineBox gives every SetEngine a new identity, so workers notice a
// reload even when the same engine is set again.
type engineBox struct{ e Engine }

// Gate is the network state's packet-path view (netstate.State).
type Gate interface {
	Enabled() bool
}

// Replicator sends committed lease changes to the HA partner (ha.Service).
// done is called exactly once, from any goroutine, possibly before
// Replicate returns; a non-nil error means the reply must be dropped.
type Replicator interface {
	Replicate(changes []lease.Change, done func(error))
}

// Orderer hands a reply's committed changes on in commit order per address
// (*dhcp.CommitOrder): fn gets the changes no later commit of their address
// superseded, with those addresses held until fn returns.
type Orderer interface {
	Fresh(changes []lease.Change, fn func([]lease.Change))
}

// Config are a Pipeline's collaborators.
type Config struct {
	Stats *stats.Registry // required
	Gate  Gate            // nil: always enabled
	// Replicator is HA's lease updates; nil when no update is sent.
	Replicator Replicator
	// Order keeps the updates of one address in commit order whichever
	// worker hands them on (the engines' CommitOrder); nil: in the order
	// the workers call Replicate.
	Order Orderer
	// ParkedLimit is Kea's parked-packet-limit: at most this many replies
	// wait for the partner at once (0 = unlimited). SetParkedLimit changes
	// it on a reload.
	ParkedLimit int
	// Lanes > 0 runs the engine on that many lane goroutines instead of
	// the transport's (lanes.go): for a lease database whose commits are
	// round trips. 0 keeps the engine inline (memfile).
	Lanes  int
	Logger zerolog.Logger
}

// Pipeline is the shared part of every worker: the current engine, the
// gate, HA and the counters.
type Pipeline struct {
	cfg    Config
	engine atomic.Pointer[engineBox]
	parked atomic.Int64
	limit  atomic.Int64
	closed atomic.Bool
	dbg    zerolog.Logger // sampled
	log    zerolog.Logger
	panics atomic.Uint64
	c      cells

	mu      sync.Mutex
	workers map[*Worker]struct{}

	lanes    chan *pending // nil: the engine runs inline
	laneFull *stats.Cell
}

// New returns a pipeline without an engine: SetEngine before traffic.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Stats == nil {
		return nil, errors.New("pipeline: a statistics registry is required")
	}
	log := cfg.Logger.With().Str("component", "pipeline").Logger()
	p := &Pipeline{
		cfg:     cfg,
		log:     log,
		dbg:     log.Sample(&zerolog.BurstSampler{Burst: 10, Period: time.Second}),
		c:       newCells(cfg.Stats),
		workers: map[*Worker]struct{}{},
	}
	p.limit.Store(int64(cfg.ParkedLimit))
	if cfg.Lanes > 0 {
		p.startLanes(cfg.Lanes)
	}
	return p, nil
}

// SetParkedLimit changes parked-packet-limit (0 = unlimited).
func (p *Pipeline) SetParkedLimit(n int) { p.limit.Store(int64(n)) }

// SetEngine makes e serve every query processed from now on (a reload).
// Replies already pending keep the answer of the engine that made them.
func (p *Pipeline) SetEngine(e Engine) { p.engine.Store(&engineBox{e}) }

// Parked is the number of replies waiting for the HA partner.
func (p *Pipeline) Parked() int { return int(p.parked.Load()) }

// Worker is one transport goroutine's lane through the pipeline: its own
// statistics shard, its own engine worker (rebuilt when the engine
// changes, over the same shard), its pending replies and the completed
// ones waiting to be sent.
type Worker struct {
	p     *Pipeline
	tr    Transport
	wake  func()
	shard *stats.Shard

	engine *engineBox
	run    func(*dhcp.Request) *dhcp.Reply

	mu       sync.Mutex
	pending  map[clientKey]*pending // by chaddr
	done     []*pending             // completed, to be sent by the owner
	spare    []*pending
	released bool // the owner stopped: completions are dropped, not sent
}

func (w *Worker) isReleased() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.released
}

// NewWorker returns a worker that sends through tr. wake is called (from
// any goroutine) when a pending reply has completed and the owner should
// call Complete; with wake nil the completing goroutine sends the reply
// itself (tr must then be safe for concurrent use).
func (p *Pipeline) NewWorker(tr Transport, wake func()) *Worker {
	w := &Worker{p: p, tr: tr, wake: wake, shard: p.cfg.Stats.NewShard(), pending: map[clientKey]*pending{}}
	p.mu.Lock()
	p.workers[w] = struct{}{}
	p.mu.Unlock()
	return w
}

// Shard is the worker's statistics shard (transports count their own
// receive drops in it).
func (w *Worker) Shard() *stats.Shard { return w.shard }

// clientKey identifies a client for serialising its queries: hlen and
// chaddr.
type clientKey struct {
	n  uint8
	hw [16]byte
}

func keyOf(m *dhcpv4.DHCPv4) clientKey {
	var k clientKey
	k.n = uint8(copy(k.hw[:], m.ClientHWAddr))
	return k
}

// pending is a reply waiting for the partner's answer to its lease update,
// and the client's next query held behind it.
type pending struct {
	w     *Worker
	key   clientKey
	meta  Meta
	req   *dhcp.Request
	reply *dhcp.Reply
	err   error
	next  *held
	drop  bool // a lane's query that has no reply to send (dropped or none)
}

// held is a query that arrived while its client had a reply pending.
type held struct {
	data []byte
	meta Meta
}

// Process runs one received DHCP payload (data is read only during the
// call) through the pipeline. It never panics because of the packet.
func (w *Worker) Process(data []byte, m *Meta) {
	sh := w.shard
	sh.Inc(stats.Pkt4Received)
	msg, err := parse(data)
	if err != nil {
		w.p.countParseFailure(sh, err)
		w.p.dbg.Debug().Err(err).Str("iface", m.Iface).Stringer("src", m.Src).Msg("dropped unparsable packet")
		return
	}
	sh.Inc(receivedCounter(msg.MessageType()))
	if w.p.cfg.Replicator != nil || w.p.lanes != nil {
		k := keyOf(msg)
		w.mu.Lock()
		if pd := w.pending[k]; pd != nil {
			// Kea's client handler: the newest query waits behind the
			// one in progress; an older waiting one is dropped.
			if pd.next != nil {
				sh.Inc(stats.Pkt4ReceiveDrop)
				w.p.c.clientBusy.Add(1)
			}
			pd.next = &held{data: append([]byte(nil), data...), meta: *m}
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
	w.serve(msg, len(data), m)
}

// serve gates, runs the engine and sends or parks the reply.
func (w *Worker) serve(msg *dhcpv4.DHCPv4, n int, m *Meta) {
	sh := w.shard
	if g := w.p.cfg.Gate; g != nil && !g.Enabled() {
		sh.Inc(stats.Pkt4ReceiveDrop)
		w.p.c.disabled.Add(1)
		return
	}
	e := w.p.engine.Load()
	if e == nil {
		sh.Inc(stats.Pkt4ReceiveDrop)
		w.p.c.noEngine.Add(1)
		return
	}
	if e != w.engine {
		w.engine, w.run = e, e.e.Handler(sh)
	}
	req := &dhcp.Request{
		Msg: msg, Iface: m.Iface, IfIndex: m.IfIndex, IfAddr: m.IfAddr,
		Src: m.Src, Dst: m.Dst, Len: n, Time: m.Time,
	}
	if w.p.lanes != nil {
		if !w.toLane(req, m) {
			sh.Inc(stats.Pkt4ReceiveDrop)
		}
		return
	}
	reply, ok := w.handle(req)
	if !ok {
		sh.Inc(stats.Pkt4ReceiveDrop)
		return
	}
	if reply == nil {
		return
	}
	if len(reply.Changes) > 0 && w.p.cfg.Replicator != nil {
		w.park(req, reply, m)
		return
	}
	if reply.Msg != nil {
		w.send(m, req, reply)
	}
}

// park replicates reply's changes and holds the reply until the partner
// answered. A reply without a message (RELEASE, DECLINE) is replicated but
// never parked.
func (w *Worker) park(req *dhcp.Request, reply *dhcp.Reply, m *Meta) {
	p := w.p
	if reply.Msg == nil {
		p.replicate(reply.Changes, func(err error) {
			if err != nil {
				p.c.unreplicated.Add(1)
			}
		})
		return
	}
	if lim := p.limit.Load(); lim > 0 && p.parked.Load() >= lim {
		// Kea 2.2 dhcp4_srv.cc (DHCP4_HOOK_LEASES4_PARKING_LOT_FULL):
		// the lease stays committed, the packet is dropped before the
		// callouts run, so no update is sent for it.
		w.shard.Inc(stats.Pkt4ReceiveDrop)
		p.c.parkingFull.Add(1)
		return
	}
	p.parked.Add(1)
	pd := w.newPending()
	pd.key, pd.meta, pd.req, pd.reply = keyOf(req.Msg), *m, req, reply
	pd.meta.Frame.Payload = nil
	w.mu.Lock()
	w.pending[pd.key] = pd
	w.mu.Unlock()
	p.replicate(reply.Changes, pd.complete)
}

// replicate hands changes to the Replicator, through the Orderer when
// there is one: an update a later commit of its address superseded is left
// out (the later one carries the address's state), so none reaches the
// partner after a newer one.
func (p *Pipeline) replicate(changes []lease.Change, done func(error)) {
	if p.cfg.Order == nil {
		p.cfg.Replicator.Replicate(changes, done)
		return
	}
	p.cfg.Order.Fresh(changes, func(fresh []lease.Change) {
		p.cfg.Replicator.Replicate(fresh, done)
	})
}

func (w *Worker) newPending() *pending {
	w.mu.Lock()
	defer w.mu.Unlock()
	if k := len(w.spare); k > 0 {
		pd := w.spare[k-1]
		w.spare = w.spare[:k-1]
		return pd
	}
	return &pending{w: w}
}

// complete is the Replicator's done callback.
func (pd *pending) complete(err error) {
	w := pd.w
	pd.err = err
	if w.wake == nil {
		w.finish(pd)
		return
	}
	w.mu.Lock()
	if w.released {
		// The owner is gone: nobody will call Complete.
		w.mu.Unlock()
		w.finish(pd)
		return
	}
	first := len(w.done) == 0
	w.done = append(w.done, pd)
	w.mu.Unlock()
	if first {
		w.wake()
	}
}

// Complete sends (or drops) the replies whose replication has finished and
// runs the queries held behind them; it returns how many it finished. The
// transport's goroutine calls it after a wake and in its loop.
func (w *Worker) Complete() int {
	w.mu.Lock()
	if len(w.done) == 0 {
		w.mu.Unlock()
		return 0
	}
	done := w.done
	w.done = nil
	w.mu.Unlock()
	for _, pd := range done {
		w.finish(pd)
	}
	n := len(done)
	clear(done)
	w.mu.Lock()
	if w.done == nil {
		w.done = done[:0]
	}
	w.mu.Unlock()
	return n
}

// finish ends a pending reply: sent after a successful update, dropped
// after a failed one or once the pipeline is closed; then the client's held
// query runs.
func (w *Worker) finish(pd *pending) {
	p := w.p
	p.parked.Add(-1)
	switch {
	case pd.err != nil:
		w.shard.Inc(stats.Pkt4ReceiveDrop)
		p.c.haSync.Add(1)
		p.dbg.Debug().Err(pd.err).Str("xid", pd.req.Msg.TransactionID.String()).Msg("reply dropped: lease update failed")
	case pd.drop:
	case p.closed.Load() || w.isReleased():
		p.c.closedPending.Add(1)
	default:
		w.send(&pd.meta, pd.req, pd.reply)
	}
	w.mu.Lock()
	if w.pending[pd.key] == pd {
		delete(w.pending, pd.key)
	}
	next := pd.next
	*pd = pending{w: w}
	w.spare = append(w.spare, pd)
	w.mu.Unlock()
	if next != nil && !p.closed.Load() && !w.isReleased() {
		w.Process(next.data, &next.meta)
	}
}

// send hands a reply to the transport and counts it once sent.
func (w *Worker) send(m *Meta, req *dhcp.Request, reply *dhcp.Reply) {
	if err := w.tr.Send(m, req, reply); err != nil {
		w.p.c.sendFailed.Add(1)
		w.p.dbg.Debug().Err(err).Str("xid", reply.Msg.TransactionID.String()).Stringer("dest", reply.Dest.IP).Msg("send reply")
		return
	}
	w.shard.Inc(stats.Pkt4Sent)
	if c, ok := sentCounter(reply.Msg.MessageType()); ok {
		w.shard.Inc(c)
	}
}

// handle runs the engine, turning a panic into a counted drop (ok=false).
func (w *Worker) handle(req *dhcp.Request) (reply *dhcp.Reply, ok bool) {
	return runEngine(w.p, w.run, req)
}

func runEngine(p *Pipeline, run func(*dhcp.Request) *dhcp.Reply, req *dhcp.Request) (reply *dhcp.Reply, ok bool) {
	w := struct{ p *Pipeline }{p}
	defer func() {
		if r := recover(); r != nil {
			reply, ok = nil, false
			w.p.c.handlerPanic.Add(1)
			if n := w.p.panics.Add(1); n%panicLogEvery == 1 {
				w.p.log.Error().Interface("panic", r).Uint64("total", n).
					Str("xid", req.Msg.TransactionID.String()).Str("stack", string(debug.Stack())).
					Msg("engine panicked; packet dropped")
			}
		}
	}()
	return run(req), true
}

// panicLogEvery: an engine panic is logged the first time and then once
// per this many.
const panicLogEvery = 1000

// Close stops the pipeline: from now on a completing pending reply is
// dropped and counted (pkt4-dropped-pending-at-close), never sent. Call it
// after the transports stopped receiving and had their chance to complete
// what was pending (Drain).
func (p *Pipeline) Close() { p.closed.Store(true) }

// Drain waits up to timeout for the pending replies to complete, calling
// each worker's Complete (for workers with a wake function, whose owner
// goroutine has stopped). It reports whether nothing is pending.
func (p *Pipeline) Drain(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		p.mu.Lock()
		for w := range p.workers {
			if w.wake != nil {
				w.Complete()
			}
		}
		p.mu.Unlock()
		if p.parked.Load() == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Release forgets w: its transport goroutine is gone and its transport
// can send no more. Replies already completed and those completing later
// are dropped and counted (pkt4-dropped-pending-at-close), never sent.
func (p *Pipeline) Release(w *Worker) {
	p.mu.Lock()
	delete(p.workers, w)
	p.mu.Unlock()
	w.mu.Lock()
	w.released = true
	done := w.done
	w.done = nil
	w.mu.Unlock()
	for _, pd := range done {
		w.finish(pd)
	}
}
