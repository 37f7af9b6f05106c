package dbreconnect

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rs/zerolog"
)

// events records the Recovery calls.
type events struct {
	mu  sync.Mutex
	log []string
	end chan struct{} // closed at the first Shutdown or EnableService
}

func newEvents() *events { return &events{end: make(chan struct{})} }

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, s)
	if s != "disable" && len(e.log) > 0 {
		select {
		case <-e.end:
		default:
			close(e.end)
		}
	}
}
func (e *events) DisableService()  { e.add("disable") }
func (e *events) EnableService()   { e.add("enable") }
func (e *events) Shutdown(_ error) { e.add("shutdown") }
func (e *events) got() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.log...)
}

func TestPolicies(t *testing.T) {
	down := errors.New("connection refused")
	for _, tc := range []struct {
		name     string
		onFail   string
		tries    int
		pingOKAt int // attempt that succeeds (0: none)
		want     []string
		pings    int32
	}{
		{"default, reconnect disabled", "", 0, 0, []string{"disable", "shutdown"}, 0},
		{"stop-retry-exit recovers", StopRetryExit, 3, 2, []string{"disable", "enable"}, 2},
		{"stop-retry-exit exhausted", StopRetryExit, 3, 0, []string{"disable", "shutdown"}, 3},
		{"serve-retry-exit exhausted", ServeRetryExit, 2, 0, []string{"shutdown"}, 2},
		{"serve-retry-continue exhausted", ServeRetryContinue, 2, 0, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := newEvents()
			var pings atomic.Int32
			c := New(Config{What: "test database", OnFail: tc.onFail, MaxReconnectTries: tc.tries,
				ReconnectWait: 5 * time.Millisecond, Recovery: ev, Logger: zerolog.Nop(),
				Ping: func(context.Context) error {
					if n := pings.Add(1); tc.pingOKAt != 0 && int(n) == tc.pingOKAt {
						return nil
					}
					return down
				}})
			defer c.Stop()
			for range 10 { // a burst of failures: one outage
				c.Lost(down)
			}
			if tc.want != nil {
				select {
				case <-ev.end:
				case <-time.After(5 * time.Second):
					t.Fatalf("no decision: %v", ev.got())
				}
			} else {
				deadline := time.Now().Add(5 * time.Second)
				for pings.Load() < tc.pings && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				time.Sleep(20 * time.Millisecond)
			}
			got := ev.got()
			if len(got) != len(tc.want) {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("events %v, want %v", got, tc.want)
				}
			}
			if n := pings.Load(); n != tc.pings {
				t.Errorf("%d pings, want %d (one retry loop for the burst)", n, tc.pings)
			}
		})
	}
}

func TestConnectionLost(t *testing.T) {
	for _, tc := range []struct {
		err  error
		lost bool
	}{
		{nil, false},
		{pgx.ErrNoRows, false},
		{context.Canceled, false},
		{&pgconn.PgError{Code: "23505"}, false}, // unique violation: an answer
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "57P01"}, true},
		{&pgconn.PgError{Code: "28P01"}, true},
		{errors.New("read: connection reset by peer"), true},
	} {
		if got := ConnectionLost(tc.err); got != tc.lost {
			t.Errorf("ConnectionLost(%v) = %v, want %v", tc.err, got, tc.lost)
		}
	}
}
