package ha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/xdhcp/xdhcp/ha/peer"
)

// heartbeatArgs is the arguments of an ha-heartbeat reply (docs/kea/ha-protocol.md §4.1).
type heartbeatArgs struct {
	State             string   `json:"state"`
	DateTime          string   `json:"date-time"`
	Scopes            []string `json:"scopes"`
	UnsentUpdateCount uint64   `json:"unsent-update-count"`
}

// loop sends a heartbeat heartbeat-delay after the previous one completed
// and runs the state machine after each heartbeat and on every kick.
func (s *Service) loop(ctx context.Context) {
	var timer *time.Timer
	var tc <-chan time.Time
	// watch fires when communication becomes interrupted (max-response-delay
	// after the last successful heartbeat), to switch the bucket table.
	watch := time.NewTimer(time.Hour)
	defer watch.Stop()
	rearmWatch := func() {
		s.mu.Lock()
		s.refreshBucketsLocked()
		s.mu.Unlock()
		d := s.cfg.MaxResponseDelay - s.now().Sub(time.Unix(0, s.lastPoke.Load())) + time.Millisecond
		if d <= 0 {
			d = time.Hour // already interrupted: a heartbeat success re-arms
		}
		watch.Reset(d)
	}
	rearmWatch()
	arm := func() {
		// Kea sends no heartbeat in terminated, nor without a failover
		// partner (waitingStateHandler, passiveBackupStateHandler).
		if s.cfg.HeartbeatDelay <= 0 || s.partner == nil || s.State() == StateTerminated.String() {
			tc = nil
			return
		}
		if timer == nil {
			timer = time.NewTimer(s.cfg.HeartbeatDelay)
		} else {
			timer.Reset(s.cfg.HeartbeatDelay)
		}
		tc = timer.C
	}
	arm()
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tc:
			s.heartbeat(ctx)
			s.runModel(ctx)
			arm()
			rearmWatch()
		case <-s.kick:
			s.runModel(ctx)
			if tc == nil {
				arm()
			}
			rearmWatch()
		case <-watch.C:
			rearmWatch()
		}
	}
}

// heartbeat sends one ha-heartbeat and records the outcome.
func (s *Service) heartbeat(ctx context.Context) {
	a, err := s.client.Expect(ctx, "ha-heartbeat", nil, s.reqTimeout, peer.ResultsOK...)
	var hb heartbeatArgs
	var st State
	var pt time.Time
	if err == nil {
		st, pt, hb, err = parseHeartbeat(a)
	}
	if ctx.Err() != nil {
		return
	}
	s.recordHeartbeat(hb, st, pt, err)
}

// parseHeartbeat validates a heartbeat reply's arguments.
func parseHeartbeat(a peer.Answer) (State, time.Time, heartbeatArgs, error) {
	var hb heartbeatArgs
	if len(a.Args) == 0 {
		return 0, time.Time{}, hb, errors.New("heartbeat reply has no arguments")
	}
	if err := json.Unmarshal(a.Args, &hb); err != nil {
		// scopes and the count are optional: retry with the mandatory keys only.
		var min struct {
			State    string `json:"state"`
			DateTime string `json:"date-time"`
		}
		if err2 := json.Unmarshal(a.Args, &min); err2 != nil {
			return 0, time.Time{}, hb, fmt.Errorf("decode heartbeat arguments: %w", err)
		}
		hb = heartbeatArgs{State: min.State, DateTime: min.DateTime}
	}
	st, ok := parseState(hb.State)
	if !ok {
		return 0, time.Time{}, hb, fmt.Errorf("partner reported invalid state %q", hb.State)
	}
	pt, err := http.ParseTime(hb.DateTime)
	if err != nil {
		return 0, time.Time{}, hb, fmt.Errorf("partner reported invalid date-time %q: %w", hb.DateTime, err)
	}
	return st, pt, hb, nil
}

// recordHeartbeat applies a heartbeat result: on success it refreshes the
// contact time, the partner's state, scopes, unsent count and clock skew and
// clears the unacked-client table; on failure the partner is unavailable.
func (s *Service) recordHeartbeat(hb heartbeatArgs, st State, partnerTime time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	notified := s.syncNotified
	s.syncNotified = false
	if err != nil {
		s.ctr.hbFailed.Add(1)
		s.log.Warn().Err(err).Str("partner", s.partner.Name).Msg("ha heartbeat failed")
		s.partnerState = StateUnavailable
		if notified {
			// The partner finished syncing but is gone again: serve alone.
			s.deps.DHCP.EnableDHCP("ha-partner")
		}
		s.refreshBucketsLocked()
		return
	}
	now := s.now()
	s.lastPoke.Store(now.UnixNano())
	s.inTouch = true
	if inStates(st, invalidPartnerStates(modeOf(s.cfg.Mode))) {
		// Kea 2.2 isPartnerStateInvalid (ha_service.cc) warns
		// (HA_INVALID_PARTNER_STATE_*) and the handlers go to waiting
		// (table.go); logged when the partner enters that state.
		s.ctr.partnerInvalid.Add(1)
		if s.partnerState != st {
			s.log.Warn().Str("partner_state", st.String()).Str("mode", s.cfg.Mode).
				Msg("ha partner reports a state invalid for this HA mode")
		}
	}
	s.partnerState = st
	if hb.Scopes != nil {
		s.partnerScopes = hb.Scopes
	}
	s.partnerUnsent[0], s.partnerUnsent[1] = s.partnerUnsent[1], hb.UnsentUpdateCount
	s.skew = partnerTime.Sub(now.Truncate(time.Second))
	if abs(s.skew) > 30*time.Second && now.Sub(s.lastSkewWarn) >= 60*time.Second {
		s.lastSkewWarn = now
		s.log.Warn().Float64("skew_seconds", s.skew.Seconds()).Msg("ha high clock skew with partner")
	}
	s.det.reset()
	s.refreshBucketsLocked()
}
