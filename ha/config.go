package ha

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xdhcp/xdhcp/ha/peer"
)

// Modes of an HA relationship (only load-balancing is implemented).
const (
	ModeLoadBalancing = "load-balancing"
	ModeHotStandby    = "hot-standby"
	ModePassiveBackup = "passive-backup"
)

// Peer roles.
const (
	RolePrimary   = "primary"
	RoleSecondary = "secondary"
	RoleStandby   = "standby"
	RoleBackup    = "backup"
)

// Config is one libdhcp_ha.so relationship (docs/kea/ha-protocol.md §10). The config
// package parses Kea's JSON into its own struct; cmd/xdhcpd converts. Use
// DefaultConfig for Kea's defaults: the zero value is not a valid config.
type Config struct {
	ThisServerName      string        // required; must name one of Peers
	Mode                string        // required; only ModeLoadBalancing is supported
	HeartbeatDelay      time.Duration // Kea default 10 s; 0 disables heartbeats
	MaxResponseDelay    time.Duration // Kea default 60 s
	MaxAckDelay         time.Duration // Kea default 10 s
	MaxUnackedClients   uint32        // Kea default 10; 0 = partner-down as soon as interrupted
	DelayedUpdatesLimit uint32        // Kea default 100 in load-balancing; 0 disables communication-recovery
	SendLeaseUpdates    bool          // Kea default true
	SyncLeases          bool          // Kea default true
	SyncTimeout         time.Duration // Kea default 60 s (page timeout and dhcp-disable max-period)
	SyncPageLimit       uint32        // Kea default 10000
	WaitBackupAck       bool          // Kea default false; must be false in load-balancing
	RestrictCommands    bool          // xdhcpd default true (Kea 2.2: false): listener accepts only the HA commands
	RequireClientCerts  bool          // Kea default true: our TLS listener requires and verifies client certificates
	TrustAnchor         string        // TLS CA file or directory; default for every peer (see tls.go)
	CertFile            string        // TLS certificate; default for every peer
	KeyFile             string        // TLS private key; default for every peer
	MultiThreading      MultiThreading
	StateMachine        []StatePause // per-state pause settings
	Peers               []Peer       // required; one primary and one secondary, any number of backups
}

// MultiThreading is high-availability[].multi-threading. Kea 2.2 defaults
// are all false/0; xdhcpd always runs its own listener, so these only size
// the client (ClientThreads connections, 0 = 1).
type MultiThreading struct {
	Enable                bool
	HTTPDedicatedListener bool
	HTTPListenerThreads   uint32
	HTTPClientThreads     uint32
}

// StatePause is one state-machine.states[] entry.
type StatePause struct {
	State string // state name, e.g. "waiting"
	Pause string // "always", "once" or "never" (default)
}

// Peer is one peers[] entry.
type Peer struct {
	Name              string // unique
	URL               string // http(s)://<literal IP>:<port>/; https needs TLS parameters, http with them speaks TLS (Kea 2.2)
	Role              string // primary, secondary or backup
	AutoFailover      bool   // Kea default true
	BasicAuthUser     string // sent when talking to this peer; enforced by our listener when this is us
	BasicAuthPassword string
	TrustAnchor       string // TLS, overrides Config.TrustAnchor: the client towards this peer
	CertFile          string // (and, for this server's own entry, our listener) uses the merged values
	KeyFile           string
	// TLSSet says which of TrustAnchor, CertFile, KeyFile the peer entry
	// gives, even as "": Kea 2.2 (ha_config.cc, HAConfig::validate) takes
	// a peer's specified value over the relationship's, so an empty one
	// turns that parameter off for the peer. A non-empty value counts as
	// given without it.
	TLSSet [3]bool
}

// DefaultConfig returns a Config holding Kea 2.2's defaults for
// load-balancing, except RestrictCommands, which is true as in xdhcpd's
// configuration (config.DefaultRestrictCommands); set ThisServerName and
// Peers before use.
func DefaultConfig() Config {
	return Config{
		Mode:                ModeLoadBalancing,
		HeartbeatDelay:      10 * time.Second,
		MaxResponseDelay:    60 * time.Second,
		MaxAckDelay:         10 * time.Second,
		MaxUnackedClients:   10,
		DelayedUpdatesLimit: 100,
		SendLeaseUpdates:    true,
		SyncLeases:          true,
		SyncTimeout:         60 * time.Second,
		SyncPageLimit:       10000,
		RequireClientCerts:  true,
		RestrictCommands:    true,
	}
}

// Validate checks the relationship the way Kea's HA config parser does for
// the features this package implements.
func (c *Config) Validate() error {
	if c.Mode != ModeLoadBalancing {
		return fmt.Errorf("ha mode %q is not supported (only %q)", c.Mode, ModeLoadBalancing)
	}
	if c.WaitBackupAck {
		return errors.New("wait-backup-ack must be false in load-balancing mode")
	}
	if c.SyncPageLimit == 0 {
		return errors.New("sync-page-limit must be positive")
	}
	for _, sp := range c.StateMachine {
		if _, ok := parseState(sp.State); !ok {
			return fmt.Errorf("state-machine: unknown state %q", sp.State)
		}
		switch sp.Pause {
		case "", "never", "always", "once":
		default:
			return fmt.Errorf("state-machine: invalid pause %q for state %q", sp.Pause, sp.State)
		}
	}
	var primaries, secondaries int
	names := map[string]bool{}
	for i := range c.Peers {
		p := &c.Peers[i]
		if p.Name == "" {
			return fmt.Errorf("peer %d: name is required", i)
		}
		if names[p.Name] {
			return fmt.Errorf("peer %q: duplicate name", p.Name)
		}
		names[p.Name] = true
		if _, _, err := peer.HostPort(p.URL); err != nil {
			return fmt.Errorf("peer %q: %w", p.Name, err)
		}
		if err := c.validateTLS(p); err != nil {
			return err
		}
		switch p.Role {
		case RolePrimary:
			primaries++
		case RoleSecondary:
			secondaries++
		case RoleBackup:
		default:
			return fmt.Errorf("peer %q: role %q is invalid in load-balancing mode", p.Name, p.Role)
		}
	}
	if primaries != 1 || secondaries != 1 {
		return errors.New("load-balancing requires exactly one primary and one secondary peer")
	}
	if !names[c.ThisServerName] {
		return fmt.Errorf("this-server-name %q does not name a peer", c.ThisServerName)
	}
	if c.peer(c.ThisServerName).Role == RoleBackup {
		return errors.New("backup servers are not supported")
	}
	return nil
}

func (c *Config) peer(name string) *Peer {
	for i := range c.Peers {
		if c.Peers[i].Name == name {
			return &c.Peers[i]
		}
	}
	return nil
}

// tlsFor merges p's TLS parameters over the relationship's (see
// peer/tls.go for Kea's rules).
func (c *Config) tlsFor(p *Peer) peer.TLSParams {
	t := peer.TLSParams{TrustAnchor: c.TrustAnchor, CertFile: c.CertFile, KeyFile: c.KeyFile}
	if p.TrustAnchor != "" || p.TLSSet[0] {
		t.TrustAnchor = p.TrustAnchor
	}
	if p.CertFile != "" || p.TLSSet[1] {
		t.CertFile = p.CertFile
	}
	if p.KeyFile != "" || p.TLSSet[2] {
		t.KeyFile = p.KeyFile
	}
	return t
}

// validateTLS checks p's merged TLS parameters against its URL scheme and
// loads the files, as Kea 2.2's HAConfig::validate (ha_config.cc) does:
// https without TLS is refused; TLS with an http:// URL is not checked
// there, and Kea's client and listener then speak TLS anyway, so that is
// accepted and done (the config package warns about it).
func (c *Config) validateTLS(p *Peer) error {
	tp := c.tlsFor(p)
	https := strings.HasPrefix(strings.ToLower(p.URL), "https:")
	if !tp.Enabled() {
		if https {
			return fmt.Errorf("bad url '%s': https scheme is not supported for server %s where TLS is disabled", p.URL, p.Name)
		}
		return nil
	}
	if _, err := tp.Load(); err != nil {
		return fmt.Errorf("bad TLS config for server %s: %w", p.Name, err)
	}
	return nil
}
