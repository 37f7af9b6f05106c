package ha

import (
	"crypto/tls"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/xdhcp/xdhcp/ha/peer"
)

// Lease updates to backup servers (docs/kea/ha-protocol.md §15). Kea 2.2
// (ha_service.cc, HAService::asyncSendLeaseUpdates and
// shouldSendLeaseUpdates) sends every lease change to every backup peer in
// every state of an active server, whatever the failover partner's state:
// "Always send updates to the backup server". A backup's failure never
// marks the partner unavailable; the reply waits for a backup's answer,
// and is dropped when it fails, only with wait-backup-ack (passive-backup
// only, HAConfig::validate).

// backupPeer is one backup server this server sends lease updates to.
type backupPeer struct {
	peer    *Peer
	updates updateSender
	info    peer.PartnerInfo
	// sent counts the updates answered with success, failed those that
	// failed (transport, timeout, result other than 0 or 3).
	sent, failed atomic.Uint64
}

// newBackups builds an update client per backup peer other than this
// server.
func (s *Service) newBackups(conns int) error {
	for i := range s.cfg.Peers {
		p := &s.cfg.Peers[i]
		if p.Role != RoleBackup || p == s.this {
			continue
		}
		tc, err := s.clientTLSFor(p)
		if err != nil {
			return err
		}
		b := &backupPeer{peer: p}
		uc, err := peer.NewUpdateClient(p.target(), tc, conns, &b.info)
		if err != nil {
			return fmt.Errorf("ha backup %s: %w", p.Name, err)
		}
		uc.SetWrite(s.deps.Write)
		b.updates = uc
		s.backups = append(s.backups, b)
	}
	return nil
}

// clientTLSFor is the client TLS configuration towards p (nil: plain HTTP).
func (s *Service) clientTLSFor(p *Peer) (*tls.Config, error) {
	tp := s.cfg.tlsFor(p)
	if !tp.Enabled() {
		return nil, nil
	}
	m, err := tp.Load()
	if err != nil {
		return nil, fmt.Errorf("ha config: bad TLS config for server %s: %w", p.Name, err)
	}
	return m.ClientConfig(), nil
}

// toBackups sends ops to every backup and returns the completion the
// failover partner's part of the exchange must call. Without
// wait-backup-ack that is done itself and the backups' outcomes are only
// counted; with it, done runs once the partner's part and every backup
// have finished, with the first failure.
func (s *Service) toBackups(ops []update, done func(error)) func(error) {
	if len(s.backups) == 0 {
		return done
	}
	var j *join
	if s.cfg.WaitBackupAck {
		j = &join{done: done}
		j.left.Store(int32(len(s.backups)) + 1)
	}
	for _, b := range s.backups {
		s.toBackup(b, ops, j)
	}
	if j == nil {
		return done
	}
	return j.one
}

// join calls done once, after left completions, with the first error.
type join struct {
	done  func(error)
	left  atomic.Int32
	mu    sync.Mutex
	first error
}

func (j *join) one(err error) {
	if err != nil {
		j.mu.Lock()
		if j.first == nil {
			j.first = err
		}
		j.mu.Unlock()
	}
	if j.left.Add(-1) == 0 {
		j.mu.Lock()
		err := j.first
		j.mu.Unlock()
		j.done(err)
	}
}

// toBackup writes ops to backup b as a chain, like the partner's
// (updates.go). A failure is counted and logged; it reaches the exchange
// only through j (wait-backup-ack), and never marks the partner
// unavailable.
func (s *Service) toBackup(b *backupPeer, ops []update, j *join) {
	finish := func(error) {}
	if j != nil {
		finish = j.one
	}
	c := &chain{to: b.updates, ops: ops, ok: []int{0, 3}, done: func() { finish(nil) },
		each: func(err error) {
			if err != nil {
				b.failed.Add(1)
			} else {
				b.sent.Add(1)
			}
		}}
	c.fail = func(i int, err error) {
		if c.pend[i].Body == nil { // encoding failed: none was sent
			b.failed.Add(uint64(len(ops)))
		} else {
			// Kea logs HA_LEASE_UPDATE_COMMUNICATIONS_FAILED or
			// HA_LEASE_UPDATE_FAILED and leaves the partner's state alone.
			s.log.Warn().Err(err).Str("backup", b.peer.Name).Str("ip", ops[i].lease.Addr.String()).
				Bool("wait_backup_ack", s.cfg.WaitBackupAck).Msg("ha lease update to backup failed")
		}
		finish(fmt.Errorf("%w: backup %s: %w", ErrUpdateFailed, b.peer.Name, err))
	}
	c.start()
}

// BackupCounters are the lease-update counters per backup peer: updates
// the backup acknowledged, and those that failed.
func (s *Service) BackupCounters() map[string][2]int64 {
	out := make(map[string][2]int64, len(s.backups))
	for _, b := range s.backups {
		out[b.peer.Name] = [2]int64{int64(b.sent.Load()), int64(b.failed.Load())}
	}
	return out
}
