// Package dbreconnect is what a server does when a database backend
// (lease-database, hosts-database) loses its connection: Kea 2.2's
// reconnect controller (src/lib/database/database_connection.cc
// ReconnectCtl, onFailActionFromText) driving
// ControlledDhcpv4Srv::dbLostCallback, dbRecoveredCallback and
// dbFailedCallback (src/bin/dhcp4/ctrl_dhcp4_srv.cc):
//
//   - stop-retry-exit (the default): the service is disabled (network
//     state origin db-connection) while the connection is down; after
//     max-reconnect-tries failed attempts, reconnect-wait-time apart, the
//     server shuts down. With max-reconnect-tries 0 (Kea's default) or
//     reconnect-wait-time 0 it shuts down at once
//     (DHCP4_DB_RECONNECT_DISABLED).
//   - serve-retry-exit: the service stays up; the server shuts down when
//     the retries are exhausted.
//   - serve-retry-continue: the service stays up; retries; never shuts
//     down.
//
// One outage at a time: a burst of failing statements starts one retry
// loop (one goroutine) at most.
package dbreconnect

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

// On-fail actions (Kea's OnFailAction texts).
const (
	StopRetryExit      = "stop-retry-exit"
	ServeRetryExit     = "serve-retry-exit"
	ServeRetryContinue = "serve-retry-continue"
)

// Recovery is what the server does on the controller's decisions; the
// daemon implements it.
type Recovery interface {
	DisableService()       // stop-retry-exit: no service while reconnecting
	EnableService()        // the connection is back
	Shutdown(reason error) // retries exhausted (or none) and on-fail exits
}

// Config is one backend's reconnect policy.
type Config struct {
	// What names the backend in logs and the shutdown reason ("lease
	// database", "hosts database").
	What              string
	OnFail            string // "" = stop-retry-exit
	MaxReconnectTries int
	ReconnectWait     time.Duration
	// Ping checks the connection, bounded by PingTimeout.
	Ping        func(context.Context) error
	PingTimeout time.Duration
	Recovery    Recovery // nil: the outage is only logged and retried
	Logger      zerolog.Logger
}

// Controller follows one backend's connection losses.
type Controller struct {
	cfg Config

	mu      sync.Mutex
	outage  bool
	stopped bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a controller for cfg.
func New(cfg Config) *Controller { return &Controller{cfg: cfg} }

// OnFail is cfg's on-fail action, its default filled in.
func (c *Controller) OnFail() string {
	if c.cfg.OnFail == "" {
		return StopRetryExit
	}
	return c.cfg.OnFail
}

func (c *Controller) alterService() bool  { return c.OnFail() == StopRetryExit }
func (c *Controller) exitOnFailure() bool { return c.OnFail() != ServeRetryContinue }

// Lost starts handling an outage; calls during one are no-ops.
func (c *Controller) Lost(cause error) {
	c.mu.Lock()
	if c.outage || c.stopped {
		c.mu.Unlock()
		return
	}
	c.outage = true
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.mu.Unlock()

	cfg, log := c.cfg, c.cfg.Logger
	log.Error().Err(cause).Str("on-fail", c.OnFail()).Int("max-reconnect-tries", cfg.MaxReconnectTries).
		Msg("DHCP4_DB_RECONNECT_LOST_CONNECTION: lost connection to the " + cfg.What)
	if cfg.Recovery != nil && c.alterService() {
		cfg.Recovery.DisableService()
	}
	if cfg.MaxReconnectTries <= 0 || cfg.ReconnectWait <= 0 {
		log.Error().Int("retries", cfg.MaxReconnectTries).Dur("wait", cfg.ReconnectWait).
			Msg("DHCP4_DB_RECONNECT_DISABLED: database reconnect is disabled")
		c.finish(ctx, false, cause)
		return
	}
	c.wg.Add(1)
	crash.Go(log, cfg.What+" reconnect", func() {
		defer c.wg.Done()
		for i := 1; i <= cfg.MaxReconnectTries; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(cfg.ReconnectWait):
			}
			pctx, pcancel := context.WithTimeout(ctx, max(cfg.PingTimeout, time.Second))
			err := cfg.Ping(pctx)
			pcancel()
			if err == nil {
				c.finish(ctx, true, nil)
				return
			}
			log.Warn().Err(err).Int("attempt", i).Int("max-reconnect-tries", cfg.MaxReconnectTries).
				Msg(cfg.What + " reconnect attempt failed")
			cause = err
		}
		c.finish(ctx, false, cause)
	})
}

// finish ends the outage: recovered, or given up on.
func (c *Controller) finish(ctx context.Context, ok bool, cause error) {
	if ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	c.outage = false
	// Given up with an exit: the server is shutting down, and later
	// failures need no second decision.
	if !ok && c.exitOnFailure() && c.cfg.Recovery != nil {
		c.stopped = true
	}
	c.mu.Unlock()
	cfg, log := c.cfg, c.cfg.Logger
	if ok {
		log.Info().Msg("DHCP4_DB_RECONNECT_SUCCEEDED: " + cfg.What + " connection recovered")
		if cfg.Recovery != nil && c.alterService() {
			cfg.Recovery.EnableService()
		}
		return
	}
	log.Error().Int("max-reconnect-tries", cfg.MaxReconnectTries).
		Msg("DHCP4_DB_RECONNECT_FAILED: maximum number of database reconnect attempts has been exhausted")
	if cfg.Recovery != nil && c.exitOnFailure() {
		cfg.Recovery.Shutdown(fmt.Errorf("%s connection lost (on-fail %s): %w", cfg.What, c.OnFail(), errors.Join(cause)))
	}
}

// Stop ends a retry loop in progress and keeps new outages from starting
// one.
func (c *Controller) Stop() {
	c.mu.Lock()
	c.stopped = true
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// ConnectionLost reports whether err means the connection is gone: no
// answer from the server, or the server ended the session (class 08
// connection exception, 57P operator intervention, 28P01 a password no
// longer accepted), as opposed to an SQL error it answered with.
func ConnectionLost(err error) bool {
	if err == nil || errors.Is(err, pgx.ErrNoRows) || errors.Is(err, context.Canceled) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") || pe.Code == "28P01"
	}
	return true
}
