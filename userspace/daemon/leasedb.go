package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/lease/pgsql"
	"github.com/xdhcp/xdhcp/userspace/leasecmds"
	"github.com/xdhcp/xdhcp/userspace/logging"
	"github.com/xdhcp/xdhcp/userspace/netstate"
)

// leaseBackend is what the daemon needs of a lease store: the engine's,
// the lease commands' and HA's views, and Close. *lease.Store (memfile)
// and *pgsql.Store (PostgreSQL, Kea 2.2's schema) implement it.
type leaseBackend interface {
	leasecmds.Store
	dhcp.LeaseStore
	Close() error
}

var (
	_ leaseBackend = (*lease.Store)(nil)
	_ leaseBackend = (*pgsql.Store)(nil)
	// The PostgreSQL store's writes after a read are conditional.
	_ dhcp.ConditionalStore = (*pgsql.Store)(nil)
)

// openPgSQL opens a PostgreSQL lease database. As Kea 2.2, an unreachable
// server, a rejected password or a schema other than 13.0 fails start-up
// at once (docs/kea/lease-database.md §2); a connection lost later follows
// on-fail (docs/kea/lease-database.md §5) through dbRecovery.
func (d *Daemon) openPgSQL(db config.LeaseDatabase) error {
	if db.ConnectTimeout == 0 {
		// Kea 2.2 refuses it when opening the database, not in -t
		// (PgSqlConnection::openDatabase, DbInvalidTimeout).
		return fmt.Errorf("open lease database (postgresql %q on %s): database connection timeout (0) must be an integer greater than 0", db.Name, db.Host)
	}
	cfg := pgsql.Config{
		Name: db.Name, Host: db.Host, Port: db.Port, User: db.User, Password: db.Password,
		ConnectTimeout:    time.Duration(db.ConnectTimeout) * time.Second,
		MaxReconnectTries: int(db.MaxReconnectTries),
		ReconnectWait:     time.Duration(db.ReconnectWaitTime) * time.Millisecond,
		OnFail:            db.OnFail,
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ConnectTimeoutOrDefault()+10*time.Second)
	defer cancel()
	s, err := pgsql.Open(ctx, cfg, pgsql.Options{
		OnChange: d.leaseChanged,
		Recovery: dbRecovery{d},
		Logger:   d.logs.Get(logging.Dhcpsrv),
	})
	if err != nil {
		return fmt.Errorf("open lease database (postgresql %q on %s): %w", db.Name, db.Host, err)
	}
	d.store = s
	d.log.Info().Str("name", db.Name).Str("host", db.Host).Msg("PostgreSQL lease database opened")
	return nil
}

// dbRecovery applies Kea 2.2's reaction to a lost lease database connection
// (ctrl_dhcp4_srv.cc dbLostCallback and friends): the service is disabled
// with the database-connection origin of the network state, so the
// pipeline's gate drops queries and no reply promises a lease that could
// not be committed; it is enabled when the connection is back; the server
// exits with status 1 when on-fail says so.
type dbRecovery struct{ d *Daemon }

func (r dbRecovery) DisableService() { r.d.ns.Disable(netstate.DBConnection) }
func (r dbRecovery) EnableService()  { r.d.ns.Enable(netstate.DBConnection) }
func (r dbRecovery) Shutdown(reason error) {
	r.d.log.Error().Err(reason).Msg("shutting down: the lease database connection could not be recovered")
	r.d.Shutdown(1)
}

// pgLanes is the number of engine lanes with a PostgreSQL lease database
// (pipeline.Config.Lanes). A lane holds no connection of its own: its
// reads go through the store's reader and its writes through the group
// committer (one connection each), so the lanes only bound how many
// queries wait on the database at once, and so how many reads and writes
// one round trip and one commit can carry. With 12 the bench's xdhcpd-pg
// lost 20% at 3k DORA/s with the CPUs 74% busy (12 lanes, each waiting
// about two commits per REQUEST, were the limit); an engine DORA over
// pgtest: 12 lanes ~2950 DORA/s, 4 writes per commit, ~490 us CPU per
// DORA; 48 lanes ~3900 DORA/s, 16 per commit, ~350 us. In the bench's
// lab (PG_ONLY, fresh database, 2 runs of 5 s per rate) 48 lanes still
// bounded the rate: 4000 DORA/s with REQUEST-ACK averaging 25-37 ms and
// 9-10% lost at 4500; 96 lanes held 4000 at 9-11 ms and 4500 at 0% in
// one run of two, and lose at 5000 where 192 lose as well (the CPUs,
// shared by PostgreSQL and the load tool, are then the limit).
const pgLanes = 96
