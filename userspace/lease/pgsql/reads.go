package pgsql

// Grouped point reads. Every engine query reads the database several times
// (the client's lease by client id and hardware address, each candidate
// address), and each read alone is a round trip: a write(2) that wakes a
// backend, its parse-free execute, a read(2) that wakes the caller. On the
// bench's two vCPUs those wake-ups, not the index lookups, were most of
// the CPU per lease (a profile of Get: ~1/3 of the Go process in
// net.(*conn).Write alone). The point reads (Get, GetByHW, GetByClientID)
// therefore go through one bounded queue to a reader goroutine, which
// sends what has queued as one pgx.Batch: one round trip (one
// write, one read on each side) for all of them, each statement still a
// query of its own, answered from the database at that moment, as alone.
// Under light load a batch holds one read and nothing waits for a batch to
// fill: a reader sends what is there as soon as it is free.
//
// The statements are read-only; the batch's implicit transaction takes no
// transaction id and writes no WAL. A batch that fails (an error in one
// statement aborts the rest of the pipeline, or the connection was lost)
// is answered statement by statement, each read run alone as before, so
// one bad read cannot make another look like "no lease".

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// readers is the number of reader goroutines (connections reading at
// once). One: an engine DORA through a pgtest cluster with 12 workers cost
// ~510 us of Go+PostgreSQL CPU with one reader (3.3-3.8 reads per round
// trip), ~650 us with two (~2), ~700 us with three (1.5) and ~880 us with
// every read alone, at the same DORA/s; the point reads are index lookups
// of tens of microseconds, so one backend keeps up with many lanes.
var readers = 1

const (
	readQueue = 1024 // pending reads
	readMax   = 64   // statements per batch
)

type readReq struct {
	op   string
	sql  string
	args []any
	res  chan readRes // buffered 1
}

type readRes struct {
	ls  []*lease.Lease
	err error
}

func (s *Store) startReaders() {
	s.rq = make(chan *readReq, readQueue)
	for range readers {
		s.readersDone.Add(1)
		go s.reader()
	}
}

// read queues one query and waits for its rows.
func (s *Store) read(ctx context.Context, op, sql string, a ...any) ([]*lease.Lease, error) {
	r := &readReq{op: op, sql: sql, args: a, res: make(chan readRes, 1)}
	select {
	case s.rq <- r:
	case <-s.quit:
		return nil, errClosed
	case <-ctx.Done():
		return nil, s.fail(op, ctx.Err())
	}
	select {
	case res := <-r.res:
		return res.ls, res.err
	case <-s.quit:
		return nil, errClosed
	case <-ctx.Done():
		return nil, s.fail(op, ctx.Err())
	}
}

func (s *Store) reader() {
	defer s.readersDone.Done()
	batch := make([]*readReq, 0, readMax)
	for {
		var ok bool
		if batch, ok = gather(s.rq, s.quit, batch[:0]); !ok {
			for {
				select {
				case r := <-s.rq:
					r.res <- readRes{err: errClosed}
				default:
					return
				}
			}
		}
		s.readGroup(batch)
	}
}

// readGroup answers batch in one round trip, or each read alone when the
// batch failed.
func (s *Store) readGroup(batch []*readReq) {
	s.readBatches.Add(1)
	s.reads.Add(int64(len(batch)))
	if len(batch) == 1 {
		r := batch[0]
		ls, err := s.query(r.op, r.sql, r.args...)
		r.res <- readRes{ls: ls, err: err}
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	b := &pgx.Batch{}
	for _, r := range batch {
		b.Queue(r.sql, r.args...)
	}
	br := s.pool.SendBatch(ctx, b)
	out := make([][]*lease.Lease, len(batch))
	var err error
	for i := range batch {
		if out[i], err = scanAll(br); err != nil {
			break
		}
	}
	if e := br.Close(); err == nil {
		err = e
	}
	if err != nil {
		// Nothing is answered from a failed pipeline: each read again,
		// alone (a lost connection then fails them and starts recovery).
		s.log.Debug().Err(err).Int("statements", len(batch)).Msg("grouped lease reads failed; running each alone")
		for _, r := range batch {
			ls, err := s.query(r.op, r.sql, r.args...)
			r.res <- readRes{ls: ls, err: err}
		}
		return
	}
	for i, r := range batch {
		r.res <- readRes{ls: out[i]}
	}
}

func scanAll(br pgx.BatchResults) ([]*lease.Lease, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*lease.Lease
	for rows.Next() {
		l, err := scanLease(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// ReadStats: point reads and the round trips (batches) that carried them.
type ReadStats struct {
	Batches, Reads int64
}

// ReadStats reports the grouped-read counters.
func (s *Store) ReadStats() ReadStats {
	return ReadStats{Batches: s.readBatches.Load(), Reads: s.reads.Load()}
}
