// Package pgsql keeps DHCPv4 leases in PostgreSQL on ISC Kea 2.2's own
// schema (src/share/database/scripts/pgsql/dhcpdb_create.pgsql, schema
// version 13.0), so xdhcpd and kea-dhcp4 can share one lease database.
//
// The database is the truth: every read is a query, every write a single
// statement whose outcome decides (no read-modify-write across round
// trips). The statements are those of Kea-2.2.0
// src/lib/dhcpsrv/pgsql_lease_mgr.cc (tagged_statements: GET_LEASE4_ADDR,
// INSERT_LEASE4, UPDATE_LEASE4, DELETE_LEASE4, GET_LEASE4_EXPIRE, ...) with
// two deliberate differences:
//   - Add is INSERT ... ON CONFLICT (address) DO NOTHING RETURNING: a lost
//     race is an answer (lease.ErrExists), not an error, and aborts nothing
//     else (Kea's addLeaseCommon turns the duplicate-key error into false).
//   - UpdateFrom/DeleteFrom are Kea's conditional UPDATE_LEASE4 and
//     DELETE_LEASE4 ("WHERE address = $n AND expire = $m", the expire the
//     caller read, compared in whole seconds as it is read): a lease
//     another server changed in between is not
//     overwritten (ErrConflict), as PgSqlLeaseMgr::updateLeaseCommon throws
//     NoSuchLease when no row matched.
//
// Columns are written as Kea writes them (PgSqlLease4Exchange::
// createBindForSend): an absent hardware address or client id is an empty
// bytea, an absent user context the empty string, expire = cltt + valid
// (cltt for an infinite lifetime); read as Kea reads them
// (convertFromDatabase: cltt = expire - valid, extract(epoch from expire)).
//
// Every call runs under a deadline (Config.OpTimeout) on a bounded pool
// (Config.MaxConns): a slow database makes callers wait at most that long;
// it never starts goroutines per call. A connection failure starts the
// reconnect controller (reconnect.go).
package pgsql

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/userspace/dbreconnect"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// SchemaMajor and SchemaMinor are the schema version Kea 2.2 requires
// (PG_SCHEMA_VERSION_MAJOR/MINOR, Kea-2.2.0 src/lib/pgsql/pgsql_connection.h).
const (
	SchemaMajor = 13
	SchemaMinor = 0
)

// ErrConflict: a conditional write found the lease changed (or gone) since
// the caller read it; another server got there first.
var ErrConflict = lease.ErrConflict

// ErrSchema: the database holds a schema version Kea 2.2 does not use.
var ErrSchema = errors.New("PostgreSQL schema version mismatch")

// Config is lease-database with "type": "postgresql" (Kea 2.2's parameters,
// see config.LeaseDatabase).
type Config struct {
	Name, Host     string
	Port           uint16 // 0 = libpq's default
	User, Password string
	ConnectTimeout time.Duration // Kea's connect-timeout; 0 = 5s (PGSQL_DEFAULT_CONNECTION_TIMEOUT)

	MaxReconnectTries int           // Kea's max-reconnect-tries (default 0: no reconnection)
	ReconnectWait     time.Duration // Kea's reconnect-wait-time (ms in the config; default 0)
	OnFail            string        // stop-retry-exit (default), serve-retry-exit, serve-retry-continue

	MaxConns  int32         // pool bound; 0 = 16
	OpTimeout time.Duration // per-call deadline; 0 = 5s
}

// Options are the Store's hooks.
type Options struct {
	// OnChange is called after each change this Store committed, in the
	// order the calls returned, with the rows before and after (as
	// lease.Options.OnChange). Changes other servers make are not seen
	// here; they are seen by the queries.
	OnChange func(lease.Change)
	// Recovery receives connection-loss events (see reconnect.go); nil:
	// failures are only returned and logged.
	Recovery Recovery
	Logger   zerolog.Logger
}

// Store is a lease store on Kea 2.2's PostgreSQL schema. Safe for
// concurrent use.
type Store struct {
	cfg  Config
	opts Options
	log  zerolog.Logger
	pool *pgxpool.Pool
	rc   *dbreconnect.Controller

	closed atomic.Bool

	// group commit (group.go)
	wq                             chan *writeReq
	quit, groupDone                chan struct{}
	groups, txWrites, batchRetries atomic.Int64

	// grouped point reads (reads.go)
	rq                 chan *readReq
	readersDone        sync.WaitGroup
	readBatches, reads atomic.Int64
}

// DSN is the libpq keyword/value connection string for cfg (Kea's
// PgSqlConnection::openDatabase builds the same keywords).
func (c Config) DSN() string {
	var b strings.Builder
	kv := func(k, v string) {
		if v == "" {
			return
		}
		fmt.Fprintf(&b, "%s='%s' ", k, strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v))
	}
	kv("host", c.Host)
	if c.Port != 0 {
		kv("port", fmt.Sprint(c.Port))
	}
	kv("dbname", c.Name)
	kv("user", c.User)
	kv("password", c.Password)
	ct := c.ConnectTimeout
	if ct <= 0 {
		ct = 5 * time.Second
	}
	kv("connect_timeout", fmt.Sprint(int((ct+time.Second-1)/time.Second)))
	kv("sslmode", "disable")
	return strings.TrimSpace(b.String())
}

// Open connects, checks the schema version and returns the Store. As Kea
// 2.2 at start-up, an unreachable database or a wrong schema is an error
// at once, with no retry (PgSqlLeaseMgr's constructor: DbOpenError and
// "PostgreSQL schema version mismatch").
func Open(ctx context.Context, cfg Config, opts Options) (*Store, error) {
	if cfg.Name == "" {
		return nil, errors.New("lease-database: must specify a name for the database")
	}
	if cfg.ConnectTimeout < 0 || cfg.ConnectTimeout > 0 && cfg.ConnectTimeout < time.Second {
		// PgSqlConnection::openDatabase (DbInvalidTimeout).
		return nil, fmt.Errorf("lease-database: database connection timeout (%d) must be an integer greater than 0", int64(cfg.ConnectTimeout/time.Second))
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 5 * time.Second
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN())
	if err != nil {
		return nil, fmt.Errorf("lease-database: %w", err)
	}
	pc.MaxConns = cfg.MaxConns
	pc.MinConns = 0
	pc.HealthCheckPeriod = 5 * time.Second
	// Statements are prepared per connection and cached (pgx's default
	// QueryExecModeCacheStatement), like Kea's prepared tagged statements.
	s := &Store{cfg: cfg, opts: opts, log: opts.Logger.With().Str("component", "lease-pgsql").Logger()}
	s.pool, err = pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("lease-database: %w", err)
	}
	if err := s.checkSchema(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	s.rc = dbreconnect.New(dbreconnect.Config{
		What: "lease database", OnFail: cfg.OnFail,
		MaxReconnectTries: cfg.MaxReconnectTries, ReconnectWait: cfg.ReconnectWait,
		Ping: s.pool.Ping, PingTimeout: s.connectTimeout(),
		Recovery: opts.Recovery, Logger: s.log,
	})
	s.startGroup()
	s.startReaders()
	s.log.Info().Str("name", cfg.Name).Str("host", cfg.Host).Msg("PostgreSQL lease database opened (schema 13.0)")
	return s, nil
}

func (s *Store) checkSchema(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.connectTimeout()+s.cfg.OpTimeout)
	defer cancel()
	var major, minor int
	err := s.pool.QueryRow(ctx, "SELECT version, minor FROM schema_version").Scan(&major, &minor)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P01" {
			return fmt.Errorf("%w: need version: %d.%d found no schema_version table in database %q (run kea-admin db-init pgsql)",
				ErrSchema, SchemaMajor, SchemaMinor, s.cfg.Name)
		}
		return fmt.Errorf("lease-database: cannot open PostgreSQL database %q on %s: %w", s.cfg.Name, s.cfg.Host, err)
	}
	if major != SchemaMajor || minor != SchemaMinor {
		return fmt.Errorf("%w: need version: %d.%d found version: %d.%d", ErrSchema, SchemaMajor, SchemaMinor, major, minor)
	}
	return nil
}

func (s *Store) connectTimeout() time.Duration {
	if s.cfg.ConnectTimeout > 0 {
		return s.cfg.ConnectTimeout
	}
	return 5 * time.Second
}

// Close stops the reconnect controller and closes the pool.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.rc.Stop()
	s.stopGroup() // also stops the readers (quit)
	s.readersDone.Wait()
	s.pool.Close()
	return nil
}

// Pool is the connection pool (for tests and tools sharing the database).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.OpTimeout)
}

// cols is Kea's column list of every GET_LEASE4_* statement.
const cols = `address, hwaddr, client_id, valid_lifetime, extract(epoch from expire)::bigint, subnet_id,
	fqdn_fwd, fqdn_rev, hostname, state, user_context`

const oldCols = `o.address, o.hwaddr, o.client_id, o.valid_lifetime, extract(epoch from o.expire)::bigint, o.subnet_id,
	o.fqdn_fwd, o.fqdn_rev, o.hostname, o.state, o.user_context`

const infinite = 0xFFFFFFFF

func scanLease(row pgx.Row) (*lease.Lease, error) {
	l, err := scanOptLease(row)
	if err == nil && l == nil {
		return nil, pgx.ErrNoRows
	}
	return l, err
}

// scanOptLease is scanLease for a row whose lease columns may all be NULL
// (an outer join with no old row): it returns nil, nil then.
func scanOptLease(row pgx.Row) (*lease.Lease, error) {
	var (
		paddr, pvalid, pexpire, psubnet *int64
		hw, cid                         []byte
		fwd, rev                        *bool
		host, uc                        *string
		state                           *int64
	)
	if err := row.Scan(&paddr, &hw, &cid, &pvalid, &pexpire, &psubnet, &fwd, &rev, &host, &state, &uc); err != nil {
		return nil, err
	}
	if paddr == nil {
		return nil, nil
	}
	var addr, valid, expire, subnet int64 = *paddr, 0, 0, 0
	if pvalid != nil {
		valid = *pvalid
	}
	if pexpire != nil {
		expire = *pexpire
	}
	if psubnet != nil {
		subnet = *psubnet
	}
	l := &lease.Lease{
		Addr:          netip.AddrFrom4([4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)}),
		ValidLifetime: uint32(valid),
		SubnetID:      uint32(subnet),
	}
	// PgSqlLease4Exchange::convertFromDatabase: cltt = expire - valid,
	// or expire for an infinite lifetime.
	if uint32(valid) == infinite {
		l.CLTT = expire
	} else {
		l.CLTT = expire - valid
	}
	if len(hw) > 0 {
		l.HWAddr = net.HardwareAddr(hw)
	}
	if len(cid) > 0 {
		l.ClientID = cid
	}
	if fwd != nil {
		l.FqdnFwd = *fwd
	}
	if rev != nil {
		l.FqdnRev = *rev
	}
	if host != nil {
		l.Hostname = *host
	}
	if state != nil {
		l.State = lease.State(*state)
	}
	if uc != nil && *uc != "" {
		if f, err := lease.FormatUserContext(*uc); err == nil {
			l.UserContext = f
		} else {
			l.UserContext = *uc
		}
	}
	return l, nil
}

func addrInt(a netip.Addr) int64 {
	b := a.As4()
	return int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])
}

// expireOf is Kea's expire column for l (createBindForSend).
func expireOf(l *lease.Lease) time.Time {
	if l.ValidLifetime == infinite {
		return time.Unix(l.CLTT, 0)
	}
	return time.Unix(l.CLTT+int64(l.ValidLifetime), 0)
}

// args are INSERT_LEASE4's eleven parameters in Kea's order.
func args(l *lease.Lease) []any {
	hw, cid := []byte(l.HWAddr), l.ClientID
	if hw == nil {
		hw = []byte{}
	}
	if cid == nil {
		cid = []byte{}
	}
	return []any{addrInt(l.Addr), hw, cid, int64(l.ValidLifetime), expireOf(l), int64(l.SubnetID),
		l.FqdnFwd, l.FqdnRev, l.Hostname, int64(l.State), l.UserContext}
}

func check(l *lease.Lease) (*lease.Lease, error) {
	if l == nil || !l.Addr.Is4() {
		return nil, fmt.Errorf("%w: not an IPv4 lease", lease.ErrInvalid)
	}
	if l.ValidLifetime == 0 {
		return nil, fmt.Errorf("%w: lease %v has valid lifetime 0", lease.ErrInvalid, l.Addr)
	}
	if len(l.HWAddr) > 20 {
		// Kea's createBindForSend: HWAddr::MAX_HWADDR_LEN.
		return nil, fmt.Errorf("%w: hardware address length %d exceeds maximum allowed of 20", lease.ErrInvalid, len(l.HWAddr))
	}
	c := l.Clone()
	if len(c.HWAddr) == 0 {
		c.HWAddr = nil
	}
	if len(c.ClientID) == 0 {
		c.ClientID = nil
	}
	uc, err := lease.FormatUserContext(c.UserContext)
	if err != nil {
		return nil, fmt.Errorf("%w: lease %v: %w", lease.ErrInvalid, c.Addr, err)
	}
	c.UserContext = uc
	return c, nil
}

// fail classifies err: a lost or unusable connection (anything but an
// answer from the server) starts recovery. It returns err wrapped.
func (s *Store) fail(op string, err error) error {
	if connectionLost(err) {
		s.rc.Lost(err)
		return fmt.Errorf("%s: database connection: %w", op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// statRace: a unique violation on lease4_stat's key, raised by the
// schema's statistics trigger when two sessions add the first lease of a
// subnet and state at once.
func statRace(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.TableName == "lease4_stat"
}

// againOnStatRace runs f a second time when the schema's lease4_stat
// trigger lost a race (statRace): the statement was rolled back whole.
// The update triggers (proc_stat_lease4_update: UPDATE, else INSERT for
// the new state) can race like the insert trigger.
func againOnStatRace[T any](f func() (T, error)) (T, error) {
	v, err := f()
	if statRace(err) {
		v, err = f()
	}
	return v, err
}

// getOne is a point read through the grouped readers (reads.go): the
// first row, if any.
func (s *Store) getOne(op, q string, a ...any) (*lease.Lease, bool) {
	ctx, cancel := s.ctx()
	defer cancel()
	ls, err := s.read(ctx, op, q, a...)
	if err != nil {
		s.log.Error().Err(err).Msg("lease query failed")
		return nil, false
	}
	if len(ls) == 0 {
		return nil, false
	}
	return ls[0], true
}

// getNewest runs Kea's statement as it is (no ORDER BY ... LIMIT) and
// keeps the row that expires last, as the ORDER BY did; there is normally
// one row. The subnet is compared as "subnet_id + 0": with a plain
// "subnet_id = $2" the prepared statement's generic plan, made while
// lease4 was nearly empty, scans lease4_by_subnet_id and filters every
// lease of the subnet (EXPLAIN: "Rows Removed by Filter: 20000", 2.9 ms
// against 0.03 ms; ~25x Kea's time per call in the bench). With the
// expression only lease4_by_hwaddr_subnet_id / lease4_by_client_id_subnet_id
// (on their leading column) fit, whatever the table's size when planned,
// and the statement stays prepared (no parse and plan per call).
func (s *Store) getNewest(op, q string, a ...any) (*lease.Lease, bool) {
	ctx, cancel := s.ctx()
	defer cancel()
	ls, err := s.read(ctx, op, q, a...)
	if err != nil {
		s.log.Error().Err(err).Msg("lease query failed")
		return nil, false
	}
	var best *lease.Lease
	for _, l := range ls {
		if best == nil || expireOf(l).After(expireOf(best)) {
			best = l
		}
	}
	return best, best != nil
}

func (s *Store) getMany(op, q string, a ...any) []*lease.Lease {
	out, err := s.query(op, q, a...)
	if err != nil {
		s.log.Error().Err(err).Msg("lease query failed")
	}
	return out
}

func (s *Store) query(op, q string, a ...any) ([]*lease.Lease, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	var out []*lease.Lease
	for rows.Next() {
		l, err := scanLease(rows)
		if err != nil {
			return out, s.fail(op, err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return out, s.fail(op, err)
	}
	return out, nil
}

// Get is GET_LEASE4_ADDR.
func (s *Store) Get(addr netip.Addr) (*lease.Lease, bool) {
	if !addr.Is4() {
		return nil, false
	}
	return s.getOne("get lease", "SELECT "+cols+" FROM lease4 WHERE address = $1", addrInt(addr))
}

// GetByHW is GET_LEASE4_HWADDR_SUBID (the newest row when several match).
func (s *Store) GetByHW(hw []byte, subnetID uint32) (*lease.Lease, bool) {
	if len(hw) == 0 {
		return nil, false
	}
	return s.getNewest("get lease by hw-address", "SELECT "+cols+" FROM lease4 WHERE hwaddr = $1 AND subnet_id + 0 = $2", hw, int64(subnetID))
}

// GetByClientID is GET_LEASE4_CLIENTID_SUBID.
func (s *Store) GetByClientID(cid []byte, subnetID uint32) (*lease.Lease, bool) {
	if len(cid) == 0 {
		return nil, false
	}
	return s.getNewest("get lease by client-id", "SELECT "+cols+" FROM lease4 WHERE client_id = $1 AND subnet_id + 0 = $2", cid, int64(subnetID))
}

// clientRowsSQL is GET_LEASE4_ADDR, GET_LEASE4_CLIENTID_SUBID and
// GET_LEASE4_HWADDR_SUBID in one statement (subnet_id + 0 as in GetByHW;
// a NULL identifier matches nothing).
const clientRowsSQL = "SELECT " + cols + " FROM lease4 WHERE address = $1" +
	" UNION ALL SELECT " + cols + " FROM lease4 WHERE client_id = $2 AND subnet_id + 0 = ANY($4::bigint[])" +
	" UNION ALL SELECT " + cols + " FROM lease4 WHERE hwaddr = $3 AND subnet_id + 0 = ANY($4::bigint[])"

// ClientRows is the engine's first reads of a REQUEST in one statement
// (dhcp.ClientRowsStore): the row at addr (if valid) and the rows with
// client id cid or hardware address hw (if not empty) in subnets, each
// as Get, GetByClientID and GetByHW read them. ok=false if the query
// failed.
func (s *Store) ClientRows(addr netip.Addr, hw, cid []byte, subnets []uint32) ([]*lease.Lease, bool) {
	var a int64 = -1
	if addr.Is4() {
		a = addrInt(addr)
	}
	var h, c []byte // nil: NULL
	if len(hw) > 0 {
		h = hw
	}
	if len(cid) > 0 {
		c = cid
	}
	ids := make([]int64, len(subnets))
	for i, id := range subnets {
		ids[i] = int64(id)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	ls, err := s.read(ctx, "get client leases", clientRowsSQL, a, c, h, ids)
	if err != nil {
		s.log.Error().Err(err).Msg("lease query failed")
		return nil, false
	}
	return ls, true
}

// FindByHW is GET_LEASE4_HWADDR.
func (s *Store) FindByHW(hw []byte) []*lease.Lease {
	if len(hw) == 0 {
		return nil
	}
	return s.getMany("find leases by hw-address", "SELECT "+cols+" FROM lease4 WHERE hwaddr = $1 ORDER BY address", hw)
}

// FindByClientID is GET_LEASE4_CLIENTID.
func (s *Store) FindByClientID(cid []byte) []*lease.Lease {
	if len(cid) == 0 {
		return nil
	}
	return s.getMany("find leases by client-id", "SELECT "+cols+" FROM lease4 WHERE client_id = $1 ORDER BY address", cid)
}

// FindByHostname is GET_LEASE4_HOSTNAME (lower(hostname) = lower($1)).
func (s *Store) FindByHostname(name string) []*lease.Lease {
	return s.getMany("find leases by hostname", "SELECT "+cols+" FROM lease4 WHERE lower(hostname) = $1 ORDER BY address", strings.ToLower(name))
}

// All is GET_LEASE4, in address order.
func (s *Store) All() []*lease.Lease {
	return s.getMany("get all leases", "SELECT "+cols+" FROM lease4 ORDER BY address")
}

// BySubnet is GET_LEASE4_SUBID.
func (s *Store) BySubnet(id uint32) []*lease.Lease {
	return s.getMany("get subnet leases", "SELECT "+cols+" FROM lease4 WHERE subnet_id = $1 ORDER BY address", int64(id))
}

// Page is GET_LEASE4_PAGE: address order, after exclusive.
func (s *Store) Page(after netip.Addr, limit int) []*lease.Lease {
	var from int64 = -1
	if after.Is4() {
		from = addrInt(after)
	}
	return s.getMany("get lease page", "SELECT "+cols+" FROM lease4 WHERE address > $1 ORDER BY address LIMIT $2", from, int64(limit))
}

// Expired is GET_LEASE4_EXPIRE: not expired-reclaimed, not infinite,
// expire < now, oldest first.
func (s *Store) Expired(now int64, limit int) []*lease.Lease {
	if limit <= 0 {
		limit = 1 << 30
	}
	return s.getMany("get expired leases",
		"SELECT "+cols+" FROM lease4 WHERE state != $1 AND valid_lifetime != 4294967295 AND expire < $2 ORDER BY expire LIMIT $3",
		int64(lease.StateExpiredReclaimed), time.Unix(now, 0), int64(limit))
}

// Count is the number of lease4 rows.
func (s *Store) Count() int {
	ctx, cancel := s.ctx()
	defer cancel()
	var n int64
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM lease4").Scan(&n); err != nil {
		s.log.Error().Err(s.fail("count leases", err)).Msg("lease query failed")
	}
	return int(n)
}

const insertSQL = `INSERT INTO lease4 (address, hwaddr, client_id, valid_lifetime, expire, subnet_id,
	fqdn_fwd, fqdn_rev, hostname, state, user_context)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
	ON CONFLICT (address) DO NOTHING RETURNING address`

const setSQL = `SET address = $1, hwaddr = $2, client_id = $3, valid_lifetime = $4, expire = $5,
	subnet_id = $6, fqdn_fwd = $7, fqdn_rev = $8, hostname = $9, state = $10, user_context = $11`

// Add inserts l; lease.ErrExists when the address has a row (whoever wrote
// it). The insert is one statement: of two servers adding one address,
// exactly one succeeds and the other learns it from the answer.
func (s *Store) Add(l *lease.Lease) error {
	c, err := check(l)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	// One statement, grouped with concurrent writes (group.go); a lost
	// race of the schema's lease4_stat trigger (proc_stat_lease4_insert)
	// is run again there.
	n, err := s.write(ctx, opName("add", c.Addr), addrInt(c.Addr), insertSQL, args(c)...)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("add lease %v: %w", c.Addr, lease.ErrExists)
	}
	s.notify(nil, c)
	return nil
}

// Update replaces the row at l.Addr whatever it holds (lease4-update, HA
// lease updates); lease.ErrNotFound if there is none. The replaced row is
// returned by the same statement (a locked sub-select), for OnChange.
func (s *Store) Update(l *lease.Lease) error {
	_, err := s.update(l)
	return err
}

func (s *Store) update(l *lease.Lease) (*lease.Lease, error) {
	c, err := check(l)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	q := `UPDATE lease4 l ` + setSQL + `
		FROM (SELECT * FROM lease4 WHERE address = $1 FOR UPDATE) o
		WHERE l.address = o.address RETURNING ` + oldCols
	old, err := againOnStatRace(func() (*lease.Lease, error) { return scanLease(s.pool.QueryRow(ctx, q, args(c)...)) })
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("update lease %v: %w", c.Addr, lease.ErrNotFound)
	}
	if err != nil {
		return nil, s.fail(fmt.Sprintf("update lease %v", c.Addr), err)
	}
	s.notify(old, c)
	return old, nil
}

// UpdateFrom is Kea's UPDATE_LEASE4: it replaces old with l only if the
// row still has old's expire (PgSqlLeaseMgr::updateLease4 binds the
// lease's current expiration); ErrConflict otherwise. The engine uses it
// so a lease another server renewed or took since it was read is never
// overwritten.
func (s *Store) UpdateFrom(old, l *lease.Lease) error {
	c, err := check(l)
	if err != nil {
		return err
	}
	if old == nil || old.Addr != c.Addr {
		return fmt.Errorf("%w: update of %v from a different lease", lease.ErrInvalid, c.Addr)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	// The expiry is compared as it was read (whole seconds): a row written
	// with fractional seconds (by SQL, not by Kea) still matches.
	n, err := s.write(ctx, opName("update", c.Addr), addrInt(c.Addr),
		`UPDATE lease4 `+setSQL+` WHERE address = $12 AND extract(epoch from expire)::bigint = $13`,
		append(args(c), addrInt(c.Addr), expireOf(old).Unix())...)
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("update lease %v: %w", c.Addr, ErrConflict)
	}
	s.notify(old.Clone(), c)
	return nil
}

// putSQL is an upsert that also returns the row it replaced (NULLs when it
// inserted), in one round trip: HA lease updates (lease4-update with
// force-create) are on the path of every partner's ACK.
const putSQL = `WITH o AS (SELECT ` + cols + ` FROM lease4 WHERE address = $1),
	u AS (INSERT INTO lease4 (address, hwaddr, client_id, valid_lifetime, expire, subnet_id,
			fqdn_fwd, fqdn_rev, hostname, state, user_context)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (address) DO UPDATE SET hwaddr = EXCLUDED.hwaddr, client_id = EXCLUDED.client_id,
			valid_lifetime = EXCLUDED.valid_lifetime, expire = EXCLUDED.expire, subnet_id = EXCLUDED.subnet_id,
			fqdn_fwd = EXCLUDED.fqdn_fwd, fqdn_rev = EXCLUDED.fqdn_rev, hostname = EXCLUDED.hostname,
			state = EXCLUDED.state, user_context = EXCLUDED.user_context
		RETURNING 1 AS done)
	SELECT o.* FROM u LEFT JOIN o ON true`

// Put adds or replaces the lease at l.Addr (HA lease updates, lease4-update
// with force-create) in one statement. The replaced row comes from the
// statement's snapshot: if another session inserts the address at the same
// instant, the upsert still decides correctly but OnChange reports an
// addition (the gauges may then be off by one until the next recount).
func (s *Store) Put(l *lease.Lease) (bool, error) {
	c, err := check(l)
	if err != nil {
		return false, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	old, err := againOnStatRace(func() (*lease.Lease, error) { return scanOptLease(s.pool.QueryRow(ctx, putSQL, args(c)...)) })
	if err != nil {
		return false, s.fail(fmt.Sprintf("put lease %v", c.Addr), err)
	}
	s.notify(old, c)
	return old == nil, nil
}

// Delete removes the row at addr whatever it holds and returns it.
func (s *Store) Delete(addr netip.Addr) (*lease.Lease, error) {
	if !addr.Is4() {
		return nil, fmt.Errorf("delete lease %v: %w", addr, lease.ErrNotFound)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	old, err := scanLease(s.pool.QueryRow(ctx, "DELETE FROM lease4 WHERE address = $1 RETURNING "+cols, addrInt(addr)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("delete lease %v: %w", addr, lease.ErrNotFound)
	}
	if err != nil {
		return nil, s.fail(fmt.Sprintf("delete lease %v", addr), err)
	}
	s.notify(old, nil)
	return old, nil
}

// DeleteFrom is Kea's DELETE_LEASE4 ("WHERE address = $1 AND expire =
// $2"): it removes old only if the row still has old's expire;
// ErrConflict otherwise (PgSqlLeaseMgr::deleteLease(const Lease4Ptr&)).
func (s *Store) DeleteFrom(old *lease.Lease) error {
	if old == nil || !old.Addr.Is4() {
		return fmt.Errorf("%w: nil lease", lease.ErrInvalid)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	n, err := s.write(ctx, opName("delete", old.Addr), addrInt(old.Addr),
		"DELETE FROM lease4 WHERE address = $1 AND extract(epoch from expire)::bigint = $2", addrInt(old.Addr), expireOf(old).Unix())
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("delete lease %v: %w", old.Addr, ErrConflict)
	}
	s.notify(old.Clone(), nil)
	return nil
}

// StatRow is one row of lease4_stat, which the schema's triggers maintain
// (Kea's ALL_LEASE4_STATS / recountLeaseStats4 read it).
type StatRow struct {
	SubnetID uint32
	State    lease.State
	Leases   int64
}

// Stats reads lease4_stat (Kea-2.2.0 pgsql_lease_mgr.cc ALL_LEASE4_STATS).
func (s *Store) Stats() ([]StatRow, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT subnet_id, state, leases FROM lease4_stat ORDER BY subnet_id, state")
	if err != nil {
		return nil, s.fail("lease statistics", err)
	}
	defer rows.Close()
	var out []StatRow
	for rows.Next() {
		var id, st, n int64
		if err := rows.Scan(&id, &st, &n); err != nil {
			return nil, s.fail("lease statistics", err)
		}
		out = append(out, StatRow{uint32(id), lease.State(st), n})
	}
	return out, rows.Err()
}

func (s *Store) notify(old, new *lease.Lease) {
	if s.opts.OnChange != nil {
		s.opts.OnChange(lease.Change{Old: old, New: new})
	}
}

// ConnectTimeoutOrDefault is connect-timeout, or Kea's default 5s.
func (c Config) ConnectTimeoutOrDefault() time.Duration {
	if c.ConnectTimeout > 0 {
		return c.ConnectTimeout
	}
	return 5 * time.Second
}

// ErrWipeNotImplemented is Kea 2.2's answer to lease4-wipe on PostgreSQL
// (PgSqlLeaseMgr::wipeLeases4 throws NotImplemented with this text).
var ErrWipeNotImplemented = errors.New("wipeLeases4 is not implemented for PostgreSQL backend")

// WipeLeases4 refuses, as Kea 2.2's PostgreSQL lease manager does, so
// lease4-wipe answers the same on both servers sharing a database.
func (s *Store) WipeLeases4(uint32) (int, error) { return 0, ErrWipeNotImplemented }
