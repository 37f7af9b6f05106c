// Package pgtest runs a throw-away PostgreSQL cluster for tests: initdb in
// t.TempDir(), a postmaster listening on a private unix socket directory (and,
// on request, on 127.0.0.1 at a free port), one database owned by an
// unprivileged role with a password, initialised with ISC Kea 2.2's schema
// exactly as an operator does it:
//
//	kea-admin db-init pgsql -u USER -p PASSWORD -n NAME -h HOST -P PORT
//
// The cluster is stopped and its files removed in t.Cleanup, also when the
// test fails or panics; the postmaster also gets SIGQUIT (PostgreSQL's
// immediate shutdown) if the test binary dies first (Pdeathsig).
//
// PostgreSQL refuses to run as root. When the tests run as root the cluster
// runs as the "postgres" system user (Debian's postgresql-common creates it),
// else as "nobody"; the data directory is chowned to that user. When the
// tests do not run as root the cluster runs as the current user.
//
// Binaries come from $XDHCP_PG_BINDIR, else /usr/lib/postgresql/15/bin
// (Debian's postgresql-15, installed by scripts/deps.sh). kea-admin and psql
// come from PATH. A missing binary skips the test (a failure under
// XDHCP_REQUIRE_ROOT_TESTS=1, see internal/testenv).
//
// The API is small on purpose: Start, StartWith, and on *Cluster the
// connection fields, DSN, KeaConfig, Exec, Query, CreateDatabase, Stop and
// Restart.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// DefaultBinDir is where Debian's postgresql-15 installs the server programs.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// SchemaVersion is the schema version Kea 2.2's dhcpdb_create.pgsql creates
// and Kea 2.2 requires (PG_SCHEMA_VERSION_MAJOR/MINOR in
// src/lib/pgsql/pgsql_connection.h of Kea-2.2.0).
const SchemaVersion = "13.0"

// Options changes what StartWith builds. The zero value is what Start uses.
type Options struct {
	// TCP makes the postmaster also listen on 127.0.0.1 at a free port;
	// Host is then "127.0.0.1". Without it there is no TCP listener at all
	// and Host is the socket directory (libpq and Kea take a host starting
	// with "/" as a unix socket directory).
	TCP bool
	// NoSchema leaves the database empty instead of running kea-admin
	// db-init (for tests of a missing or foreign schema).
	NoSchema bool
	// DBName, User, Password override "kea", "kea", and a random password.
	DBName, User, Password string
}

// Cluster is one running (or stopped) PostgreSQL cluster and the database
// the test uses. The fields are read-only for callers.
type Cluster struct {
	DataDir   string // PGDATA
	SocketDir string // unix socket directory (always present)
	Host      string // what clients pass as host: SocketDir, or 127.0.0.1 with Options.TCP
	Port      int    // the port (names the socket file .s.PGSQL.<Port> too)
	User      string // the role owning DBName; password authentication (scram-sha-256)
	Password  string
	DBName    string

	SuperUser     string // the cluster's superuser, also password-authenticated
	SuperPassword string

	binDir string
	osUser *user.User
	tcp    bool
	log    string // server log file

	parent *Cluster // set on the values CreateDatabase returns

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been waited for
}

// Start builds a cluster with Kea 2.2's schema in database "kea" owned by
// role "kea", or skips the test when PostgreSQL or kea-admin is missing.
func Start(t testing.TB) *Cluster { t.Helper(); return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Cluster {
	t.Helper()
	bin := os.Getenv("XDHCP_PG_BINDIR")
	if bin == "" {
		bin = DefaultBinDir
	}
	for _, p := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, p)); err != nil {
			skipf(t, "needs PostgreSQL's %s in %s (run scripts/deps.sh or set XDHCP_PG_BINDIR)", p, bin)
		}
	}
	testenv.RequireCommand(t, "psql")
	if !o.NoSchema {
		testenv.RequireCommand(t, "kea-admin")
	}

	c := &Cluster{
		binDir:        bin,
		tcp:           o.TCP,
		User:          def(o.User, "kea"),
		Password:      def(o.Password, "kea-"+randHex()),
		DBName:        def(o.DBName, "kea"),
		SuperUser:     "pgtest",
		SuperPassword: "super-" + randHex(),
	}
	u, err := runAs()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c.osUser = u

	// t.TempDir's parent is created 0700 by the testing package; the
	// cluster's user must be able to traverse it.
	base := t.TempDir()
	if err := os.Chmod(filepath.Dir(base), 0o711); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c.DataDir = filepath.Join(base, "data")
	// Unix socket paths are limited to 107 bytes; test names make
	// t.TempDir long, so the socket directory lives directly in /tmp.
	sock, err := os.MkdirTemp("", "pgt")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c.SocketDir = sock
	t.Cleanup(func() { _ = os.RemoveAll(sock) })
	c.log = filepath.Join(base, "postgres.log")
	for _, d := range []string{base, sock} {
		if err := c.chown(d); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}
	pwfile := filepath.Join(base, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.SuperPassword+"\n"), 0o600); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := c.chown(pwfile); err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	out, err := c.command(filepath.Join(bin, "initdb"),
		"-D", c.DataDir, "-U", c.SuperUser, "--pwfile", pwfile,
		"--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput()
	_ = os.Remove(pwfile)
	if err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}

	if o.TCP {
		c.Port, err = freePort()
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		c.Host = "127.0.0.1"
	} else {
		// No TCP listener: the port only names the socket file.
		c.Port = 5432
		c.Host = c.SocketDir
	}

	// Registered before the postmaster starts: whatever happens next, it
	// is stopped.
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("pgtest: stop: %v", err)
		}
	})
	if err := c.start(); err != nil {
		t.Fatalf("pgtest: %v\n%s", err, c.ServerLog())
	}

	c.superExec(t, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", ident(c.User), c.Password))
	c.superExec(t, "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", ident(c.DBName), ident(c.User)))
	if !o.NoSchema {
		c.keaAdminInit(t, c.DBName)
	}
	return c
}

// CreateDatabase creates another database on the same cluster, owned by
// c.User and initialised with kea-admin db-init, and returns a Cluster value
// that names it (same server: stopping either stops both).
func (c *Cluster) CreateDatabase(t testing.TB, name string) *Cluster {
	t.Helper()
	c.superExec(t, "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", ident(name), ident(c.User)))
	c.keaAdminInit(t, name)
	return &Cluster{
		DataDir: c.DataDir, SocketDir: c.SocketDir, Host: c.Host, Port: c.Port,
		User: c.User, Password: c.Password, DBName: name,
		SuperUser: c.SuperUser, SuperPassword: c.SuperPassword,
		binDir: c.binDir, osUser: c.osUser, tcp: c.tcp, log: c.log,
		parent: c,
	}
}

// DSN is a libpq keyword/value connection string for the test database,
// as pgx and psql accept it.
func (c *Cluster) DSN() string {
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable",
		c.Host, c.Port, c.User, c.Password, c.DBName)
}

// KeaConfig is the lease-database (or hosts-database) map for a Kea 2.2 or
// xdhcpd configuration pointing at the test database.
func (c *Cluster) KeaConfig() map[string]any {
	return map[string]any{
		"type":     "postgresql",
		"name":     c.DBName,
		"host":     c.Host,
		"port":     c.Port,
		"user":     c.User,
		"password": c.Password,
	}
}

// Exec runs SQL (one or more statements) in the test database as c.User
// with psql, failing the test on any error.
func (c *Cluster) Exec(t testing.TB, sql string) {
	t.Helper()
	if _, err := c.psql(c.User, c.Password, c.DBName, sql); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Query runs SQL as c.User and returns psql's unaligned, tuples-only output
// (rows on lines, columns separated by "|"), trimmed.
func (c *Cluster) Query(t testing.TB, sql string) string {
	t.Helper()
	out, err := c.psql(c.User, c.Password, c.DBName, sql)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return strings.TrimSpace(out)
}

// SuperExec runs SQL as the cluster's superuser in the test database (to
// terminate backends, change the schema version, and the like).
func (c *Cluster) SuperExec(t testing.TB, sql string) string {
	t.Helper()
	return c.superExec(t, c.DBName, sql)
}

// ServerLog returns the postmaster's log so far (for failure messages).
func (c *Cluster) ServerLog() string {
	b, _ := os.ReadFile(c.log)
	return string(b)
}

// Stop shuts the postmaster down (fast shutdown: clients are disconnected,
// nothing is lost) and waits for it; SIGKILL after 10s. Stopping a stopped
// cluster is a no-op. The data directory stays until the test ends, so
// Restart can bring the same database back.
func (c *Cluster) Stop() error {
	r := c.root()
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
		return errors.New("postmaster did not stop in 10s; killed")
	case <-time.After(5 * time.Second):
		return errors.New("postmaster did not die after SIGKILL")
	}
}

// Restart starts a stopped cluster again on the same data directory, socket
// and port (after Stop, to test reconnection).
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	if err := c.root().start(); err != nil {
		t.Fatalf("pgtest: restart: %v\n%s", err, c.ServerLog())
	}
}

func (c *Cluster) root() *Cluster {
	if c.parent != nil {
		return c.parent
	}
	return c
}

func (c *Cluster) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		return errors.New("already running")
	}
	listen := ""
	if c.tcp {
		listen = "127.0.0.1"
	}
	logf, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := c.command(filepath.Join(c.binDir, "postgres"),
		"-D", c.DataDir,
		"-k", c.SocketDir,
		"-p", strconv.Itoa(c.Port),
		"-c", "listen_addresses="+listen,
		"-c", "fsync=off", // throw-away cluster
		"-c", "max_connections=200",
		"-c", "log_min_messages=warning",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	c.cmd, c.done = cmd, done

	// Ready when a superuser query answers (bounded: 30s).
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.psql(c.SuperUser, c.SuperPassword, "postgres", "SELECT 1")
		if err == nil {
			return nil
		}
		select {
		case <-done:
			c.cmd = nil
			return fmt.Errorf("postgres exited during start-up: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after 30s: %v", err)
		}
	}
}

func (c *Cluster) keaAdminInit(t testing.TB, db string) {
	t.Helper()
	cmd := exec.Command("kea-admin", "db-init", "pgsql",
		"-u", c.User, "-p", c.Password, "-n", db, "-h", c.Host, "-P", strconv.Itoa(c.Port))
	cmd.Env = append(os.Environ(), "PGPASSWORD=") // kea-admin prefers an external PGPASSWORD
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pgtest: kea-admin db-init pgsql -n %s: %v\n%s", db, err, out)
	}
	v, err := c.psql(c.User, c.Password, db, "SELECT version || '.' || minor FROM schema_version")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if got := strings.TrimSpace(v); got != SchemaVersion {
		t.Fatalf("pgtest: kea-admin created schema %q, want %s", got, SchemaVersion)
	}
}

func (c *Cluster) superExec(t testing.TB, db, sql string) string {
	t.Helper()
	out, err := c.psql(c.SuperUser, c.SuperPassword, db, sql)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return strings.TrimSpace(out)
}

func (c *Cluster) psql(role, password, db, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "psql", "-X", "-q", "-A", "-t",
		"-v", "ON_ERROR_STOP=1",
		"-h", c.Host, "-p", strconv.Itoa(c.Port), "-U", role, "-d", db)
	cmd.Stdin = strings.NewReader(sql)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=5")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("psql -U %s -d %s: %v: %s\nSQL: %s", role, db, err, strings.TrimSpace(stderr.String()), sql)
	}
	return stdout.String(), nil
}

// command runs a PostgreSQL program as the cluster's OS user.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	cmd.Dir = "/"
	env := []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
	if os.Geteuid() == 0 {
		uid, _ := strconv.Atoi(c.osUser.Uid)
		gid, _ := strconv.Atoi(c.osUser.Gid)
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		env = append(env, "HOME="+c.DataDir, "USER="+c.osUser.Username)
	} else {
		env = append(env, "HOME="+os.Getenv("HOME"))
	}
	cmd.Env = env
	return cmd
}

func (c *Cluster) chown(path string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	uid, _ := strconv.Atoi(c.osUser.Uid)
	gid, _ := strconv.Atoi(c.osUser.Gid)
	return os.Chown(path, uid, gid)
}

// runAs picks the OS user the cluster runs as.
func runAs() (*user.User, error) {
	if os.Geteuid() != 0 {
		return user.Current()
	}
	for _, name := range []string{"postgres", "nobody"} {
		if u, err := user.Lookup(name); err == nil {
			return u, nil
		}
	}
	return nil, errors.New(`running as root and neither the "postgres" nor the "nobody" user exists to run PostgreSQL as`)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if testenv.Required() {
		t.Fatalf("XDHCP_REQUIRE_ROOT_TESTS=1 but this test cannot run: %s", msg)
	}
	t.Skip(msg)
}

func def(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func randHex() string { return testenv.Name("")[:8] }
