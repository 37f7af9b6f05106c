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

// step runs the current state's handler once (Kea's *StateHandler) and
// reports whether the state changed.
func (s *Service) step(ctx context.Context) bool {
	s.mu.Lock()
	st := s.state
	if st == StateInMaintenance || st == StateTerminated {
		s.mu.Unlock()
		return false
	}
	if s.paused || s.maintCanceled {
		s.maintCanceled = false
		s.mu.Unlock()
		return false
	}
	if skewChecked(st) && abs(s.skew) > 60*time.Second {
		s.log.Error().Float64("skew_seconds", s.skew.Seconds()).Msg("ha clock skew with partner above 60 s, terminating")
		s.transitionLocked(StateTerminated)
		s.mu.Unlock()
		return true
	}
	ps := s.partnerState
	if ps == StateHotStandby || ps == StatePassiveBackup {
		// Partner state invalid for load-balancing.
		if st == StateWaiting {
			s.mu.Unlock()
			return false
		}
		s.transitionLocked(StateWaiting)
		s.mu.Unlock()
		return true
	}
	next, action := s.decideLocked(st, ps)
	s.mu.Unlock()

	switch action {
	case actionSync:
		return s.doSyncing(ctx)
	case actionRecover:
		return s.doRecover(ctx)
	}
	if next == st {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != st { // changed concurrently (command)
		return true
	}
	s.transitionLocked(next)
	return true
}

type action int

const (
	actionNone action = iota
	actionSync
	actionRecover
)

// decideLocked is the per-state transition table of docs/kea/ha-protocol.md §6 for
// load-balancing. Callers hold s.mu.
func (s *Service) decideLocked(st, ps State) (State, action) {
	syncOrReady := StateSyncing
	if !s.cfg.SyncLeases {
		syncOrReady = StateReady
	}
	isPrimary := s.ownIndex() == 0
	unavailable := func(stay State) State {
		if s.shouldPartnerDownLocked() {
			return StatePartnerDown
		}
		return stay
	}
	switch st {
	case StateWaiting:
		switch ps {
		case StateCommunicationRecovery, StateHotStandby, StateLoadBalancing, StateInMaintenance,
			StatePartnerDown, StatePartnerInMaintenance, StateReady:
			return syncOrReady, actionNone
		case StateWaiting:
			if isPrimary {
				return syncOrReady, actionNone
			}
		case StateUnavailable:
			return unavailable(st), actionNone
		}
		return st, actionNone
	case StateSyncing:
		switch ps {
		case StateTerminated:
			return StateTerminated, actionNone
		case StateUnavailable:
			return unavailable(st), actionNone
		}
		return st, actionSync
	case StateReady:
		switch ps {
		case StateLoadBalancing, StateHotStandby, StateCommunicationRecovery:
			return StateLoadBalancing, actionNone
		case StateInMaintenance:
			return StatePartnerInMaintenance, actionNone
		case StatePartnerInMaintenance:
			return StateInMaintenance, actionNone
		case StateReady:
			if isPrimary {
				return StateLoadBalancing, actionNone
			}
		case StateTerminated:
			return StateTerminated, actionNone
		case StateUnavailable:
			return unavailable(st), actionNone
		}
		return st, actionNone
	case StateLoadBalancing:
		switch ps {
		case StateInMaintenance:
			return StatePartnerInMaintenance, actionNone
		case StatePartnerDown:
			return StateWaiting, actionNone
		case StatePartnerInMaintenance:
			return StateInMaintenance, actionNone
		case StateTerminated:
			return StateTerminated, actionNone
		case StateUnavailable:
			if s.shouldPartnerDownLocked() {
				return StatePartnerDown, actionNone
			}
			if s.cfg.DelayedUpdatesLimit > 0 {
				return StateCommunicationRecovery, actionNone
			}
		}
		return st, actionNone
	case StateCommunicationRecovery:
		switch ps {
		case StateInMaintenance:
			return StatePartnerInMaintenance, actionNone
		case StatePartnerDown:
			return StateWaiting, actionNone
		case StatePartnerInMaintenance:
			return StateInMaintenance, actionNone
		case StateTerminated:
			return StateTerminated, actionNone
		case StateUnavailable:
			return unavailable(st), actionNone
		case StateWaiting, StateSyncing, StateReady:
			if !s.interrupted() && s.overflowed {
				return StateWaiting, actionNone
			}
			return st, actionNone
		case StateLoadBalancing, StateCommunicationRecovery:
			if s.interrupted() {
				return st, actionNone
			}
			return st, actionRecover
		}
		if ps == stateUndefined {
			return st, actionNone
		}
		return StateWaiting, actionNone
	case StatePartnerDown:
		switch ps {
		case StateCommunicationRecovery, StatePartnerDown, StatePartnerInMaintenance:
			return StateWaiting, actionNone
		case StateReady:
			if s.partnerUnsent[1] > 0 && s.partnerUnsent[1] != s.partnerUnsent[0] {
				return StateWaiting, actionNone
			}
			return StateLoadBalancing, actionNone
		case StateTerminated:
			return StateTerminated, actionNone
		}
		return st, actionNone
	case StatePartnerInMaintenance:
		if ps == StateUnavailable {
			return StatePartnerDown, actionNone
		}
		return st, actionNone
	}
	return st, actionNone
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
		return false
	}
	s.transitionLocked(StateReady)
	return true
}

// syncMaxPeriod is sync-timeout in whole seconds, at least 1.
func (s *Service) syncMaxPeriod() time.Duration {
	p := s.cfg.SyncTimeout.Truncate(time.Second)
	if p < time.Second {
		p = time.Second
	}
	return p
}
