//go:build linux

package xdppath

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/bpf"
	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/afxdp"
	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// Path is the XDP data path on one interface. Its methods are safe for
// concurrent use.
type Path struct {
	cfg  Config
	log  zerolog.Logger
	dbg  zerolog.Logger // sampled, for per-packet messages
	dp   *bpf.Datapath
	mode bpf.Mode
	why  string // how the mode was chosen

	ifname  string
	ifindex int
	ifmac   [6]byte
	ifaddr  netip.Addr
	queues  []*queue
	home    netns.NsHandle // the interface's namespace (queue socket restarts)
	neigh   *neighTable
	addrs   *addrWatch // nil until Open loaded the program

	cells map[string]*stats.Cell // read-only after Open
	renew renewState

	mu       sync.Mutex // guards started, stopped, stopCh
	started  bool
	stopped  bool
	stopCh   chan struct{}
	done     sync.WaitGroup
	stopOnce sync.Once
}

// Open loads the XDP program, attaches it to cfg.Interface (native, else
// generic in ModeAuto), opens one AF_XDP socket per RX queue and registers
// them. Nothing is received before Start. It must run in the interface's
// network namespace. On error everything opened so far is released.
func Open(cfg Config) (_ *Path, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Path{
		cfg:    cfg,
		log:    cfg.Logger.With().Str("component", "xdp").Str("iface", cfg.Interface).Logger(),
		cells:  make(map[string]*stats.Cell),
		stopCh: make(chan struct{}),
		ifname: cfg.Interface,
		home:   netns.None(),
	}
	p.makeCells()
	p.dbg = p.log.Sample(&zerolog.BurstSampler{Burst: 10, Period: time.Second})
	defer func() {
		if err != nil {
			p.release()
		}
	}()

	nl, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("xdp path on %s: netlink: %w", cfg.Interface, err)
	}
	defer nl.Close()
	lk, err := nl.LinkByName(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("xdp path: look up interface %q: %w", cfg.Interface, err)
	}
	if err := p.readInterface(nl, lk); err != nil {
		return nil, err
	}
	if p.home, err = netns.Get(); err != nil {
		return nil, fmt.Errorf("xdp path on %s: current netns: %w", cfg.Interface, err)
	}
	if p.neigh, err = openNeighTable(p.ifindex, p.home, p.log); err != nil {
		return nil, fmt.Errorf("xdp path on %s: %w", cfg.Interface, err)
	}
	nq, err := p.queueCount(lk)
	if err != nil {
		return nil, err
	}

	if p.dp, err = bpf.Load(bpf.Options{PinPath: cfg.PinPath,
		LimitEntries: cfg.RateLimits.TableSize, KnownEntries: cfg.RateLimits.KnownClients,
		// One cached renewal per client holding a lease, at most.
		RenewEntries: cfg.RateLimits.KnownClients}); err != nil {
		return nil, fmt.Errorf("xdp path on %s: %w", cfg.Interface, err)
	}
	for _, r := range p.dp.ReplacedPins() {
		p.log.Warn().Str("pin", r).Msg("replaced a pinned map an older version made with another layout")
	}
	serve := allBuckets()
	if cfg.Buckets != nil {
		serve = *cfg.Buckets
	}
	if err := p.dp.SetBuckets(serve); err != nil {
		return nil, fmt.Errorf("xdp path on %s: %w", cfg.Interface, err)
	}
	p.renew.rl = cfg.RateLimits
	if err := p.dp.SetConfig(bpfConfig(cfg.RateLimits, p.ifmac)); err != nil {
		return nil, fmt.Errorf("xdp path on %s: %w", cfg.Interface, err)
	}
	// Before attaching: the program admits only what the map says is ours.
	if p.addrs, err = newAddrWatch(p.dp, cfg.SubnetBroadcasts, p.log); err != nil {
		return nil, fmt.Errorf("xdp path on %s: %w", cfg.Interface, err)
	}
	if err := p.attach(); err != nil {
		return nil, err
	}
	if err := p.openQueues(nq); err != nil {
		return nil, err
	}
	p.log.Info().Str("mode", p.mode.String()).Int("queues", len(p.queues)).
		Str("addr", p.ifaddr.String()).Msg(p.why)
	return p, nil
}

// allBuckets serves every hash bucket (no HA, or HA not yet decided).
func allBuckets() [bpf.Buckets]bool {
	var b [bpf.Buckets]bool
	for i := range b {
		b[i] = true
	}
	return b
}

// readInterface records the interface's index, MAC and first IPv4 address.
func (p *Path) readInterface(nl *netlink.Handle, lk netlink.Link) error {
	a := lk.Attrs()
	p.ifindex = a.Index
	if len(a.HardwareAddr) != 6 {
		return fmt.Errorf("xdp path: interface %s has no ethernet address", p.ifname)
	}
	p.ifmac = [6]byte(a.HardwareAddr)
	addrs, err := nl.AddrList(lk, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("xdp path: addresses of %s: %w", p.ifname, err)
	}
	for _, ad := range addrs {
		if ip, ok := netip.AddrFromSlice(ad.IP.To4()); ok {
			p.ifaddr = ip
			break
		}
	}
	if !p.ifaddr.IsValid() {
		p.log.Warn().Msg("interface has no ipv4 address: replies go through the fallback")
	}
	return nil
}

// attach attaches the program in the configured mode.
func (p *Path) attach() error {
	switch p.cfg.Mode {
	case ModeNative, ModeGeneric:
		m := bpf.ModeNative
		if p.cfg.Mode == ModeGeneric {
			m = bpf.ModeGeneric
		}
		if err := p.dp.Attach(p.ifindex, m); err != nil {
			return fmt.Errorf("xdp path on %s: %w", p.ifname, err)
		}
		p.mode, p.why = m, fmt.Sprintf("xdp attached in %s mode on %s", m, p.ifname)
		return nil
	}
	nerr := p.dp.Attach(p.ifindex, bpf.ModeNative)
	if nerr == nil {
		p.mode, p.why = bpf.ModeNative, fmt.Sprintf("xdp attached in native mode on %s", p.ifname)
		return nil
	}
	if errors.Is(nerr, bpf.ErrInUse) {
		// Another instance serves the interface: generic would meet it too.
		return fmt.Errorf("xdp path on %s: %w", p.ifname, nerr)
	}
	if gerr := p.dp.Attach(p.ifindex, bpf.ModeGeneric); gerr != nil {
		return fmt.Errorf("xdp path on %s: native: %w; generic: %w", p.ifname, nerr, gerr)
	}
	p.mode, p.why = bpf.ModeGeneric, fmt.Sprintf("native failed (%v), using generic on %s", nerr, p.ifname)
	return nil
}

// openQueues opens, binds and registers one socket per queue. A queue the
// kernel refuses to bind with EINVAL beyond queue 0 is an inactive channel
// (num_rx_queues counts allocated queues): serving stops there.
func (p *Path) openQueues(nq int) error {
	for id := range nq {
		s, err := afxdp.Open(p.socketConfig(id))
		if err != nil {
			if id > 0 && errors.Is(err, unix.EINVAL) {
				p.log.Warn().Err(err).Int("queue", id).Msg("queue cannot be bound; serving the queues before it")
				break
			}
			return fmt.Errorf("xdp path on %s: %w", p.ifname, err)
		}
		q := &queue{p: p, id: id, sock: s, descs: make([]afxdp.Desc, p.cfg.Batch), efd: -1}
		p.queues = append(p.queues, q)
		if q.efd, err = newEventfd(); err != nil {
			return fmt.Errorf("xdp path on %s queue %d: %w", p.ifname, id, err)
		}
		if q.wait, err = newWaiter(s, q.efd); err != nil {
			return fmt.Errorf("xdp path on %s queue %d: %w", p.ifname, id, err)
		}
		if q.nl, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
			return fmt.Errorf("xdp path on %s queue %d: netlink: %w", p.ifname, id, err)
		}
		q.neigh = newResolver(q.nl, p.neigh, p.ifindex, p.cfg.NeighTTL)
		if err := p.dp.RegisterSocket(id, s.FD()); err != nil {
			return fmt.Errorf("xdp path on %s: %w", p.ifname, err)
		}
	}
	return nil
}

func nextPow2(v int) int {
	n := 1
	for n < v {
		n <<= 1
	}
	return n
}

// Start starts one goroutine per queue, each with its own pipeline worker.
// Cancelling ctx stops the path as Stop does.
func (p *Path) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return errors.New("start xdp path: stopped")
	}
	if p.started {
		return errors.New("start xdp path: already started")
	}
	p.started = true
	// A hot queue goroutine keeps its P while it sleeps in the kernel
	// (waiter.waitHot): leave at least two Ps for everything else (HA,
	// the control socket, timers, the network poller).
	if want := len(p.queues) + 2; runtime.GOMAXPROCS(0) < want {
		p.log.Info().Int("gomaxprocs", want).Int("queues", len(p.queues)).
			Msg("raising GOMAXPROCS: each hot af_xdp queue holds a P while it waits")
		runtime.GOMAXPROCS(want)
	}
	for _, q := range p.queues {
		q.w = p.cfg.Pipeline.NewWorker(q, q.wake)
		p.done.Add(1)
		go func() {
			defer p.done.Done()
			q.run(p.stopCh)
		}()
	}
	go func() {
		select {
		case <-ctx.Done():
			p.Stop()
		case <-p.stopCh:
		}
	}()
	return nil
}

// Stop stops receiving, lets each queue complete the replies pending on
// the HA partner (bounded wait) while they are still sent and flushed,
// then unregisters and closes the sockets, detaches and closes the
// program. It is idempotent and safe after a failed or missing Start.
func (p *Path) Stop() error {
	var err error
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.stopped = true
		close(p.stopCh)
		p.mu.Unlock()
		p.done.Wait()
		err = p.release()
		p.log.Info().Msg("xdp path stopped")
	})
	return err
}

// release undoes Open; every step tolerates a partly opened path.
func (p *Path) release() error {
	var errs []error
	if p.addrs != nil {
		p.addrs.close()
	}
	p.renew.close()
	for _, q := range p.queues {
		if p.dp != nil {
			if err := p.dp.UnregisterSocket(q.id); err != nil {
				errs = append(errs, err)
			}
		}
		if err := q.sock.Close(); err != nil {
			errs = append(errs, err)
		}
		if q.nl != nil {
			q.nl.Close()
		}
		if q.wait != nil {
			q.wait.close()
		}
		q.closeEfd()
	}
	if p.neigh != nil {
		p.neigh.close()
	}
	if p.home.IsOpen() {
		p.home.Close()
	}
	if p.dp != nil {
		if err := p.dp.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop xdp path on %s: %w", p.ifname, err)
	}
	return nil
}

// Mode is the attach mode in use: "native" or "generic".
func (p *Path) Mode() string { return p.mode.String() }

// Why is the one-line reason for the mode (as logged by Open).
func (p *Path) Why() string { return p.why }

// Interface is the served interface's name.
func (p *Path) Interface() string { return p.ifname }

// Queues is the number of RX queues served.
func (p *Path) Queues() int { return len(p.queues) }

// Progress is each queue goroutine's turn count. A live queue turns at
// least every pollTimeout (50 ms) whether or not frames arrive, so a count
// that stands still for longer means that queue's goroutine is stuck
// (the service watchdog's liveness check).
func (p *Path) Progress() []uint64 {
	out := make([]uint64, len(p.queues))
	for i, q := range p.queues {
		out[i] = q.turns.Load()
	}
	return out
}

// Datapath is the loaded program: HA calls SetBuckets on it, the daemon
// reads its Stats. It is owned by the Path: do not close it.
func (p *Path) Datapath() *bpf.Datapath { return p.dp }

// UpdateKnown tells the program which clients hold a lease: add and del
// are admission.ClientKey(lease.ClientID, lease.HWAddr) of leases added
// and removed. Known clients skip the per-relay limit and the
// unknown-client budget, so they are served first under a flood. Safe to
// call from any goroutine (the lease store's OnChange, for one).
func (p *Path) UpdateKnown(add, del []uint64) error {
	if err := p.dp.UpdateKnown(add, del); err != nil {
		return fmt.Errorf("xdp path on %s: %w", p.ifname, err)
	}
	return nil
}

// SetRateLimits changes the program's rate limits (a reload). The table
// sizes stay those given to Open.
func (p *Path) SetRateLimits(rl config.RateLimits) error {
	p.renew.mu.Lock()
	defer p.renew.mu.Unlock()
	p.renew.rl = rl
	c := bpfConfig(rl, p.ifmac)
	c.Renew = p.renew.on.Load()
	if err := p.dp.SetConfig(c); err != nil {
		return fmt.Errorf("xdp path on %s: %w", p.ifname, err)
	}
	return nil
}

// SetSubnetBroadcasts replaces the served subnets' broadcast addresses the
// program admits (a reload).
func (p *Path) SetSubnetBroadcasts(b []netip.Addr) error {
	if err := p.addrs.setBroadcasts(b); err != nil {
		return fmt.Errorf("xdp path on %s: %w", p.ifname, err)
	}
	return nil
}

// dropCell returns the xdp-rx-drop-<reason> cell.
func (p *Path) dropCell(reason string) *stats.Cell { return p.cell("xdp-rx-drop-" + reason) }

// fallbackCell returns the xdp-tx-fallback-<why> cell.
func (p *Path) fallbackCell(why string) *stats.Cell { return p.cell("xdp-tx-fallback-" + why) }

// cell returns a cell created by Open; an unknown name (a reason added to
// package packet later) falls back to "other".
func (p *Path) cell(name string) *stats.Cell {
	if c := p.cells[name]; c != nil {
		return c
	}
	return p.cells["xdp-rx-drop-other"]
}

// Cell name suffixes, created at Open so the hot path needs no lock.
var (
	dropReasons = []string{
		packet.Reason(packet.ErrTruncated), packet.Reason(packet.ErrTooManyVLANs),
		packet.Reason(packet.ErrNotIPv4), packet.Reason(packet.ErrBadHeaderLength),
		packet.Reason(packet.ErrBadLength), packet.Reason(packet.ErrFragment),
		packet.Reason(packet.ErrNotUDP), packet.Reason(packet.ErrBadIPChecksum),
		packet.Reason(packet.ErrBadUDPChecksum), "not-server-port", "panic", "other",
	}
	fallbackReasons = []string{
		"neigh-unresolved", "other-interface", "route-error", "vlan-routed",
		"no-tx-frame", "no-source-address", "bad-destination", "queue-down",
	}
)

// makeCells creates every drop and fallback cell.
func (p *Path) makeCells() {
	for _, r := range dropReasons {
		n := "xdp-rx-drop-" + r
		p.cells[n] = p.cfg.Stats.Cell(n)
	}
	for _, r := range fallbackReasons {
		n := "xdp-tx-fallback-" + r
		p.cells[n] = p.cfg.Stats.Cell(n)
	}
	for _, n := range queueCells {
		p.cells[n] = p.cfg.Stats.Cell(n)
	}
}
