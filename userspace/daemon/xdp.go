package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xdhcp/xdhcp/bpf"
	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/logging"
	"github.com/xdhcp/xdhcp/userspace/metrics"
	"github.com/xdhcp/xdhcp/userspace/server"
	"github.com/xdhcp/xdhcp/userspace/xdppath"
)

// xdpRuntime is the XDP/AF_XDP path, one xdppath.Path per interface.
type xdpRuntime struct {
	paths []*xdppath.Path
}

// xdpMode maps user-context.xdhcp.datapath to an attach mode; forced
// reports whether XDP is required (a failure is then fatal).
func xdpMode(datapath string) (mode xdppath.Mode, forced bool) {
	switch datapath {
	case config.DatapathXDPNative:
		return xdppath.ModeNative, true
	case config.DatapathXDPGeneric:
		return xdppath.ModeGeneric, true
	case config.DatapathXDP:
		return xdppath.ModeAuto, true
	}
	return xdppath.ModeAuto, false
}

// Causes of a failed XDP start-up that a caller can test with errors.Is.
// Other failures keep their own cause (the capability probe's, mkdir's,
// xdppath's) in the error chain.
var (
	ErrNoXDPInterface  = errors.New("no non-loopback interface is configured for XDP")
	ErrXDPCapabilities = errors.New("XDP and AF_XDP need capabilities this process lacks")
)

// startXDP attaches the XDP path to every configured non-loopback
// interface. It returns nil and the reason when the daemon should serve
// over UDP alone ("auto" and XDP unavailable, or "udp"); with a forced XDP
// datapath a failure is an error that wraps its cause.
func (d *Daemon) startXDP(ctx context.Context, srv *server.Server) (*xdpRuntime, string, error) {
	c := d.cfg.Dhcp4
	if c.XDHCP.Datapath == config.DatapathUDP {
		return nil, `user-context.xdhcp.datapath is "udp"`, nil
	}
	mode, forced := xdpMode(c.XDHCP.Datapath)
	// Pinning was asked for explicitly: a pin path off bpffs is a
	// configuration error in every XDP mode, not a reason to serve over UDP.
	if c.XDHCP.BPFPinPath != "" {
		if err := bpf.CheckPinPath(c.XDHCP.BPFPinPath); err != nil {
			return nil, err.Error(), fmt.Errorf("user-context.xdhcp.bpf-pin-path: %w", err)
		}
	}
	fail := func(cause error) (*xdpRuntime, string, error) {
		why := cause.Error()
		if forced {
			return nil, why, fmt.Errorf("datapath %q: %w", c.XDHCP.Datapath, cause)
		}
		return nil, why + "; serving over UDP", nil
	}
	ifs := xdpInterfaces(c)
	if len(ifs) == 0 {
		return fail(ErrNoXDPInterface)
	}
	missing, err := missingXDPCaps(umemBytes(c, ifs))
	if err != nil {
		return fail(fmt.Errorf("capabilities: %w", err))
	}
	if missing != "" {
		return fail(fmt.Errorf("%w: %s; %s", ErrXDPCapabilities, missing, capsFix))
	}
	// Until HA decides, the kernel serves no balanced query of an HA
	// server (the HA service starts in waiting); without HA it serves all.
	var initial *[256]bool
	if d.ha != nil {
		initial = &[256]bool{}
	}
	xr := &xdpRuntime{}
	var whys []string
	for _, ifn := range ifs {
		pin := ""
		if c.XDHCP.BPFPinPath != "" {
			pin = filepath.Join(c.XDHCP.BPFPinPath, ifn)
			if err := os.MkdirAll(pin, 0o700); err != nil {
				xr.stop()
				return fail(fmt.Errorf("bpf pin path %s: %w", pin, err))
			}
		}
		p, err := xdppath.Open(xdppath.Config{
			Interface:        ifn,
			Mode:             mode,
			PinPath:          pin,
			FrameCount:       c.XDHCP.AFXDP.FrameCount,
			FrameSize:        c.XDHCP.AFXDP.FrameSize,
			Queues:           c.XDHCP.AFXDP.Queues,
			Pipeline:         d.pl,
			Stats:            d.reg,
			Fallback:         srv.Transport(),
			Buckets:          initial,
			RateLimits:       c.XDHCP.RateLimits,
			SubnetBroadcasts: subnetBroadcasts(c),
			Logger:           d.logs.Get(logging.XDP),
		})
		if err != nil {
			xr.stop()
			return fail(fmt.Errorf("xdp on %s: %w", ifn, err))
		}
		xr.paths = append(xr.paths, p)
		if err := p.Start(ctx); err != nil {
			xr.stop()
			return fail(fmt.Errorf("start xdp on %s: %w", ifn, err))
		}
		whys = append(whys, p.Why())
	}
	for _, p := range xr.paths {
		if err := d.adm.attach(p); err != nil {
			xr.stop()
			return fail(fmt.Errorf("known clients into the xdp program on %s: %w", p.Interface(), err))
		}
	}
	if d.ha != nil {
		if err := d.ha.buckets.attach(xr); err != nil {
			xr.stop()
			return fail(fmt.Errorf("push HA buckets: %w", err))
		}
	}
	d.disp.Register("xdp-stats-get", xr.statsCommand)
	return xr, strings.Join(whys, "; "), nil
}

// umemBytes is the memory every AF_XDP socket's UMEM will lock: one
// socket per RX queue of each interface.
func umemBytes(c *config.Dhcp4, ifs []string) uint64 {
	fc, fs := c.XDHCP.AFXDP.FrameCount, c.XDHCP.AFXDP.FrameSize
	if fc <= 0 {
		fc = xdppath.DefaultFrameCount
	}
	if fs <= 0 {
		fs = xdppath.DefaultFrameSize
	}
	var queues int
	for _, ifn := range ifs {
		q := c.XDHCP.AFXDP.Queues
		if q <= 0 {
			q = rxQueues(ifn)
		}
		queues += q
	}
	return uint64(fc) * uint64(fs) * uint64(queues)
}

// mode names the data path: xdp-native or xdp-generic (per interface when
// they differ).
func (x *xdpRuntime) mode() string {
	seen := map[string]bool{}
	var modes []string
	for _, p := range x.paths {
		m := "xdp-" + p.Mode()
		if !seen[m] {
			seen[m] = true
			modes = append(modes, m)
		}
	}
	return strings.Join(modes, "+")
}

// subnetBroadcasts are the served subnets' broadcast addresses, which
// the program admits beside this host's own addresses.
func subnetBroadcasts(c *config.Dhcp4) []netip.Addr {
	var out []netip.Addr
	for _, s := range c.AllSubnets() {
		if b := xdppath.SubnetBroadcast(s.Subnet); b.IsValid() && !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

// reload puts reloaded rate limits and subnets into every program.
func (x *xdpRuntime) reload(c *config.Dhcp4) error {
	b := subnetBroadcasts(c)
	for _, p := range x.paths {
		if err := p.SetRateLimits(c.XDHCP.RateLimits); err != nil {
			return fmt.Errorf("rate limits on %s: %w", p.Interface(), err)
		}
		if err := p.SetSubnetBroadcasts(b); err != nil {
			return fmt.Errorf("subnet broadcasts on %s: %w", p.Interface(), err)
		}
	}
	return nil
}

// SetBuckets pushes HA's bucket table to every interface's program.
func (x *xdpRuntime) SetBuckets(serve [256]bool) error {
	for _, p := range x.paths {
		if err := p.Datapath().SetBuckets(serve); err != nil {
			return fmt.Errorf("set buckets on %s: %w", p.Interface(), err)
		}
	}
	return nil
}

// stop detaches and closes every path.
func (x *xdpRuntime) stop() {
	for _, p := range x.paths {
		_ = p.Stop()
	}
	x.paths = nil
}

// addMetrics exports each interface's counters (XDP verdicts, AF_XDP
// socket and path counters), labelled with the interface.
func (x *xdpRuntime) addMetrics(c *metrics.Collector) {
	for _, p := range x.paths {
		c.AddInterface(p.Interface(), p.Counters)
	}
}

// statsCommand answers xdp-stats-get (xdhcp's own command): per interface
// the attach mode, the queues and every counter.
func (x *xdpRuntime) statsCommand(context.Context, *control.Request) control.Response {
	var ifs []map[string]any
	for _, p := range x.paths {
		m := map[string]any{
			"name": p.Interface(), "mode": p.Mode(), "queues": p.Queues(), "counters": p.Counters(),
		}
		if c := p.RenewCache(); c != nil {
			m["renew-cache"] = renewCacheInfo(c)
		}
		ifs = append(ifs, m)
	}
	return control.OK("", map[string]any{"datapath": x.mode(), "interfaces": ifs})
}
