package pgsql

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/xdhcp/xdhcp/internal/crash"
)

// Recovery is what the server does when the lease database connection is
// lost, recovered, or given up on. The Store decides when, following Kea
// 2.2's on-fail policy (Kea-2.2.0 src/bin/dhcp4/ctrl_dhcp4_srv.cc
// ControlledDhcpv4Srv::dbLostCallback, dbRecoveredCallback,
// dbFailedCallback; src/lib/database/database_connection.cc
// ReconnectCtl, onFailActionFromText):
//
//   - stop-retry-exit (default): the service is disabled (network state
//     origin DB_CONNECTION) while the connection is down; after
//     max-reconnect-tries failed attempts, reconnect-wait-time apart, the
//     server shuts down. With max-reconnect-tries 0 (Kea's default) or
//     reconnect-wait-time 0 it shuts down at once (DHCP4_DB_RECONNECT_DISABLED).
//   - serve-retry-exit: the service stays up; the server shuts down when the
//     retries are exhausted.
//   - serve-retry-continue: the service stays up; retries; never shuts down.
//
// While the service stays up and the database is down, no lease can be
// committed: the engine's commit fails and no ACK goes out.
type Recovery interface {
	DisableService()
	EnableService()
	Shutdown(reason error)
}

// On-fail actions (Kea's OnFailAction texts).
const (
	StopRetryExit      = "stop-retry-exit"
	ServeRetryExit     = "serve-retry-exit"
	ServeRetryContinue = "serve-retry-continue"
)

type reconnector struct {
	s *Store

	mu      sync.Mutex
	outage  bool
	stopped bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newReconnector(s *Store) *reconnector { return &reconnector{s: s} }

func (r *reconnector) alterService() bool {
	return r.s.cfg.OnFail == "" || r.s.cfg.OnFail == StopRetryExit
}

func (r *reconnector) exitOnFailure() bool { return r.s.cfg.OnFail != ServeRetryContinue }

// lost starts handling an outage; calls during one are no-ops, so a burst
// of failing statements starts one retry loop (one goroutine) at most.
func (r *reconnector) lost(cause error) {
	r.mu.Lock()
	if r.outage || r.stopped {
		r.mu.Unlock()
		return
	}
	r.outage = true
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.mu.Unlock()

	s := r.s
	rec := s.opts.Recovery
	s.log.Error().Err(cause).Str("on-fail", s.onFail()).Int("max-reconnect-tries", s.cfg.MaxReconnectTries).
		Msg("DHCP4_DB_RECONNECT_LOST_CONNECTION: lost connection to the lease database")
	if rec != nil && r.alterService() {
		rec.DisableService()
	}
	if s.cfg.MaxReconnectTries <= 0 || s.cfg.ReconnectWait <= 0 {
		s.log.Error().Int("retries", s.cfg.MaxReconnectTries).Dur("wait", s.cfg.ReconnectWait).
			Msg("DHCP4_DB_RECONNECT_DISABLED: database reconnect is disabled")
		r.finish(ctx, false, cause)
		return
	}
	r.wg.Add(1)
	crash.Go(s.log, "lease-database reconnect", func() {
		defer r.wg.Done()
		for i := 1; i <= s.cfg.MaxReconnectTries; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(s.cfg.ReconnectWait):
			}
			pctx, pcancel := context.WithTimeout(ctx, s.connectTimeout())
			err := s.pool.Ping(pctx)
			pcancel()
			if err == nil {
				r.finish(ctx, true, nil)
				return
			}
			s.log.Warn().Err(err).Int("attempt", i).Int("max-reconnect-tries", s.cfg.MaxReconnectTries).
				Msg("lease database reconnect attempt failed")
			cause = err
		}
		r.finish(ctx, false, cause)
	})
}

// finish ends the outage: recovered, or given up on.
func (r *reconnector) finish(ctx context.Context, ok bool, cause error) {
	if ctx.Err() != nil {
		return
	}
	s := r.s
	rec := s.opts.Recovery
	r.mu.Lock()
	r.outage = false
	r.mu.Unlock()
	if ok {
		s.log.Info().Msg("DHCP4_DB_RECONNECT_SUCCEEDED: lease database connection recovered")
		if rec != nil && r.alterService() {
			rec.EnableService()
		}
		return
	}
	s.log.Error().Int("max-reconnect-tries", s.cfg.MaxReconnectTries).
		Msg("DHCP4_DB_RECONNECT_FAILED: maximum number of database reconnect attempts has been exhausted")
	if rec != nil && r.exitOnFailure() {
		rec.Shutdown(fmt.Errorf("lease database connection lost (on-fail %s): %w", s.onFail(), errors.Join(cause)))
	}
}

func (r *reconnector) stop() {
	r.mu.Lock()
	r.stopped = true
	if r.cancel != nil {
		r.cancel()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (s *Store) onFail() string {
	if s.cfg.OnFail == "" {
		return StopRetryExit
	}
	return s.cfg.OnFail
}
