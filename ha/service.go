package ha

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/ha/peer"
	"github.com/xdhcp/xdhcp/internal/crash"
	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// LeaseStore is what lease synchronisation needs from the lease store
// (userspace/lease.Store implements it).
type LeaseStore interface {
	Get(addr netip.Addr) (*lease.Lease, bool)
	Put(l *lease.Lease) (added bool, err error)
}

// DHCPService switches the DHCP service per origin ("user", "ha-partner"),
// as Kea's network state does: the service runs only when no origin has it
// disabled. A positive maxPeriod re-enables that origin after the period.
// Implementations must not call back into the HA Service.
type DHCPService interface {
	DisableDHCP(maxPeriod time.Duration, origin string)
	EnableDHCP(origin string)
	// Enabled is the effective network state: no origin (an operator's
	// or a partner's dhcp-disable included) has the service disabled.
	Enabled() bool
}

// BucketSetter receives the 256-entry bucket table: serve[h] is true when
// this server answers queries whose RFC 3074 hash is h. The XDP loader
// implements it.
type BucketSetter interface {
	SetBuckets(serve [256]bool) error
}

// Deps are the collaborators of a Service. Leases and DHCP are required;
// Buckets may be nil (no XDP filter).
type Deps struct {
	Leases  LeaseStore
	DHCP    DHCPService
	Buckets BucketSetter
	Logger  zerolog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Commands is the dispatcher the peer listener serves: the daemon's,
	// shared with the control socket, on which the owners registered their
	// commands (leasecmds, servercmds, and this Service through Register),
	// as Kea serves both from one command manager. nil: a dispatcher of
	// the Service's own with only the HA commands and list-commands.
	Commands *control.Dispatcher
	// Write is write(2) for the lease updates' sockets, which the DHCP
	// hot path writes on (peer.UpdateClient.SetWrite): the daemon gives
	// afxdp.RawWrite. nil: unix.Write.
	Write func(fd int, b []byte) (int, error)
}

// Service is one HA relationship: state machine, heartbeats, lease updates
// and the peer listener.
type Service struct {
	cfg  Config
	deps Deps
	log  zerolog.Logger
	now  func() time.Time
	this *Peer
	// partner is the failover peer (Kea: getFailoverPeerConfig): nil in
	// passive-backup and on a backup server, which then send no heartbeats
	// and have no client towards it.
	partner *Peer
	active  [2]*Peer // primary, then secondary or standby (nil in passive-backup)
	client  caller
	// updates carries the hot path's lease updates; partnerSW is what the
	// clients learned about the partner's software.
	updates updateSender
	// backups are the backup peers this server sends lease updates to in
	// every state (none on a backup server: Kea's shouldSendLeaseUpdates).
	backups   []*backupPeer
	partnerSW peer.PartnerInfo
	cmds      *control.Dispatcher // what the peer listener serves
	// clientTLS is the TLS configuration towards the partner, serverTLS
	// our listener's (nil: plain HTTP).
	clientTLS, serverTLS *tls.Config

	// scopeBits is the hot-path copy of the served scopes: bit 0 primary,
	// bit 1 secondary, bit 2 DHCP service enabled by the state.
	scopeBits atomic.Uint32
	// lastPoke is the unix-nano time of the last successful heartbeat (or
	// start), read on the hot path.
	lastPoke atomic.Int64

	mu             sync.Mutex
	state          State
	prevState      State // state before in-maintenance / partner-in-maintenance
	served         [2]bool
	paused         bool
	pausedOnce     map[State]bool
	maintCanceled  bool
	maintFailover  bool // partner-down entered through ha-maintenance-start
	partnerState   State
	partnerScopes  []string
	inTouch        bool
	partnerUnsent  [2]uint64 // previous, current unsent-update-count of the partner
	unsent         uint64    // our unsent-update-count
	skew           time.Duration
	lastSkewWarn   time.Time
	syncNotified   bool // ha-sync-complete-notify received in partner-down
	backlog        []update
	overflowed     bool
	lastTransition time.Time

	det detector
	ctr counters // named failure counters (counters.go)
	// reqTimeout bounds each command to the partner (Kea's fixed
	// TIMEOUT_DEFAULT_HTTP_CLIENT_REQUEST, peer.RequestTimeout); tests
	// shorten it.
	reqTimeout time.Duration
	// bucketsAll: the pushed bucket table is "all buckets" because
	// communication with the partner is interrupted (refreshBucketsLocked).
	bucketsAll bool

	kick    chan struct{}
	runMu   sync.Mutex // serialises runModel
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	srv     listener
	handler *peer.Handler // the peer listener's
	lstats  peer.Stats    // the peer listener's counters
	ln      net.Listener
	started bool
}

// New validates cfg and builds a stopped Service in the waiting state.
func New(cfg Config, deps Deps) (*Service, error) {
	var err error
	if err = cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ha config: %w", err)
	}
	if deps.Leases == nil || deps.DHCP == nil {
		return nil, errors.New("ha: leases and dhcp dependencies are required")
	}
	s := &Service{cfg: cfg, deps: deps, now: deps.Now, kick: make(chan struct{}, 1), reqTimeout: peer.RequestTimeout,
		pausedOnce: map[State]bool{}, cmds: deps.Commands}
	if s.cmds == nil {
		s.cmds = control.NewDispatcher()
		s.Register(s.cmds)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.log = deps.Logger.With().Str("component", "ha").Logger()
	s.this = s.cfg.peer(cfg.ThisServerName)
	for i := range s.cfg.Peers {
		p := &s.cfg.Peers[i]
		switch p.Role {
		case RolePrimary:
			s.active[0] = p
		case RoleSecondary, RoleStandby:
			s.active[1] = p
		}
	}
	switch {
	case s.this.Role == RoleBackup:
	case s.active[0] == s.this:
		s.partner = s.active[1] // nil in passive-backup
	default:
		s.partner = s.active[0]
	}
	conns := int(cfg.MultiThreading.HTTPClientThreads)
	if conns < 1 {
		conns = 1
	}
	if tp := s.cfg.tlsFor(s.this); tp.Enabled() {
		m, err := tp.Load()
		if err != nil {
			return nil, fmt.Errorf("ha config: bad TLS config for server %s: %w", s.this.Name, err)
		}
		s.serverTLS = m.ServerConfig(cfg.RequireClientCerts)
	}
	if s.partner != nil {
		if s.clientTLS, err = s.clientTLSFor(s.partner); err != nil {
			return nil, err
		}
		if s.client, err = peer.NewClient(s.partner.target(), s.clientTLS, conns, false, &s.partnerSW); err != nil {
			return nil, err
		}
		uc, err := peer.NewUpdateClient(s.partner.target(), s.clientTLS, conns, &s.partnerSW)
		if err != nil {
			return nil, err
		}
		uc.SetWrite(deps.Write)
		s.updates = uc
	}
	if s.this.Role != RoleBackup {
		if err = s.newBackups(conns); err != nil {
			return nil, err
		}
	}
	s.handler = s.newHandler()
	s.det.maxAck = cfg.MaxAckDelay
	s.det.reset()
	s.lastPoke.Store(s.now().UnixNano())
	s.mu.Lock()
	s.partnerScopes = []string{}
	s.transitionLocked(StateWaiting)
	s.mu.Unlock()
	return s, nil
}

// Start binds the peer listener on this server's URL and starts the
// heartbeat/state-machine loop. The first heartbeat goes out after
// heartbeat-delay, as in Kea.
func (s *Service) Start(ctx context.Context) error {
	_, addr, err := peer.HostPort(s.this.URL)
	if err != nil {
		return fmt.Errorf("ha listener: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("ha listener on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Start with a caller-provided listener (tests, socket activation).
// The listener is plain TCP: Serve adds TLS when this server's entry has it.
func (s *Service) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		_ = ln.Close()
		return errors.New("ha: already started")
	}
	s.started = true
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.ln = ln
	srv := peer.NewServer(ctx, s.handler, s.serverTLS, s.log, &s.lstats, bodyCap(&s.cfg), peer.MaxConns)
	srv.SetWrite(s.deps.Write)
	s.srv = srv
	s.lastPoke.Store(s.now().UnixNano())
	s.wg.Add(2)
	crash.Go(s.log, "ha listener", func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil {
			s.log.Error().Err(err).Msg("ha listener stopped")
		}
	})
	if s.partner == nil {
		// No heartbeat will ever run the state machine: run it now, as
		// Kea's startModel does (waiting → passive-backup or backup).
		s.kickModel()
	}
	crash.Go(s.log, "ha state machine", func() {
		defer s.wg.Done()
		s.loop(ctx)
	})
	partner := ""
	if s.partner != nil {
		partner = s.partner.Name
	}
	s.log.Info().Str("listen", ln.Addr().String()).Str("this", s.this.Name).Str("mode", s.cfg.Mode).
		Str("role", s.this.Role).Str("partner", partner).Int("backups", len(s.backups)).
		Bool("restrict-commands", s.cfg.RestrictCommands).Msg("ha service started")
	s.warnUnprotected(ln.Addr().String())
	return nil
}

// Addr returns the listener address (nil before Start).
func (s *Service) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Stop stops the loop and the listener and waits for both goroutines.
func (s *Service) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
	s.wg.Wait()
	if s.client != nil {
		s.client.Close()
		s.updates.Close()
	}
	for _, b := range s.backups {
		b.updates.Close()
	}
}

// State returns the current state name.
func (s *Service) State() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.String()
}

// PartnerState returns the last known partner state name ("" before contact,
// "unavailable" after a failure).
func (s *Service) PartnerState() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.partnerState.String()
}
