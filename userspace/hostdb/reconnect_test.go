package hostdb

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/internal/pgtest"
)

// recorder is a Recovery that records what the controller asked for.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string)    { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }
func (r *recorder) DisableService() { r.add("disable") }
func (r *recorder) EnableService()  { r.add("enable") }
func (r *recorder) Shutdown(error)  { r.add("shutdown") }
func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// waitFor polls until r has recorded want (at most 15 s).
func (r *recorder) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		g := r.got()
		if len(g) == len(want) {
			ok := true
			for i := range g {
				ok = ok && g[i] == want[i]
			}
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("recovery events %v, want %v", g, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReconnect: a lost hosts-database connection follows Kea 2.2's
// max-reconnect-tries / reconnect-wait-time / on-fail
// (ctrl_dhcp4_srv.cc dbLostCallback, dbRecoveredCallback,
// dbFailedCallback; docs/kea/hosts-db.md §7).
func TestReconnect(t *testing.T) {
	ctx := context.Background()
	hw := map[string][]byte{config.IDHWAddress: {1, 2, 3, 4, 5, 6}}
	for _, tc := range []struct {
		name    string
		tries   uint32
		wait    uint32
		onFail  string
		restart bool
		want    []string
	}{
		{"no retries, stop-retry-exit", 0, 0, "stop-retry-exit", false, []string{"disable", "shutdown"}},
		{"no retries, serve-retry-continue", 0, 0, "serve-retry-continue", false, nil},
		{"retries, recovered", 40, 250, "stop-retry-exit", true, []string{"disable", "enable"}},
		{"retries exhausted, serve-retry-exit", 2, 100, "serve-retry-exit", false, []string{"shutdown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := pgtest.Start(t)
			db := dbConfig(c)
			db.MaxReconnectTries, db.ReconnectWaitTime, db.OnFail = tc.tries, tc.wait, tc.onFail
			rec := &recorder{}
			p, err := Open(ctx, db, nil, 1, Options{Recovery: rec})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if _, err := p.Get4(ctx, []uint32{1}, hw); err != nil {
				t.Fatal(err)
			}
			if err := c.Stop(); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Get4(ctx, []uint32{1}, hw); err == nil {
				t.Fatal("lookup succeeded with the server stopped")
			}
			if tc.restart {
				rec.waitFor(t, "disable")
				c.Restart(t)
			}
			if tc.want == nil {
				time.Sleep(500 * time.Millisecond)
				if g := rec.got(); len(g) != 0 {
					t.Fatalf("events %v, want none", g)
				}
				return
			}
			rec.waitFor(t, tc.want...)
			if tc.restart {
				if _, err := p.Get4(ctx, []uint32{1}, hw); err != nil {
					t.Errorf("lookup after recovery: %v", err)
				}
			}
		})
	}
}
