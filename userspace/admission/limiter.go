package admission

import (
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Limits are the admission limits, field for field config.RateLimits (so
// admission.Limits(rl) converts one): rates in DISCOVER+REQUEST messages
// per second, bursts in messages. A rate of 0 turns that limit off;
// Enabled false turns all of them off.
type Limits struct {
	Enabled                   bool
	ClientRate, ClientBurst   uint32
	RelayRate, RelayBurst     uint32
	UnknownRate, UnknownBurst uint32
	// TableSize bounds the client and relay buckets kept; KnownClients is
	// not used by the Limiter (see KnownSet).
	TableSize    uint32
	KnownClients uint32
}

// Verdict is the Limiter's answer. The names of the drops are the XDP
// program's counters (bpf.Stats keys) for the same reason.
type Verdict uint8

const (
	Admit           Verdict = iota // within every limit, or not limited
	DropRateClient                 // over its client's bucket
	DropRateRelay                  // unknown client, over its relay's bucket
	DropRateUnknown                // unknown client, over the global budget
)

var verdictNames = [...]string{"admit", "drop_rate_client", "drop_rate_relay", "drop_rate_unknown"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Message types that are limited.
const (
	msgDiscover = 1
	msgRequest  = 3
)

// Message holds the facts of one received message the Limiter needs.
// Slices are only read during Admit.
type Message struct {
	Type     uint8  // option 53 (0 if absent)
	ClientID []byte // option 61's data; nil or empty if absent
	// Chaddr is chaddr[0:hlen]; the caller caps hlen at 16 (the field's
	// size). The kernel does not limit hlen > 16; user space does, with 16.
	Chaddr      []byte
	Giaddr      netip.Addr
	UnicastToUs bool // destination IP is an address of this host (not a broadcast)
}

// Known reports whether the server holds a lease for a client key (the
// kernel's xdhcp_known). KnownSet is one.
type Known interface {
	Known(key uint64) bool
}

// Options configure a Limiter.
type Options struct {
	// Known tells clients holding a lease; nil = none is known.
	Known Known
	// Now returns a monotonic clock in nanoseconds, never 0; nil = the
	// time since NewLimiter plus 1 ns.
	Now func() uint64
}

const shards = 64

type limitKey struct {
	kind uint8 // limitClient or limitRelay
	id   uint64
}

const (
	limitClient = 1 // enum xdhcp_limit_kind
	limitRelay  = 2
)

type shard struct {
	mu  sync.Mutex
	m   map[limitKey]Bucket
	max int
	_   [40]byte // keep shards on separate cache lines
}

// Limiter applies the limits to DISCOVER and REQUEST messages in the XDP
// program's order: the client's bucket, then, for a client that is not
// known, its relay's bucket and the global unknown-client budget. A later
// bucket gives a token only if the earlier ones admitted the message, so a
// client rejected by its own bucket never drains the shared ones.
//
// The client and relay buckets live in a table of Limits.TableSize
// entries; when a shard of it is full an arbitrary entry is evicted (the
// kernel evicts the least recently used). A new bucket is full, so
// eviction only ever admits more. Safe for concurrent use; Admit does not
// allocate once the table is warm.
type Limiter struct {
	lim    atomic.Pointer[Limits]
	known  Known
	now    func() uint64
	shards [shards]shard

	gmu    sync.Mutex
	global Bucket
}

// NewLimiter returns a Limiter with limits l.
func NewLimiter(l Limits, o Options) *Limiter {
	lm := &Limiter{known: o.Known, now: o.Now}
	if lm.now == nil {
		start := time.Now()
		lm.now = func() uint64 { return uint64(time.Since(start)) + 1 }
	}
	per := int(l.TableSize) / shards
	if per < 1 {
		per = 1
	}
	for i := range lm.shards {
		lm.shards[i].m = make(map[limitKey]Bucket, per)
		lm.shards[i].max = per
	}
	lm.SetLimits(l)
	return lm
}

// SetLimits changes the rates and bursts (a reload); buckets keep their
// tokens, capped at the new bursts on their next use. The table size
// stays what NewLimiter was given.
func (lm *Limiter) SetLimits(l Limits) { lm.lim.Store(&l) }

// Limits returns the limits in force.
func (lm *Limiter) Limits() Limits { return *lm.lim.Load() }

// Admit decides for one message. Messages other than DISCOVER and REQUEST,
// and messages without an identity (no client id, hlen 0), are admitted
// without touching any bucket.
func (lm *Limiter) Admit(m *Message) Verdict {
	l := lm.lim.Load()
	if !l.Enabled || (m.Type != msgDiscover && m.Type != msgRequest) {
		return Admit
	}
	key, ok := ClientKey(m.ClientID, m.Chaddr)
	if !ok {
		return Admit
	}
	return lm.decide(l, key, RelayKey(m.Giaddr, m.UnicastToUs))
}

// AdmitKey is Admit for a caller that already has the client and relay
// keys (ClientKey, RelayKey) of a DISCOVER or REQUEST.
func (lm *Limiter) AdmitKey(clientKey, relayKey uint64) Verdict {
	l := lm.lim.Load()
	if !l.Enabled {
		return Admit
	}
	return lm.decide(l, clientKey, relayKey)
}

func (lm *Limiter) decide(l *Limits, key, relay uint64) Verdict {
	now := lm.now()
	if l.ClientRate != 0 && !lm.take(limitKey{limitClient, key}, l.ClientRate, l.ClientBurst, now) {
		return DropRateClient
	}
	if l.RelayRate == 0 && l.UnknownRate == 0 {
		return Admit
	}
	if lm.known != nil && lm.known.Known(key) {
		return Admit
	}
	if l.RelayRate != 0 && !lm.take(limitKey{limitRelay, relay}, l.RelayRate, l.RelayBurst, now) {
		return DropRateRelay
	}
	if l.UnknownRate != 0 {
		lm.gmu.Lock()
		ok := lm.global.Take(l.UnknownRate, l.UnknownBurst, now)
		lm.gmu.Unlock()
		if !ok {
			return DropRateUnknown
		}
	}
	return Admit
}

func (lm *Limiter) take(k limitKey, rate, burst uint32, now uint64) bool {
	s := &lm.shards[(k.id^uint64(k.kind)*fnvPrime)%shards]
	s.mu.Lock()
	b, ok := s.m[k]
	if !ok && len(s.m) >= s.max {
		for old := range s.m {
			delete(s.m, old)
			break
		}
	}
	admit := b.Take(rate, burst, now)
	s.m[k] = b
	s.mu.Unlock()
	return admit
}
