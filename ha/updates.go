package ha

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/xdhcp/xdhcp/ha/peer"
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

// Replicate is the engine's hook after a lease commit and before the reply
// is released (Kea's leases4_committed with its parked packet): depending
// on the state it sends the changes to the partner (deletions first),
// queues them (communication-recovery) or counts them as unsent, and calls
// done exactly once with the outcome. It never blocks on the network and
// starts no goroutine: sent updates wait in the update client's queues as
// small records (peer.UpdateClient), and done runs on the goroutine that
// finishes the last of them, or before Replicate returns when there is
// nothing to wait for (nothing to send, queued, counted unsent, service
// stopped). done must not block: it runs on an update connection's
// goroutine.
//
// A nil error means the partner acknowledged every update (result 0, or 3
// for a lease4-del of a lease it lacks) or that the state's policy did not
// send them. A non-nil error wraps ErrUpdateFailed: the reply must be
// dropped; the partner is then marked unavailable and the state machine
// re-runs. done fires at the first failure; the updates of the call not yet
// written are then not written.
//
// The updates of one call reach the partner in order, deletions first.
// The updates of one address reach it in the order of the Replicate calls
// that carry them (connection affinity by address, see peer.UpdateClient): a
// caller that calls Replicate in commit order per address, as the engine's
// commit then release of a reply does, keeps the partner in commit order.
func (s *Service) Replicate(changes []lease.Change, done func(error)) {
	if !s.cfg.SendLeaseUpdates || len(changes) == 0 {
		done(nil)
		return
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
		done(nil)
		return
	}
	// Backups get every change in every state (backups.go).
	done = s.toBackups(ops, done)
	if s.updates == nil { // no failover partner: passive-backup
		done(nil)
		return
	}
	s.mu.Lock()
	switch updatePolicyFor(s.state) {
	case updateQueue:
		// Kea's LeaseUpdateBacklog::push (lease_update_backlog.cc): a
		// full backlog refuses the update and remembers the overflow,
		// which later sends ha-reset and a full synchronisation
		// instead of the replay (doRecover).
		for i, op := range ops {
			if uint32(len(s.backlog)) >= s.cfg.DelayedUpdatesLimit {
				if !s.overflowed {
					s.log.Warn().Uint32("delayed-updates-limit", s.cfg.DelayedUpdatesLimit).
						Msg("ha lease update backlog overflowed: the partner will synchronise")
				}
				s.overflowed = true
				s.ctr.backlogFull.Add(uint64(len(ops) - i))
				break
			}
			s.backlog = append(s.backlog, op)
		}
		s.mu.Unlock()
		done(nil)
		return
	case updateUnsent:
		s.unsent++
		if s.unsent == 0 {
			s.unsent = 1
		}
		s.mu.Unlock()
		done(nil)
		return
	}
	s.mu.Unlock()
	var r *chain
	r = &chain{to: s.updates, ops: ops, ok: peer.ResultsOK, done: func() { done(nil) },
		fail: func(i int, err error) {
			s.ctr.updateFailed.Add(1)
			s.log.Warn().Err(err).Str("ip", r.ops[i].lease.Addr.String()).Msg("ha lease update failed")
			s.markPartnerUnavailable()
			done(fmt.Errorf("%w: %w", ErrUpdateFailed, err))
		}}
	r.start()
}

// chain is one exchange's lease updates to one peer (the failover
// partner, or a backup: backups.go), written in order, deletions first:
// each update is released to the wire once the one before it was
// answered, and the first failure cancels those not yet answered.
type chain struct {
	to   updateSender
	ops  []update
	ok   []int // the results that count as success
	pend []peer.Update
	left atomic.Int32 // updates not yet acknowledged
	over atomic.Bool  // fail called

	// each (optional) sees every answer: nil for success.
	each func(err error)
	// fail is called once, at the first failure (of update i, or of
	// encoding it: then nothing was sent); done once every update was
	// answered with success.
	fail func(i int, err error)
	done func()
}

// start encodes the updates and hands them to the sender.
func (c *chain) start() {
	c.pend = make([]peer.Update, len(c.ops))
	c.left.Store(int32(len(c.ops)))
	for i, op := range c.ops {
		cmd := op.command()
		body, err := peer.EncodeCommand(cmd, op.args())
		if err != nil { // nothing sent yet
			c.failAt(i, err)
			return
		}
		c.pend[i] = peer.Update{Command: cmd, Body: body, Key: addrKey(op.lease.Addr),
			Done: func(res peer.UpdateResult) { c.answered(i, res) }}
	}
	c.to.Send(c.pend)
}

// answered is the completion of update i.
func (c *chain) answered(i int, res peer.UpdateResult) {
	err := res.Err
	if err == nil {
		err = res.Answer.Want(c.pend[i].Command, c.ok...)
	}
	if c.each != nil {
		c.each(err)
	}
	if err != nil {
		c.failAt(i, err)
		return
	}
	if i+1 < len(c.pend) {
		c.to.Release(&c.pend[i+1])
	}
	// Each update completes once, and any failure keeps left above zero.
	if c.left.Add(-1) == 0 {
		c.done()
	}
}

// failAt ends the chain at its first failure, update i's.
func (c *chain) failAt(i int, err error) {
	if c.over.Swap(true) {
		return
	}
	for j := i + 1; j < len(c.pend); j++ {
		if c.pend[j].Sent() {
			c.to.Cancel(&c.pend[j])
		}
	}
	c.fail(i, err)
}

// Sync is Replicate for a caller that waits: it returns done's error, or
// when ctx ends first an error wrapping ErrUpdateFailed and ctx's. A
// caller giving up says nothing about the partner, so that does not mark
// it unavailable; the updates go on and do if they fail.
func (s *Service) Sync(ctx context.Context, changes []lease.Change) error {
	res := make(chan error, 1) // done may come after ctx
	s.Replicate(changes, func(err error) { res <- err })
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrUpdateFailed, ctx.Err())
	}
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

// send delivers one update and waits (backlog replay); result 3 is
// success.
func (s *Service) send(ctx context.Context, op update) error {
	cmd := op.command()
	body, err := peer.EncodeCommand(cmd, op.args())
	if err != nil {
		return err
	}
	a, err := s.updates.Do(ctx, addrKey(op.lease.Addr), cmd, body)
	if err != nil {
		return err
	}
	return a.Want(cmd, peer.ResultsOK...)
}

// sendReset sends ha-reset on a temporary connection.
func (s *Service) sendReset(ctx context.Context) error {
	c, err := s.tempClient()
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Expect(ctx, "ha-reset", nil, s.reqTimeout, peer.ResultsOK...)
	return err
}
