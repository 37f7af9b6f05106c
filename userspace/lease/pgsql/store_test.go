package pgsql

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/pgtest"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

func cfgFor(c *pgtest.Cluster) Config {
	return Config{Name: c.DBName, Host: c.Host, Port: uint16(c.Port), User: c.User, Password: c.Password,
		ConnectTimeout: 2 * time.Second, OpTimeout: 3 * time.Second}
}

func open(t *testing.T, c *pgtest.Cluster, o Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfgFor(c), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func sample(a string, n byte) *lease.Lease {
	return &lease.Lease{
		Addr: addr(a), HWAddr: net.HardwareAddr{0x0a, 0, 0, 0, 0, n}, ClientID: []byte{1, 0x0a, 0, 0, 0, 0, n},
		ValidLifetime: 3600, CLTT: 1_900_000_000, SubnetID: 1, FqdnFwd: true, Hostname: "host-" + fmt.Sprint(n) + ".example.org.",
		UserContext: `{ "ISC": { "x": 1 } }`, // Kea's Element::str form
	}
}

// TestKeaColumns: a lease goes in as Kea's createBindForSend writes it and
// comes back as convertFromDatabase reads it (Kea-2.2.0
// src/lib/dhcpsrv/pgsql_lease_mgr.cc, PgSqlLease4Exchange).
func TestKeaColumns(t *testing.T) {
	c := pgtest.Start(t)
	var changes []lease.Change
	s := open(t, c, Options{OnChange: func(ch lease.Change) { changes = append(changes, ch) }})
	l := sample("192.0.2.10", 1)
	if err := s.Add(l); err != nil {
		t.Fatal(err)
	}
	got, ok := s.Get(l.Addr)
	if !ok || !reflect.DeepEqual(got, l) {
		t.Fatalf("Get = %+v, want %+v", got, l)
	}
	// The row as Kea's schema holds it.
	row := c.Query(t, "SELECT address, encode(hwaddr,'hex'), encode(client_id,'hex'), valid_lifetime, extract(epoch from expire)::bigint, subnet_id, fqdn_fwd, fqdn_rev, hostname, state, user_context FROM lease4")
	want := "3221225994|0a0000000001|010a0000000001|3600|1900003600|1|t|f|host-1.example.org.|0|" + `{ "ISC": { "x": 1 } }`
	if row != want {
		t.Fatalf("row %q\nwant %q", row, want)
	}
	// No identifiers: empty bytea, as Kea writes them; read back as nil.
	bare := &lease.Lease{Addr: addr("192.0.2.11"), ValidLifetime: 0xFFFFFFFF, CLTT: 1_800_000_000, SubnetID: 1}
	if err := s.Add(bare); err != nil {
		t.Fatal(err)
	}
	if got := c.Query(t, "SELECT length(hwaddr), length(client_id), extract(epoch from expire)::bigint, user_context FROM lease4 WHERE address = 3221225995"); got != "0|0|1800000000|" {
		t.Fatalf("bare row %q (infinite lifetime: expire = cltt)", got)
	}
	if got, _ := s.Get(bare.Addr); !reflect.DeepEqual(got, bare) {
		t.Fatalf("bare lease back as %+v", got)
	}
	if err := s.Add(sample("192.0.2.10", 2)); !errors.Is(err, lease.ErrExists) {
		t.Fatalf("second Add: %v, want ErrExists", err)
	}
	if got, _ := s.GetByHW(l.HWAddr, 1); got == nil || got.Addr != l.Addr {
		t.Fatalf("GetByHW = %v", got)
	}
	if got, _ := s.GetByClientID(l.ClientID, 1); got == nil || got.Addr != l.Addr {
		t.Fatalf("GetByClientID = %v", got)
	}
	if got := s.FindByHostname("HOST-1.example.org."); len(got) != 1 {
		t.Fatalf("FindByHostname = %v", got)
	}
	if p := s.Page(l.Addr, 10); len(p) != 1 || p[0].Addr != bare.Addr {
		t.Fatalf("Page after .10 = %v", p)
	}
	if n := s.Count(); n != 2 {
		t.Fatalf("Count = %d", n)
	}
	if len(changes) != 2 || changes[0].Old != nil || changes[0].New.Addr != l.Addr {
		t.Fatalf("changes %+v", changes)
	}
}

// TestConditionalWrites: UpdateFrom/DeleteFrom are Kea's UPDATE_LEASE4 and
// DELETE_LEASE4 ("WHERE address = $n AND expire = $m"): a lease changed
// by someone else since it was read is left alone.
func TestConditionalWrites(t *testing.T) {
	c := pgtest.Start(t)
	a := open(t, c, Options{})
	b := open(t, c, Options{})
	l := sample("192.0.2.20", 1)
	if err := a.Add(l); err != nil {
		t.Fatal(err)
	}
	readA, _ := a.Get(l.Addr)
	readB, _ := b.Get(l.Addr)
	nb := readB.Clone()
	nb.CLTT += 100
	if err := b.UpdateFrom(readB, nb); err != nil {
		t.Fatal(err)
	}
	na := readA.Clone()
	na.HWAddr = net.HardwareAddr{0x0a, 0, 0, 0, 0, 9}
	na.CLTT += 50
	if err := a.UpdateFrom(readA, na); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale UpdateFrom: %v, want ErrConflict", err)
	}
	if err := a.DeleteFrom(readA); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale DeleteFrom: %v, want ErrConflict", err)
	}
	if got, _ := a.Get(l.Addr); !reflect.DeepEqual(got, nb) {
		t.Fatalf("after conflicts the row is %+v, want B's %+v", got, nb)
	}
	if err := a.DeleteFrom(nb); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Get(l.Addr); ok {
		t.Fatal("lease still there after DeleteFrom")
	}
	// A row written by SQL with fractional seconds (Kea writes whole
	// seconds) is matched as it was read.
	c.Exec(t, "INSERT INTO lease4 (address, hwaddr, valid_lifetime, expire, subnet_id, state) VALUES (3221226005, '\\x0a0000000007', 60, now() + interval '1.5 seconds', 1, 0)")
	frac, ok := a.Get(addr("192.0.2.21"))
	if !ok {
		t.Fatal("SQL-written row not found")
	}
	nf := frac.Clone()
	nf.CLTT += 10
	if err := a.UpdateFrom(frac, nf); err != nil {
		t.Fatalf("UpdateFrom a fractional-second row: %v", err)
	}
	// Unconditional Update/Put/Delete, with the old row for OnChange.
	var last lease.Change
	s := open(t, c, Options{OnChange: func(ch lease.Change) { last = ch }})
	if added, err := s.Put(l); err != nil || !added {
		t.Fatalf("Put new = %v, %v", added, err)
	}
	u := l.Clone()
	u.Hostname = "other."
	if added, err := s.Put(u); err != nil || added {
		t.Fatalf("Put existing = %v, %v", added, err)
	}
	if last.Old == nil || last.Old.Hostname != l.Hostname || last.New.Hostname != "other." {
		t.Fatalf("OnChange of the update: %+v", last)
	}
	if err := s.Update(sample("192.0.2.99", 1)); !errors.Is(err, lease.ErrNotFound) {
		t.Fatalf("Update missing: %v", err)
	}
	if old, err := s.Delete(l.Addr); err != nil || old.Hostname != "other." {
		t.Fatalf("Delete = %v, %v", old, err)
	}
}

// TestAddRace: servers inserting the same addresses at once: each address
// is won exactly once; the losers get lease.ErrExists, no other error.
func TestAddRace(t *testing.T) {
	c := pgtest.Start(t)
	const servers, addrs = 4, 50
	stores := make([]*Store, servers)
	for i := range stores {
		stores[i] = open(t, c, Options{})
	}
	var wins [addrs]atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, servers*addrs)
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range addrs {
				l := sample(fmt.Sprintf("198.18.0.%d", j+1), byte(i))
				switch err := s.Add(l); {
				case err == nil:
					wins[j].Add(1)
				case !errors.Is(err, lease.ErrExists):
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for j := range wins {
		if n := wins[j].Load(); n != 1 {
			t.Errorf("198.18.0.%d won %d times", j+1, n)
		}
	}
	if got := c.Query(t, "SELECT count(*) FROM lease4"); got != fmt.Sprint(addrs) {
		t.Fatalf("%s rows", got)
	}
}

// TestExpiredAndStats: Expired is GET_LEASE4_EXPIRE; lease4_stat follows
// the schema's triggers.
func TestExpiredAndStats(t *testing.T) {
	c := pgtest.Start(t)
	s := open(t, c, Options{})
	now := int64(1_900_000_000)
	for i, st := range []lease.State{lease.StateDefault, lease.StateDeclined, lease.StateExpiredReclaimed} {
		l := sample(fmt.Sprintf("192.0.2.%d", 30+i), byte(i))
		l.CLTT, l.ValidLifetime, l.State = now-int64(100-i), 10, st
		if err := s.Add(l); err != nil {
			t.Fatal(err)
		}
	}
	live := sample("192.0.2.40", 9)
	live.CLTT = now
	if err := s.Add(live); err != nil {
		t.Fatal(err)
	}
	exp := s.Expired(now, 10)
	if len(exp) != 2 || exp[0].Addr != addr("192.0.2.30") || exp[1].Addr != addr("192.0.2.31") {
		t.Fatalf("Expired = %v", exp)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := []StatRow{{1, lease.StateDefault, 2}, {1, lease.StateDeclined, 1}}
	if !reflect.DeepEqual(st, want) {
		t.Fatalf("lease4_stat = %+v, want %+v", st, want)
	}
}

// TestOpenRefusals: as Kea 2.2 at start-up, a schema version other than
// 13.0, a missing schema, a wrong password or an unreachable server fail
// Open at once with a clear message (no retry).
func TestOpenRefusals(t *testing.T) {
	c := pgtest.Start(t)
	c.Exec(t, "UPDATE schema_version SET version = 12, minor = 0")
	_, err := Open(context.Background(), cfgFor(c), Options{})
	if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "need version: 13.0 found version: 12.0") {
		t.Fatalf("schema 12.0: %v", err)
	}
	empty := pgtest.StartWith(t, pgtest.Options{NoSchema: true})
	if _, err := Open(context.Background(), cfgFor(empty), Options{}); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "kea-admin db-init") {
		t.Fatalf("no schema: %v", err)
	}
	bad := cfgFor(empty)
	bad.Password = "wrong"
	if _, err := Open(context.Background(), bad, Options{}); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("wrong password: %v", err)
	}
	gone := cfgFor(empty)
	gone.Host = t.TempDir() // no server there
	start := time.Now()
	if _, err := Open(context.Background(), gone, Options{}); err == nil || !strings.Contains(err.Error(), "cannot open PostgreSQL database") {
		t.Fatalf("unreachable: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("unreachable took %v (retried?)", d)
	}
}

type recorder struct {
	mu     sync.Mutex
	events []string
	ch     chan string
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	r.ch <- e
}
func (r *recorder) DisableService()       { r.add("disable") }
func (r *recorder) EnableService()        { r.add("enable") }
func (r *recorder) Shutdown(reason error) { r.add("shutdown") }

func (r *recorder) wait(t *testing.T, want string) {
	t.Helper()
	select {
	case e := <-r.ch:
		if e != want {
			t.Fatalf("event %q, want %q (all: %v)", e, want, r.events)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no %q event (so far %v)", want, r.events)
	}
}

// TestConnectionLost: on-fail stop-retry-exit disables the service when a
// statement finds the connection gone, retries, and enables it again when
// the server is back; with the retries exhausted it shuts down; with
// max-reconnect-tries 0 it shuts down at once (Kea-2.2.0
// ctrl_dhcp4_srv.cc dbLostCallback / dbRecoveredCallback / dbFailedCallback).
func TestConnectionLost(t *testing.T) {
	c := pgtest.Start(t)
	t.Run("recovered", func(t *testing.T) {
		rec := &recorder{ch: make(chan string, 8)}
		cfg := cfgFor(c)
		cfg.MaxReconnectTries, cfg.ReconnectWait = 50, 200*time.Millisecond
		s, err := Open(context.Background(), cfg, Options{Recovery: rec})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := s.Add(sample("192.0.2.50", 1)); err == nil {
			t.Fatal("Add succeeded with the server down")
		}
		rec.wait(t, "disable")
		c.Restart(t)
		rec.wait(t, "enable")
		if err := s.Add(sample("192.0.2.50", 1)); err != nil {
			t.Fatalf("Add after recovery: %v", err)
		}
	})
	t.Run("exhausted", func(t *testing.T) {
		rec := &recorder{ch: make(chan string, 8)}
		cfg := cfgFor(c)
		cfg.MaxReconnectTries, cfg.ReconnectWait = 2, 100*time.Millisecond
		s, err := Open(context.Background(), cfg, Options{Recovery: rec})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c.Stop()
		defer c.Restart(t)
		s.Get(addr("192.0.2.50"))
		rec.wait(t, "disable")
		rec.wait(t, "shutdown")
	})
	t.Run("serve-retry-continue", func(t *testing.T) {
		rec := &recorder{ch: make(chan string, 8)}
		cfg := cfgFor(c)
		cfg.OnFail, cfg.MaxReconnectTries, cfg.ReconnectWait = ServeRetryContinue, 0, 0
		s, err := Open(context.Background(), cfg, Options{Recovery: rec})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c.Stop()
		defer c.Restart(t)
		s.Get(addr("192.0.2.50"))
		select {
		case e := <-rec.ch:
			t.Fatalf("serve-retry-continue: unexpected %q", e)
		case <-time.After(500 * time.Millisecond):
		}
	})
}

// TestSlowDatabaseBounded: a database that does not answer (lease4 locked
// by another session) makes each call wait at most OpTimeout, on at most
// MaxConns connections, with no goroutine left behind; the outage is
// reported once and recovers when the database answers again.
func TestSlowDatabaseBounded(t *testing.T) {
	c := pgtest.Start(t)
	rec := &recorder{ch: make(chan string, 8)}
	cfg := cfgFor(c)
	cfg.OpTimeout, cfg.MaxConns = 500*time.Millisecond, 4
	cfg.MaxReconnectTries, cfg.ReconnectWait = 100, 100*time.Millisecond
	s, err := Open(context.Background(), cfg, Options{Recovery: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	locker := open(t, c, Options{})
	ctx := context.Background()
	tx, err := locker.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE lease4 IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	const callers = 64
	var wg sync.WaitGroup
	var failed atomic.Int32
	var maxConns atomic.Int32
	start := time.Now()
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Add(sample(fmt.Sprintf("198.18.1.%d", i+1), byte(i))); err != nil {
				failed.Add(1)
			}
			if n := s.Pool().Stat().TotalConns(); n > maxConns.Load() {
				maxConns.Store(n)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if failed.Load() != callers {
		t.Fatalf("%d of %d calls failed against a locked table", failed.Load(), callers)
	}
	// Waiting is bounded by the deadline (plus scheduling on a busy box).
	if took > 5*time.Second {
		t.Fatalf("%d calls took %v with a %v deadline", callers, took, cfg.OpTimeout)
	}
	if n := maxConns.Load(); n > cfg.MaxConns {
		t.Fatalf("%d connections, bound %d", n, cfg.MaxConns)
	}
	rec.wait(t, "disable")
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "enable")
	// Nothing the calls started outlives them (the reconnect loop has
	// ended with the recovery).
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		t.Fatalf("%d goroutines after the calls returned, %d before", n, before)
	}
	t.Logf("%d calls against a locked table failed after %v; at most %d connections; one outage, recovered", callers, took.Round(time.Millisecond), maxConns.Load())
	if err := s.Add(sample("198.18.1.200", 1)); err != nil {
		t.Fatalf("Add after recovery: %v", err)
	}
}

// TestStatTriggerRace: Kea's lease4_stat trigger (UPDATE, else INSERT)
// raises a unique violation when two sessions add the first lease of a
// subnet at once; Add runs the rolled-back insert again instead of
// failing the client's commit.
func TestStatTriggerRace(t *testing.T) {
	c := pgtest.Start(t)
	s := open(t, c, Options{})
	other := open(t, c, Options{})
	ctx := context.Background()
	tx, err := other.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The other session's first lease of subnet 9, not yet committed: its
	// trigger inserted lease4_stat (9, 0) invisibly to everyone else.
	first := sample("192.0.2.90", 1)
	first.SubnetID = 9
	if _, err := tx.Exec(ctx, insertSQL, args(first)...); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		l := sample("192.0.2.91", 2)
		l.SubnetID = 9
		done <- s.Add(l) // its trigger's INSERT waits for tx, then collides
	}()
	time.Sleep(500 * time.Millisecond)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Add after a lease4_stat race: %v", err)
	}
	if got := c.Query(t, "SELECT leases FROM lease4_stat WHERE subnet_id = 9 AND state = 0"); got != "2" {
		t.Fatalf("lease4_stat for subnet 9 = %s, want 2", got)
	}
}
