package renewcache

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/bpf"
	"github.com/xdhcp/xdhcp/userspace/admission"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
)

// Table is where the cache lives: the XDP program's maps (bpf.Datapath).
type Table interface {
	SetRenew(bpf.RenewKey, *bpf.RenewEntry) error
	DeleteRenew(bpf.RenewKey) error
	SetProfile(uint32, *bpf.RenewProfile) error
	ClearRenews() error
}

// Observation is one ACK the user-space path sent, with its request: what
// Learn needs to cache it.
type Observation struct {
	Ifindex uint32
	// The request's IP source and destination, its UDP payload, and
	// whether it carried VLAN tags.
	ReqSrc, ReqDst netip.Addr
	Req            []byte
	Tagged         bool
	// The reply's IP source and destination, its UDP destination port,
	// and its UDP payload.
	ReplySrc, ReplyDst       netip.Addr
	ReplyPort                uint16
	ReplySrcMAC, ReplyDstMAC [6]byte
	Reply                    []byte
	Window                   *dhcp.ReuseWindow
}

// Why Learn did not cache an observation (Counters keys "skip_<reason>").
var (
	errNoWindow  = errors.New("no-window")  // the engine says an identical renewal is not reused
	errAddress   = errors.New("addressing") // not ciaddr:68 (direct) or giaddr:67 (relayed) for an untagged request
	errClock     = errors.New("clock")      // CLTT in the future or before the monotonic epoch
	errProfiles  = errors.New("profiles")   // every profile slot in use
	errClientKey = errors.New("client-key") // no client key (no option 61, hlen 0)
	errChanged   = errors.New("changed")    // the lease changed while the entry was written
)

type profKey [sha256.Size]byte

type profile struct {
	idx  uint32
	refs int
}

type entry struct {
	key  bpf.RenewKey
	prof profKey
	e    bpf.RenewEntry
	cltt int64 // unix seconds, for Resync
}

// DefaultNeighTTL is how long an entry's next-hop MAC may be used where
// the kernel cannot resolve it itself: xdppath's route cache TTL.
const DefaultNeighTTL = 5 * time.Second

// Cache mirrors the kernel's renewal cache. Its methods are safe for
// concurrent use.
type Cache struct {
	t Table
	// NeighTTL: how long the program may use the next-hop MAC of the reply
	// user space sent (set before use; New sets DefaultNeighTTL).
	NeighTTL time.Duration
	// clock returns the wall clock and CLOCK_MONOTONIC (what
	// bpf_ktime_get_ns reads) as read together.
	clock func() (wall time.Time, mono uint64)

	mu       sync.Mutex
	profiles map[profKey]*profile
	free     []uint32
	next     uint32
	byAddr   map[netip.Addr]*entry
	byKey    map[bpf.RenewKey]*entry
	offset   int64 // wall ns - mono ns when entries were last written

	check atomic.Pointer[func(*dhcp.ReuseWindow) bool]

	learned, forgotten, errs atomic.Uint64
	skips                    sync.Map // reason -> *atomic.Uint64
}

// New returns an empty cache writing to t; it clears t's entries.
func New(t Table) (*Cache, error) {
	c := &Cache{t: t, NeighTTL: DefaultNeighTTL, clock: sysClock, profiles: map[profKey]*profile{}, byAddr: map[netip.Addr]*entry{}, byKey: map[bpf.RenewKey]*entry{}}
	if err := t.ClearRenews(); err != nil {
		return nil, err
	}
	return c, nil
}

func sysClock() (time.Time, uint64) {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Now(), uint64(ts.Nano())
}

func (c *Cache) skip(err error) {
	v, _ := c.skips.LoadOrStore(err.Error(), new(atomic.Uint64))
	v.(*atomic.Uint64).Add(1)
}

// Counters are the cache's counters: entries, profiles, learned,
// forgotten, errors, and skip_<reason> per observation not cached.
func (c *Cache) Counters() map[string]uint64 {
	c.mu.Lock()
	m := map[string]uint64{"entries": uint64(len(c.byAddr)), "profiles": uint64(len(c.profiles))}
	c.mu.Unlock()
	m["learned"], m["forgotten"], m["errors"] = c.learned.Load(), c.forgotten.Load(), c.errs.Load()
	c.skips.Range(func(k, v any) bool {
		m["skip_"+k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	return m
}

// SetCheck sets the function Learn asks, after writing an entry, whether
// the lease it was computed from is still the stored one; if not, the
// entry is removed again. This closes the race between Learn and a lease
// change (whose Forget may have run before the entry existed). nil: no
// check.
func (c *Cache) SetCheck(f func(*dhcp.ReuseWindow) bool) {
	if f == nil {
		c.check.Store(nil)
		return
	}
	c.check.Store(&f)
}

// Learn caches the renewal o describes, replacing what the cache held for
// its address. It returns the reason it did not (also counted), or a table
// error.
func (c *Cache) Learn(o *Observation) error {
	e, pk, shape, err := c.build(o)
	if err != nil {
		if errors.Is(err, ErrShape) {
			c.skip(ErrShape)
		} else {
			c.skip(err)
		}
		return err
	}
	if err := c.insert(o, e, pk, shape); err != nil {
		return err
	}
	// Outside c.mu: the check reads the lease store, whose change
	// callbacks call Forget.
	if f := c.check.Load(); f != nil && !(*f)(o.Window) {
		c.mu.Lock()
		if c.byAddr[o.Window.Addr] == e {
			c.dropLocked(e)
		}
		c.mu.Unlock()
		c.skip(errChanged)
		return errChanged
	}
	c.learned.Add(1)
	return nil
}

func (c *Cache) insert(o *Observation, e *entry, pk profKey, shape *Shape) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.byAddr[o.Window.Addr]; old != nil {
		c.dropLocked(old)
	}
	if old := c.byKey[e.key]; old != nil {
		c.dropLocked(old)
	}
	p, err := c.profileLocked(pk, shape, o.Window)
	if err != nil {
		c.skip(err)
		return err
	}
	e.e.Profile = p.idx
	e.prof = pk
	if err := c.t.SetRenew(e.key, &e.e); err != nil {
		c.errs.Add(1)
		c.unrefLocked(pk)
		return err
	}
	p.refs++
	c.byAddr[o.Window.Addr] = e
	c.byKey[e.key] = e
	return nil
}

// build derives the entry and the profile's shape from o.
func (c *Cache) build(o *Observation) (*entry, profKey, *Shape, error) {
	w := o.Window
	if w == nil {
		return nil, profKey{}, nil, errNoWindow
	}
	if o.Tagged || !o.ReqSrc.Is4() || !o.ReqDst.Is4() || !o.ReplySrc.Is4() || len(o.Req) < optionsOff || len(o.Req) > 0xffff {
		return nil, profKey{}, nil, errAddress
	}
	// RFC 2131 §4.1 as packet.ReplyDestination: to the relay (giaddr:67)
	// if there is one, else to ciaddr:68.
	gi := netip.AddrFrom4([4]byte(o.Req[24:28]))
	if gi.IsUnspecified() {
		if o.ReplyPort != 68 || o.ReplyDst != w.Addr {
			return nil, profKey{}, nil, errAddress
		}
	} else if o.ReplyPort != 67 || o.ReplyDst != gi {
		return nil, profKey{}, nil, errAddress
	}
	if [4]byte(o.Req[12:16]) != w.Addr.As4() {
		return nil, profKey{}, nil, errAddress
	}
	var m admission.Message
	if !admission.FromPayload(o.Req, true, &m) {
		return nil, profKey{}, nil, errClientKey
	}
	chaddr := m.Chaddr
	if len(chaddr) > 16 {
		chaddr = chaddr[:16]
	}
	key, ok := admission.ClientKey(m.ClientID, chaddr)
	if !ok || len(m.Chaddr) > 16 {
		return nil, profKey{}, nil, errClientKey
	}
	s, err := Split(o.Reply)
	if err != nil {
		return nil, profKey{}, nil, err
	}
	wall, mono := c.clock()
	cltt, ok := monoOf(w.CLTT, wall, mono)
	if !ok {
		return nil, profKey{}, nil, errClock
	}
	e := &entry{key: bpf.RenewKey{Client: key, Giaddr: gi.As4(), Ifindex: o.Ifindex}, cltt: w.CLTT}
	e.e = bpf.RenewEntry{
		Digest: Digest(o.Req), ClttNs: cltt, MACUntilNs: mono + uint64(c.NeighTTL),
		DstMAC: o.ReplyDstMAC, SrcMAC: o.ReplySrcMAC, MaxAge: w.MaxAge, Valid: w.Valid,
		ReqSrc: o.ReqSrc.As4(), ReqDst: o.ReqDst.As4(), ReplySrc: o.ReplySrc.As4(), Yiaddr: w.Addr.As4(),
		ReplyDst: o.ReplyDst.As4(), ReplyPort: o.ReplyPort,
		DHCPLen: uint16(len(o.Req)), Hdr: s.Hdr, CID: s.CID, RAI: s.RAI,
	}
	return e, shapeKey(s, w), s, nil
}

// monoOf maps the unix second cltt onto the monotonic clock, given a wall
// and monotonic reading taken together.
func monoOf(cltt int64, wall time.Time, mono uint64) (uint64, bool) {
	d := wall.UnixNano() - cltt*int64(time.Second)
	if d < 0 || uint64(d) > mono {
		return 0, false
	}
	return mono - uint64(d), true
}

func shapeKey(s *Shape, w *dhcp.ReuseWindow) profKey {
	h := sha256.New()
	fmt.Fprintf(h, "%d/%d/%d/%d/%d/%d/%d/", w.T1Fixed, w.T2Fixed, w.T1Pct, w.T2Pct, s.Off51, s.Off58, s.Off59)
	h.Write(s.File[:])
	fmt.Fprintf(h, "/%d/", len(s.Pre))
	h.Write(s.Pre)
	h.Write(s.Post)
	var k profKey
	h.Sum(k[:0])
	return k
}

func (c *Cache) profileLocked(k profKey, s *Shape, w *dhcp.ReuseWindow) (*profile, error) {
	if p := c.profiles[k]; p != nil {
		return p, nil
	}
	var idx uint32
	switch {
	case len(c.free) > 0:
		idx = c.free[len(c.free)-1]
		c.free = c.free[:len(c.free)-1]
	case c.next < bpf.RenewProfiles:
		idx = c.next
		c.next++
	default:
		return nil, errProfiles
	}
	bp := &bpf.RenewProfile{
		T1Fixed: w.T1Fixed, T2Fixed: w.T2Fixed, T1Pct: w.T1Pct, T2Pct: w.T2Pct,
		Off51: s.Off51, Off58: s.Off58, Off59: s.Off59, File: s.File, Pre: s.Pre, Post: s.Post,
	}
	if err := c.t.SetProfile(idx, bp); err != nil {
		c.errs.Add(1)
		c.free = append(c.free, idx)
		return nil, err
	}
	p := &profile{idx: idx}
	c.profiles[k] = p
	return p, nil
}

func (c *Cache) unrefLocked(k profKey) {
	p := c.profiles[k]
	if p == nil || p.refs > 0 {
		return
	}
	delete(c.profiles, k)
	_ = c.t.SetProfile(p.idx, nil)
	c.free = append(c.free, p.idx)
}

func (c *Cache) dropLocked(e *entry) {
	if err := c.t.DeleteRenew(e.key); err != nil {
		c.errs.Add(1)
	}
	delete(c.byAddr, netip.AddrFrom4(e.e.Yiaddr))
	delete(c.byKey, e.key)
	if p := c.profiles[e.prof]; p != nil {
		p.refs--
	}
	c.unrefLocked(e.prof)
	c.forgotten.Add(1)
}

// Forget removes the cached renewal of the lease at addr, if any: every
// lease change (commit, release, decline, expiry, lease4-* commands, the
// HA partner's updates) calls it before the change is visible to clients.
func (c *Cache) Forget(addr netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.byAddr[addr]; e != nil {
		c.dropLocked(e)
	}
}

// Clear removes every cached renewal (configuration reload, network state
// or HA state change).
func (c *Cache) Clear() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.byAddr {
		c.dropLocked(e)
	}
	return c.t.ClearRenews()
}

// Resync rewrites every entry's monotonic CLTT if the wall clock moved
// against the monotonic clock by more than tolerance since they were
// written (a clock step); run it periodically.
func (c *Cache) Resync(tolerance time.Duration) (rewritten int) {
	wall, mono := c.clock()
	off := wall.UnixNano() - int64(mono)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.offset == 0 {
		c.offset = off
		return 0
	}
	if d := off - c.offset; d < int64(tolerance) && d > -int64(tolerance) {
		return 0
	}
	c.offset = off
	for _, e := range c.byAddr {
		cl, ok := monoOf(e.cltt, wall, mono)
		if !ok {
			c.dropLocked(e)
			continue
		}
		e.e.ClttNs = cl
		if err := c.t.SetRenew(e.key, &e.e); err != nil {
			c.errs.Add(1)
			continue
		}
		rewritten++
	}
	return rewritten
}

// RefreshMACs extends the next-hop MAC window (MACUntilNs) of every entry
// whose window ends within horizon, if resolve (the AF_XDP path's own
// resolution: route, then its mirror of the kernel's neighbour table)
// still gives the same MAC for the entry's reply destination; an entry
// whose next hop changed or is unresolved is removed (its next renewal
// goes to user space, which resolves again). This keeps the kernel's
// answers going to the next hop user space would use where
// bpf_fib_lookup cannot say (IPv4 forwarding off). resolve is called once
// per destination and must not call back into the cache. It walks every
// entry: O(entries) per call.
func (c *Cache) RefreshMACs(resolve func(netip.Addr) ([6]byte, bool), horizon time.Duration) (refreshed, dropped int) {
	_, mono := c.clock()
	type res struct {
		mac [6]byte
		ok  bool
	}
	seen := map[netip.Addr]res{}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.byAddr {
		if e.e.MACUntilNs > mono+uint64(horizon) {
			continue
		}
		dst := netip.AddrFrom4(e.e.ReplyDst)
		r, done := seen[dst]
		if !done {
			r.mac, r.ok = resolve(dst)
			seen[dst] = r
		}
		if !r.ok || r.mac != e.e.DstMAC {
			c.dropLocked(e)
			dropped++
			continue
		}
		e.e.MACUntilNs = mono + uint64(c.NeighTTL)
		if err := c.t.SetRenew(e.key, &e.e); err != nil {
			c.errs.Add(1)
			continue
		}
		refreshed++
	}
	return refreshed, dropped
}
