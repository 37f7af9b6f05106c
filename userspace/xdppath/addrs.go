//go:build linux

package xdppath

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/xdhcp/xdhcp/bpf"
	"github.com/xdhcp/xdhcp/internal/crash"
)

// addrResubscribeDelay is how long the watcher waits before it subscribes
// again after its netlink subscription ended (socket error, ENOBUFS).
const addrResubscribeDelay = time.Second

// addrKey is one IPv4 address on one interface: the same address on two
// interfaces stays local until both are gone.
type addrKey struct {
	addr    netip.Addr
	ifindex int
}

// addrWatch keeps the program's xdhcp_addrs map equal to the host's IPv4
// addresses (every interface of the server's network namespace) plus the
// served subnets' broadcast addresses. It subscribes to RTM_NEWADDR and
// RTM_DELADDR first and lists the addresses second, so no change falls
// between the two; updates are applied in order after the list.
type addrWatch struct {
	dp  *bpf.Datapath
	log zerolog.Logger
	ns  netns.NsHandle // the server's network namespace (owned)
	h   *netlink.Handle

	mu    sync.Mutex // guards have, bcast and the map writes
	have  map[addrKey]struct{}
	bcast []netip.Addr

	done    chan struct{}
	wg      sync.WaitGroup
	updates atomic.Uint64 // address changes applied
	errs    atomic.Uint64 // subscription or map write errors
}

// newAddrWatch starts watching the calling thread's network namespace and
// returns once the map holds the current addresses.
func newAddrWatch(dp *bpf.Datapath, bcast []netip.Addr, log zerolog.Logger) (_ *addrWatch, err error) {
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("address watch: current netns: %w", err)
	}
	w := &addrWatch{dp: dp, log: log, ns: ns, have: map[addrKey]struct{}{}, bcast: slices.Clone(bcast), done: make(chan struct{})}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	// Sockets are opened on a thread in ns without setns(2) when the
	// process already lives there (doInNetns), so no CAP_SYS_ADMIN.
	if err := doInNetns(log, ns, func() (err error) { w.h, err = netlink.NewHandle(); return err }); err != nil {
		return nil, fmt.Errorf("address watch: netlink: %w", err)
	}
	ch, err := w.subscribe()
	if err != nil {
		return nil, err
	}
	if err := w.relist(); err != nil {
		return nil, err
	}
	w.wg.Add(1)
	crash.Go(log, "xdp address watch", func() { w.run(ch) })
	return w, nil
}

// subscribe opens a subscription in the server's namespace. It ends (its
// channel closes) on close or on a socket error.
func (w *addrWatch) subscribe() (chan netlink.AddrUpdate, error) {
	ch := make(chan netlink.AddrUpdate, 256)
	err := doInNetns(w.log, w.ns, func() error {
		return netlink.AddrSubscribeWithOptions(ch, w.done, netlink.AddrSubscribeOptions{
			ReceiveBufferSize: 1 << 20,
			ErrorCallback: func(err error) {
				w.errs.Add(1)
				w.log.Warn().Err(err).Msg("address subscription error; resubscribing")
			},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("address watch: subscribe: %w", err)
	}
	return ch, nil
}

// relist replaces the known addresses with a fresh dump.
func (w *addrWatch) relist() error {
	addrs, err := w.h.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("address watch: list addresses: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.have = make(map[addrKey]struct{}, len(addrs))
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok {
			w.have[addrKey{ip, a.LinkIndex}] = struct{}{}
		}
	}
	return w.pushLocked()
}

func (w *addrWatch) run(ch chan netlink.AddrUpdate) {
	defer w.wg.Done()
	for {
		select {
		case <-w.done:
			return
		case u, ok := <-ch:
			if ok {
				w.apply(u)
				continue
			}
		}
		// The subscription ended without close: subscribe and list again.
		for {
			select {
			case <-w.done:
				return
			case <-time.After(addrResubscribeDelay):
			}
			var err error
			if ch, err = w.subscribe(); err == nil {
				if err = w.relist(); err == nil {
					break
				}
			}
			w.errs.Add(1)
			w.log.Error().Err(err).Msg("address watch: resubscribe failed; retrying")
		}
	}
}

func (w *addrWatch) apply(u netlink.AddrUpdate) {
	ip4 := u.LinkAddress.IP.To4()
	if ip4 == nil {
		return
	}
	k := addrKey{netip.AddrFrom4([4]byte(ip4)), u.LinkIndex}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, had := w.have[k]
	if had == u.NewAddr {
		return // a repeat (or the initial list already had it)
	}
	if u.NewAddr {
		w.have[k] = struct{}{}
	} else {
		delete(w.have, k)
	}
	w.updates.Add(1)
	if err := w.pushLocked(); err != nil {
		w.errs.Add(1)
		w.log.Error().Err(err).Stringer("addr", k.addr).Bool("new", u.NewAddr).Msg("address watch: update the xdp address map")
		return
	}
	w.log.Debug().Stringer("addr", k.addr).Bool("new", u.NewAddr).Msg("local address changed")
}

// setBroadcasts replaces the subnet broadcast addresses.
func (w *addrWatch) setBroadcasts(b []netip.Addr) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bcast = slices.Clone(b)
	return w.pushLocked()
}

func (w *addrWatch) pushLocked() error {
	local := make([]netip.Addr, 0, len(w.have))
	for k := range w.have {
		local = append(local, k.addr)
	}
	return w.dp.SetAddrs(local, w.bcast)
}

// close stops the watch and waits for its goroutine; call it once.
func (w *addrWatch) close() {
	close(w.done)
	w.wg.Wait()
	if w.h != nil {
		w.h.Close()
	}
	_ = w.ns.Close()
	w.ns = -1
}
