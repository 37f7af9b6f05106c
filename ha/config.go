package ha

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xdhcp/xdhcp/ha/peer"
)

// Modes of an HA relationship (docs/kea/ha-protocol.md §10).
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
	Mode                string        // required: ModeLoadBalancing, ModeHotStandby or ModePassiveBackup
	HeartbeatDelay      time.Duration // Kea default 10 s; 0 disables heartbeats
	MaxResponseDelay    time.Duration // Kea default 60 s
	MaxAckDelay         time.Duration // Kea default 10 s
	MaxUnackedClients   uint32        // Kea default 10; 0 = partner-down as soon as interrupted
	DelayedUpdatesLimit uint32        // Kea default 100 in load-balancing, else 0 (required); 0 disables communication-recovery
	SendLeaseUpdates    bool          // Kea default true
	SyncLeases          bool          // Kea default true
	SyncTimeout         time.Duration // Kea default 60 s (page timeout and dhcp-disable max-period)
	SyncPageLimit       uint32        // Kea default 10000
	WaitBackupAck       bool          // Kea default false; true only in passive-backup: replies wait for the backups' acks
	RestrictCommands    bool          // xdhcpd default true (Kea 2.2: false): listener accepts only the HA commands
	RequireClientCerts  bool          // Kea default true: our TLS listener requires and verifies client certificates
	TrustAnchor         string        // TLS CA file or directory; default for every peer (see tls.go)
	CertFile            string        // TLS certificate; default for every peer
	KeyFile             string        // TLS private key; default for every peer
	MultiThreading      MultiThreading
	StateMachine        []StatePause // per-state pause settings
	Peers               []Peer       // required; one primary, one secondary (load-balancing) or standby (hot-standby), any number of backups
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
	Role              string // primary, secondary, standby or backup
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

// Validate checks the relationship as Kea 2.2's HAConfig::validate does
// (src/hooks/dhcp/high_availability/ha_config.cc): the roles each mode
// allows, wait-backup-ack only in passive-backup, delayed-updates-limit 0
// outside load-balancing; the error texts are Kea's.
func (c *Config) Validate() error {
	switch c.Mode {
	case ModeLoadBalancing, ModeHotStandby, ModePassiveBackup:
	default:
		// Kea: HAConfig::stringToHAMode.
		return fmt.Errorf("unsupported value '%s' for mode parameter", c.Mode)
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
	roles := map[string]int{}
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
		case RolePrimary, RoleSecondary, RoleStandby, RoleBackup:
		default:
			// Kea: HAConfig::PeerConfig::stringToRole.
			return fmt.Errorf("unsupported value '%s' for role parameter", p.Role)
		}
		roles[p.Role]++
	}
	if !names[c.ThisServerName] {
		return fmt.Errorf("no peer configuration specified for the '%s'", c.ThisServerName)
	}
	return c.validateRoles(roles)
}

// validateRoles is the part of Kea's HAConfig::validate that counts roles
// and checks the mode's parameters, in Kea's order and with its texts.
func (c *Config) validateRoles(roles map[string]int) error {
	for _, r := range []string{RolePrimary, RoleSecondary, RoleStandby} {
		if roles[r] > 1 {
			return fmt.Errorf("multiple %s servers specified", r)
		}
	}
	switch c.Mode {
	case ModeLoadBalancing:
		switch {
		case roles[RoleStandby] > 0:
			return errors.New("standby servers not allowed in the load balancing configuration")
		case roles[RoleSecondary] == 0:
			return errors.New("secondary server required in the load balancing configuration")
		case roles[RolePrimary] == 0:
			return errors.New("primary server required in the load balancing configuration")
		case c.WaitBackupAck:
			return errors.New("'wait-backup-ack' must be set to false in the load balancing configuration")
		}
	case ModeHotStandby:
		switch {
		case roles[RoleSecondary] > 0:
			return errors.New("secondary servers not allowed in the hot standby configuration")
		case roles[RoleStandby] == 0:
			return errors.New("standby server required in the hot standby configuration")
		case roles[RolePrimary] == 0:
			return errors.New("primary server required in the hot standby configuration")
		case c.WaitBackupAck:
			return errors.New("'wait-backup-ack' must be set to false in the hot standby configuration")
		case c.DelayedUpdatesLimit > 0:
			return errors.New("'delayed-updates-limit' must be set to 0 in the hot standby configuration")
		}
	case ModePassiveBackup:
		switch {
		case roles[RoleSecondary] > 0:
			return errors.New("secondary servers not allowed in the passive backup configuration")
		case roles[RoleStandby] > 0:
			return errors.New("standby servers not allowed in the passive backup configuration")
		case roles[RolePrimary] == 0:
			return errors.New("primary server required in the passive backup configuration")
		case c.DelayedUpdatesLimit > 0:
			return errors.New("'delayed-updates-limit' must be set to 0 in the passive backup configuration")
		}
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
