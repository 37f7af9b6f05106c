package hostdb

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/dbreconnect"
)

// SchemaVersion is the schema Kea 2.2 requires of a PostgreSQL database
// (PG_SCHEMA_VERSION_MAJOR/MINOR, src/lib/pgsql/pgsql_connection.h); Kea
// refuses to start on another (PgSqlConnection::getVersion, checked by
// PgSqlHostDataSourceImpl's constructor).
const SchemaVersion = "13.0"

// QueryTimeout bounds one lookup. Kea has none (libpq blocks); a bound
// keeps a worker from hanging forever on a half-open connection.
const QueryTimeout = 10 * time.Second

// Identifier types of Kea's host_identifier_type table (Host::IdentifierType
// in src/lib/dhcpsrv/host.h: IDENT_HWADDR 0, IDENT_DUID 1, IDENT_CIRCUIT_ID
// 2, IDENT_CLIENT_ID 3, IDENT_FLEX 4).
var idTypeCode = map[string]int16{
	config.IDHWAddress: 0,
	config.IDDUID:      1,
	config.IDCircuitID: 2,
	config.IDClientID:  3,
	config.IDFlexID:    4,
}

var idTypeName = map[int16]string{0: config.IDHWAddress, 1: config.IDDUID, 2: config.IDCircuitID, 3: config.IDClientID, 4: config.IDFlexID}

// hostColumns are Kea's column list for DHCPv4 hosts with their options
// (pgsql_host_data_source.cc, GET_HOST_SUBID4_DHCPID), less the DHCPv6 and
// auth_key columns DHCPv4 does not read.
const hostColumns = `SELECT h.host_id, h.dhcp_identifier, h.dhcp_identifier_type,
  h.dhcp4_subnet_id, h.ipv4_address, h.hostname, h.dhcp4_client_classes,
  h.dhcp4_next_server, h.dhcp4_server_hostname, h.dhcp4_boot_file_name,
  o.option_id, o.code, o.value, o.formatted_value, o.space, o.persistent
FROM hosts AS h
LEFT JOIN dhcp4_options AS o ON h.host_id = o.host_id `

// getByIDs is GET_HOST_SUBID4_DHCPID for several subnets and identifiers
// at once: ($1 subnet ids, $2 identifier types, $3 identifiers, pairwise).
const getByIDs = hostColumns + `
JOIN unnest($2::smallint[], $3::bytea[]) AS q(t, id)
  ON h.dhcp_identifier_type = q.t AND h.dhcp_identifier = q.id
WHERE h.dhcp4_subnet_id = ANY($1::bigint[])
ORDER BY h.host_id, o.option_id`

// getByAddr is GET_HOST_SUBID_ADDR.
const getByAddr = hostColumns + `
WHERE h.dhcp4_subnet_id = $1 AND h.ipv4_address = $2
ORDER BY h.host_id, o.option_id`

// PgSQL is one hosts-database of type postgresql.
type PgSQL struct {
	cfg  *config.HostsDatabase
	pool *pgxpool.Pool
	defs atomic.Pointer[config.OptionDefs] // formatted_value parsing; replaced on reload
	rc   *dbreconnect.Controller           // nil without Options.Recovery
}

// Recovery is what a lost hosts-database connection does to the server
// (docs/kea/hosts-db.md §7); the daemon implements it.
type Recovery = dbreconnect.Recovery

// Options are a backend's hooks.
type Options struct {
	// Recovery reacts to a lost connection (nil: lookups fail until the
	// pool reconnects by itself, nothing else happens).
	Recovery Recovery
	Logger   zerolog.Logger
}

// Open connects to db (failing at once, with Kea's words, when the database
// cannot be reached or its schema is not Kea 2.2's), as kea-dhcp4 does when
// it configures a host backend. defs resolves formatted option values
// (standard definitions plus the configuration's option-def). conns bounds
// the pool (one per worker is enough: a lookup holds a connection for one
// statement).
func Open(ctx context.Context, db *config.HostsDatabase, defs *config.OptionDefs, conns int, opts Options) (*PgSQL, error) {
	if db.Type != "postgresql" {
		return nil, fmt.Errorf("hosts-database type %q is not supported (only postgresql)", db.Type)
	}
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cc := pc.ConnConfig
	cc.Host = db.Host
	if db.Port != 0 { // 0: libpq's default (5432), as Kea passes no port
		cc.Port = uint16(db.Port)
	}
	cc.Database = db.Name
	cc.User = db.User
	cc.Password = db.Password
	cc.TLSConfig = nil // Kea 2.2 connects without TLS unless trust-anchor et al. are set
	cc.Fallbacks = nil
	if db.ConnectTimeout > 0 {
		cc.ConnectTimeout = time.Duration(db.ConnectTimeout) * time.Second
	}
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	cc.RuntimeParams["application_name"] = "xdhcpd hosts"
	if db.ReadOnly {
		// Kea's readonly: PgSqlConnection::startRecoverDbConnection... the
		// backend opens the connection read-only and prepares no writes
		// (PgSqlHostDataSourceImpl constructor, "readonly"); the server
		// then only reads, so every transaction is made read-only.
		cc.RuntimeParams["default_transaction_read_only"] = "on"
	}
	if conns < 1 {
		conns = 1
	}
	pc.MaxConns = int32(conns)
	pc.MinConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, openError(db, err)
	}
	p := &PgSQL{cfg: db, pool: pool}
	if opts.Recovery != nil {
		p.rc = dbreconnect.New(dbreconnect.Config{
			What: "hosts database", OnFail: db.OnFail,
			MaxReconnectTries: int(db.MaxReconnectTries),
			ReconnectWait:     time.Duration(db.ReconnectWaitTime) * time.Millisecond,
			Ping:              pool.Ping, PingTimeout: time.Duration(max(db.ConnectTimeout, 1)) * time.Second,
			Recovery: opts.Recovery, Logger: opts.Logger,
		})
	}
	p.defs.Store(defs)
	cctx, cancel := context.WithTimeout(ctx, time.Duration(max(db.ConnectTimeout, 1))*time.Second+QueryTimeout)
	defer cancel()
	var major, minor int
	if err := pool.QueryRow(cctx, "SELECT version, minor FROM schema_version").Scan(&major, &minor); err != nil {
		pool.Close()
		return nil, openError(db, err)
	}
	if got := fmt.Sprintf("%d.%d", major, minor); got != SchemaVersion {
		pool.Close()
		// Kea: DbOpenError "PostgreSQL schema version mismatch: need version: 13.0 found version: ..."
		return nil, fmt.Errorf("hosts-database %s: PostgreSQL schema version mismatch: need version: %s found version: %s (run kea-admin db-upgrade pgsql)",
			describe(db), SchemaVersion, got)
	}
	return p, nil
}

func describe(db *config.HostsDatabase) string {
	return fmt.Sprintf("postgresql name=%s host=%s port=%d user=%s", db.Name, db.Host, db.Port, db.User)
}

// openError is Kea's DB_OPEN_ERROR for an unreachable database
// (PgSqlConnection::openDatabase: "unable to open database: ...").
func openError(db *config.HostsDatabase, err error) error {
	return fmt.Errorf("hosts-database %s: unable to open database: %w", describe(db), err)
}

// SetOptionDefs replaces the option definitions formatted values are read
// with (a reloaded configuration's option-def).
func (p *PgSQL) SetOptionDefs(defs *config.OptionDefs) { p.defs.Store(defs) }

// Close stops recovery and closes the pool.
func (p *PgSQL) Close() {
	if p.rc != nil {
		p.rc.Stop()
	}
	p.pool.Close()
}

// fail wraps a lookup error; a lost connection starts recovery.
func (p *PgSQL) fail(err error) error {
	if dbreconnect.ConnectionLost(err) {
		if p.rc != nil {
			p.rc.Lost(err)
		}
		return fmt.Errorf("hosts-database %s: database connection: %w", p.cfg.Name, err)
	}
	return fmt.Errorf("hosts-database %s: %w", p.cfg.Name, err)
}

// Get4 returns the DHCPv4 reservations of the given subnets (0: global)
// whose identifier is one of ids (identifier type name → bytes; empty
// values are skipped), each with the subnet it belongs to. At most one
// host exists per (subnet, type, identifier) (Kea's unique index
// key_dhcp4_identifier_subnet_id).
func (p *PgSQL) Get4(ctx context.Context, subnets []uint32, ids map[string][]byte) ([]config.SubnetReservation, error) {
	types := make([]int16, 0, len(ids))
	vals := make([][]byte, 0, len(ids))
	for t, v := range ids {
		code, ok := idTypeCode[t]
		if !ok || len(v) == 0 {
			continue
		}
		types = append(types, code)
		vals = append(vals, v)
	}
	if len(types) == 0 || len(subnets) == 0 {
		return nil, nil
	}
	sids := make([]int64, len(subnets))
	for i, s := range subnets {
		sids[i] = int64(s)
	}
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	return p.query(ctx, getByIDs, sids, types, vals)
}

// GetAll4ByAddr returns the reservations of addr in subnet
// (GET_HOST_SUBID_ADDR, which Kea's addressReserved reaches through
// HostMgr::get4 or, with ip-reservations-unique false, getAll4).
func (p *PgSQL) GetAll4ByAddr(ctx context.Context, subnet uint32, addr netip.Addr) ([]*config.Reservation, error) {
	if !addr.Is4() {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	b := addr.As4()
	rs, err := p.query(ctx, getByAddr, int64(subnet), int64(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3])))
	if err != nil {
		return nil, err
	}
	out := make([]*config.Reservation, len(rs))
	for i := range rs {
		out[i] = rs[i].Reservation
	}
	return out, nil
}

// query runs one of the host statements and assembles hosts from the
// joined rows, as PgSqlHostExchange / PgSqlHostWithOptionsExchange do:
// rows of one host_id are consecutive (ORDER BY h.host_id, o.option_id),
// each carrying at most one option.
func (p *PgSQL) query(ctx context.Context, sql string, args ...any) ([]config.SubnetReservation, error) {
	rows, err := p.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, p.fail(err)
	}
	defer rows.Close()
	var out []config.SubnetReservation
	var cur *config.Reservation
	var curID int64 = -1
	var lastOpt int64 = -1
	for rows.Next() {
		var (
			hostID            int64
			ident             []byte
			idType            int16
			subnetID          *int64
			v4, nextServer    *int64
			hostname, classes *string
			sname, file       *string
			optID             *int64
			code              *int16
			value             []byte
			formatted, space  *string
			persistent        *bool
		)
		if err := rows.Scan(&hostID, &ident, &idType, &subnetID, &v4, &hostname, &classes,
			&nextServer, &sname, &file, &optID, &code, &value, &formatted, &space, &persistent); err != nil {
			return nil, p.fail(err)
		}
		if hostID != curID {
			curID, lastOpt = hostID, -1
			cur = &config.Reservation{IdentifierType: idTypeName[idType], Identifier: ident}
			if v4 != nil && *v4 != 0 {
				cur.IPAddress = u32Addr(uint32(*v4))
			}
			if hostname != nil {
				cur.Hostname = *hostname
			}
			if classes != nil {
				cur.ClientClasses = splitClasses(*classes)
			}
			if nextServer != nil {
				a := u32Addr(uint32(*nextServer))
				cur.NextServer = &a
			}
			cur.ServerHostname, cur.BootFileName = sname, file
			var sid uint32
			if subnetID != nil {
				sid = uint32(*subnetID)
			}
			out = append(out, config.SubnetReservation{SubnetID: sid, Reservation: cur})
		}
		if optID == nil || *optID <= lastOpt || code == nil {
			continue
		}
		lastOpt = *optID
		od, err := p.option(uint8(*code), value, formatted, space, persistent)
		if err != nil {
			return nil, fmt.Errorf("hosts-database %s: host %d option %d: %w", p.cfg.Name, hostID, *optID, err)
		}
		cur.OptionData = append(cur.OptionData, od)
	}
	if err := rows.Err(); err != nil {
		return nil, p.fail(err)
	}
	return out, nil
}

// option is PgSqlOptionExchange::retrieveOption for DHCPv4: space defaults
// to dhcp4; with a definition, a non-empty formatted_value is parsed as
// comma-separated fields and an empty one takes value's bytes; without a
// definition the option is generic, value's bytes.
func (p *PgSQL) option(code uint8, value []byte, formatted, space *string, persistent *bool) (*config.OptionData, error) {
	od := &config.OptionData{Code: code, Space: config.SpaceDHCP4, CSVFormat: false}
	if space != nil && *space != "" {
		od.Space = *space
	}
	if persistent != nil {
		od.AlwaysSend = *persistent
	}
	var def *config.OptionDef
	defs := p.defs.Load()
	if defs != nil {
		def = defs.ByCode(od.Space, code)
	}
	if def != nil {
		od.Name = def.Name
	}
	switch {
	case def != nil && formatted != nil && *formatted != "":
		od.Data, od.CSVFormat = *formatted, true
		w, err := defs.EncodeFormatted(od.Space, code, *formatted)
		if err != nil {
			return nil, err
		}
		od.Wire = w
	default:
		od.Wire = append([]byte{}, value...)
	}
	if len(od.Wire) > 255 {
		return nil, errors.New("option value longer than 255 bytes")
	}
	return od, nil
}

// splitClasses is how Host::setClientClasses4 reads dhcp4_client_classes:
// ClientClasses(const std::string&) splits on commas and trims blanks.
func splitClasses(s string) []string {
	var out []string
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

func u32Addr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
