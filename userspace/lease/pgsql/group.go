package pgsql

// Group commit. The engine's lease writes (Add, UpdateFrom, DeleteFrom) are
// each one self-deciding statement whose answer is its row count: INSERT
// ... ON CONFLICT DO NOTHING RETURNING inserts 0 or 1 rows, the
// conditional UPDATE/DELETE match 0 or 1. Writes that arrive while a
// commit is in flight are therefore sent together as one pgx.Batch, which
// PostgreSQL runs as one implicit transaction: one round trip, one WAL
// flush (fsync) for all of them. Every caller still returns only after the
// transaction committed (BatchResults.Close read the final ReadyForQuery
// without error), so no ACK leaves before its lease is on disk.
//
// A statement that lost a race inside the batch is an answer, not an
// error (0 rows: ErrExists / ErrConflict for that caller only); the others
// commit. A statement that failed with an error (the schema's lease4_stat
// trigger racing another session, a deadlock with another server, ...)
// aborts the whole implicit transaction; then every request of the batch is
// run again on its own, in autocommit as before, and answered from that.
// Nothing is answered from a transaction that did not commit.
//
// The queue is bounded (groupQueue): a caller waits for room at most its
// deadline. One committer goroutine runs for the Store's life; there are
// no goroutines per call.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

const (
	groupQueue = 1024 // pending writes; a caller waits for room at most its deadline
	groupMax   = 256  // statements per transaction
)

type writeReq struct {
	op   string // for errors
	addr int64  // ordering key (lock order inside a batch)
	sql  string
	args []any
	res  chan writeRes // buffered 1
}

type writeRes struct {
	rows int64
	err  error
}

// errClosed: the Store was closed before the write was sent.
var errClosed = errors.New("lease store closed")

func (s *Store) startGroup() {
	s.wq = make(chan *writeReq, groupQueue)
	s.quit = make(chan struct{})
	s.groupDone = make(chan struct{})
	go s.committer()
}

func (s *Store) stopGroup() {
	if s.quit == nil {
		return
	}
	close(s.quit)
	<-s.groupDone
}

// write queues one statement and waits for its committed row count.
func (s *Store) write(ctx context.Context, op string, addr int64, sql string, a ...any) (int64, error) {
	r := &writeReq{op: op, addr: addr, sql: sql, args: a, res: make(chan writeRes, 1)}
	select {
	case s.wq <- r:
	case <-s.quit:
		return 0, errClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case res := <-r.res:
		return res.rows, res.err
	case <-ctx.Done():
		// The statement may still commit: the caller answers no one
		// (no ACK); the committer still reports the change (notify).
		return 0, ctx.Err()
	}
}

func (s *Store) committer() {
	defer close(s.groupDone)
	batch := make([]*writeReq, 0, groupMax)
	for {
		var ok bool
		if batch, ok = gather(s.wq, s.quit, batch[:0]); !ok {
			s.drainClosed()
			return
		}
		s.commitGroup(batch)
	}
}

// gather waits for one request on ch, then takes whatever else is queued
// without waiting, up to cap(batch): what arrived while the previous
// round trip was in flight goes in one. false: quit closed first.
func gather[T any](ch <-chan T, quit <-chan struct{}, batch []T) ([]T, bool) {
	select {
	case r := <-ch:
		batch = append(batch, r)
	case <-quit:
		return batch, false
	}
	for len(batch) < cap(batch) {
		select {
		case r := <-ch:
			batch = append(batch, r)
		default:
			return batch, true
		}
	}
	return batch, true
}

func (s *Store) drainClosed() {
	for {
		select {
		case r := <-s.wq:
			r.res <- writeRes{err: errClosed}
		default:
			return
		}
	}
}

// commitGroup runs batch as one transaction, or each alone when it has one
// statement or the transaction failed.
func (s *Store) commitGroup(batch []*writeReq) {
	s.groups.Add(1)
	if len(batch) == 1 {
		s.commitOne(batch[0])
		return
	}
	// Rows are locked in address order, so two xdhcpd grouping
	// overlapping writes cannot deadlock each other.
	slices.SortStableFunc(batch, func(a, b *writeReq) int {
		switch {
		case a.addr < b.addr:
			return -1
		case a.addr > b.addr:
			return 1
		}
		return 0
	})
	ctx, cancel := s.ctx()
	defer cancel()
	b := &pgx.Batch{}
	for _, r := range batch {
		b.Queue(r.sql, r.args...)
	}
	br := s.pool.SendBatch(ctx, b)
	rows := make([]int64, len(batch))
	var err error
	for i := range batch {
		tag, e := br.Exec()
		if e != nil {
			err = e
			break
		}
		rows[i] = tag.RowsAffected()
	}
	// Close reads up to ReadyForQuery: the implicit transaction's commit.
	if e := br.Close(); err == nil {
		err = e
	}
	if err != nil {
		s.batchRetries.Add(1)
		s.log.Debug().Err(err).Int("statements", len(batch)).Msg("grouped lease commit failed; running each alone")
		if connectionLost(err) {
			// No answer: whether it committed is unknown. Each request
			// runs alone; a lost connection fails them too (no ACK).
			s.fail("grouped lease commit", err)
		}
		for _, r := range batch {
			s.commitOne(r)
		}
		return
	}
	s.txWrites.Add(int64(len(batch)))
	for i, r := range batch {
		r.res <- writeRes{rows: rows[i]}
	}
}

// commitOne runs r alone in autocommit (again once when the schema's
// statistics trigger lost a race: the statement was rolled back whole).
func (s *Store) commitOne(r *writeReq) {
	ctx, cancel := s.ctx()
	defer cancel()
	tag, err := againOnStatRace(func() (int64, error) {
		t, err := s.pool.Exec(ctx, r.sql, r.args...)
		return t.RowsAffected(), err
	})
	if err != nil {
		r.res <- writeRes{err: s.fail(r.op, err)}
		return
	}
	s.txWrites.Add(1)
	r.res <- writeRes{rows: tag}
}

// GroupStats: write transactions the committer ran (each batch or single
// statement counts one; a failed batch re-run alone counts its statements
// again in Writes only) and batches that failed and were re-run.
type GroupStats struct {
	Transactions, Writes, BatchRetries int64
}

// GroupStats reports the group-commit counters.
func (s *Store) GroupStats() GroupStats {
	return GroupStats{Transactions: s.groups.Load(), Writes: s.txWrites.Load(), BatchRetries: s.batchRetries.Load()}
}

func opName(verb string, addr any) string { return fmt.Sprintf("%s lease %v", verb, addr) }
