package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// TestStatTimes reads utime/stime (and cutime/cstime) from a stat line
// whose command name holds spaces and parentheses.
func TestStatTimes(t *testing.T) {
	line := "4242 (postgres: kea (x) idle) S 4000 4242 4242 0 -1 4194560 900 0 0 0 150 50 30 20 20 0 1 0 100 1000 200"
	if got := statTimes(line, false); math.Abs(got-2.0) > 1e-9 {
		t.Errorf("utime+stime = %v, want 2.0", got)
	}
	if got := statTimes(line, true); math.Abs(got-2.5) > 1e-9 {
		t.Errorf("with children = %v, want 2.5", got)
	}
	if got := ppidOf(line); got != 4000 {
		t.Errorf("ppid = %d", got)
	}
}

// TestPGCluster builds the phase's cluster and checks what the bench
// relies on: the settings of pgConf are in force, Kea's schema is there,
// one committed lease write is one transaction id and some WAL, the
// cluster's CPU is counted, and stop removes it.
func TestPGCluster(t *testing.T) {
	testenv.RequireRoot(t)
	if why := pgPreflight(); why != "" {
		if testenv.Required() {
			t.Fatalf("XDHCP_REQUIRE_ROOT_TESTS=1 but %s", why)
		}
		t.Skip(why)
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "pg")
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(filepath.Dir(dir)), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := startPG(ctx, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	for setting, want := range map[string]string{"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"} {
		var got string
		if err := c.conn.QueryRow(ctx, "SHOW "+setting).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", setting, got, err, want)
		}
	}
	var ld map[string]any
	if err := json.Unmarshal([]byte(c.leaseDB()), &ld); err != nil || ld["type"] != "postgresql" {
		t.Fatalf("leaseDB %s: %v", c.leaseDB(), err)
	}
	kea, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable", c.sock, pgPort, pgUser, pgPass, pgDB))
	if err != nil {
		t.Fatal(err)
	}
	defer kea.Close(ctx)
	var ver string
	if err := kea.QueryRow(ctx, "SELECT version || '.' || minor FROM schema_version").Scan(&ver); err != nil || ver != "13.0" {
		t.Fatalf("schema %q %v", ver, err)
	}
	k0, err := c.counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if _, err := kea.Exec(ctx, `INSERT INTO lease4 (address, hwaddr, client_id, valid_lifetime, expire, subnet_id, fqdn_fwd, fqdn_rev, hostname, state, user_context)
			VALUES ($1, '\x020000000001'::bytea, ''::bytea, 3600, now() + interval '1 hour', 1, false, false, '', 0, '')`, 3323068426+i); err != nil {
			t.Fatal(err)
		}
	}
	k1, err := c.counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := k1.nextXID - k0.nextXID; d != 200 {
		t.Errorf("200 autocommitted inserts took %d transaction ids, want 200", d)
	}
	if k1.wal <= k0.wal {
		t.Errorf("WAL did not grow: %d -> %d", k0.wal, k1.wal)
	}
	if k1.cpu <= k0.cpu {
		t.Errorf("PostgreSQL CPU did not grow over 200 synchronous commits: %v -> %v", k0.cpu, k1.cpu)
	}
	text, calls, err := c.statements(ctx)
	if err != nil || calls < 200 || !strings.Contains(text, "INSERT INTO lease4") {
		t.Errorf("pg_stat_statements: %d calls, %v\n%s", calls, err, text)
	}
	c.stop()
	if _, err := os.Stat(c.data); !os.IsNotExist(err) {
		t.Errorf("data directory left behind: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "postgres.log")); strings.Contains(string(b), "PANIC") {
		t.Errorf("postgres log:\n%s", b)
	}
}

// TestTargetPG: target 7 takes xdhcpd's better PostgreSQL row and says
// why it is n/a when neither has a point at <= 1 % loss.
func TestTargetPG(t *testing.T) {
	row := func(name string, rate int, lps float64) *Server {
		s := &Server{Name: name, PG: true, Stop: "loss 50.0% > 5% at 99k"}
		s.Points = []Point{{Offered: rate, Median: Run{Offered: rate, DiscSent: uint64(lps * 5), AcksRecv: uint64(lps * 5), Seconds: 5, LeasesPerSec: lps, HostBusy: 0.5}},
			{Offered: 99000, Median: Run{Offered: 99000, DiscSent: 495000, AcksRecv: 247500, Loss: 0.5, Seconds: 5, HostBusy: 0.5}}}
		s.settle()
		return s
	}
	by := map[string]*Server{"kea-pg": row("kea-pg", 1000, 1000), "xdhcpd-pg": row("xdhcpd-pg", 2000, 2000), "xdhcpd-pg-udp": row("xdhcpd-pg-udp", 6000, 6000)}
	tg := targetPG(by)
	if tg.Value == nil || *tg.Value != 6 || !strings.HasPrefix(tg.Detail, "xdhcpd-pg-udp ") || tg.Status != "MET" {
		t.Errorf("target = %+v", tg)
	}
	by["xdhcpd-pg-udp"] = &Server{Name: "xdhcpd-pg-udp", Best: -1, Error: "PostgreSQL: initdb failed"}
	if tg := targetPG(by); tg.Value == nil || *tg.Value != 2 || tg.Status != "MISSED" {
		t.Errorf("one row failed: %+v", tg)
	}
	delete(by, "xdhcpd-pg")
	if tg := targetPG(by); tg.Value != nil || !strings.Contains(tg.Detail, "initdb failed") {
		t.Errorf("no xdhcpd row: %+v", tg)
	}
}

// TestTargetPGSaturated: on a saturated lab the rate rule says n/a, but
// not when xdhcpd and its database spend more CPU per lease than Kea and
// its database.
func TestTargetPGSaturated(t *testing.T) {
	row := func(name string, rate int, cpu, pgcpu float64) *Server {
		s := &Server{Name: name, PG: true, Stop: "loss 50.0% > 5%"}
		ok := Run{Offered: rate, DiscSent: uint64(rate * 5), AcksRecv: uint64(rate * 5), Seconds: 5, LeasesPerSec: float64(rate),
			HostBusy: 0.97, CPUPer1k: cpu, PGCPUPer1k: pgcpu}
		bad := Run{Offered: 2 * rate, DiscSent: uint64(10 * rate), AcksRecv: uint64(5 * rate), Loss: 0.5, Seconds: 5, HostBusy: 0.97}
		s.Points = []Point{{Offered: rate, Median: ok}, {Offered: 2 * rate, Median: bad}}
		s.settle()
		return s
	}
	by := map[string]*Server{"kea-pg": row("kea-pg", 750, 0.42, 0.60), "xdhcpd-pg": row("xdhcpd-pg", 250, 1.0, 1.2)}
	if tg := targetPG(by); tg.Status != "MISSED" || !strings.Contains(tg.Detail, "not what holds it back") {
		t.Errorf("more CPU per lease on a saturated lab: %+v", tg)
	}
	by["xdhcpd-pg"] = row("xdhcpd-pg", 250, 0.1, 0.2)
	if tg := targetPG(by); tg.Status != "n/a" {
		t.Errorf("less CPU per lease on a saturated lab: %+v", tg)
	}
}
