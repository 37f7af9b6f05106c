package daemon

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/ha"
	"github.com/xdhcp/xdhcp/userspace/afxdp"
	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/logging"
	"github.com/xdhcp/xdhcp/userspace/metrics"
	"github.com/xdhcp/xdhcp/userspace/netstate"
)

// haRuntime connects the HA service to the engine, the service switch, the
// control socket and (when XDP runs) the kernel's bucket map. A reload
// replaces the service (hareload.go); everything else holds the runtime,
// which forwards to the current service: the pipeline's Replicator, the
// engines' ScopeFilter, metrics and status.
type haRuntime struct {
	cur     atomic.Pointer[ha.Service]
	buckets *bucketRelay
	started atomic.Bool // Start ran: the daemon is serving
}

// svc is the current HA service.
func (h *haRuntime) svc() *ha.Service { return h.cur.Load() }

// Replicate implements pipeline.Replicator for the current service.
func (h *haRuntime) Replicate(changes []lease.Change, done func(error)) {
	h.svc().Replicate(changes, done)
}

// Scope implements dhcp.ScopeFilter for the current service.
func (h *haRuntime) Scope(msg *dhcpv4.DHCPv4) (string, bool) { return h.svc().Scope(msg) }

// setupHA builds the HA service when libdhcp_ha.so is configured.
func (d *Daemon) setupHA(c *config.Dhcp4) error {
	if c.HA == nil {
		return nil
	}
	relay := &bucketRelay{}
	svc, err := newHAService(c, d.haDeps(relay))
	if err != nil {
		return err
	}
	if !c.LeaseCmds {
		// As in Kea: the partner's lease4-update/lease4-del/lease4-get-page
		// are lease_cmds commands and get "not supported" without it.
		own := d.logs.For(logging.HA, "daemon") // log is ha's, which tags its own
		own.Warn().Msgf("%s is loaded without %s: the partner's lease updates and lease synchronisation will fail",
			config.HookHA, config.HookLeaseCmds)
	}
	d.ha = &haRuntime{buckets: relay}
	d.ha.cur.Store(svc)
	return nil
}

// haDeps are the HA service's dependencies; the bucket relay outlives the
// services a reload replaces.
func (d *Daemon) haDeps(relay *bucketRelay) ha.Deps {
	return ha.Deps{
		Leases:   d.store,
		DHCP:     haNetState{d.ns},
		Buckets:  relay,
		Logger:   d.logs.Get(logging.HA),
		Commands: d.disp, // the peer listener serves the control socket's commands
		Write:    afxdp.RawWrite,
	}
}

// newHAService converts c's libdhcp_ha.so parameters and builds the
// (stopped) HA service: every HA check of start-up, config-test and -t.
func newHAService(c *config.Dhcp4, deps ha.Deps) (*ha.Service, error) {
	cfg, err := haConfig(c.HA, workerCount(c))
	if err != nil {
		return nil, err
	}
	svc, err := ha.New(cfg, deps)
	if err != nil {
		return nil, fmt.Errorf("high availability: %w", err)
	}
	return svc, nil
}

// haConfig converts the parsed libdhcp_ha.so parameters. coreThreads is the
// DHCP core's thread count: as in Kea, http-listener-threads and
// http-client-threads of 0 mean "as many as the core uses", so that as many
// lease updates can be in flight as packets are being processed.
func haConfig(h *config.HAConfig, coreThreads int) (ha.Config, error) {
	cfg := ha.Config{
		ThisServerName:      h.ThisServerName,
		Mode:                h.Mode,
		HeartbeatDelay:      h.HeartbeatDelay,
		MaxResponseDelay:    h.MaxResponseDelay,
		MaxAckDelay:         h.MaxAckDelay,
		MaxUnackedClients:   h.MaxUnackedClients,
		DelayedUpdatesLimit: h.DelayedUpdatesLimit,
		SendLeaseUpdates:    h.SendLeaseUpdates,
		SyncLeases:          h.SyncLeases,
		SyncTimeout:         h.SyncTimeout,
		SyncPageLimit:       h.SyncPageLimit,
		WaitBackupAck:       h.WaitBackupAck,
		RestrictCommands:    h.RestrictCommands,
		RequireClientCerts:  h.RequireClientCerts,
		TrustAnchor:         h.TrustAnchor,
		CertFile:            h.CertFile,
		KeyFile:             h.KeyFile,
		MultiThreading: ha.MultiThreading{
			Enable:                h.MultiThreading.EnableMultiThreading,
			HTTPDedicatedListener: h.MultiThreading.HTTPDedicatedListener,
			HTTPListenerThreads:   orThreads(h.MultiThreading.HTTPListenerThreads, coreThreads),
			HTTPClientThreads:     orThreads(h.MultiThreading.HTTPClientThreads, coreThreads),
		},
	}
	for _, s := range h.StateMachine {
		cfg.StateMachine = append(cfg.StateMachine, ha.StatePause{State: s.State, Pause: s.Pause})
	}
	for _, p := range h.Peers {
		pw := p.BasicAuthPassword
		if p.BasicAuthPasswordFile != "" {
			b, err := os.ReadFile(p.BasicAuthPasswordFile)
			if err != nil {
				return cfg, fmt.Errorf("peer %s: basic-auth-password-file: %w", p.Name, err)
			}
			pw = strings.TrimRight(string(b), "\r\n")
		}
		cfg.Peers = append(cfg.Peers, ha.Peer{
			Name: p.Name, URL: p.URL, Role: p.Role, AutoFailover: p.AutoFailover,
			BasicAuthUser: p.BasicAuthUser, BasicAuthPassword: pw,
			TrustAnchor: p.TrustAnchor, CertFile: p.CertFile, KeyFile: p.KeyFile, TLSSet: p.TLSSet,
		})
	}
	return cfg, cfg.Validate()
}

// orThreads is n, or the core's thread count when n is 0.
func orThreads(n uint32, core int) uint32 {
	if n == 0 && core > 0 {
		return uint32(core)
	}
	return n
}

// startHA starts the peer listener and the state machine.
func (d *Daemon) startHA(ctx context.Context) error {
	if d.ha == nil {
		return nil
	}
	// Under d.mu: a reload (apply) swaps the service only before or
	// after this start, never during it.
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ha.svc().Start(ctx); err != nil {
		return fmt.Errorf("start high availability: %w", err)
	}
	d.ha.started.Store(true)
	return nil
}

// closeHA stops the HA service.
func (d *Daemon) closeHA() {
	if d.ha != nil {
		d.ha.svc().Stop()
	}
}

func (h *haRuntime) scopeFilter() dhcp.ScopeFilter { return h }

func (h *haRuntime) status() any { return h.svc().Status() }

// registerCommands adds the HA commands (ha-heartbeat, ha-scopes,
// ha-continue, ha-sync, ha-maintenance-*, ha-reset, ha-sync-complete-notify)
// to the dispatcher that both the control socket and the peer listener serve.
func (h *haRuntime) registerCommands(disp *control.Dispatcher) {
	h.svc().Register(disp)
}

// addMetrics exports the HA state.
func (h *haRuntime) addMetrics(c *metrics.Collector) {
	c.AddHA(func() string { return h.svc().State() },
		func() string { return h.svc().PartnerState() },
		func() map[string]int64 { return h.svc().ListenerCounters() },
		func() map[string]int64 { return h.svc().Counters() })
	// Lease updates to each backup server (a failure drops the reply only
	// with wait-backup-ack).
	c.AddHABackups(func() map[string][2]int64 { return h.svc().BackupCounters() })
}

// haNetState lets HA disable and enable the DHCP service through the
// network state. HA speaks Kea's origin names ("ha-partner"); anything
// else it might send is still HA's doing.
type haNetState struct{ ns *netstate.State }

func haOrigin(name string) netstate.Origin {
	if o, err := netstate.ParseOrigin(name); err == nil {
		return o
	}
	return netstate.HA
}

func (s haNetState) DisableDHCP(maxPeriod time.Duration, origin string) {
	_ = s.ns.DisableFor(haOrigin(origin), maxPeriod) // never the database origin
}

func (s haNetState) EnableDHCP(origin string) { s.ns.EnableAll(haOrigin(origin)) }

func (s haNetState) Enabled() bool { return s.ns.Enabled() }

// bucketRelay forwards HA's bucket table to the XDP data path once it
// exists, replaying the latest table when the data path attaches.
type bucketRelay struct {
	mu     sync.Mutex
	last   *[256]bool
	target interface{ SetBuckets([256]bool) error }
}

// SetBuckets implements ha.BucketSetter.
func (r *bucketRelay) SetBuckets(serve [256]bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = &serve
	if r.target == nil {
		return nil
	}
	return r.target.SetBuckets(serve)
}

// attach starts forwarding to t. Until HA publishes a table, the kernel
// serves nothing of the balanced types: the HA service starts in waiting.
func (r *bucketRelay) attach(t interface{ SetBuckets([256]bool) error }) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target = t
	if r.last != nil {
		return t.SetBuckets(*r.last)
	}
	return t.SetBuckets([256]bool{})
}

// detach stops forwarding (the data path is closing).
func (r *bucketRelay) detach() {
	r.mu.Lock()
	r.target = nil
	r.mu.Unlock()
}
