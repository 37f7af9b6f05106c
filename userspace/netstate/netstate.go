// Package netstate is the DHCP service's network state as Kea 2.2 keeps it
// (src/lib/dhcpsrv/network_state.cc): the service is globally disabled
// while any origin holds it disabled, and enabled again only when every
// origin has cleared its flag. The origins are a user command
// (dhcp-disable/dhcp-enable with "origin": "user"), HA (the partner's
// dhcp-disable with "origin": "ha-partner", and the HA service's own
// transitions) and the lease database's connection recovery, which counts
// its lost connections. A user or HA disable may carry Kea's max-period:
// a one-shot timer per origin that enables that origin again.
//
// The packet path asks Enabled, one atomic load. Other consumers (the XDP
// program's map, metrics) Subscribe to changes.
package netstate

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Origin is who changed the state (Kea's NetworkState::Origin).
type Origin int

// The origins, as in Kea 2.2.
const (
	User         Origin = iota // USER_COMMAND: dhcp-disable/dhcp-enable from an operator
	HA                         // HA_COMMAND: the HA partner or the HA service
	DBConnection               // DB_CONNECTION: lease database connection recovery (counted)
	numOrigins
)

// String is the origin as the control API spells it ("user",
// "ha-partner"), or "db-connection".
func (o Origin) String() string {
	switch o {
	case User:
		return "user"
	case HA:
		return "ha-partner"
	case DBConnection:
		return "db-connection"
	}
	return fmt.Sprintf("origin(%d)", int(o))
}

// ParseOrigin reads the "origin" argument of dhcp-disable/dhcp-enable; Kea
// 2.2 accepts "user" and "ha-partner" there, with its error text otherwise.
func ParseOrigin(s string) (Origin, error) {
	switch s {
	case "user":
		return User, nil
	case "ha-partner":
		return HA, nil
	}
	return 0, fmt.Errorf("invalid value used for 'origin' parameter: %s", s)
}

// State is the network state. The zero value is not usable: call New.
type State struct {
	mu       sync.Mutex
	user, ha bool
	db       uint32
	timers   [numOrigins]*time.Timer
	subs     []func(enabled bool)
	disabled atomic.Bool
}

// New returns an enabled state.
func New() *State { return &State{} }

// Enabled reports whether DHCP queries are served. It is one atomic load.
func (s *State) Enabled() bool { return !s.disabled.Load() }

// Disable sets origin's flag (for DBConnection: counts one more lost
// connection). An existing max-period timer of the origin is left as it
// is, as in Kea's disableService.
func (s *State) Disable(o Origin) {
	s.mu.Lock()
	switch o {
	case User:
		s.user = true
	case HA:
		s.ha = true
	case DBConnection:
		s.db++
	}
	s.publishLocked()
}

// DisableFor is dhcp-disable with max-period: Disable, then enable the
// origin again after d unless EnableAll comes first (Kea's
// delayedEnableAll: one timer per origin, a new one replaces the old). The
// database origin has no timer, as in Kea.
func (s *State) DisableFor(o Origin, d time.Duration) error {
	if o == DBConnection {
		return fmt.Errorf("%s does not support delayed enable", o)
	}
	s.Disable(o)
	if d <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.timers[o]; t != nil {
		t.Stop()
	}
	s.timers[o] = time.AfterFunc(d, func() { s.EnableAll(o) })
	return nil
}

// Enable clears origin's flag (for DBConnection: one connection restored).
// The service is enabled when no origin holds it disabled.
func (s *State) Enable(o Origin) {
	s.mu.Lock()
	s.clearLocked(o)
	s.publishLocked()
}

// EnableAll is Kea's enableAll: Enable plus cancelling the origin's
// max-period timer (dhcp-enable does this).
func (s *State) EnableAll(o Origin) {
	s.mu.Lock()
	s.clearLocked(o)
	if t := s.timers[o]; t != nil {
		t.Stop()
		s.timers[o] = nil
	}
	s.publishLocked()
}

// Reset clears origin's flag completely (for DBConnection: every lost
// connection), as Kea does after a reconfiguration.
func (s *State) Reset(o Origin) {
	s.mu.Lock()
	if o == DBConnection {
		s.db = 0
	} else {
		s.clearLocked(o)
	}
	s.publishLocked()
}

// Subscribe calls f with the current state now and after every change of
// Enabled, in order, with the state's lock held: f must not call back into
// the State.
func (s *State) Subscribe(f func(enabled bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, f)
	f(!s.disabled.Load())
}

// Stop cancels the max-period timers (shutdown).
func (s *State) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, t := range s.timers {
		if t != nil {
			t.Stop()
			s.timers[i] = nil
		}
	}
}

func (s *State) clearLocked(o Origin) {
	switch o {
	case User:
		s.user = false
	case HA:
		s.ha = false
	case DBConnection:
		if s.db > 0 {
			s.db--
		}
	}
}

// publishLocked stores the combined state, tells subscribers of a change
// and unlocks.
func (s *State) publishLocked() {
	off := s.user || s.ha || s.db > 0
	changed := s.disabled.Swap(off) != off
	if changed {
		for _, f := range s.subs {
			f(!off)
		}
	}
	s.mu.Unlock()
}
