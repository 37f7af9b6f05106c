package ha

import (
	"context"
	"time"
)

// maxStepsPerRun bounds the transitions of one state machine run.
const maxStepsPerRun = 8

// transitionLocked enters st and performs Kea's entry actions: scopes, DHCP
// service re-enable, pausing, backlog reset. Callers hold s.mu.
func (s *Service) transitionLocked(st State) {
	from := s.state
	if from == StateCommunicationRecovery && st != from {
		s.backlog, s.overflowed = nil, false
	}
	if from == StatePartnerDown && st != from {
		s.maintFailover = false
	}
	s.state = st
	s.lastTransition = s.now()
	s.setScopesLocked(s.scopesForState(st))
	if serviceEnabled(st) && from != st {
		// Kea's adjustNetworkState enables the HA origin, which also
		// clears a pending partner dhcp-disable.
		s.deps.DHCP.EnableDHCP("ha-partner")
	}
	for _, sp := range s.cfg.StateMachine {
		if sp.State != st.String() {
			continue
		}
		switch sp.Pause {
		case "always":
			s.paused = true
		case "once":
			if !s.pausedOnce[st] {
				s.pausedOnce[st] = true
				s.paused = true
			}
		}
	}
	if from != stateUndefined {
		s.log.Info().Str("from", from.String()).Str("to", st.String()).
			Str("partner_state", s.partnerState.String()).Msg("ha state transition")
	}
}

// runModel runs the state machine until a state handler decides to stay.
func (s *Service) runModel(ctx context.Context) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	for i := 0; i < maxStepsPerRun && ctx.Err() == nil; i++ {
		if !s.step(ctx) {
			return
		}
	}
}

// step runs the current state's handler once (Kea's *StateHandler): it
// gathers the facts the transition table tests, picks the row and carries
// it out. It reports whether the state changed.
func (s *Service) step(ctx context.Context) bool {
	s.mu.Lock()
	f := s.factsLocked()
	if !inStates(f.state, terminal) {
		s.maintCanceled = false // consumed by this run, as Kea's handlers do
	}
	r := pick(f)
	if r.act != actionNone {
		s.mu.Unlock()
		switch r.act {
		case actionSync:
			return s.doSyncing(ctx)
		default:
			return s.doRecover(ctx)
		}
	}
	defer s.mu.Unlock()
	return s.applyLocked(f.state, r)
}

// applyLocked carries out row r's transition from st. Callers hold s.mu.
func (s *Service) applyLocked(st State, r *row) bool {
	if r.next == stay || r.next == st {
		return false
	}
	if r.skew == yes {
		s.log.Error().Float64("skew_seconds", s.skew.Seconds()).Msg("ha clock skew with partner above 60 s, terminating")
	}
	s.transitionLocked(r.next)
	return true
}

// factsLocked gathers the guards of the transition table. Callers hold
// s.mu.
func (s *Service) factsLocked() facts {
	return facts{
		state:         s.state,
		partner:       s.partnerState,
		mode:          modeOf(s.cfg.Mode),
		primary:       s.this.Role == RolePrimary,
		backup:        s.this.Role == RoleBackup,
		syncLeases:    s.cfg.SyncLeases,
		commRecov:     s.cfg.DelayedUpdatesLimit > 0,
		paused:        s.paused,
		maintCanceled: s.maintCanceled,
		skew:          abs(s.skew) > 60*time.Second,
		partnerDown:   s.shouldPartnerDownLocked(),
		interrupted:   s.interrupted(),
		overflowed:    s.overflowed,
		newUnsent:     s.partnerUnsent[1] > 0 && s.partnerUnsent[1] != s.partnerUnsent[0],
	}
}

// resultLocked looks up the row for the outcome res of st's action and
// carries it out. Callers hold s.mu.
func (s *Service) resultLocked(st State, res result) bool {
	return s.applyLocked(st, pick(facts{state: st, result: res}))
}

// doSyncing runs the blocking lease sync of the syncing state; heartbeats
// are naturally paused because the loop is busy.
func (s *Service) doSyncing(ctx context.Context) bool {
	err := s.synchronize(ctx, s.syncMaxPeriod())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != StateSyncing {
		return true
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn().Err(err).Msg("ha lease database synchronization failed")
		}
		s.partnerState = StateUnavailable
		return s.resultLocked(StateSyncing, resultSyncFailed)
	}
	return s.resultLocked(StateSyncing, resultSyncOK)
}

// syncMaxPeriod is sync-timeout in whole seconds, at least 1.
func (s *Service) syncMaxPeriod() time.Duration {
	p := s.cfg.SyncTimeout.Truncate(time.Second)
	if p < time.Second {
		p = time.Second
	}
	return p
}

// doRecover leaves communication-recovery once the partner is back: replay
// the backlog oldest first, or (overflow / replay failure) send ha-reset and
// go to waiting.
func (s *Service) doRecover(ctx context.Context) bool {
	failed := false
	for i := 0; ; i++ {
		s.mu.Lock()
		if s.state != StateCommunicationRecovery {
			s.mu.Unlock()
			return true
		}
		if s.overflowed || len(s.backlog) == 0 || i > int(s.cfg.DelayedUpdatesLimit)*2+16 {
			s.mu.Unlock()
			break
		}
		op := s.backlog[0]
		s.mu.Unlock()
		if err := s.send(ctx, op); err != nil {
			s.log.Warn().Err(err).Msg("ha sending lease update backlog failed")
			failed = true
			break
		}
		s.mu.Lock()
		if len(s.backlog) > 0 {
			s.backlog = s.backlog[1:]
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	overflowed := s.overflowed
	s.mu.Unlock()
	if !failed && !overflowed {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.state != StateCommunicationRecovery {
			return true
		}
		s.resultLocked(StateCommunicationRecovery, resultReplayOK)
		return true
	}
	if err := s.sendReset(ctx); err != nil {
		s.log.Warn().Err(err).Msg("ha-reset to partner failed")
		s.markPartnerUnavailable()
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.resultLocked(StateCommunicationRecovery, resultResetFailed)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateCommunicationRecovery {
		s.resultLocked(StateCommunicationRecovery, resultResetOK)
	}
	return true
}
