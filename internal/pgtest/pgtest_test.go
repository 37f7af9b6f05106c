package pgtest

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestStartKeaSchema: the cluster holds Kea 2.2's schema as kea-admin
// db-init creates it (schema_version 13.0, lease4 and the lease4_stat
// table its triggers maintain: src/share/database/scripts/pgsql/
// dhcpdb_create.pgsql in Kea-2.2.0), and Exec/Query work as the owner.
func TestStartKeaSchema(t *testing.T) {
	c := Start(t)
	if got := c.Query(t, "SELECT version || '.' || minor FROM schema_version"); got != SchemaVersion {
		t.Fatalf("schema version %q, want %s", got, SchemaVersion)
	}
	c.Exec(t, `INSERT INTO lease4 (address, hwaddr, client_id, valid_lifetime, expire, subnet_id, fqdn_fwd, fqdn_rev, hostname, state)
		VALUES (3323068417, '\x0a0b0c0d0e0f', NULL, 3600, now() + interval '1 hour', 7, false, false, '', 0)`)
	if got := c.Query(t, "SELECT subnet_id, state, leases FROM lease4_stat"); got != "7|0|1" {
		t.Fatalf("lease4_stat after one insert = %q, want 7|0|1 (schema triggers)", got)
	}
	if got := c.Query(t, "SELECT current_user"); got != c.User {
		t.Fatalf("Query runs as %q, want %q", got, c.User)
	}
	if !strings.Contains(c.DSN(), "dbname="+c.DBName) || c.KeaConfig()["type"] != "postgresql" {
		t.Fatalf("DSN %q / KeaConfig %v", c.DSN(), c.KeaConfig())
	}
}

// TestPasswordRequired: the role authenticates with its password
// (scram-sha-256), so wrong-password paths can be tested.
func TestPasswordRequired(t *testing.T) {
	c := StartWith(t, Options{NoSchema: true})
	if _, err := c.psql(c.User, "wrong", c.DBName, "SELECT 1"); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("wrong password: err = %v, want password authentication failed", err)
	}
	if got := c.Query(t, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); got != "0" {
		t.Fatalf("NoSchema database has %s tables", got)
	}
}

// TestTCPStopRestartCreateDatabase: a TCP cluster on 127.0.0.1, a second
// Kea database on the same server, and Stop/Restart keeping the data.
func TestTCPStopRestartCreateDatabase(t *testing.T) {
	c := StartWith(t, Options{TCP: true})
	if c.Host != "127.0.0.1" || c.Port == 5432 || c.Port == 0 {
		t.Fatalf("TCP cluster at %s:%d", c.Host, c.Port)
	}
	d := c.CreateDatabase(t, "kea_b")
	d.Exec(t, "INSERT INTO lease4 (address, valid_lifetime, expire, subnet_id, state) VALUES (3323068418, 60, now(), 1, 0)")
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.psql(d.User, d.Password, d.DBName, "SELECT 1"); err == nil {
		t.Fatal("query succeeded on a stopped cluster")
	}
	d.Restart(t)
	if got := d.Query(t, "SELECT address FROM lease4"); got != "3323068418" {
		t.Fatalf("after restart lease4 = %q", got)
	}
	if got := c.Query(t, "SELECT count(*) FROM lease4"); got != "0" {
		t.Fatalf("the first database sees %s leases of the second", got)
	}
}

// TestCleanup: after the test that started it ends, the postmaster is gone
// and its directories are removed.
func TestCleanup(t *testing.T) {
	var pid int
	var dataDir, sockDir string
	t.Run("inner", func(t *testing.T) {
		c := Start(t)
		pid, dataDir, sockDir = c.cmd.Process.Pid, c.DataDir, c.SocketDir
	})
	if pid == 0 {
		t.Skip("inner test skipped")
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("postmaster %d still alive after cleanup", pid)
	}
	for _, d := range []string{dataDir, sockDir} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Fatalf("%s still exists after cleanup (err %v)", d, err)
		}
	}
}
