package ha

import "sync/atomic"

// counters are the Service's named failure counters: every lease update
// that does not reach the partner the normal way is counted under one of
// them (and logged once where it happens).
type counters struct {
	updateFailed   atomic.Uint64 // a hot-path lease update failed: the reply was dropped
	backlogCleared atomic.Uint64 // backlog entries cleared unsent on leaving communication-recovery
	replayFailed   atomic.Uint64 // backlog replays ended by a failed update
	replayCapped   atomic.Uint64 // backlog replays that did not converge (treated as an overflow)
	backlogFull    atomic.Uint64 // updates not queued: the backlog was full (overflow)
	hbFailed       atomic.Uint64 // heartbeats without a usable answer
	partnerInvalid atomic.Uint64 // heartbeats reporting a state invalid for the mode
	syncFailed     atomic.Uint64 // lease database synchronisations that failed
}

// Counters returns the HA service's named counters, the update client's
// included.
func (s *Service) Counters() map[string]int64 {
	m := map[string]int64{
		"lease-update-failed":      int64(s.ctr.updateFailed.Load()),
		"backlog-cleared-unsent":   int64(s.ctr.backlogCleared.Load()),
		"backlog-replay-failed":    int64(s.ctr.replayFailed.Load()),
		"backlog-replay-overlong":  int64(s.ctr.replayCapped.Load()),
		"backlog-overflow-dropped": int64(s.ctr.backlogFull.Load()),
		"heartbeat-failed":         int64(s.ctr.hbFailed.Load()),
		"partner-state-invalid":    int64(s.ctr.partnerInvalid.Load()),
		"sync-failed":              int64(s.ctr.syncFailed.Load()),
	}
	if c, ok := s.updates.(interface{ Counters() map[string]int64 }); ok {
		for k, v := range c.Counters() {
			m[k] = v
		}
	}
	return m
}
