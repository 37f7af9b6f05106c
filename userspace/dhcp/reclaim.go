package dhcp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// Reclaim reclaims up to max expired leases (0: no limit) within maxTime
// (0: no limit), per docs/kea/memfile.md §10–11: hostname and FQDN flags are
// cleared and the lease becomes expired-reclaimed (state 2), or is deleted
// when flush-reclaimed-timer-wait-time is 0. Declined leases whose
// probation ended are recovered and deleted. Reclamation is not replicated
// to an HA partner. It returns the number of leases reclaimed.
func (e *Engine) Reclaim(now time.Time, max int, maxTime time.Duration) (int, error) {
	start := e.clock()
	limit := max
	if limit <= 0 {
		limit = 1 << 30
	}
	remove := e.m.expiry.flushWait == 0
	n := 0
	for n < limit {
		batch := e.store.Expired(now.Unix(), min(limit-n, 256))
		if len(batch) == 0 {
			break
		}
		progressed := false
		for _, l := range batch {
			if maxTime > 0 && e.clock().Sub(start) > maxTime {
				return n, nil
			}
			ok, err := e.reclaimOne(l, now, remove)
			if err != nil {
				return n, err
			}
			if ok {
				n++
				progressed = true
			}
		}
		if !progressed {
			break
		}
	}
	e.sweepOffers(now.Unix())
	return n, nil
}

// ReclaimAll reclaims every expired lease now (the leases-reclaim command);
// remove deletes them instead of keeping them as expired-reclaimed.
func (e *Engine) ReclaimAll(remove bool) (int, error) {
	now := e.clock()
	n := 0
	for {
		batch := e.store.Expired(now.Unix(), 256)
		if len(batch) == 0 {
			return n, nil
		}
		k := 0
		for _, l := range batch {
			ok, err := e.reclaimOne(l, now, remove)
			if err != nil {
				return n, err
			}
			if ok {
				k++
			}
		}
		if k == 0 {
			return n, nil
		}
		n += k
	}
}

// reclaimOne reclaims one expired lease unless it changed meanwhile.
func (e *Engine) reclaimOne(l *lease.Lease, now time.Time, remove bool) (bool, error) {
	mu := e.locks.lock(l.Addr)
	defer mu.Unlock()
	cur, ok := e.store.Get(l.Addr)
	if !ok || cur.State == lease.StateExpiredReclaimed || !cur.Expired(now.Unix()) {
		return false, nil
	}
	// Recovered declined leases are always deleted (Kea's reclaimDeclined).
	if remove || cur.State == lease.StateDeclined {
		if _, err := e.deleteFrom(cur); errors.Is(err, lease.ErrConflict) {
			return false, nil // renewed or taken by another server meanwhile
		} else if err != nil {
			return false, fmt.Errorf("reclaim %s: delete: %w", cur.Addr, err)
		}
	} else {
		r := cur.Clone()
		r.Hostname, r.FqdnFwd, r.FqdnRev = "", false, false
		r.State = lease.StateExpiredReclaimed
		if err := e.updateFrom(cur, r); errors.Is(err, lease.ErrConflict) {
			return false, nil
		} else if err != nil {
			return false, fmt.Errorf("reclaim %s: update: %w", cur.Addr, err)
		}
	}
	e.countReclaimed(cur)
	return true, nil
}

// FlushReclaimed deletes expired-reclaimed leases whose expiry is older than
// hold-reclaimed-time. It returns the number deleted.
func (e *Engine) FlushReclaimed(now time.Time) (int, error) {
	cut := now.Unix() - int64(e.m.expiry.hold)
	n := 0
	for _, a := range e.reclaimed.olderThan(cut, 0) {
		mu := e.locks.lock(a)
		cur, ok := e.store.Get(a)
		if ok && cur.State == lease.StateExpiredReclaimed && cur.Expire() < cut {
			if _, err := e.deleteFrom(cur); err != nil && !errors.Is(err, lease.ErrConflict) {
				mu.Unlock()
				return n, fmt.Errorf("flush reclaimed %s: %w", a, err)
			}
			n++
		} else if !ok {
			e.reclaimed.del(a)
		}
		mu.Unlock()
	}
	return n, nil
}

// ReclaimLoop runs reclamation and flushing on the configured timers until
// ctx is done: a reclamation cycle reclaim-timer-wait-time after the
// previous one ends (0 disables), a flush every
// flush-reclaimed-timer-wait-time (0: leases are deleted at reclamation, no
// flush job).
func (e *Engine) ReclaimLoop(ctx context.Context) {
	x := e.m.expiry
	var reclaimC, flushC <-chan time.Time
	reclaimWait := time.Duration(x.reclaimWait) * time.Second
	var rt *time.Timer
	if reclaimWait > 0 {
		rt = time.NewTimer(reclaimWait)
		defer rt.Stop()
		reclaimC = rt.C
	}
	if x.flushWait > 0 {
		ft := time.NewTicker(time.Duration(x.flushWait) * time.Second)
		defer ft.Stop()
		flushC = ft.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-reclaimC:
			n, err := e.Reclaim(e.clock(), x.maxLeases, time.Duration(x.maxTimeMS)*time.Millisecond)
			if err != nil {
				e.log.Error().Err(err).Msg("lease reclamation failed")
			} else if n > 0 {
				e.log.Debug().Int("leases", n).Msg("reclaimed expired leases")
			}
			rt.Reset(reclaimWait)
		case <-flushC:
			if _, err := e.FlushReclaimed(e.clock()); err != nil {
				e.log.Error().Err(err).Msg("flushing reclaimed leases failed")
			}
		}
	}
}
