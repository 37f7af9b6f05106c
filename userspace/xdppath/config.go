//go:build linux

package xdppath

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/bpf"
	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/pipeline"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// Mode selects how the XDP program is attached.
type Mode int

const (
	// ModeAuto tries native (driver) mode and falls back to generic.
	ModeAuto Mode = iota
	// ModeNative attaches in the driver; Open fails if it cannot.
	ModeNative
	// ModeGeneric attaches in the stack (skb mode): any interface, slower.
	ModeGeneric
)

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeNative:
		return "native"
	case ModeGeneric:
		return "generic"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// Defaults for zero Config fields.
const (
	DefaultFrameCount = 4096
	DefaultFrameSize  = 2048
	DefaultBatch      = 64
	DefaultNeighTTL   = 5 * time.Second
	// neighTriggerEvery bounds resolution requests per next hop.
	neighTriggerEvery = time.Second
	// pollTimeout bounds how long a queue goroutine waits (for RX frames
	// or a completed HA reply, which wakes it through an eventfd) before
	// it looks at Stop and flushes leftover TX frames.
	pollTimeout = 50 * time.Millisecond
)

// Config describes the data path on one interface.
type Config struct {
	// Interface is the interface name (required), resolved in the calling
	// thread's network namespace.
	Interface string
	// Mode is the XDP attach mode; the zero value is ModeAuto.
	Mode Mode
	// PinPath is an optional bpffs directory to pin the program's maps in
	// (see bpf.Options.PinPath).
	PinPath string
	// FrameCount and FrameSize size each socket's UMEM (half RX, half TX
	// frames); 0 = DefaultFrameCount and DefaultFrameSize.
	FrameCount, FrameSize int
	// Queues is how many RX queues to serve, from queue 0; 0 = all of the
	// interface's active queues.
	Queues int
	// Batch is the RX batch size; 0 = DefaultBatch.
	Batch int
	// Pipeline gives each RX queue its worker (required).
	Pipeline *pipeline.Pipeline
	// Stats receives the path's drop and fallback cells (required).
	Stats *stats.Registry
	// Fallback is the transport for replies the path cannot send itself
	// (next hop not resolved yet, route through another interface, TX ring
	// exhausted): the daemon passes the UDP path's. It is called from the
	// queue goroutines concurrently. Optional: without it such replies
	// fail and are counted as send failures.
	Fallback pipeline.Transport
	// Buckets, if set, is the initial HA bucket table (see
	// bpf.Datapath.SetBuckets); nil serves every bucket. HA changes it
	// later through Datapath().SetBuckets.
	Buckets *[bpf.Buckets]bool
	// NeighTTL is how long a destination's route (its next hop) is
	// cached; 0 = DefaultNeighTTL. Next-hop MACs come from a mirror of the
	// kernel's neighbour table kept current by netlink events.
	NeighTTL time.Duration
	// RateLimits are the admission limits the XDP program applies to
	// DISCOVER and REQUEST (Dhcp4.user-context.xdhcp.rate-limits); the
	// zero value turns them off. TableSize and KnownClients size the
	// kernel's LRU tables (0 = bpf's defaults). SetRateLimits changes the
	// rates later (a reload); the table sizes stay.
	RateLimits config.RateLimits
	// SubnetBroadcasts are the served subnets' broadcast addresses
	// (SubnetBroadcast of each subnet4 prefix). The program admits DHCP
	// sent to them, to 255.255.255.255 and to any address of the host
	// (followed through netlink); everything else goes to the kernel
	// stack. SetSubnetBroadcasts changes them later.
	SubnetBroadcasts []netip.Addr
	// Logger receives the path's log lines (a "component":"xdp" child).
	Logger zerolog.Logger
}

// SubnetBroadcast returns the broadcast address of an IPv4 prefix (its last
// address), or the zero Addr for anything else (IPv6, /31, /32: no
// broadcast address).
func SubnetBroadcast(p netip.Prefix) netip.Addr {
	if !p.Addr().Is4() || p.Bits() < 0 || p.Bits() > 30 {
		return netip.Addr{}
	}
	a := p.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= 1<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// bpfConfig is the program's configuration for limits rl and the
// interface's MAC.
func bpfConfig(rl config.RateLimits, mac [6]byte) bpf.Config {
	return bpf.Config{
		MAC: mac, RateLimits: rl.Enabled,
		ClientRate: rl.ClientRate, ClientBurst: rl.ClientBurst,
		RelayRate: rl.RelayRate, RelayBurst: rl.RelayBurst,
		UnknownRate: rl.UnknownRate, UnknownBurst: rl.UnknownBurst,
	}
}

// withDefaults fills zero fields and checks the required ones.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Interface == "" {
		errs = append(errs, errors.New("no interface"))
	}
	if c.Pipeline == nil {
		errs = append(errs, errors.New("no pipeline"))
	}
	if c.Stats == nil {
		errs = append(errs, errors.New("no statistics registry"))
	}
	if c.Mode < ModeAuto || c.Mode > ModeGeneric {
		errs = append(errs, fmt.Errorf("unknown mode %d", int(c.Mode)))
	}
	if c.Queues < 0 || c.Batch < 0 || c.FrameCount < 0 || c.FrameSize < 0 || c.NeighTTL < 0 {
		errs = append(errs, errors.New("queues, batch, frame count, frame size, and neighbour ttl must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("xdp path config: %w", err)
	}
	if c.FrameCount == 0 {
		c.FrameCount = DefaultFrameCount
	}
	if c.FrameSize == 0 {
		c.FrameSize = DefaultFrameSize
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.NeighTTL == 0 {
		c.NeighTTL = DefaultNeighTTL
	}
	return c, nil
}
