package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/internal/crash"
	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/hostdb"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/leasecmds"
	"github.com/xdhcp/xdhcp/userspace/logging"
	"github.com/xdhcp/xdhcp/userspace/metrics"
	"github.com/xdhcp/xdhcp/userspace/netstate"
	"github.com/xdhcp/xdhcp/userspace/pipeline"
	"github.com/xdhcp/xdhcp/userspace/servercmds"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// Options are the command-line settings.
type Options struct {
	ServerPort, ClientPort int  // -p, -P
	Debug                  bool // -d
}

// engineSet is one configuration's engine.
type engineSet struct {
	e      *dhcp.Engine
	cancel context.CancelFunc // stops the engine's reclamation loop
}

// Daemon is the running server: it wires the packages together and owns
// engine hot-swap, reload policy, status, config-write, the data-path
// choice and the HA lifecycle. It holds no DHCP logic.
type Daemon struct {
	path string
	opt  Options
	logs *logging.Set
	log  zerolog.Logger
	reg  *stats.Registry
	ns   *netstate.State
	disp *control.Dispatcher

	mu     sync.Mutex // serialises (re)configuration
	cfg    *config.Config
	store  leaseBackend
	order  *dhcp.CommitOrder // stamps every engine's commits; orders HA's lease updates per address
	hosts  hostdb.Sources    // hosts-database(s); nil: none
	engine atomic.Pointer[engineSet]
	pl     *pipeline.Pipeline
	ctrl   *control.Server
	prom   *metrics.Server
	data   *dataPath
	ha     *haRuntime
	adm    *admissionState
	renew  atomic.Pointer[renewRuntime]

	ctx      context.Context // the run context, for loops started by a reload
	started  time.Time
	reloaded time.Time
	shutdown chan int
}

// New loads the configuration and opens what must exist before
// serving: loggers, the control socket, the lease store, HA and the engine.
// The control socket comes before the lease file: a second instance started
// by mistake must fail on the socket of the live one before it opens that
// instance's lease file for appending. On error everything opened so far is
// closed again.
func New(path string, opt Options) (_ *Daemon, err error) {
	cfg, warnings, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	d := &Daemon{
		path:     path,
		opt:      opt,
		cfg:      cfg,
		reg:      stats.New(),
		ns:       netstate.New(),
		disp:     control.NewDispatcher(),
		started:  time.Now(),
		reloaded: time.Now(),
		shutdown: make(chan int, 1),
	}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()

	if err := d.setupLogging(cfg.Dhcp4); err != nil {
		return nil, err
	}
	undo = append(undo, func() { d.logs.Close() })
	d.disp.SetLogger(d.logs.For(logging.Commands, "control")) // recovered command panics
	for _, w := range append(warnings, Lint(cfg)...) {
		d.log.Warn().Str("at", w.Pos.String()).Msg(w.Msg)
	}
	if cs := cfg.Dhcp4.ControlSocket; cs != nil {
		x := cfg.Dhcp4.XDHCP
		opt := control.Options{Mode: os.FileMode(x.ControlSocketMode), GID: x.ControlSocketGID, SetGID: x.ControlSocketGID >= 0,
			Logger: d.logs.For(logging.Commands, "control")}
		if d.ctrl, err = control.Listen(cs.SocketName, d.disp, opt); err != nil {
			return nil, err
		}
		undo = append(undo, func() { d.ctrl.Close() })
	}
	d.adm = newAdmission(cfg.Dhcp4.XDHCP.RateLimits, d.logs.For(logging.Packets, "admission"))
	undo = append(undo, d.adm.close)
	if err := d.openStore(cfg.Dhcp4); err != nil {
		return nil, err
	}
	undo = append(undo, func() { d.store.Close() })
	if err := d.openHosts(cfg.Dhcp4); err != nil {
		return nil, err
	}
	undo = append(undo, d.hosts.Close)
	d.adm.load(d.store)
	if err := d.setupHA(cfg.Dhcp4); err != nil {
		return nil, err
	}
	undo = append(undo, d.closeHA)
	pc := pipeline.Config{
		Stats:       d.reg,
		Gate:        d.ns,
		ParkedLimit: int(cfg.Dhcp4.ParkedPacketLimit),
		Logger:      d.logs.Get(logging.Packets),
	}
	d.order = dhcp.NewCommitOrder()
	if cfg.Dhcp4.LeaseDatabase.Type == "postgresql" {
		// The engine waits on database round trips: run it on lanes so
		// the transport keeps receiving and the store can group the
		// lanes' commits into one transaction (pipeline/lanes.go).
		pc.Lanes = pgLanes
	}
	if d.ha != nil {
		// The runtime, not the service: a reload replaces the service,
		// and may turn send-lease-updates on (Replicate answers at once
		// while it is off).
		pc.Replicator = d.ha
		pc.Order = d.order
	}
	if d.pl, err = pipeline.New(pc); err != nil {
		return nil, err
	}
	es, err := d.buildEngine(cfg)
	if err != nil {
		return nil, err
	}
	d.engine.Store(es)
	d.pl.SetEngine(es.e)
	d.registerCommands(cfg.Dhcp4)
	return d, nil
}

// setupLogging applies the loggers section (or -d).
func (d *Daemon) setupLogging(c *config.Dhcp4) error {
	var entries []logging.Entry
	for _, l := range c.Loggers {
		e := logging.Entry{Name: l.Name, Severity: l.Severity, DebugLevel: l.DebugLevel}
		for _, o := range l.OutputOptions {
			e.Outputs = append(e.Outputs, logging.Output{Output: o.Output, MaxSize: o.MaxSize, MaxVer: o.MaxVer})
		}
		entries = append(entries, e)
	}
	if d.opt.Debug {
		entries = []logging.Entry{{Name: logging.Root, Severity: "DEBUG", DebugLevel: 99, Outputs: []logging.Output{{Output: "stdout"}}}}
	}
	base := zerolog.New(os.Stdout).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	logs, err := logging.New(entries, base)
	if err != nil {
		return fmt.Errorf("loggers: %w", err)
	}
	d.logs = logs
	d.log = logs.For(logging.Root, "daemon")
	// A panic that exits the process first closes the file and syslog
	// outputs, so its log line is written out.
	crash.SetFlush(func() { _ = logs.Close() })
	return nil
}

// openStore opens the lease store: memfile, or PostgreSQL (leasedb.go).
func (d *Daemon) openStore(c *config.Dhcp4) error {
	db := c.LeaseDatabase
	if db.Type == "postgresql" {
		return d.openPgSQL(db)
	}
	name := db.Name
	if name == "" {
		name = config.DefaultLeaseFile
	}
	if db.Persist {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			if permissionDenied(err) {
				return leaseDirError(name, err)
			}
			return fmt.Errorf("lease file directory: %w", err)
		}
	}
	store, report, err := lease.Open(lease.Options{
		Path:         name,
		Persist:      db.Persist,
		MaxRowErrors: int(db.MaxRowErrors),
		LFCInterval:  time.Duration(db.LFCInterval) * time.Second,
		OnChange:     d.leaseChanged,
		Logger:       d.logs.Get(logging.Dhcpsrv),
	})
	if err != nil {
		if db.Persist && permissionDenied(err) {
			return leaseDirError(name, err)
		}
		return fmt.Errorf("open lease database: %w", err)
	}
	d.store = store
	if report != nil {
		d.log.Info().Str("file", name).Int("leases", report.Leases).Int("row-errors", len(report.Errors)).Msg("lease file loaded")
	}
	return nil
}

// openHosts connects to the hosts-database(s), failing when one cannot be
// reached or does not have Kea 2.2's schema, as kea-dhcp4 fails to
// configure (docs/kea/hosts-db.md §2); a connection lost later follows docs/kea/hosts-db.md §7.
func (d *Daemon) openHosts(c *config.Dhcp4) error {
	if len(c.HostsDatabases) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	hs, err := hostdb.OpenAll(ctx, c.HostsDatabases, c.Defs, workerCount(c)+1,
		hostdb.Options{Recovery: dbRecovery{d}, Logger: d.logs.Get(logging.Dhcpsrv)})
	if err != nil {
		return err
	}
	d.hosts = hs
	for _, h := range c.HostsDatabases {
		if h.Type != "postgresql" {
			continue
		}
		d.log.Info().Str("type", h.Type).Str("name", h.Name).Str("host", h.Host).Int("port", h.Port).
			Bool("readonly", h.ReadOnly).Msg("hosts-database opened")
	}
	return nil
}

// leaseChanged is the store's change hook: the engine keeps its allocator
// and statistics in step with every change, whoever made it.
func (d *Daemon) leaseChanged(c lease.Change) {
	if es := d.engine.Load(); es != nil {
		es.e.LeaseChanged(c)
	}
	d.adm.changed(c)
	d.renew.Load().forget(c)
}

// workerCount is Kea's thread-pool-size (0 = CPUs), 1 without multi-threading.
func workerCount(c *config.Dhcp4) int {
	if !c.MultiThreading.EnableMultiThreading {
		return 1
	}
	if n := int(c.MultiThreading.ThreadPoolSize); n > 0 {
		return n
	}
	return numCPU()
}

// buildEngine compiles cfg into an engine over the open store.
func (d *Daemon) buildEngine(cfg *config.Config) (*engineSet, error) {
	deps := dhcp.Deps{
		Store:  d.store,
		Stats:  d.reg,
		Logger: d.logs.Get(logging.Leases),
		Order:  d.order,
	}
	if d.ha != nil {
		deps.ScopeFilter = d.ha.scopeFilter()
	}
	if len(d.hosts) > 0 {
		deps.Hosts = d.hosts
	}
	e, err := dhcp.New(cfg, deps)
	if err != nil {
		return nil, err
	}
	// Formatted option values in dhcp4_options are read with the new
	// configuration's option definitions from now on.
	d.hosts.SetOptionDefs(cfg.Dhcp4.Defs)
	return &engineSet{e: e}, nil
}

// startReclaim runs the engine's reclamation timers until the engine is
// replaced or the daemon stops.
func (d *Daemon) startReclaim(es *engineSet) {
	ctx, cancel := context.WithCancel(d.ctx)
	es.cancel = cancel
	crash.Go(d.log, "lease-reclaim", func() { es.e.ReclaimLoop(ctx) })
}

// registerCommands installs the control commands for cfg.
func (d *Daemon) registerCommands(c *config.Dhcp4) {
	(&servercmds.Commands{Daemon: d, Stats: d.reg, State: d.ns}).Register(d.disp)
	if c.LeaseCmds {
		lc := &leasecmds.Commands{Store: d.store, Subnets: subnetIndex(c)}
		lc.Register(d.disp)
	} else {
		leasecmds.Unregister(d.disp)
	}
	if d.ha != nil {
		d.ha.registerCommands(d.disp)
	}
}

// Run serves until the context ends or a shutdown command arrives.
func (d *Daemon) Run(ctx context.Context) (int, error) {
	d.ctx = ctx
	defer d.close()
	// Deferred after close, so it runs first: a panic here (a reload, a
	// shutdown) exits before close could block on what it left behind.
	defer crash.Recover(d.log, "daemon")
	d.startReclaim(d.engine.Load())

	// Data path and HA first, then the metrics and the control socket: a
	// control socket that answers means a server that serves.
	dp, err := d.startDataPath(ctx)
	if err != nil {
		return 1, err
	}
	d.data = dp
	d.startRenew(dp.xdp)
	if err := d.startHA(ctx); err != nil {
		return 1, err
	}
	d.startDropReport(ctx, dropReportEvery, d.logs.For(logging.Packets, "daemon"))
	if l := d.cfg.Dhcp4.XDHCP.Prometheus.Listen; l != "" {
		if err := d.startMetrics(l); err != nil {
			return 1, err
		}
	}
	if d.ctrl != nil {
		crash.Go(d.log, "control-socket", func() {
			if err := d.ctrl.Serve(ctx); err != nil {
				d.log.Error().Err(err).Msg("control socket stopped")
			}
		})
	}
	d.log.Info().Str("config", d.path).Int("workers", workerCount(d.cfg.Dhcp4)).Str("datapath", dp.mode()).Msg("xdhcpd serving")
	// The data path is attached and HA started (not necessarily serving:
	// that waits for the partner): the service manager's start is over.
	d.notify("READY=1\nSTATUS=running, data path " + dp.mode())
	wdCtx, wdStop := context.WithCancel(ctx)
	defer wdStop() // before close() stops the workers the watchdog probes
	d.startWatchdog(wdCtx)
	defer d.notify("STOPPING=1")

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			d.log.Info().Msg("signal received, shutting down")
			return 0, nil
		case code := <-d.shutdown:
			d.log.Info().Int("exit-value", code).Msg("shutdown command received")
			return code, nil
		case <-hup:
			d.notify("RELOADING=1\nSTATUS=reloading " + d.path)
			if err := d.ConfigReload(); err != nil {
				d.log.Error().Err(err).Msg("configuration reload refused; the running configuration keeps serving")
				d.notify("READY=1\nSTATUS=running, data path " + dp.mode() + "; last reload refused: " + oneLine(err.Error()))
			} else {
				d.log.Info().Msg("configuration reloaded")
				d.notify("READY=1\nSTATUS=running, data path " + dp.mode())
			}
		}
	}
}

// close stops receiving, finishes in-flight packets, flushes the leases and
// removes the control socket, in that order.
func (d *Daemon) close() {
	if d.ha != nil {
		d.ha.buckets.detach() // the kernel maps go away with the data path
	}
	if d.data != nil {
		d.data.stop() // pending replies complete or are dropped here
	}
	d.pl.Close()
	d.closeHA()
	if es := d.engine.Load(); es != nil && es.cancel != nil {
		es.cancel()
	}
	if d.ctrl != nil {
		d.ctrl.Close()
	}
	if d.prom != nil {
		d.prom.Close()
	}
	d.ns.Stop()
	d.adm.close()
	if err := d.store.Close(); err != nil {
		d.log.Error().Err(err).Msg("closing the lease database")
	}
	d.hosts.Close()
	d.log.Info().Msg("xdhcpd stopped")
	d.logs.Close()
}

// startMetrics serves Prometheus metrics.
func (d *Daemon) startMetrics(addr string) error {
	c := metrics.New(d.reg.Snapshot)
	if d.data != nil {
		d.data.addMetrics(c)
	}
	if d.ha != nil {
		d.ha.addMetrics(c)
	}
	c.AddControl(d.controlCounters)
	s, err := metrics.Listen(addr, c, d.cfg.Dhcp4.XDHCP.Prometheus.Pprof)
	if err != nil {
		return err
	}
	d.prom = s
	d.log.Info().Str("listen", s.Addr()).Msg("prometheus metrics")
	return nil
}

// controlCounters are the dispatcher's (command panics, control socket and
// HA listener alike) and the control socket's counters.
func (d *Daemon) controlCounters() map[string]int64 {
	m := d.disp.Counters()
	if d.ctrl != nil {
		for k, v := range d.ctrl.Counters() {
			m["socket_"+k] = v
		}
	}
	return m
}

// --- servercmds.Daemon ---

// parseRaw parses a config-set/config-test argument ({"Dhcp4": ...}).
func parseRaw(raw json.RawMessage) (*config.Config, error) {
	cfg, _, err := config.Parse("<command>", raw)
	return cfg, err
}

// ConfigGet returns the running configuration.
func (d *Daemon) ConfigGet() map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg.Tree()
}

// ConfigTest checks a configuration, including building an engine from it.
func (d *Daemon) ConfigTest(raw json.RawMessage) error {
	cfg, err := parseRaw(raw)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.restartOnly(cfg); err != nil {
		return err
	}
	return checkConfig(cfg)
}

// ConfigSet applies a configuration.
func (d *Daemon) ConfigSet(raw json.RawMessage) error {
	cfg, warnings, err := config.Parse("<command>", raw)
	if err != nil {
		return err
	}
	for _, w := range append(warnings, Lint(cfg)...) {
		d.log.Warn().Str("at", w.Pos.String()).Msg(w.Msg)
	}
	return d.apply(cfg)
}

// ConfigReload re-reads the startup file.
func (d *Daemon) ConfigReload() error {
	cfg, warnings, err := config.Load(d.path)
	if err != nil {
		return err
	}
	for _, w := range append(warnings, Lint(cfg)...) {
		d.log.Warn().Str("at", w.Pos.String()).Msg(w.Msg)
	}
	return d.apply(cfg)
}

// apply swaps in a new configuration without dropping leases: a new engine
// over the same store replaces the old one between two packets, and a new
// HA service the old one (hareload.go). Settings that live outside the
// engine (sockets, lease file, adding or removing HA) need a restart; a
// configuration changing them is refused and the old one keeps serving.
func (d *Daemon) apply(cfg *config.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.restartOnly(cfg); err != nil {
		return err
	}
	nextHA, err := d.prepareHA(cfg.Dhcp4)
	if err != nil {
		return err
	}
	es, err := d.buildEngine(cfg)
	if err != nil {
		return err
	}
	if nextHA != nil {
		if err := d.swapHA(nextHA, d.cfg.Dhcp4); err != nil {
			return err
		}
	}
	if x := cfg.Dhcp4.XDHCP; d.ctrl != nil {
		// control-socket-mode and -group apply to the live socket.
		if err := d.ctrl.SetOwnership(os.FileMode(x.ControlSocketMode), x.ControlSocketGID, x.ControlSocketGID >= 0); err != nil {
			return err
		}
	}
	old := d.engine.Swap(es)
	d.pl.SetEngine(es.e)
	d.pl.SetParkedLimit(int(cfg.Dhcp4.ParkedPacketLimit))
	if d.ctx != nil {
		d.startReclaim(es)
	}
	if old != nil && old.cancel != nil {
		old.cancel()
	}
	d.applyRateLimits(cfg.Dhcp4)
	if r := d.renew.Load(); r != nil && r.xr != nil {
		r.configure(cfg.Dhcp4, false)
	}
	d.cfg = cfg
	d.registerCommands(cfg.Dhcp4)
	d.reloaded = time.Now()
	return nil
}

// restartOnly refuses changes that need a restart.
func (d *Daemon) restartOnly(next *config.Config) error {
	cur, nx := d.cfg.Dhcp4, next.Dhcp4
	same := func(a, b any) bool {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return bytes.Equal(ja, jb)
	}
	checks := []struct {
		name string
		a, b any
	}{
		{"lease-database", stripPos(cur.LeaseDatabase), stripPos(nx.LeaseDatabase)},
		{"hosts-database(s)", hostsShape(cur), hostsShape(nx)},
		{"interfaces-config", cur.InterfacesConfig.Interfaces, nx.InterfacesConfig.Interfaces},
		{"control-socket", socketName(cur), socketName(nx)},
		{"multi-threading", [2]any{cur.MultiThreading.EnableMultiThreading, cur.MultiThreading.ThreadPoolSize}, [2]any{nx.MultiThreading.EnableMultiThreading, nx.MultiThreading.ThreadPoolSize}},
		{"user-context.xdhcp.datapath", cur.XDHCP.Datapath, nx.XDHCP.Datapath},
		// The tables are sized when the maps are created; rates reload.
		{"user-context.xdhcp.rate-limits table-size and known-clients",
			[2]uint32{cur.XDHCP.RateLimits.TableSize, cur.XDHCP.RateLimits.KnownClients},
			[2]uint32{nx.XDHCP.RateLimits.TableSize, nx.XDHCP.RateLimits.KnownClients}},
	}
	for _, c := range checks {
		if !same(c.a, c.b) {
			return fmt.Errorf("changing %s requires a restart of xdhcpd", c.name)
		}
	}
	return haChange(cur, nx)
}

// hostsShape is the hosts databases without positions: the connections
// are opened at start, so a change needs a restart.
func hostsShape(c *config.Dhcp4) []config.HostsDatabase {
	out := make([]config.HostsDatabase, 0, len(c.HostsDatabases))
	for _, h := range c.HostsDatabases {
		x := *h
		x.Pos = config.Pos{}
		out = append(out, x)
	}
	return out
}

func stripPos(db config.LeaseDatabase) config.LeaseDatabase { db.Pos = config.Pos{}; return db }

func socketName(c *config.Dhcp4) string {
	if c.ControlSocket == nil {
		return ""
	}
	return c.ControlSocket.SocketName
}

// ConfigFile is the configuration file the daemon was started with;
// config-write writes only into its directory (servercmds).
func (d *Daemon) ConfigFile() string { return d.path }

// ConfigRender is the running configuration in Kea 2.2's syntax, as
// config-write writes it.
func (d *Daemon) ConfigRender() ([]byte, error) {
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	var buf bytes.Buffer
	if err := cfg.WriteKea22(&buf); err != nil {
		return nil, fmt.Errorf("render the running configuration: %w", err)
	}
	return buf.Bytes(), nil
}

// Shutdown asks run to return with the exit value.
func (d *Daemon) Shutdown(code int) {
	select {
	case d.shutdown <- code:
	default:
	}
}

// Reclaim reclaims every expired lease now.
func (d *Daemon) Reclaim(remove bool) error {
	_, err := d.engine.Load().e.ReclaimAll(remove)
	return err
}

// Status is status-get's arguments.
func (d *Daemon) Status() map[string]any {
	d.mu.Lock()
	mt := d.cfg.Dhcp4.MultiThreading
	pool := workerCount(d.cfg.Dhcp4)
	d.mu.Unlock()
	now := time.Now()
	st := map[string]any{
		"pid":                     os.Getpid(),
		"uptime":                  int64(now.Sub(d.started).Seconds()),
		"reload":                  int64(now.Sub(d.reloaded).Seconds()),
		"multi-threading-enabled": mt.EnableMultiThreading,
		"sockets":                 map[string]any{"status": "ready"},
	}
	if mt.EnableMultiThreading {
		st["thread-pool-size"] = pool // as configured (0 = CPUs); the XDP path adds its own
		st["packet-queue-size"] = mt.PacketQueueSize
		st["packet-queue-statistics"] = []float64{0, 0, 0}
		if d.data != nil {
			st["packet-queue-statistics"] = d.data.queueStats()
		}
	}
	if d.ha != nil {
		st["high-availability"] = d.ha.status()
	}
	return st
}

// --- leasecmds.Subnets from the configuration ---

type subnetInfo struct {
	prefix netip.Prefix
	valid  uint32
	order  int // position in the configuration
}

// subnets maps subnet ids to what the lease commands check.
type subnets map[uint32]subnetInfo

func subnetIndex(c *config.Dhcp4) subnets {
	m := subnets{}
	for i, s := range c.AllSubnets() {
		r := c.Resolve(s)
		m[s.ID] = subnetInfo{prefix: s.Subnet, valid: *r.ValidLifetime, order: i}
	}
	return m
}

// SubnetIDs implements leasecmds.SubnetLister: ids in configuration order.
func (m subnets) SubnetIDs() []uint32 {
	ids := make([]uint32, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return m[ids[i]].order < m[ids[j]].order })
	return ids
}

// Subnet implements leasecmds.Subnets.
func (m subnets) Subnet(id uint32) (netip.Prefix, uint32, bool) {
	s, ok := m[id]
	return s.prefix, s.valid, ok
}

// SubnetFor implements leasecmds.Subnets.
func (m subnets) SubnetFor(addr netip.Addr) (uint32, bool) {
	var best uint32
	for id, s := range m {
		if s.prefix.Contains(addr) && (best == 0 || id < best) {
			best = id
		}
	}
	return best, best != 0
}
