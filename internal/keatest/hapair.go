package keatest

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/template"
)

// haPairText is the one HA load-balancing pair configuration of the
// project (docs/kea/config-surface.md §11), in Kea 2.2's spelling so that
// either server of the pair can be real Kea. The tests, the demo
// (scripts/demo.sh, through ./internal/keatest/hapair) and the bench render it.
//
//go:embed templates/ha-pair.json
var haPairText string

var haPairTmpl = template.Must(template.New("ha-pair.json").Funcs(template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"hook": func(dir, lib string) string { return filepath.Join(dir, lib) },
}).Parse(haPairText))

// Pool is one pool of the pair's subnet.
type Pool struct {
	Range string // "first - last"
	Class string // client-class; "" = none
}

// Logger is one entry of the configuration's loggers.
type Logger struct {
	Name, Severity, Output string
}

// HAPair fills the pair template. Zero fields take the defaults of Render.
type HAPair struct {
	Name              string         // this-server-name: "server1" (primary) or "server2" (secondary, standby or backup by Mode); required
	Mode              string         // "" = "load-balancing"; "hot-standby" (server2 standby) or "passive-backup" (server2 backup)
	MaxUnackedClients int            // max-unacked-clients (0: failure as soon as communication is interrupted)
	URLs              [2]string      // peer URLs of server1 and server2; required
	Socket            string         // control socket; required
	Leases            string         // memfile lease file; required
	Hooks             string         // hook library directory; "" = HooksDir
	Interfaces        []string       // nil = ["eth0"]
	Threads           int            // thread-pool-size and HA HTTP threads; 0 = 2
	QueueSize         int            // packet-queue-size; 0 = 256
	ValidLifetime     int            // seconds; 0 = 3600
	HeartbeatDelay    int            // ms; 0 = 1000
	MaxResponseDelay  int            // ms; 0 = 4000
	MaxAckDelay       int            // ms; 0 = 2000
	SyncTimeout       int            // ms; 0 = not written (Kea's default)
	Subnet            string         // subnet 1; "" = 198.19.0.0/16
	Pools             []Pool         // nil = DefaultPools
	Relays            []string       // relay ip-addresses; nil = no relay entry
	Router            string         // routers option; "" = none
	Datapath          string         // xdhcpd's user-context.xdhcp.datapath; "" = none (real Kea)
	Loggers           []Logger       // nil = kea-dhcp4 at WARN to stdout
	ExtraHA           map[string]any // further keys of the HA relationship (e.g. TLS)
	HTTPThreads       int            // HA http-listener-threads and http-client-threads; 0 = Threads

	Role2 string // server2's role, from Mode (set by Render)
}

// SinglePool is the default pool outside load-balancing, where every query
// is in the primary's scope (HA_server1) and nothing is split.
var SinglePool = []Pool{{"198.19.0.10 - 198.19.255.250", ""}}

// DefaultPools split 198.19.0.0/16 between the pair's HA_ classes
// (docs/kea/lb-hash.md §3).
var DefaultPools = []Pool{
	{"198.19.0.10 - 198.19.127.250", "HA_server1"},
	{"198.19.128.10 - 198.19.255.250", "HA_server2"},
}

// Render returns the pair configuration for one of its servers.
func (p HAPair) Render() ([]byte, error) {
	if p.Name != "server1" && p.Name != "server2" {
		return nil, fmt.Errorf("ha pair: server name %q, want server1 or server2", p.Name)
	}
	if p.URLs[0] == "" || p.URLs[1] == "" || p.Socket == "" || p.Leases == "" {
		return nil, errors.New("ha pair: URLs, Socket and Leases are required")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.Threads, 2)
	def(&p.HTTPThreads, p.Threads)
	def(&p.QueueSize, 256)
	def(&p.ValidLifetime, 3600)
	def(&p.HeartbeatDelay, 1000)
	def(&p.MaxResponseDelay, 4000)
	def(&p.MaxAckDelay, 2000)
	if p.Hooks == "" {
		p.Hooks = HooksDir
	}
	if p.Interfaces == nil {
		p.Interfaces = []string{"eth0"}
	}
	if p.Subnet == "" {
		p.Subnet = "198.19.0.0/16"
	}
	switch p.Mode {
	case "", "load-balancing":
		p.Mode, p.Role2 = "load-balancing", "secondary"
	case "hot-standby":
		p.Role2 = "standby"
	case "passive-backup":
		p.Role2 = "backup"
	default:
		return nil, fmt.Errorf("ha pair: mode %q", p.Mode)
	}
	if p.Pools == nil {
		p.Pools = DefaultPools
		if p.Mode != "load-balancing" {
			p.Pools = SinglePool
		}
	}
	if p.Loggers == nil {
		p.Loggers = []Logger{{Name: "kea-dhcp4", Severity: "WARN", Output: "stdout"}}
	}
	var sb strings.Builder
	if err := haPairTmpl.Execute(&sb, p); err != nil {
		return nil, fmt.Errorf("ha pair: %w", err)
	}
	out := []byte(sb.String())
	if !json.Valid(out) {
		return nil, fmt.Errorf("ha pair: the template produced invalid JSON:\n%s", out)
	}
	return out, nil
}
