// Package dhcp is the DHCPv4 engine: a decoded request plus what the I/O layer
// knows about it goes in, a reply plus its addressing decision comes out. It
// selects the subnet, classifies the client, allocates and commits leases,
// assembles options and lifetimes, and reclaims expired leases, following
// Kea 2.2's behaviour. It never touches a socket; time and storage are
// injected.
package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// LeaseStore is the part of the lease store the engine uses. The concrete
// implementation is *lease.Store; every mutation must be durable before it
// returns.
type LeaseStore interface {
	Get(addr netip.Addr) (*lease.Lease, bool)
	GetByHW(hw []byte, subnetID uint32) (*lease.Lease, bool)
	GetByClientID(cid []byte, subnetID uint32) (*lease.Lease, bool)
	All() []*lease.Lease
	Expired(now int64, limit int) []*lease.Lease
	Add(l *lease.Lease) error
	Update(l *lease.Lease) error
	Delete(addr netip.Addr) (*lease.Lease, error)
}

// ConditionalStore is implemented by lease stores other servers write too
// (userspace/lease/pgsql): the write succeeds only if the stored lease is
// still old (same address and expiry), as Kea 2.2's UPDATE_LEASE4 and
// DELETE_LEASE4 (docs/kea/lease-database.md §3-4); otherwise the error
// wraps lease.ErrConflict and nothing is written. The engine uses it for
// every write that follows a read, so a lease another server renewed or
// took meanwhile is never overwritten or removed.
type ConditionalStore interface {
	UpdateFrom(old, new *lease.Lease) error
	DeleteFrom(old *lease.Lease) error
}

// ClientRowsStore is implemented by conditional stores whose every read
// is a round trip (userspace/lease/pgsql): ClientRows answers a REQUEST's
// first reads in one query, the row at addr (none when addr is not
// valid) and the rows with client id cid or hardware address hw (each
// matched only when not empty) in the given subnets, as GetByClientID,
// GetByHW and Get would each have read them. ok=false: the read failed
// and the engine reads one by one.
type ClientRowsStore interface {
	ClientRows(addr netip.Addr, hw, cid []byte, subnets []uint32) (rows []*lease.Lease, ok bool)
}

// updateFrom replaces old (as read) with nl; conditional when the store
// can do it.
func (e *Engine) updateFrom(old, nl *lease.Lease) error {
	if cs, ok := e.store.(ConditionalStore); ok && old != nil {
		return cs.UpdateFrom(old, nl)
	}
	return e.store.Update(nl)
}

// deleteFrom removes old (as read); conditional when the store can do it.
func (e *Engine) deleteFrom(old *lease.Lease) (*lease.Lease, error) {
	if cs, ok := e.store.(ConditionalStore); ok {
		return old, cs.DeleteFrom(old)
	}
	return e.store.Delete(old.Addr)
}

// ScopeFilter is the HA load-balancing scope check. Scope returns the HA
// class of the query (e.g. "HA_server1", "" for none), added before any
// other classification, and whether this server serves it; serve=false
// drops the query as Kea's HA hook does.
type ScopeFilter interface {
	Scope(msg *dhcpv4.DHCPv4) (class string, serve bool)
}

// HostSource is the host backends (hosts-database, hosts-databases) the
// engine asks after the configuration's reservations, as Kea's HostMgr
// asks its alternate sources (docs/kea/hosts-db.md §3). The concrete
// implementation is hostdb.Sources. Every call reads the backend: the
// engine caches nothing, as Kea without the host_cache hook.
type HostSource interface {
	// Get4 returns the DHCPv4 reservations in the given subnets (0 =
	// global) whose identifier is one of ids (type name → bytes), each
	// with its subnet id, earlier sources first.
	Get4(ctx context.Context, subnets []uint32, ids map[string][]byte) ([]config.SubnetReservation, error)
	// GetAll4ByAddr returns the reservations of addr in subnet (none,
	// or several when ip-reservations-unique is false).
	GetAll4ByAddr(ctx context.Context, subnet uint32, addr netip.Addr) ([]*config.Reservation, error)
}

// Deps are the engine's collaborators.
type Deps struct {
	Store       LeaseStore       // required
	Clock       func() time.Time // nil: time.Now
	Stats       *stats.Registry  // nil: a private registry
	Logger      zerolog.Logger
	ScopeFilter ScopeFilter // optional (HA)
	Hosts       HostSource  // optional: hosts-database(s)
	// Order stamps the changes the engine commits (CommitOrder); pass the
	// same one to every engine built over a store, and to the pipeline.
	// nil: a private one.
	Order *CommitOrder
}

// Engine is a compiled configuration plus its allocator state. It is safe
// for concurrent use by many Workers. A configuration change builds a new
// Engine over the same store (New rebuilds the allocator from the store).
//
// xdhcp's own engine settings come from the configuration's
// user-context.xdhcp section (config.XDHCP), so a reload applies them with
// the rest: OfferLifetime is how long an OFFER holds its address (see
// offers.go; 0 = Kea 2.2's behaviour, nothing held).
type Engine struct {
	cfg   *config.Dhcp4
	store LeaseStore
	clock func() time.Time
	reg   *stats.Registry
	log   zerolog.Logger
	scope ScopeFilter
	hosts HostSource // nil: configuration reservations only

	// conditional: the store decides every write that follows a read
	// itself (ConditionalStore), so a query may reuse a row it read
	// earlier in the same exchange (see exchange.readAt).
	conditional bool

	m        *model
	offers   *offerTable
	offerTTL int64 // seconds an OFFER holds its address; 0 = nothing held (Kea 2.2)
	locks    addrLocks
	order    *CommitOrder
	st       globalStats

	// reclaimed tracks state-2 leases for FlushReclaimed.
	reclaimed *reclaimedSet
	closed    atomic.Bool
}

// Worker is one packet-processing goroutine's view of the engine: it owns a
// stats shard and the scratch state of the query in progress. A Worker must
// be used by one goroutine at a time.
type Worker struct {
	e     *Engine
	shard *stats.Shard
	x     exchange // reused by every Handle call (see newExchange)
	opts  optBuf   // reply options under construction
}

// New compiles cfg into a runtime model and rebuilds the allocator state from
// the store.
func New(cfg *config.Config, deps Deps) (*Engine, error) {
	if cfg == nil || cfg.Dhcp4 == nil {
		return nil, errors.New("dhcp engine: no Dhcp4 configuration")
	}
	return NewFromDhcp4(cfg.Dhcp4, deps)
}

// NewFromDhcp4 is New for an already extracted Dhcp4 section.
func NewFromDhcp4(d4 *config.Dhcp4, deps Deps) (*Engine, error) {
	if deps.Store == nil {
		return nil, errors.New("dhcp engine: no lease store")
	}
	e := &Engine{
		cfg:       d4,
		store:     deps.Store,
		clock:     deps.Clock,
		reg:       deps.Stats,
		log:       deps.Logger.With().Str("component", "dhcp").Logger(),
		scope:     deps.ScopeFilter,
		hosts:     deps.Hosts,
		order:     deps.Order,
		offers:    newOfferTable(),
		offerTTL:  int64(d4.XDHCP.OfferLifetime),
		reclaimed: newReclaimedSet(),
	}
	_, e.conditional = deps.Store.(ConditionalStore)
	if e.clock == nil {
		e.clock = time.Now
	}
	if e.order == nil {
		e.order = NewCommitOrder()
	}
	if e.reg == nil {
		e.reg = stats.New()
	}
	m, err := build(d4, e.reg)
	if err != nil {
		return nil, fmt.Errorf("build dhcp engine: %w", err)
	}
	e.m = m
	e.st = newGlobalStats(e.reg)
	e.loadStore()
	return e, nil
}

// NewWorker returns per-worker state with its own stats shard.
func (e *Engine) NewWorker() *Worker {
	return &Worker{e: e, shard: e.reg.NewShard()}
}

// WorkerFor returns per-worker state counting into sh, a shard the caller
// owns and keeps across engines: a reload builds new engine workers but no
// new shards.
func (e *Engine) WorkerFor(sh *stats.Shard) *Worker {
	return &Worker{e: e, shard: sh}
}

// Handler is WorkerFor(sh).Handle, the form the packet pipeline takes.
func (e *Engine) Handler(sh *stats.Shard) func(*Request) *Reply {
	return e.WorkerFor(sh).Handle
}

// Config returns the Dhcp4 configuration the engine was built from.
func (e *Engine) Config() *config.Dhcp4 { return e.cfg }

func (e *Engine) now() time.Time { return e.clock() }
