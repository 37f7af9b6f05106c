package ha

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// update is one lease4-update or lease4-del to the partner.
type update struct {
	del   bool
	lease *lease.Lease
}

func (u update) command() string {
	if u.del {
		return "lease4-del"
	}
	return "lease4-update"
}

// args renders the HA JSON of the lease: expire instead of cltt, and
// force-create on lease4-update.
func (u update) args() any {
	j := lease.ToHAJSON(u.lease)
	if u.del {
		return j
	}
	return struct {
		lease.JSON
		ForceCreate bool `json:"force-create"`
	}{j, true}
}

// ErrUpdateFailed wraps every failed lease update: the engine must drop the
// reply of the exchange.
var ErrUpdateFailed = errors.New("ha lease update failed")

// Sync is the engine's hook after a lease commit and before the reply is
// released (Kea's leases4_committed): depending on the state it sends the
// changes to the partner (deletions first) and waits for the answers,
// queues them (communication-recovery) or counts them as unsent. A non-nil
// error means the reply must be dropped; the partner is then marked
// unavailable and the state machine re-runs.
func (s *Service) Sync(ctx context.Context, changes []lease.Change) error {
	if !s.cfg.SendLeaseUpdates || len(changes) == 0 {
		return nil
	}
	ops := make([]update, 0, len(changes)+1)
	for _, c := range changes {
		if c.Old != nil && (c.New == nil || c.New.Addr != c.Old.Addr) {
			ops = append(ops, update{del: true, lease: c.Old})
		}
	}
	for _, c := range changes {
		if c.New != nil {
			ops = append(ops, update{lease: c.New})
		}
	}
	if len(ops) == 0 {
		return nil
	}
	s.mu.Lock()
	switch updatePolicyFor(s.state) {
	case updateQueue:
		for _, op := range ops {
			if uint32(len(s.backlog)) >= s.cfg.DelayedUpdatesLimit {
				s.overflowed = true
				break
			}
			s.backlog = append(s.backlog, op)
		}
		s.mu.Unlock()
		return nil
	case updateUnsent:
		s.unsent++
		if s.unsent == 0 {
			s.unsent = 1
		}
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	for _, op := range ops {
		if err := s.send(ctx, op); err != nil {
			s.log.Warn().Err(err).Str("ip", op.lease.Addr.String()).Msg("ha lease update failed")
			s.markPartnerUnavailable()
			return fmt.Errorf("%w: %w", ErrUpdateFailed, err)
		}
	}
	return nil
}

// addrKey is the connection affinity key of a lease address: a mixed hash,
// so neighbouring addresses spread over the connections.
func addrKey(a netip.Addr) uint32 {
	var h uint32
	if a.Is4() {
		b := a.As4()
		h = binary.BigEndian.Uint32(b[:])
	} else {
		b := a.As16()
		for i := 0; i < 16; i += 4 {
			h = h*0x01000193 ^ binary.BigEndian.Uint32(b[i:])
		}
	}
	// lowbias32 (Chris Wellons' hash-prospector).
	h ^= h >> 16
	h *= 0x7feb352d
	h ^= h >> 15
	h *= 0x846ca68b
	h ^= h >> 16
	return h
}

// send delivers one update on the update client; result 3 is success.
func (s *Service) send(ctx context.Context, op update) error {
	cmd := op.command()
	body, err := encodeCommand(cmd, op.args())
	if err != nil {
		return err
	}
	a, err := s.updates.do(ctx, addrKey(op.lease.Addr), cmd, body)
	if err != nil {
		return err
	}
	return a.want(cmd, 0, 3)
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
		s.transitionLocked(StateLoadBalancing)
		return true
	}
	if err := s.sendReset(ctx); err != nil {
		s.log.Warn().Err(err).Msg("ha-reset to partner failed")
		s.markPartnerUnavailable()
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateCommunicationRecovery {
		s.transitionLocked(StateWaiting)
	}
	return true
}

// sendReset sends ha-reset on a temporary connection.
func (s *Service) sendReset(ctx context.Context) error {
	c, err := newPeerClient(s.partner, s.clientTLS, 1, true)
	if err != nil {
		return err
	}
	defer c.close()
	_, err = c.expect(ctx, "ha-reset", nil, requestTimeout, 0)
	return err
}
