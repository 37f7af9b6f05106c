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
		// Kea clears the backlog on leaving the state (ha_service.cc,
		// communicationRecoveryHandler, doOnExit). To load-balancing
		// it is empty (doRecover leaves only then). To any other state
		// the updates were acknowledged to clients but never sent:
		// they are added to our unsent-update-count, which the
		// partner reads in our heartbeats, so that a partner in
		// partner-down synchronises from us before load-balancing
		// (partnerDownStateHandler: hasPartnerNewUnsentUpdates →
		// waiting), as it does for the updates partner-down itself
		// leaves unsent (asyncSendLeaseUpdates,
		// increaseUnsentUpdateCount). Counted and logged.
		if n := len(s.backlog); n > 0 {
			s.ctr.backlogCleared.Add(uint64(n))
			s.unsent += uint64(n)
			if s.unsent == 0 {
				s.unsent = 1
			}
			s.log.Warn().Int("updates", n).Str("to", st.String()).
				Msg("ha lease update backlog cleared unsent: the partner must synchronise")
		}
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
			s.ctr.syncFailed.Add(1)
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

// doRecover leaves communication-recovery once the partner is back (Kea
// 2.2 ha_service.cc, communicationRecoveryHandler): replay the backlog
// oldest first (sendLeaseUpdatesFromBacklog, one lease4-update/-del at a
// time, each waiting for its answer), then load-balancing; on an overflow
// or a failed replay send ha-reset and go to waiting, from where both
// servers synchronise their whole lease databases.
//
// Two things differ from Kea on purpose, both so that no ACKed lease is
// lost. The replay ends when the backlog is empty under s.mu, and the
// transition to load-balancing happens in that same critical section:
// Replicate queues under s.mu too, so an update queued during the replay
// is either replayed or, once the state is load-balancing, sent directly
// (Kea pops until empty, then clears the backlog on exit, dropping
// whatever a packet thread pushed in between). And an overflow during the
// replay, or a replay that does not converge because updates keep coming
// faster than the partner takes them (more than twice
// delayed-updates-limit sent), counts as an overflow: nothing queued is
// discarded, the full synchronisation after ha-reset covers it.
func (s *Service) doRecover(ctx context.Context) bool {
	maxSent := 2 * int(s.cfg.DelayedUpdatesLimit)
	sent := 0
	for {
		s.mu.Lock()
		if s.state != StateCommunicationRecovery {
			s.mu.Unlock()
			return true
		}
		if s.overflowed {
			s.mu.Unlock()
			break
		}
		if len(s.backlog) == 0 {
			if sent > 0 {
				s.log.Info().Int("updates", sent).Msg("ha lease update backlog sent")
			}
			s.resultLocked(StateCommunicationRecovery, resultReplayOK)
			s.mu.Unlock()
			return true
		}
		if sent >= maxSent {
			s.log.Warn().Int("sent", sent).Int("left", len(s.backlog)).
				Msg("ha lease update backlog replay does not converge, synchronising instead")
			s.ctr.replayCapped.Add(1)
			s.overflowed = true
			s.mu.Unlock()
			break
		}
		op := s.backlog[0]
		s.mu.Unlock()
		if err := s.send(ctx, op); err != nil {
			s.log.Warn().Err(err).Int("sent", sent).Msg("ha sending lease update backlog failed")
			s.ctr.replayFailed.Add(1)
			break
		}
		sent++
		s.mu.Lock()
		// Only doRecover pops (under runMu), but a command meanwhile
		// (the partner's ha-reset, a maintenance notify and its
		// cancel) may have left the state, clearing the backlog, and
		// even come back to a new one: pop op only if it still heads
		// the backlog, else let the state machine run again.
		if s.state != StateCommunicationRecovery || len(s.backlog) == 0 || s.backlog[0] != op {
			s.mu.Unlock()
			return true
		}
		s.backlog = s.backlog[1:]
		s.mu.Unlock()
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
