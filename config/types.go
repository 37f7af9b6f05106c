package config

import (
	"net/netip"
	"time"
)

// Pos is a position in a configuration file (1-based line and column).
type Pos struct {
	File string
	Line int
	Col  int
}

// Config is a loaded, validated and defaulted configuration.
type Config struct {
	// Source is the path the configuration was loaded from.
	Source string
	// Dhcp4 is the typed Dhcp4 section.
	Dhcp4 *Dhcp4

	root *Node // the position-annotated tree (includes resolved)
}

// Scope holds the parameters that a subnet inherits from its shared network
// and the network from the global level. A nil pointer means "not set here".
// After loading, every pointer of Dhcp4.Scope is non-nil (Kea 2.2 defaults),
// except RenewTimer and RebindTimer which stay nil unless configured.
// Use Dhcp4.Resolve to get the effective values for a subnet.
type Scope struct {
	ValidLifetime    *uint32 // seconds
	MinValidLifetime *uint32 // seconds
	MaxValidLifetime *uint32 // seconds
	RenewTimer       *uint32 // seconds (T1, option 58)
	RebindTimer      *uint32 // seconds (T2, option 59)

	CalculateTeeTimes *bool
	T1Percent         *float64
	T2Percent         *float64

	MatchClientID *bool
	Authoritative *bool

	NextServer     *netip.Addr // siaddr
	ServerHostname *string     // sname
	BootFileName   *string     // file

	ReservationsGlobal    *bool
	ReservationsInSubnet  *bool
	ReservationsOutOfPool *bool

	// StoreExtendedInfo stores option 82 in the lease's user context
	// (Kea 2.2 alloc_engine.cc updateLease4ExtendedInfo); default false.
	StoreExtendedInfo *bool
	// CacheThreshold and CacheMaxAge are Kea 2.2's lease caching
	// (alloc_engine.cc setLeaseReusable). nil: not configured (no caching
	// unless the other one is set); CacheThreshold is in (0, 1).
	CacheThreshold *float64
	CacheMaxAge    *uint32
}

// Dhcp4 is the typed Dhcp4 map.
type Dhcp4 struct {
	Pos Pos
	Scope

	EchoClientID           bool   // default true
	DeclineProbationPeriod uint32 // seconds, default 86400
	// ParkedPacketLimit bounds the replies waiting for the HA partner's
	// answer to their lease update (Kea's leases4_committed parking lot);
	// 0 = unlimited, default 256.
	ParkedPacketLimit    uint32
	ServerTag            string
	IPReservationsUnique bool // default true
	// EarlyGlobalReservationsLookup: global reservations looked up before
	// subnet selection (default false).
	EarlyGlobalReservationsLookup bool
	// HostReservationIdentifiers is the order in which identifier types are
	// tried; default ["hw-address","duid","circuit-id","client-id"].
	HostReservationIdentifiers []string
	SanityChecks               SanityChecks

	InterfacesConfig InterfacesConfig
	LeaseDatabase    LeaseDatabase
	// HostsDatabases is hosts-database then hosts-databases, in the order
	// Kea's HostMgr asks them (after the configuration's reservations).
	HostsDatabases          []*HostsDatabase
	ExpiredLeasesProcessing ExpiredLeasesProcessing
	MultiThreading          MultiThreading
	ControlSocket           *ControlSocket // nil: no control socket

	HooksLibraries []HookLibrary
	// HA is the parsed libdhcp_ha.so configuration, nil when not loaded.
	HA *HAConfig
	// LeaseCmds is true when libdhcp_lease_cmds.so is loaded.
	LeaseCmds bool

	ClientClasses  []*ClientClass
	OptionDef      []*OptionDef
	OptionData     []*OptionData
	SharedNetworks []*SharedNetwork
	// Subnet4 holds the subnets outside any shared network.
	Subnet4      []*Subnet4
	Reservations []*Reservation // global reservations
	Loggers      []*Logger

	UserContext map[string]any
	Comment     string
	// XDHCP holds xdhcp's own settings (Dhcp4.user-context.xdhcp).
	XDHCP XDHCP

	// Defs resolves option names and codes: standard plus option-def.
	Defs *OptionDefs
}

// SharedNetwork is one shared-networks[] entry.
type SharedNetwork struct {
	Pos  Pos
	Name string
	Scope
	Interface            string
	Relay                Relay
	ClientClass          string
	RequireClientClasses []string
	OptionData           []*OptionData
	Subnet4              []*Subnet4
	UserContext          map[string]any
	Comment              string
}

// Subnet4 is one subnet4[] entry (top level or inside a shared network).
type Subnet4 struct {
	Pos Pos
	// ID is the subnet id; auto-numbered from 1 in config order when 0/absent.
	ID     uint32
	Subnet netip.Prefix // masked
	Scope
	Interface            string
	Relay                Relay
	ClientClass          string
	RequireClientClasses []string
	Pools                []*Pool
	OptionData           []*OptionData
	Reservations         []*Reservation
	UserContext          map[string]any
	Comment              string

	// Network is the enclosing shared network, nil if none.
	Network *SharedNetwork
}

// Relay lists the giaddr values that select a subnet or shared network.
// Both "ip-address" and "ip-addresses" are accepted.
type Relay struct {
	Pos   Pos
	Addrs []netip.Addr
}

// Pool is an address range inside a subnet.
type Pool struct {
	Pos                  Pos
	Raw                  string // as written
	First, Last          netip.Addr
	ClientClass          string
	RequireClientClasses []string
	OptionData           []*OptionData
	UserContext          map[string]any
	Comment              string
}

// Size returns the number of addresses in the pool.
func (p *Pool) Size() uint64 {
	return uint64(addrU32(p.Last)) - uint64(addrU32(p.First)) + 1
}

// Identifier types of host reservations.
const (
	IDHWAddress = "hw-address"
	IDClientID  = "client-id"
	IDDUID      = "duid"
	IDCircuitID = "circuit-id"
	IDFlexID    = "flex-id"
)

// Reservation is a host reservation (global or per subnet).
type Reservation struct {
	Pos Pos
	// IdentifierType is one of the ID* constants; Identifier its bytes.
	IdentifierType string
	Identifier     []byte
	IPAddress      netip.Addr // invalid (zero) if not reserved
	Hostname       string
	ClientClasses  []string
	OptionData     []*OptionData
	NextServer     *netip.Addr
	ServerHostname *string
	BootFileName   *string
	UserContext    map[string]any
	Comment        string
}

// ClientClass is one client-classes[] entry.
type ClientClass struct {
	Pos            Pos
	Name           string
	Test           string // expression source, "" = none
	TestPos        Pos
	OnlyIfRequired bool
	OptionData     []*OptionData
	OptionDef      []*OptionDef
	NextServer     *netip.Addr
	ServerHostname *string
	BootFileName   *string

	ValidLifetime    *uint32
	MinValidLifetime *uint32
	MaxValidLifetime *uint32

	UserContext map[string]any
	Comment     string
}

// OptionDef is a custom (or standard) option definition.
type OptionDef struct {
	Pos         Pos
	Name        string
	Code        uint8
	Type        string // binary, boolean, empty, fqdn, ipv4-address, ..., record
	Array       bool
	RecordTypes []string
	Space       string // default "dhcp4"
	Encapsulate string
	UserContext map[string]any
	Comment     string
}

// OptionData is a configured option value, already encoded.
type OptionData struct {
	Pos        Pos
	Name       string // resolved name ("" if the code has no definition)
	Code       uint8
	Space      string // default "dhcp4"
	Data       string // as written
	CSVFormat  bool   // default true
	AlwaysSend bool
	// Wire is the option payload (without code and length bytes).
	Wire        []byte
	UserContext map[string]any
	Comment     string
}

// InterfacesConfig is Dhcp4.interfaces-config.
type InterfacesConfig struct {
	Pos                         Pos
	Interfaces                  []string
	DHCPSocketType              string // "raw" (default) or "udp"
	OutboundInterface           string // "same-as-inbound" (default) or "use-routing"
	ReDetect                    bool   // default true
	ServiceSocketsRequireAll    bool
	ServiceSocketsRetryWaitTime uint32 // ms, default 5000
	ServiceSocketsMaxRetries    uint32
}

// LeaseDatabase is Dhcp4.lease-database: "memfile" (the default) or
// "postgresql" on Kea 2.2's schema (docs/kea/lease-database.md §1).
type LeaseDatabase struct {
	Pos          Pos
	Type         string // "memfile" or "postgresql"
	Name         string // memfile: lease file path ("" = Kea's default path); postgresql: database name
	Persist      bool   // default true (memfile)
	LFCInterval  uint32 // seconds, default 3600 (memfile)
	MaxRowErrors uint32 // 0 = unlimited (memfile)

	// postgresql (Kea 2.2's DbAccessParser keywords).
	Host              string // default "localhost"; a path is a unix socket directory
	Port              uint16 // 0 = libpq's default (5432)
	User, Password    string
	ConnectTimeout    uint32 // seconds, default 5 (PGSQL_DEFAULT_CONNECTION_TIMEOUT)
	MaxReconnectTries uint32 // default 0: a lost connection is not retried
	ReconnectWaitTime uint32 // ms between attempts, default 0
	OnFail            string // stop-retry-exit (default), serve-retry-exit, serve-retry-continue
}

// HostsDatabase is one Dhcp4.hosts-database (or hosts-databases entry):
// a host backend with Kea 2.2's parameters (docs/kea/hosts-db.md §1).
type HostsDatabase struct {
	Pos               Pos
	Type              string // "postgresql"
	Name              string // database name
	Host              string // default "localhost"; a path is a unix socket directory
	Port              int    // default 5432
	User, Password    string
	ConnectTimeout    uint32 // seconds, default 5
	MaxReconnectTries uint32 // default 0
	ReconnectWaitTime uint32 // ms, default 0
	OnFail            string // stop-retry-exit (default), serve-retry-exit, serve-retry-continue
	ReadOnly          bool
	UserContext       map[string]any
	Comment           string
}

// SubnetReservation is a reservation a host backend returned with the
// DHCPv4 subnet it belongs to (0: global, Kea's SUBNET_ID_GLOBAL).
type SubnetReservation struct {
	SubnetID    uint32
	Reservation *Reservation
}

// DefaultLeaseFile is Kea's default memfile path on Debian.
const DefaultLeaseFile = "/var/lib/kea/kea-leases4.csv"

// ExpiredLeasesProcessing is Dhcp4.expired-leases-processing.
type ExpiredLeasesProcessing struct {
	Pos                         Pos
	ReclaimTimerWaitTime        uint32 // s, default 10
	FlushReclaimedTimerWaitTime uint32 // s, default 25
	HoldReclaimedTime           uint32 // s, default 3600
	MaxReclaimLeases            uint32 // default 100
	MaxReclaimTime              uint32 // ms, default 250
	UnwarnedReclaimCycles       uint32 // default 5
}

// MultiThreading is Dhcp4.multi-threading.
type MultiThreading struct {
	Pos                  Pos
	EnableMultiThreading bool   // default false (2.2)
	ThreadPoolSize       uint32 // 0 = number of CPUs
	PacketQueueSize      uint32 // default 64
}

// ControlSocket is Dhcp4.control-socket.
type ControlSocket struct {
	Pos        Pos
	SocketType string // "unix"
	SocketName string
}

// SanityChecks is Dhcp4.sanity-checks.
type SanityChecks struct {
	LeaseChecks string // none, warn (default), fix, fix-del, del
}

// HookLibrary is one hooks-libraries[] entry, kept as written.
type HookLibrary struct {
	Pos        Pos
	Library    string
	Parameters map[string]any
}

// HA modes.
const (
	HALoadBalancing = "load-balancing"
	HAHotStandby    = "hot-standby"
	HAPassiveBackup = "passive-backup"
)

// HA peer roles.
const (
	RolePrimary   = "primary"
	RoleSecondary = "secondary"
	RoleStandby   = "standby"
	RoleBackup    = "backup"
)

// HAConfig is the single high-availability relationship of libdhcp_ha.so.
type HAConfig struct {
	Pos                 Pos
	ThisServerName      string
	Mode                string
	HeartbeatDelay      time.Duration // default 10 s; 0 disables
	MaxResponseDelay    time.Duration // default 60 s
	MaxAckDelay         time.Duration // default 10 s
	MaxUnackedClients   uint32        // default 10
	DelayedUpdatesLimit uint32        // default 100 in load-balancing, else 0
	SendLeaseUpdates    bool          // default true
	SyncLeases          bool          // default true
	SyncTimeout         time.Duration // default 60 s
	SyncPageLimit       uint32        // default 10000
	WaitBackupAck       bool
	RequireClientCerts  bool // default true
	RestrictCommands    bool // default true (DefaultRestrictCommands; Kea 2.2: false)
	TrustAnchor         string
	CertFile            string
	KeyFile             string
	MultiThreading      HAMultiThreading
	StateMachine        []HAStateConfig
	Peers               []*HAPeer
}

// HAMultiThreading is high-availability[].multi-threading.
type HAMultiThreading struct {
	EnableMultiThreading  bool
	HTTPDedicatedListener bool
	HTTPListenerThreads   uint32
	HTTPClientThreads     uint32
}

// HAStateConfig is one state-machine.states[] entry.
type HAStateConfig struct {
	State string
	Pause string // always, once, never (default)
}

// HAPeer is one peers[] entry.
type HAPeer struct {
	Pos                   Pos
	Name                  string
	URL                   string
	Host                  netip.Addr // literal IP of the URL
	Port                  uint16     // URL port (default 80/443)
	Role                  string
	AutoFailover          bool // default true
	BasicAuthUser         string
	BasicAuthPassword     string
	BasicAuthPasswordFile string
	TrustAnchor           string
	CertFile              string
	KeyFile               string
	// TLSSet: trust-anchor, cert-file, key-file are present in the entry,
	// "" included (Kea 2.2: a specified empty value overrides the
	// relationship's, turning that parameter off for this peer).
	TLSSet [3]bool `json:"-"`
}

// TLS returns p's TLS parameters merged over h's as Kea 2.2's
// HAConfig::validate (ha_config.cc) merges them: the peer's value when the
// entry specifies it, even empty, else the relationship's.
func (h *HAConfig) TLS(p *HAPeer) (trustAnchor, certFile, keyFile string) {
	pick := func(set bool, v, def string) string {
		if set || v != "" {
			return v
		}
		return def
	}
	return pick(p.TLSSet[0], p.TrustAnchor, h.TrustAnchor),
		pick(p.TLSSet[1], p.CertFile, h.CertFile),
		pick(p.TLSSet[2], p.KeyFile, h.KeyFile)
}

// This returns the peer named by ThisServerName.
func (h *HAConfig) This() *HAPeer {
	for _, p := range h.Peers {
		if p.Name == h.ThisServerName {
			return p
		}
	}
	return nil
}

// Logger is one loggers[] entry.
type Logger struct {
	Pos           Pos
	Name          string
	Severity      string // FATAL, ERROR, WARN, INFO (default), DEBUG, NONE
	DebugLevel    int    // 0..99
	OutputOptions []LoggerOutput
	UserContext   map[string]any
	Comment       string
}

// LoggerOutput is one output_options[] (or output-options[]) entry.
type LoggerOutput struct {
	Output  string // stdout, stderr, syslog, syslog:name, or a file path
	Flush   bool   // default true
	MaxSize uint64 // default 10240000
	MaxVer  int    // default 1
	Pattern string
}

// Datapath choices of XDHCP.Datapath.
const (
	DatapathAuto       = "auto"
	DatapathXDP        = "xdp"
	DatapathXDPNative  = "xdp-native"
	DatapathXDPGeneric = "xdp-generic"
	DatapathUDP        = "udp"
)

// XDHCP holds xdhcp's own settings from Dhcp4.user-context.xdhcp.
type XDHCP struct {
	Pos               Pos
	Datapath          string // default "auto"
	BPFPinPath        string // "" = no pinning
	Prometheus        Prometheus
	ControlSocketMode uint32 // file mode bits, default 0600
	// ControlSocketGroup is the group the control socket is given (a name
	// or a numeric gid; "" = the daemon's own), so that another user, such
	// as kea-ctrl-agent's, can reach it with a group-writable mode.
	// ControlSocketGID is its gid, -1 when unset.
	ControlSocketGroup string
	ControlSocketGID   int
	AFXDP              AFXDP
	// OfferLifetime is how long, in seconds, an OFFER holds its address
	// for the client's REQUEST. 0 (the default) is Kea 2.2's behaviour:
	// an offer holds nothing and the address is checked again at REQUEST.
	// (Kea 2.2 has no offer-lifetime; later Kea calls it offer-lifetime.)
	OfferLifetime uint32
	// RateLimits are the admission limits applied before a request reaches
	// the engine: in the XDP program, or in user space on the UDP path.
	RateLimits RateLimits
	// KernelRenew (default true) lets the XDP program answer renewals
	// that lease caching reuses (docs/kea/kernel-renew.md); false sends
	// every renewal to user space. It is off by itself where the kernel
	// cannot be exact (see userspace/daemon/renew.go).
	KernelRenew bool
}

// RateLimits bounds what one client, one relay and all clients without a
// lease may send. Rates are DISCOVER+REQUEST messages per second, bursts are
// token-bucket depths. A rate of 0 turns that limit off. Defaults are on and
// sized so that no well-behaved client or relay meets them (see
// DefaultRateLimits).
type RateLimits struct {
	Enabled bool // default true; false turns every limit off
	// Per client identity: option 61 if present, else chaddr (Kea's key).
	ClientRate, ClientBurst uint32
	// Per relay: giaddr of a relayed message unicast to this host; every
	// message that is not (giaddr 0, or broadcast) shares the key 0.0.0.0,
	// "the local segment".
	RelayRate, RelayBurst uint32
	// Global budget for clients the server holds no lease for. Clients with
	// a lease skip it, so they are served first under any flood.
	UnknownRate, UnknownBurst uint32
	// TableSize is the number of client and relay buckets kept (LRU); the
	// known-client table has KnownClients entries (LRU).
	TableSize    uint32
	KnownClients uint32
}

// DefaultRateLimits are xdhcp's defaults: a client retransmits every few
// seconds (RFC 2131 §4.1: 4 s, doubling), so 4 messages/s with a burst of
// 16 never meets a real client; a relay carries its whole access network,
// so its limit is far above what one server answers; the unknown-client
// budget is above the fastest rate measured in make bench.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		Enabled:    true,
		ClientRate: 4, ClientBurst: 16,
		RelayRate: 100000, RelayBurst: 200000,
		UnknownRate: 100000, UnknownBurst: 200000,
		TableSize:    65536,
		KnownClients: 262144,
	}
}

// Prometheus configures the metrics listener.
type Prometheus struct {
	Listen string // "host:port", "" = disabled
	// Pprof also serves Go's runtime profiles under /debug/pprof/ on the
	// same listener (off by default: profiles reveal internals and cost CPU
	// while taken).
	Pprof bool
}

// AFXDP sizes the AF_XDP sockets. Zero values mean "choose a default".
type AFXDP struct {
	FrameCount int
	FrameSize  int
	Queues     int // 0 = all RX queues
}

// OptionDefs resolves option definitions by space and name or code.
type OptionDefs struct {
	byName map[string]map[string]*OptionDef // space → name
	byCode map[string]map[uint8]*OptionDef  // space → code
}
