package config

import "strings"

var interfacesKeys = keys(append([]string{"interfaces", "dhcp-socket-type", "outbound-interface"},
	unimplKeys(interfacesUnimpl)...)...)

func (d *decoder) interfacesConfig(n *Node) InterfacesConfig {
	ic := InterfacesConfig{DHCPSocketType: "raw", OutboundInterface: "same-as-inbound", ReDetect: true, ServiceSocketsRetryWaitTime: 5000}
	if n == nil {
		return ic
	}
	o := d.object(n, "interfaces-config", "interfaces-config", interfacesKeys)
	ic.Pos = n.Pos
	ic.Interfaces = o.strList("interfaces")
	ic.DHCPSocketType = o.str("dhcp-socket-type", "raw")
	ic.OutboundInterface = o.str("outbound-interface", "same-as-inbound")
	ic.ReDetect = o.bool("re-detect", true)
	ic.ServiceSocketsRequireAll = o.bool("service-sockets-require-all", false)
	ic.ServiceSocketsRetryWaitTime = o.u32("service-sockets-retry-wait-time", 5000)
	ic.ServiceSocketsMaxRetries = o.u32("service-sockets-max-retries", 0)
	if d.err != nil {
		return ic
	}
	d.checkUnimpl(o, "interfaces-config", interfacesUnimpl)
	if ic.DHCPSocketType != "raw" && ic.DHCPSocketType != "udp" {
		d.fail(n.Get("dhcp-socket-type").Pos, "dhcp-socket-type", "syntax error, unexpected constant string, expecting raw or udp")
	}
	if ic.OutboundInterface != "same-as-inbound" && ic.OutboundInterface != "use-routing" {
		d.fail(n.Get("outbound-interface").Pos, "outbound-interface", "syntax error, unexpected constant string, expecting same-as-inbound or use-routing")
	}
	return ic
}

var leaseDBKeys = keys(append([]string{"type", "name", "persist", "lfc-interval", "max-row-errors"},
	unimplKeys(leaseDBUnimpl)...)...)

func (d *decoder) leaseDatabase(n *Node) LeaseDatabase {
	ld := LeaseDatabase{Type: "memfile", Persist: true, LFCInterval: 3600, Name: DefaultLeaseFile}
	if n == nil {
		return ld
	}
	o := d.object(n, "lease-database", "lease-database", leaseDBKeys)
	ld.Pos = n.Pos
	ld.Type = o.str("type", "")
	ld.Name = o.str("name", DefaultLeaseFile)
	ld.Persist = o.bool("persist", true)
	ld.LFCInterval = o.u32("lfc-interval", 3600)
	ld.MaxRowErrors = o.u32("max-row-errors", 0)
	if d.err != nil {
		return ld
	}
	switch {
	case n.Get("type") == nil:
		d.fail(n.Pos, "type", "mandatory 'type' parameter missing in lease-database")
	case ld.Type == "memfile":
		d.checkUnimpl(o, "lease-database", leaseDBUnimpl)
	case ld.Type == "postgresql":
		d.pgsqlLeaseDatabase(n, o, &ld)
	case ld.Type == "mysql":
		d.fail(n.Get("type").Pos, "type", "lease-database type 'mysql' is not supported by xdhcp (memfile or postgresql)")
	default:
		// Kea-2.2.0 src/lib/database/dbaccess_parser.cc DbAccessParser::parse.
		d.fail(n.Get("type").Pos, "type", "unknown backend database type: %s", ld.Type)
	}
	return ld
}

// pgsqlLeaseDatabase reads the PostgreSQL keywords of lease-database as
// Kea 2.2 does (docs/kea/lease-database.md §1; Kea-2.2.0
// src/lib/database/dbaccess_parser.cc DbAccessParser::parse,
// src/lib/database/database_connection.cc makeReconnectCtl,
// src/lib/pgsql/pgsql_connection.cc PgSqlConnection::openDatabase).
func (d *decoder) pgsqlLeaseDatabase(n *Node, o *obj, ld *LeaseDatabase) {
	if n.Get("name") == nil {
		// PgSqlConnection::openDatabase: NoDatabaseName.
		d.fail(n.Pos, "name", "must specify a name for the database")
		return
	}
	ld.Host = o.str("host", "localhost")
	if p, ok := o.intIn("port", 0, 65535); ok {
		ld.Port = uint16(p)
	}
	ld.User = o.str("user", "")
	ld.Password = o.str("password", "")
	// 0 passes the syntax check, as in kea-dhcp4 -t; opening the
	// database refuses it (pgsql.Open, as PgSqlConnection::openDatabase).
	ld.ConnectTimeout = o.u32("connect-timeout", 5)
	ld.MaxReconnectTries = o.u32("max-reconnect-tries", 0)
	ld.ReconnectWaitTime = o.u32("reconnect-wait-time", 0)
	ld.OnFail = o.str("on-fail", "stop-retry-exit")
	switch ld.OnFail {
	case "stop-retry-exit", "serve-retry-exit", "serve-retry-continue":
	default:
		// Kea 2.2's grammar (dhcp4_parser.yy on_fail_mode).
		d.fail(n.Get("on-fail").Pos, "on-fail", "syntax error, unexpected constant string, expecting stop-retry-exit or serve-retry-exit or serve-retry-continue")
	}
	if v := n.Get("readonly"); v != nil {
		// kea-dhcp4 -t refuses it: readonly belongs to hosts-database
		// only in Kea 2.2's grammar (PgSqlHostDataSource reads it; the
		// lease manager never does).
		d.fail(v.Pos, "readonly", "got unexpected keyword \"readonly\" in lease-database map.")
		return
	}
	var tls []string
	for _, k := range []string{"trust-anchor", "cert-file", "key-file", "cipher-list"} {
		if n.Get(k) != nil {
			o.str(k, "")
			tls = append(tls, k)
		}
	}
	if len(tls) > 0 {
		// DHCPSRV_PGSQL_NO_TLS_SUPPORT (dhcpsrv_messages.mes): Kea 2.2's
		// PostgreSQL backends do not do TLS.
		d.warn(n.Get(tls[0]).Pos, "Attempt to configure TLS (unsupported for PostgreSQL): %s ignored", strings.Join(tls, ", "))
	}
	if n.Get("persist") != nil || n.Get("lfc-interval") != nil || n.Get("max-row-errors") != nil {
		d.warn(n.Pos, "memfile parameters (persist, lfc-interval, max-row-errors) have no effect on a postgresql lease-database")
	}
}

var expiredKeys = keys("reclaim-timer-wait-time", "flush-reclaimed-timer-wait-time", "hold-reclaimed-time",
	"max-reclaim-leases", "max-reclaim-time", "unwarned-reclaim-cycles")

func (d *decoder) expiredLeases(n *Node) ExpiredLeasesProcessing {
	e := ExpiredLeasesProcessing{ReclaimTimerWaitTime: 10, FlushReclaimedTimerWaitTime: 25,
		HoldReclaimedTime: 3600, MaxReclaimLeases: 100, MaxReclaimTime: 250, UnwarnedReclaimCycles: 5}
	if n == nil {
		return e
	}
	o := d.object(n, "expired-leases-processing", "expired-leases-processing", expiredKeys)
	e.Pos = n.Pos
	e.ReclaimTimerWaitTime = o.u32("reclaim-timer-wait-time", e.ReclaimTimerWaitTime)
	e.FlushReclaimedTimerWaitTime = o.u32("flush-reclaimed-timer-wait-time", e.FlushReclaimedTimerWaitTime)
	e.HoldReclaimedTime = o.u32("hold-reclaimed-time", e.HoldReclaimedTime)
	e.MaxReclaimLeases = o.u32("max-reclaim-leases", e.MaxReclaimLeases)
	e.MaxReclaimTime = o.u32("max-reclaim-time", e.MaxReclaimTime)
	e.UnwarnedReclaimCycles = o.u32("unwarned-reclaim-cycles", e.UnwarnedReclaimCycles)
	return e
}

func (d *decoder) multiThreading(n *Node) MultiThreading {
	m := MultiThreading{PacketQueueSize: 64}
	if n == nil {
		return m
	}
	o := d.object(n, "multi-threading", "multi-threading", keys("enable-multi-threading", "thread-pool-size", "packet-queue-size"))
	m.Pos = n.Pos
	m.EnableMultiThreading = o.bool("enable-multi-threading", false)
	m.ThreadPoolSize = o.u32("thread-pool-size", 0)
	m.PacketQueueSize = o.u32("packet-queue-size", 64)
	return m
}

func (d *decoder) controlSocket(n *Node) *ControlSocket {
	if n == nil {
		return nil
	}
	o := d.object(n, "control-socket", "control-socket", keys("socket-type", "socket-name"))
	cs := &ControlSocket{Pos: n.Pos, SocketType: o.str("socket-type", ""), SocketName: o.str("socket-name", "")}
	if d.err != nil {
		return nil
	}
	if cs.SocketType != "unix" {
		d.fail(n.Pos, "socket-type", "unsupported 'socket-type' '%s' not 'unix'", cs.SocketType)
	}
	if cs.SocketName == "" {
		d.fail(n.Pos, "socket-name", "'socket-name' parameter is required in control-socket")
	}
	return cs
}

func (d *decoder) sanityChecks(n *Node) SanityChecks {
	sc := SanityChecks{LeaseChecks: "warn"}
	if n == nil {
		return sc
	}
	o := d.object(n, "sanity-checks", "sanity-checks", keys("lease-checks"))
	sc.LeaseChecks = o.str("lease-checks", "warn")
	switch sc.LeaseChecks {
	case "none", "warn", "fix", "fix-del", "del":
	default:
		if d.err == nil {
			d.fail(n.Get("lease-checks").Pos, "lease-checks", "Unsupported lease-checks value: %s, supported values are: none, warn, fix, fix-del, del", sc.LeaseChecks)
		}
	}
	return sc
}

var severities = keys("FATAL", "ERROR", "WARN", "INFO", "DEBUG", "NONE")

func (d *decoder) loggers(list []*Node) []*Logger {
	var out []*Logger
	for _, n := range list {
		o := d.object(n, "loggers", "loggers", keys("name", "severity", "debuglevel", "output_options", "output-options"))
		l := &Logger{Pos: n.Pos, Name: o.str("name", ""), Severity: o.str("severity", "INFO"),
			UserContext: o.userContext(), Comment: o.comment()}
		if dl, ok := o.intIn("debuglevel", 0, 99); ok {
			l.DebugLevel = int(dl)
		}
		if d.err != nil {
			return nil
		}
		if n.Get("output_options") != nil && n.Get("output-options") != nil {
			d.fail(n.Get("output-options").Pos, "output-options", "duplicate output-options entries in loggers map (output_options also given)")
			return nil
		}
		if l.Name != "kea-dhcp4" && !strings.HasPrefix(l.Name, "kea-dhcp4.") {
			d.fail(n.Pos, "name", "logger name '%s' must start with kea-dhcp4", l.Name)
			return nil
		}
		if !severities[l.Severity] {
			d.fail(n.Get("severity").Pos, "severity", "unknown severity value '%s'", l.Severity)
			return nil
		}
		opts := o.list("output_options")
		if opts == nil {
			opts = o.list("output-options")
		}
		for _, on := range opts {
			oo := d.object(on, "output-options", "output-options", keys("output", "flush", "maxsize", "maxver", "pattern"))
			lo := LoggerOutput{Output: oo.str("output", ""), Flush: oo.bool("flush", true),
				MaxSize: uint64(oo.u32("maxsize", 10240000)), MaxVer: int(oo.u32("maxver", 1)), Pattern: oo.str("pattern", "")}
			if d.err == nil && lo.Output == "" {
				d.fail(on.Pos, "output", "mandatory 'output' parameter missing in output-options")
			}
			l.OutputOptions = append(l.OutputOptions, lo)
		}
		out = append(out, l)
	}
	return out
}
