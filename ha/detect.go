package ha

import (
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// detector is Kea's unacked-client analysis (docs/kea/ha-protocol.md §8): while
// communication with the partner is interrupted, dropped partner-scope
// queries are recorded by (chaddr, client-id) and a client whose secs
// exceeds max-ack-delay is "unacked".
type detector struct {
	maxAck   time.Duration
	mu       sync.Mutex
	clients  map[string]bool // key → unacked
	unacked  int
	analyzed uint64
}

func (d *detector) reset() {
	d.mu.Lock()
	d.clients = map[string]bool{}
	d.unacked = 0
	d.analyzed = 0
	d.mu.Unlock()
}

// secs returns the BOOTP secs field with Kea's Windows byte-swap fix.
func secs(msg *dhcpv4.DHCPv4) uint16 {
	v := msg.NumSeconds
	if v > 255 && v&0xff == 0 {
		v = v>>8 | v<<8
	}
	return v
}

// analyze records msg and reports whether failure is now detected.
func (d *detector) analyze(msg *dhcpv4.DHCPv4, maxUnacked uint32) bool {
	unacked := time.Duration(secs(msg))*time.Second > d.maxAck
	key := string(msg.ClientHWAddr) + "\x00" + string(msg.Options.Get(dhcpv4.OptionClientIdentifier))
	d.mu.Lock()
	defer d.mu.Unlock()
	d.analyzed++
	was, seen := d.clients[key]
	switch {
	case !seen:
		d.clients[key] = unacked
		if unacked {
			d.unacked++
		}
	case !was && unacked:
		d.clients[key] = true
		d.unacked++
	}
	return maxUnacked == 0 || uint32(d.unacked) > maxUnacked
}

// failureDetected is Kea's CommunicationState::failureDetected.
func (d *detector) failureDetected(maxUnacked uint32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maxUnacked == 0 || uint32(d.unacked) > maxUnacked
}

// counts returns connecting clients, unacked clients and analyzed packets.
func (d *detector) counts() (connecting, unacked int, analyzed uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.clients), d.unacked, d.analyzed
}

// interrupted reports whether more than max-response-delay passed since the
// last successful heartbeat (Kea's isCommunicationInterrupted). A server
// without a failover partner (passive-backup, a backup server) sends no
// heartbeats and is never interrupted.
func (s *Service) interrupted() bool {
	if s.partner == nil {
		return false
	}
	last := time.Unix(0, s.lastPoke.Load())
	return s.now().Sub(last) > s.cfg.MaxResponseDelay
}

// shouldPartnerDown is Kea's HAService::shouldPartnerDown (ha_service.cc;
// docs/kea/ha-protocol.md §8 and docs/kea/ha-protocol.md §15): once communication is interrupted, the
// unacked-client verdict when DHCP is on and this server sees the
// partner's clients (load-balancing, or the standby of hot-standby);
// otherwise true: with DHCP off, and for the primary of hot-standby, whose
// standby answers no one, time alone decides. Callers hold s.mu.
func (s *Service) shouldPartnerDownLocked() bool {
	if !s.interrupted() {
		return false
	}
	// Kea tests network_state_->isServiceEnabled(): the effective state,
	// which an operator's or the partner's dhcp-disable turns off too
	// (ha_service.cc, shouldPartnerDown); with the service off there is
	// no traffic to analyse.
	if !serviceEnabled(s.state) || !s.deps.DHCP.Enabled() {
		return true
	}
	if s.cfg.Mode == ModeLoadBalancing || s.this.Role == RoleStandby {
		return s.det.failureDetected(s.cfg.MaxUnackedClients)
	}
	return true
}

// markPartnerUnavailable records a failed command to the partner.
func (s *Service) markPartnerUnavailable() {
	s.mu.Lock()
	s.partnerState = StateUnavailable
	s.mu.Unlock()
	s.kickModel()
}

// kickModel asks the loop to run the state machine soon.
func (s *Service) kickModel() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// abs is |d|.
func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
