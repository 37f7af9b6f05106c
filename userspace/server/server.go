package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// Handler answers one request. w is the index of the calling worker
// (0..Workers()-1 for the pool, then one more per NewWorker), so the
// handler can keep per-worker state. A nil reply drops the request.
// Handle is called concurrently from different workers.
type Handler interface {
	Handle(w int, req *dhcp.Request) *dhcp.Reply
}

// Server owns the queue, the worker pool and the UDP listener.
type Server struct {
	cfg   Config
	h     Handler
	reg   *stats.Registry
	log   zerolog.Logger
	dbg   zerolog.Logger // sampled, for per-packet debug messages
	cells cells

	q      *queue
	pool   []*Worker
	mu     sync.Mutex // guards nextIndex, started, stopped, udp
	next   int
	panics atomic.Uint64

	started, stopped bool
	udp              *udpListener
	workersDone      sync.WaitGroup
	stopOnce         sync.Once
	stopCh           chan struct{}
}

// ErrStopped is returned by Start after Stop.
var ErrStopped = errors.New("server stopped")

// ErrNoUDP is returned by Send when no UDP listener runs (no interfaces).
var ErrNoUDP = errors.New("no udp listener")

// New validates cfg and builds the queue and the worker pool; nothing runs
// and no socket is open until Start.
func New(cfg Config, h Handler, reg *stats.Registry, log zerolog.Logger) (*Server, error) {
	if h == nil || reg == nil {
		return nil, errors.New("new server: handler and statistics registry are required")
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	if _, err := parseInterfaces(cfg.Interfaces); err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	cfg = cfg.withDefaults()
	log = log.With().Str("component", "server").Logger()
	s := &Server{
		cfg:    cfg,
		h:      h,
		reg:    reg,
		log:    log,
		dbg:    log.Sample(&zerolog.BurstSampler{Burst: 10, Period: time.Second}),
		cells:  newCells(reg),
		stopCh: make(chan struct{}),
	}
	s.q = newQueue(cfg.PacketQueueSize, reg.NewShard(), s.cells.queueFull)
	for range cfg.workers() {
		s.pool = append(s.pool, s.NewWorker())
	}
	return s, nil
}

// Workers is the size of the worker pool.
func (s *Server) Workers() int { return len(s.pool) }

// NewWorker returns a worker with the next index and its own statistics
// shard, for a receive path that runs its own goroutines instead of the
// shared queue.
func (s *Server) NewWorker() *Worker {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &Worker{s: s, index: s.next, shard: s.reg.NewShard()}
	s.next++
	return w
}

// Start opens the UDP listener (when interfaces are configured) and starts
// the workers. Cancelling ctx stops the server as Stop does.
// Sockets and interface indexes belong to the calling thread's network
// namespace.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	if s.started {
		return errors.New("start server: already started")
	}
	if len(s.cfg.Interfaces) > 0 {
		l, err := listenUDP(s)
		if err != nil {
			return fmt.Errorf("start server: %w", err)
		}
		s.udp = l
	}
	s.started = true
	for _, w := range s.pool {
		s.workersDone.Add(1)
		go s.run(w)
	}
	if s.udp != nil {
		s.udp.start()
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.stopCh:
		}
	}()
	s.log.Info().Int("workers", len(s.pool)).Int("queue", s.cfg.PacketQueueSize).
		Strs("interfaces", s.cfg.Interfaces).Msg("server started")
	return nil
}

// run is a pool worker's loop.
func (s *Server) run(w *Worker) {
	defer s.workersDone.Done()
	for {
		j, ok := s.q.pop()
		if !ok {
			return
		}
		w.Process(&j.p, j.send)
	}
}

// Submit queues p for the pool; send delivers the reply. When the queue is
// full the oldest queued packet is dropped and counted. Submit is safe for
// concurrent use; it reports false (and releases p) after Stop.
func (s *Server) Submit(p Packet, send SendFunc) bool {
	return s.q.push(job{p: p, send: send})
}

// Stop stops receiving, lets the workers finish every queued packet
// (replies are still sent), then closes the socket and returns. It is
// idempotent and safe to call before Start.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		started := s.started
		s.mu.Unlock()
		close(s.stopCh)
		if s.udp != nil {
			s.udp.stopReading()
		}
		s.q.close()
		if started {
			s.workersDone.Wait()
		} else {
			for j, ok := s.q.pop(); ok; j, ok = s.q.pop() {
				j.p.release()
			}
		}
		if s.udp != nil {
			s.udp.close()
		}
		s.log.Info().Msg("server stopped")
	})
}

// Send sends reply to req's client through the UDP listener, as if req had
// arrived on it: the AF_XDP path's fallback for replies it cannot send
// itself (next hop not yet resolved, TX ring full). It fails when no UDP
// socket serves req's interface.
func (s *Server) Send(req *dhcp.Request, reply *dhcp.Reply) error {
	s.mu.Lock()
	l := s.udp
	s.mu.Unlock()
	if l == nil {
		return ErrNoUDP
	}
	p := &Packet{Iface: req.Iface, IfIndex: req.IfIndex, IfAddr: req.IfAddr, Src: req.Src, Dst: req.Dst}
	return l.sendReply(p, req, reply)
}
