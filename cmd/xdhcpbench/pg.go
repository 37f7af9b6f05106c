package main

// The PostgreSQL phase (issue 12 item 7): kea-pg and xdhcpd-pg are single
// servers whose lease-database is a throw-away PostgreSQL 15 cluster,
// each on a fresh cluster built the same way with the same
// postgresql.conf (pgConf: fsync and synchronous_commit on, so every
// committed lease is on disk before the ACK). Kea's schema comes from
// kea-admin db-init pgsql, as an operator makes it. Each load run also
// measures PostgreSQL: its processes' CPU (the postmaster's own and its
// reaped children's, plus the live backends'), the write transactions
// (the next transaction id before and after: only writing transactions
// take one) and the WAL written (pg_current_wal_lsn), read over one
// superuser connection that is idle during the run.
//
// PG_STATEMENTS=1 also loads pg_stat_statements (for both servers alike)
// and writes each server's statements, by calls, to pg-statements.txt in
// its run directory after its ladder: what the server asks the database
// per lease.
//
// PG_ONLY=1 runs only this phase (SERVERS defaults to kea-pg,xdhcpd-pg and
// the other phases are off); PG=0 leaves the two rows out of a full run.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgConf is appended to initdb's postgresql.conf for both servers' clusters.
const pgConf = `
# xdhcpbench PostgreSQL phase: the same for Kea and xdhcpd
listen_addresses = ''
max_connections = 100
shared_buffers = 128MB
fsync = on
synchronous_commit = on
full_page_writes = on
wal_level = replica
max_wal_size = 1GB
checkpoint_timeout = 5min
autovacuum = on
log_min_messages = warning
`

const (
	pgUser = "kea"
	pgPass = "kea-bench"
	pgDB   = "kea"
	pgPort = 5432
)

// pgCluster is one running throw-away cluster.
type pgCluster struct {
	dir, data, sock string
	bin             string
	cmd             *exec.Cmd
	done            chan struct{}
	cred            *syscall.Credential
	conn            *pgx.Conn // superuser, for the counters
}

func pgBinDir() string {
	if d := os.Getenv("XDHCP_PG_BINDIR"); d != "" {
		return d
	}
	return "/usr/lib/postgresql/15/bin"
}

// pgPreflight says what the phase lacks, "" if nothing.
func pgPreflight() string {
	for _, p := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(pgBinDir(), p)); err != nil {
			return fmt.Sprintf("PostgreSQL's %s missing in %s (scripts/deps.sh, or XDHCP_PG_BINDIR)", p, pgBinDir())
		}
	}
	for _, c := range []string{"kea-admin", "psql"} {
		if _, err := exec.LookPath(c); err != nil {
			return c + " not found (scripts/deps.sh)"
		}
	}
	return ""
}

// startPG builds and starts a cluster in dir with Kea's schema.
func startPG(ctx context.Context, dir string, statements bool) (*pgCluster, error) {
	c := &pgCluster{dir: dir, data: filepath.Join(dir, "data"), bin: pgBinDir()}
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sock, err := os.MkdirTemp("", "xbpg")
	if err != nil {
		return nil, err
	}
	c.sock = sock
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: Debian's postgres user.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("postgres system user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		for _, d := range []string{dir, sock} {
			if err := os.Chown(d, uid, gid); err != nil {
				return nil, err
			}
		}
	}
	run := func(name string, args ...string) error {
		cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", name, err, tail2(string(out)))
		}
		return nil
	}
	if err := run("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		c.stop()
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(c.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		conf := pgConf + "unix_socket_directories = '" + sock + "'\n"
		if statements {
			conf += "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all\n"
		}
		_, err = f.WriteString(conf)
		f.Close()
	}
	if err != nil {
		c.stop()
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		c.stop()
		return nil, err
	}
	defer logf.Close()
	c.cmd = exec.Command(filepath.Join(c.bin, "postgres"), "-D", c.data, "-p", strconv.Itoa(pgPort))
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	if err := c.cmd.Start(); err != nil {
		c.stop()
		return nil, err
	}
	c.done = make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c.conn, err = pgx.Connect(cctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", sock, pgPort))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.stop()
			return nil, fmt.Errorf("postgres not ready: %w", err)
		}
		select {
		case <-c.done:
			c.stop()
			return nil, fmt.Errorf("postgres exited during start-up: %s", tail(filepath.Join(dir, "postgres.log")))
		case <-time.After(200 * time.Millisecond):
		}
	}
	for _, q := range []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", pgUser, pgPass),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", pgDB, pgUser),
	} {
		if _, err := c.conn.Exec(ctx, q); err != nil {
			c.stop()
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	ka := exec.CommandContext(ctx, "kea-admin", "db-init", "pgsql", "-u", pgUser, "-p", pgPass, "-n", pgDB,
		"-h", sock, "-P", strconv.Itoa(pgPort))
	ka.Env = append(os.Environ(), "PGPASSWORD=")
	if out, err := ka.CombinedOutput(); err != nil {
		c.stop()
		return nil, fmt.Errorf("kea-admin db-init pgsql: %w\n%s", err, tail2(string(out)))
	}
	// After db-init, which wants an empty database.
	if statements {
		if err := c.exec(ctx, pgDB, "CREATE EXTENSION pg_stat_statements"); err != nil {
			c.stop()
			return nil, err
		}
	}
	return c, nil
}

// exec runs one statement as the superuser in database db.
func (c *pgCluster) exec(ctx context.Context, db, q string) error {
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", c.sock, pgPort, db))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, q)
	return err
}

// statements is pg_stat_statements of the lease database by calls, with
// the total calls.
func (c *pgCluster) statements(ctx context.Context) (string, int64, error) {
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", c.sock, pgPort, pgDB))
	if err != nil {
		return "", 0, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT calls, round(total_exec_time::numeric, 1)::text, regexp_replace(query, '\s+', ' ', 'g')
		FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = $1 ORDER BY calls DESC`, pgUser)
	if err != nil {
		return "", 0, err
	}
	defer rows.Close()
	var sb strings.Builder
	var total int64
	for rows.Next() {
		var calls int64
		var ms, q string
		if err := rows.Scan(&calls, &ms, &q); err != nil {
			return "", 0, err
		}
		total += calls
		if len(q) > 160 {
			q = q[:160] + "..."
		}
		fmt.Fprintf(&sb, "%10d calls %10s ms  %s\n", calls, ms, q)
	}
	return sb.String(), total, rows.Err()
}

// leaseDB is the lease-database map both servers get.
func (c *pgCluster) leaseDB() string {
	return fmt.Sprintf(`{ "type": "postgresql", "name": %q, "host": %q, "port": %d, "user": %q, "password": %q }`,
		pgDB, c.sock, pgPort, pgUser, pgPass)
}

// pgCounters are the cluster-wide counters read around a run.
type pgCounters struct {
	cpu     float64 // seconds
	nextXID uint64  // next transaction id to be assigned
	wal     uint64  // bytes of WAL written since the cluster began
}

func (c *pgCluster) counters(ctx context.Context) (pgCounters, error) {
	var k pgCounters
	k.cpu = c.cpu()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var xid, wal string
	err := c.conn.QueryRow(cctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text,
		pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint::text`).Scan(&xid, &wal)
	if err != nil {
		return k, err
	}
	k.nextXID, _ = strconv.ParseUint(xid, 10, 64)
	k.wal, _ = strconv.ParseUint(wal, 10, 64)
	return k, nil
}

// cpu is the cluster's CPU seconds so far: the postmaster's utime+stime
// and cutime+cstime (its reaped backends and auxiliary processes) plus
// the live children's utime+stime. A backend that exits between two
// readings moves from the second sum to the first, so a difference
// counts it exactly once.
func (c *pgCluster) cpu() float64 {
	pid := c.cmd.Process.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	t := statTimes(string(b), true)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil || n == pid {
			continue
		}
		s, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if ppidOf(string(s)) == pid {
			t += statTimes(string(s), false)
		}
	}
	return t
}

// statTimes is utime+stime (and, with children, cutime+cstime) in seconds.
func statTimes(stat string, children bool) float64 {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 15 {
		return 0
	}
	idx := []int{11, 12}
	if children {
		idx = append(idx, 13, 14)
	}
	t := 0.0
	for _, j := range idx {
		v, _ := strconv.ParseFloat(f[j], 64)
		t += v
	}
	return t / 100
}

func ppidOf(stat string) int {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// stop shuts the cluster down (fast shutdown), SIGKILL after 20 s, and
// removes its files.
func (c *pgCluster) stop() {
	if c.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = c.conn.Close(ctx)
		cancel()
	}
	if c.cmd != nil && c.cmd.Process != nil && c.done != nil {
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
	}
	if c.sock != "" {
		_ = os.RemoveAll(c.sock)
	}
	_ = os.RemoveAll(c.data)
}

func tail2(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}
