package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/internal/crash"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/pipeline"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// Server is the UDP transport: one socket per configured interface, a
// bounded drop-oldest queue (Kea's packet-queue-size) and a pool of
// workers, each with its own pipeline worker. Replies leave by sendmsg,
// which is safe from any goroutine, so a reply that waited for the HA
// partner is sent by the goroutine that completed it.
type Server struct {
	cfg   Config
	pl    *pipeline.Pipeline
	reg   *stats.Registry
	log   zerolog.Logger
	cells cells

	q    *queue
	pool []*pipeline.Worker
	mu   sync.Mutex // guards started, stopped, udp

	started, stopped bool
	udp              *udpListener
	workersDone      sync.WaitGroup
	stopOnce         sync.Once
	stopCh           chan struct{}

	// turns counts the packets (probes included) the workers took off
	// the queue: the service watchdog's liveness evidence (Probe).
	turns atomic.Uint64
}

// ErrStopped is returned by Start after Stop.
var ErrStopped = errors.New("server stopped")

// stopDrain bounds how long Stop waits for replies pending on the HA
// partner.
const stopDrain = 3 * time.Second

// ErrNoUDP is returned by Send when no UDP listener runs (no interfaces).
var ErrNoUDP = errors.New("no udp listener")

// cells are the server's own named statistics.
type cells struct {
	queueFull, ignoredInterface, readErrs, noSource *stats.Cell
	// rate counts admission drops, indexed by admission.Verdict (0 unused).
	rate [4]*stats.Cell
}

// New validates cfg and builds the queue and the worker pool; nothing runs
// and no socket is open until Start.
func New(cfg Config, pl *pipeline.Pipeline, reg *stats.Registry, log zerolog.Logger) (*Server, error) {
	if pl == nil || reg == nil {
		return nil, errors.New("new server: pipeline and statistics registry are required")
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
		cfg: cfg,
		pl:  pl,
		reg: reg,
		log: log,
		cells: cells{
			queueFull:        reg.Cell(StatQueueFull),
			ignoredInterface: reg.Cell(StatIgnoredInterface),
			readErrs:         reg.Cell(StatReadErrors),
			noSource:         reg.Cell(StatNoSource),
			rate:             [4]*stats.Cell{nil, reg.Cell(StatRateClient), reg.Cell(StatRateRelay), reg.Cell(StatRateUnknown)},
		},
		stopCh: make(chan struct{}),
	}
	s.q = newQueue(cfg.PacketQueueSize, reg.NewShard(), s.cells.queueFull)
	tr := sender{s}
	for range cfg.workers() {
		s.pool = append(s.pool, pl.NewWorker(tr, nil))
	}
	return s, nil
}

// Workers is the size of the worker pool.
func (s *Server) Workers() int { return len(s.pool) }

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
		crash.Go(s.log, "udp worker", func() { s.run(w) })
	}
	if s.udp != nil {
		s.udp.start()
	}
	crash.Go(s.log, "udp server stop", func() {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.stopCh:
		}
	})
	s.log.Info().Int("workers", len(s.pool)).Int("queue", s.cfg.PacketQueueSize).
		Strs("interfaces", s.cfg.Interfaces).Msg("server started")
	return nil
}

// run is a pool worker's loop.
func (s *Server) run(w *pipeline.Worker) {
	defer s.workersDone.Done()
	for {
		p, ok := s.q.pop()
		if !ok {
			return
		}
		s.turns.Add(1)
		if p.probe {
			continue
		}
		w.Process(p.Data, &p.Meta)
		p.release()
	}
}

// Probe is the service watchdog's liveness check of the worker pool: it
// returns how many packets the workers have taken off the queue so far
// and, when the queue is empty, queues a probe that the next idle worker
// takes (and counts) without processing. A count that stands still
// between two probes means no worker took anything: neither the probe
// nor, when the queue was full, a real packet. A full queue gets no probe,
// so a probe never displaces a packet.
func (s *Server) Probe() uint64 {
	n := s.turns.Load()
	s.q.pushIfEmpty(Packet{probe: true})
	return n
}

// Submit queues p for the pool. When the queue is full the oldest queued
// packet is dropped and counted. Submit is safe for concurrent use; it
// reports false (and releases p) after Stop.
func (s *Server) Submit(p Packet) bool {
	return s.q.push(p)
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
			// Replies waiting for the HA partner still leave by these
			// sockets: give them their bounded chance before closing.
			s.pl.Drain(stopDrain)
		} else {
			for p, ok := s.q.pop(); ok; p, ok = s.q.pop() {
				p.release()
			}
		}
		if s.udp != nil {
			s.udp.close()
		}
		s.log.Info().Msg("server stopped")
	})
}

// Transport is the UDP path's sender, for a transport that cannot send a
// reply itself (the AF_XDP path with an unresolved next hop): it sends as
// if the request had arrived on the UDP socket of m's interface, and fails
// with ErrNoUDP when no socket serves it.
func (s *Server) Transport() pipeline.Transport { return sender{s} }

// sender is the Server as a pipeline.Transport.
type sender struct{ s *Server }

// Send implements pipeline.Transport.
func (t sender) Send(m *pipeline.Meta, _ *dhcp.Request, reply *dhcp.Reply) error {
	t.s.mu.Lock()
	l := t.s.udp
	t.s.mu.Unlock()
	if l == nil {
		return ErrNoUDP
	}
	return l.sendReply(m, reply)
}
