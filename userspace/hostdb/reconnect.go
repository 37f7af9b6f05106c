package hostdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/internal/crash"
)

// Recovery is what a lost hosts-database connection does to the server,
// Kea 2.2's ControlledDhcpv4Srv::dbLostCallback / dbRecoveredCallback /
// dbFailedCallback (src/bin/dhcp4/ctrl_dhcp4_srv.cc), driven by the
// backend's max-reconnect-tries, reconnect-wait-time and on-fail
// (docs/kea/hosts-db.md §7). The daemon implements it.
type Recovery interface {
	DisableService()       // stop-retry-exit: no service while reconnecting
	EnableService()        // the connection is back
	Shutdown(reason error) // retries exhausted (or none) and on-fail exits
}

// reconnector follows one backend's connection losses: one outage at a
// time, retried every reconnect-wait-time up to max-reconnect-tries.
type reconnector struct {
	p   *PgSQL
	rec Recovery
	log zerolog.Logger

	mu      sync.Mutex
	outage  bool
	stopped bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func (r *reconnector) alterService() bool {
	return r.p.cfg.OnFail == "" || r.p.cfg.OnFail == "stop-retry-exit"
}
func (r *reconnector) exitOnFailure() bool { return r.p.cfg.OnFail != "serve-retry-continue" }

// lost starts recovery unless an outage is already being handled.
func (r *reconnector) lost(cause error) {
	r.mu.Lock()
	if r.rec == nil || r.outage || r.stopped {
		r.mu.Unlock()
		return
	}
	r.outage = true
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.mu.Unlock()

	cfg := r.p.cfg
	r.log.Error().Err(cause).Str("on-fail", cfg.OnFail).Uint32("max-reconnect-tries", cfg.MaxReconnectTries).
		Msg("DHCP4_DB_RECONNECT_LOST_CONNECTION: lost connection to the hosts database")
	if r.alterService() {
		r.rec.DisableService()
	}
	if cfg.MaxReconnectTries == 0 || cfg.ReconnectWaitTime == 0 {
		r.log.Error().Msg("DHCP4_DB_RECONNECT_DISABLED: database reconnect is disabled")
		r.finish(ctx, false, cause)
		return
	}
	wait := time.Duration(cfg.ReconnectWaitTime) * time.Millisecond
	r.wg.Add(1)
	crash.Go(r.log, "hosts-database reconnect", func() {
		defer r.wg.Done()
		for i := uint32(1); i <= cfg.MaxReconnectTries; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			pctx, pcancel := context.WithTimeout(ctx, time.Duration(max(cfg.ConnectTimeout, 1))*time.Second)
			err := r.p.pool.Ping(pctx)
			pcancel()
			if err == nil {
				r.finish(ctx, true, nil)
				return
			}
			r.log.Warn().Err(err).Uint32("attempt", i).Msg("hosts database reconnect attempt failed")
			cause = err
		}
		r.finish(ctx, false, cause)
	})
}

func (r *reconnector) finish(ctx context.Context, ok bool, cause error) {
	if ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	r.outage = false
	r.mu.Unlock()
	if ok {
		r.log.Info().Msg("DHCP4_DB_RECONNECT_SUCCEEDED: hosts database connection recovered")
		if r.alterService() {
			r.rec.EnableService()
		}
		return
	}
	r.log.Error().Msg("DHCP4_DB_RECONNECT_FAILED: maximum number of database reconnect attempts has been exhausted")
	if r.exitOnFailure() {
		r.rec.Shutdown(fmt.Errorf("hosts database connection lost (on-fail %s): %w", r.p.cfg.OnFail, cause))
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

// connectionLost: no answer from the server, or the server ended the
// session (class 08 connection exception, 57P shutdown), as opposed to an
// SQL error it answered with.
func connectionLost(err error) bool {
	if err == nil || errors.Is(err, pgx.ErrNoRows) || errors.Is(err, context.Canceled) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P")
	}
	return true
}
