package pgsql

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/pgtest"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

func req(sql string, a ...any) *writeReq {
	return &writeReq{op: "test", sql: sql, args: a, res: make(chan writeRes, 1)}
}

func insertReq(l *lease.Lease) *writeReq {
	r := req(insertSQL, args(l)...)
	r.addr = addrInt(l.Addr)
	return r
}

// TestGroupConflictInBatch: in one grouped transaction a lost race (an
// address that has a row, the same address twice, a conditional update
// whose expire moved) answers 0 rows for that request only; the others
// commit, all in one transaction.
func TestGroupConflictInBatch(t *testing.T) {
	c := pgtest.Start(t)
	s := open(t, c, Options{})
	held := sample("192.0.2.1", 1)
	if err := s.Add(held); err != nil {
		t.Fatal(err)
	}
	xid := func() int64 {
		var x int64
		if err := s.Pool().QueryRow(context.Background(), "SELECT txid_current()").Scan(&x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	b := []*writeReq{
		insertReq(sample("192.0.2.2", 2)),
		insertReq(sample("192.0.2.1", 3)), // has a row
		insertReq(sample("192.0.2.3", 4)),
		insertReq(sample("192.0.2.3", 5)), // twice in the batch
		req(`UPDATE lease4 SET hostname = 'x' WHERE address = $1 AND extract(epoch from expire)::bigint = $2`,
			addrInt(held.Addr), int64(1)), // expire moved
	}
	before := xid()
	s.commitGroup(slices.Clone(b))
	after := xid()
	want := []int64{1, 0, 1, 0, 0}
	for i, r := range b {
		got := <-r.res
		if got.err != nil || got.rows != want[i] {
			t.Errorf("request %d: %+v, want %d rows", i, got, want[i])
		}
	}
	if d := after - before; d != 2 { // the batch, and the second txid_current
		t.Errorf("%d transactions for the batch, want 1", d-1)
	}
	if got := c.Query(t, "SELECT string_agg(address::text || ':' || encode(hwaddr, 'hex'), ',' ORDER BY address) FROM lease4"); got != "3221225985:0a0000000001,3221225986:0a0000000002,3221225987:0a0000000004" {
		t.Fatalf("rows %s", got)
	}
	if st := s.GroupStats(); st.BatchRetries != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestGroupFailedBatchRetried: a statement failing with an error aborts the
// grouped transaction; nobody is answered from it; every request runs
// again alone, the good ones commit and the bad one gets its error.
func TestGroupFailedBatchRetried(t *testing.T) {
	c := pgtest.Start(t)
	s := open(t, c, Options{})
	b := []*writeReq{
		insertReq(sample("192.0.2.2", 2)),
		req("SELECT 1/0"),
		insertReq(sample("192.0.2.3", 3)),
	}
	s.commitGroup(slices.Clone(b))
	for i, r := range b {
		got := <-r.res
		if i == 1 {
			if got.err == nil {
				t.Errorf("failing statement answered %+v", got)
			}
			continue
		}
		if got.err != nil || got.rows != 1 {
			t.Errorf("request %d: %+v after the retry alone", i, got)
		}
	}
	if got := c.Query(t, "SELECT count(*) FROM lease4"); got != "2" {
		t.Fatalf("%s rows", got)
	}
	if st := s.GroupStats(); st.BatchRetries != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestGroupNoAnswerBeforeCommit: writes queued behind a blocked commit are
// grouped into one transaction, and none returns before that transaction
// committed: every Add that returned nil is visible from another session.
func TestGroupNoAnswerBeforeCommit(t *testing.T) {
	c := pgtest.Start(t)
	s := open(t, c, Options{})
	ctx := context.Background()
	// Another session inserts 192.0.2.1 and does not commit yet: the
	// store's Add of that address waits on it, holding the committer.
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, insertSQL, args(sample("192.0.2.1", 1))...); err != nil {
		t.Fatal(err)
	}
	var returned sync.Map
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	start := func(a string, n byte) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := sample(a, n)
			err := s.Add(l)
			returned.Store(a, true)
			if err != nil {
				errs <- fmt.Errorf("%s: %w", a, err)
				return
			}
			// Committed: visible from another session now.
			if got := c.Query(t, fmt.Sprintf("SELECT count(*) FROM lease4 WHERE address = %d", addrInt(l.Addr))); got != "1" {
				errs <- fmt.Errorf("%s returned before its commit", a)
			}
		}()
	}
	start("192.0.2.1", 9)
	time.Sleep(200 * time.Millisecond) // the committer is blocked on it
	for i := 2; i < 34; i++ {
		start(fmt.Sprintf("192.0.2.%d", i), byte(i))
	}
	time.Sleep(300 * time.Millisecond)
	n := 0
	returned.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Fatalf("%d writes returned while the commit was blocked", n)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if errors.Is(err, lease.ErrExists) && err.Error()[:9] == "192.0.2.1" && len(err.Error()) > 10 && err.Error()[9] == ':' {
			continue // lost to the other session: an answer
		}
		t.Error(err)
	}
	if got := c.Query(t, "SELECT count(*) FROM lease4"); got != "33" {
		t.Fatalf("%s rows", got)
	}
	if st := s.GroupStats(); st.Transactions > 3 {
		t.Fatalf("32 queued writes took %d transactions, want them grouped (%+v)", st.Transactions, st)
	}
}
