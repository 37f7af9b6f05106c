// Package accept is the accept loop the HA peer listener (ha/peer) and the
// control socket (userspace/control) share: at most a fixed number of
// connections served at once (the next ones wait in the kernel's backlog),
// and accept errors (EMFILE, ENFILE, ENOBUFS...) counted, warned about at
// most once per LogEvery and backed off, as net/http's server does for
// temporary errors, while the listener keeps listening.
package accept

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Backoff and warning limits.
const (
	BackoffMin = 5 * time.Millisecond // first wait after an accept error, doubling
	BackoffMax = time.Second
	LogEvery   = 10 * time.Second // at most one accept-error warning per this
)

// Warn reports an accept error that is being backed off: suppressed is the
// number of errors not reported since the last call.
type Warn func(err error, suppressed int, backoff time.Duration)

// Gate hands out connection slots and accepts. Use it from one goroutine
// (Next); Release may be called from any.
type Gate struct {
	sem   chan struct{}
	done  <-chan struct{}
	warn  Warn
	delay time.Duration

	waits, errs *atomic.Int64

	logMu      sync.Mutex
	lastLog    time.Time
	suppressed int
}

// New returns a gate of max slots that stops when done is closed. It adds
// to waits each connection that waited for a free slot and to errs each
// accept error it backed off (the owner's named counters).
func New(max int, done <-chan struct{}, waits, errs *atomic.Int64, warn Warn) *Gate {
	return &Gate{sem: make(chan struct{}, max), done: done, waits: waits, errs: errs, warn: warn}
}

// Next waits for a free slot and accepts a connection, which holds the
// slot until Release. It returns (nil, nil) once done is closed, and the
// error (wrapping net.ErrClosed) when the listener was closed otherwise.
func (g *Gate) Next(ln net.Listener) (net.Conn, error) {
	for {
		select {
		case g.sem <- struct{}{}:
		default:
			g.waits.Add(1)
			select {
			case g.sem <- struct{}{}:
			case <-g.done:
				return nil, nil
			}
		}
		c, err := ln.Accept()
		if err == nil {
			g.delay = 0
			return c, nil
		}
		g.Release()
		select {
		case <-g.done:
			return nil, nil
		default:
		}
		if errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		g.errs.Add(1)
		g.delay = min(max(2*g.delay, BackoffMin), BackoffMax)
		if ok, n := g.allowLog(time.Now()); ok && g.warn != nil {
			g.warn(err, n, g.delay)
		}
		select {
		case <-time.After(g.delay):
		case <-g.done:
			return nil, nil
		}
	}
}

// Release frees the slot of a connection Next returned.
func (g *Gate) Release() { <-g.sem }

// allowLog lets a warning through at most once per LogEvery and says how
// many were suppressed since the last one.
func (g *Gate) allowLog(now time.Time) (bool, int) {
	g.logMu.Lock()
	defer g.logMu.Unlock()
	if !g.lastLog.IsZero() && now.Sub(g.lastLog) < LogEvery {
		g.suppressed++
		return false, 0
	}
	n := g.suppressed
	g.lastLog, g.suppressed = now, 0
	return true, n
}
