package config

// hosts-database / hosts-databases: Kea 2.2's host backends (Dhcp4 grammar
// src/bin/dhcp4/dhcp4_parser.yy hosts_database / hosts_databases, values
// checked by src/lib/database/dbaccess_parser.cc DbAccessParser::parse).
// xdhcp implements the postgresql type (docs/kea/hosts-db.md §1).

var hostsDBKeys = keys("type", "name", "host", "port", "user", "password", "connect-timeout",
	"max-reconnect-tries", "reconnect-wait-time", "on-fail", "readonly",
	"trust-anchor", "cert-file", "key-file", "cipher-list", "user-context", "comment")

// hostsDBUnimpl are the TLS keys, which xdhcp accepts but does not act on.
var hostsDBUnimpl = []unimpl{
	{key: "trust-anchor"}, {key: "cert-file"}, {key: "key-file"}, {key: "cipher-list"},
}

// Kea's defaults for a database it reaches over the network
// (src/lib/pgsql/pgsql_connection.cc PgSqlConnection::openDatabase and
// src/lib/database/database_connection.cc).
const (
	DefaultHostsDBHost           = "localhost"
	DefaultHostsDBPort           = 5432
	DefaultHostsDBConnectTimeout = 5 // seconds
)

// hostsDatabases decodes Dhcp4.hosts-database then Dhcp4.hosts-databases,
// the order in which Kea's map iteration adds them to HostMgr (the first
// configured backend is asked first).
func (d *decoder) hostsDatabases(one *Node, many []*Node) []*HostsDatabase {
	var out []*HostsDatabase
	if one != nil {
		if h := d.hostsDatabase(one, "hosts-database"); h != nil {
			out = append(out, h)
		}
	}
	for _, n := range many {
		if h := d.hostsDatabase(n, "hosts-databases"); h != nil {
			out = append(out, h)
		}
	}
	return out
}

func (d *decoder) hostsDatabase(n *Node, ctx string) *HostsDatabase {
	o := d.object(n, ctx, ctx, hostsDBKeys)
	h := &HostsDatabase{
		Pos:               n.Pos,
		Type:              o.str("type", ""),
		Name:              o.str("name", ""),
		Host:              o.str("host", DefaultHostsDBHost),
		User:              o.str("user", ""),
		Password:          o.str("password", ""),
		OnFail:            o.str("on-fail", "stop-retry-exit"),
		ReadOnly:          o.bool("readonly", false),
		UserContext:       o.userContext(),
		Comment:           o.comment(),
		Port:              DefaultHostsDBPort,
		ConnectTimeout:    DefaultHostsDBConnectTimeout,
		ReconnectWaitTime: 0,
	}
	if v, ok := o.intIn("port", 0, 65535); ok {
		h.Port = int(v)
	}
	if v, ok := o.intIn("connect-timeout", 0, 1<<32-1); ok {
		h.ConnectTimeout = uint32(v)
	}
	if v, ok := o.intIn("max-reconnect-tries", 0, 1<<31-1); ok {
		h.MaxReconnectTries = uint32(v)
	}
	if v, ok := o.intIn("reconnect-wait-time", 0, 1<<32-1); ok {
		h.ReconnectWaitTime = uint32(v)
	}
	if d.err != nil {
		return nil
	}
	d.checkUnimpl(o, ctx, hostsDBUnimpl)
	switch {
	case n.Get("type") == nil:
		d.fail(n.Pos, "type", "database access parameters must include the keyword 'type' to determine type of database to be accessed")
	case h.Type == "postgresql":
	case h.Type == "mysql":
		// kea-dhcp4 -t accepts it (it does not connect); xdhcp keeps the
		// unimplemented-parameter policy: a warning, and the backend is
		// not used (userspace/daemon opens postgresql ones only).
		d.warn(n.Get("type").Pos, "%s type 'mysql' is not implemented by xdhcp and is ignored (only postgresql)", ctx)
	case h.Type == "memfile":
		// Kea 2.2: HostDataSourceFactory has no memfile host backend.
		d.fail(n.Get("type").Pos, "type", "unknown backend database type: %s", h.Type)
	default:
		d.fail(n.Get("type").Pos, "type", "unknown backend database type: %s", h.Type)
	}
	if d.err != nil {
		return nil
	}
	switch h.OnFail {
	case "stop-retry-exit", "serve-retry-exit", "serve-retry-continue":
	default:
		d.fail(n.Get("on-fail").Pos, "on-fail", "unsupported value '%s' for on-fail should be one of stop-retry-exit, serve-retry-exit, serve-retry-continue", h.OnFail)
		return nil
	}
	if h.Name == "" {
		// Kea: PgSqlConnection::openDatabase "must specify a database name".
		d.fail(n.Pos, "name", "missing 'name' parameter in %s (the PostgreSQL database name)", ctx)
		return nil
	}
	return h
}
