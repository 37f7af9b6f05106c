// Package stats keeps Kea-named statistics. Hot-path counters are sharded:
// each worker owns a Shard and adds to it without contention; readers sum
// the shards. Per-subnet and other named values live in a map of atomic
// cells that callers resolve once (at configuration time) and then update
// lock-free.
package stats

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Counter names a hot-path counter. The names are Kea's (docs/kea/control-api.md §4).
type Counter int

// Hot-path counters.
const (
	Pkt4Received Counter = iota
	Pkt4DiscoverReceived
	Pkt4OfferReceived
	Pkt4RequestReceived
	Pkt4AckReceived
	Pkt4NakReceived
	Pkt4ReleaseReceived
	Pkt4DeclineReceived
	Pkt4InformReceived
	Pkt4UnknownReceived
	Pkt4Sent
	Pkt4OfferSent
	Pkt4AckSent
	Pkt4NakSent
	Pkt4ParseFailed
	Pkt4ReceiveDrop
	NumCounters
)

var counterNames = [NumCounters]string{
	Pkt4Received:         "pkt4-received",
	Pkt4DiscoverReceived: "pkt4-discover-received",
	Pkt4OfferReceived:    "pkt4-offer-received",
	Pkt4RequestReceived:  "pkt4-request-received",
	Pkt4AckReceived:      "pkt4-ack-received",
	Pkt4NakReceived:      "pkt4-nak-received",
	Pkt4ReleaseReceived:  "pkt4-release-received",
	Pkt4DeclineReceived:  "pkt4-decline-received",
	Pkt4InformReceived:   "pkt4-inform-received",
	Pkt4UnknownReceived:  "pkt4-unknown-received",
	Pkt4Sent:             "pkt4-sent",
	Pkt4OfferSent:        "pkt4-offer-sent",
	Pkt4AckSent:          "pkt4-ack-sent",
	Pkt4NakSent:          "pkt4-nak-sent",
	Pkt4ParseFailed:      "pkt4-parse-failed",
	Pkt4ReceiveDrop:      "pkt4-receive-drop",
}

// Name is the Kea statistic name of c.
func (c Counter) Name() string { return counterNames[c] }

// Shard is one writer's set of hot-path counters. A Shard must be written by
// one goroutine at a time; it may be read concurrently.
type Shard struct {
	v [NumCounters]atomic.Int64
	_ [64]byte // keep neighbouring shards off this cache line
}

// Inc adds one to c.
func (s *Shard) Inc(c Counter) { s.v[c].Add(1) }

// Add adds n to c.
func (s *Shard) Add(c Counter, n int64) { s.v[c].Add(n) }

// Cell is a named statistic updated with atomics (per-subnet values, gauges).
type Cell struct {
	v       atomic.Int64
	changed atomic.Int64 // UnixNano of the last change
}

// Add adds n and records the time of the change.
func (c *Cell) Add(n int64) { c.v.Add(n); c.changed.Store(time.Now().UnixNano()) }

// Set sets the value and records the time of the change.
func (c *Cell) Set(n int64) { c.v.Store(n); c.changed.Store(time.Now().UnixNano()) }

// Value returns the current value.
func (c *Cell) Value() int64 { return c.v.Load() }

// Registry owns all statistics of one server.
type Registry struct {
	mu     sync.Mutex
	shards []*Shard
	base   [NumCounters]int64 // subtracted on read; set by Reset
	cells  map[string]*Cell
	srcs   []func(Counter) int64
}

// AddSource adds f's value to every read of a counter: counts kept outside
// the shards, such as the XDP program's kernel-answered renewals (folded
// into pkt4-received, pkt4-request-received, pkt4-sent and pkt4-ack-sent).
// f must be cheap, monotonic per counter, and must not call back into the
// registry.
func (r *Registry) AddSource(f func(Counter) int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.srcs = append(r.srcs, f)
}

// New returns an empty registry.
func New() *Registry { return &Registry{cells: make(map[string]*Cell)} }

// NewShard returns a shard for one writer (a worker).
func (r *Registry) NewShard() *Shard {
	s := new(Shard)
	r.mu.Lock()
	r.shards = append(r.shards, s)
	r.mu.Unlock()
	return s
}

// Shards is the number of shards made so far (they live as long as the
// registry).
func (r *Registry) Shards() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.shards)
}

// Get sums c over all shards.
func (r *Registry) Get(c Counter) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sumLocked(c)
}

func (r *Registry) sumLocked(c Counter) int64 {
	var n int64
	for _, s := range r.shards {
		n += s.v[c].Load()
	}
	for _, f := range r.srcs {
		n += f(c)
	}
	return n - r.base[c]
}

// Cell returns the named cell, creating it at zero.
func (r *Registry) Cell(name string) *Cell {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.cells[name]
	if !ok {
		c = new(Cell)
		r.cells[name] = c
	}
	return c
}

// Snapshot returns every statistic by name.
func (r *Registry) Snapshot() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int64, int(NumCounters)+len(r.cells))
	for c := Counter(0); c < NumCounters; c++ {
		out[c.Name()] = r.sumLocked(c)
	}
	for name, c := range r.cells {
		out[name] = c.Value()
	}
	return out
}

// Names returns all statistic names, sorted.
func (r *Registry) Names() []string {
	snap := r.Snapshot()
	names := make([]string, 0, len(snap))
	for n := range snap {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Reset sets the named statistic to zero. It reports whether the name exists.
func (r *Registry) Reset(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := Counter(0); c < NumCounters; c++ {
		if c.Name() == name {
			r.base[c] += r.sumLocked(c)
			return true
		}
	}
	if cell, ok := r.cells[name]; ok {
		cell.Set(0)
		return true
	}
	return false
}

// ResetAll sets every statistic to zero.
func (r *Registry) ResetAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := Counter(0); c < NumCounters; c++ {
		r.base[c] += r.sumLocked(c)
	}
	for _, cell := range r.cells {
		cell.Set(0)
	}
}
