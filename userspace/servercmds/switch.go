package servercmds

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Origins of a dhcp-disable (ha-protocol.md §4.4).
const (
	OriginUser      = "user"
	OriginHAPartner = "ha-partner"
)

// Switch is the DHCP service's on/off state. Each origin has its own
// "disabled" flag; the service runs only when every flag is clear. A
// disable with a max period arms a per-origin timer that clears that
// origin's flag later; a new disable re-arms it, an enable does not cancel it.
// Enabled is a single atomic load, cheap enough for the packet path.
type Switch struct {
	mu       sync.Mutex
	disabled map[string]bool
	timers   map[string]*time.Timer
	off      atomic.Bool
}

// NewSwitch returns an enabled service switch.
func NewSwitch() *Switch {
	return &Switch{disabled: map[string]bool{}, timers: map[string]*time.Timer{}}
}

// Enabled reports whether DHCP packets should be served.
func (s *Switch) Enabled() bool { return !s.off.Load() }

// ValidOrigin checks an origin argument.
func ValidOrigin(origin string) error {
	switch origin {
	case OriginUser, OriginHAPartner:
		return nil
	}
	return fmt.Errorf("invalid value used for 'origin' parameter: %s", origin)
}

// Disable sets origin's flag; maxPeriod > 0 clears it again after that time.
func (s *Switch) Disable(origin string, maxPeriod time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disabled[origin] = true
	s.off.Store(true)
	if t := s.timers[origin]; t != nil {
		t.Stop()
		delete(s.timers, origin)
	}
	if maxPeriod > 0 {
		s.timers[origin] = time.AfterFunc(maxPeriod, func() { s.Enable(origin) })
	}
}

// Enable clears origin's flag.
func (s *Switch) Enable(origin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.disabled, origin)
	s.off.Store(len(s.disabled) > 0)
}

// Stop cancels pending timers (on shutdown).
func (s *Switch) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for o, t := range s.timers {
		t.Stop()
		delete(s.timers, o)
	}
}
