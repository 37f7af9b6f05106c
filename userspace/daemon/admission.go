package daemon

import (
	"net/netip"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/admission"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// knownSink takes known-client keys into the kernel (an XDP program's
// xdhcp_known map).
type knownSink interface {
	UpdateKnown(add, del []uint64) error
}

// admissionState is the daemon's half of the admission limits
// (user-context.xdhcp.rate-limits): the user-space Limiter the UDP path
// applies, and the set of clients holding a lease, fed by every lease
// change and mirrored into each XDP program so that, under a flood,
// clients with a lease skip the unknown-client budget in the kernel too.
type admissionState struct {
	limiter *admission.Limiter
	known   *admission.KnownSet
	log     zerolog.Logger
	store   leaseBackend // set by load; asked before a key is dropped

	mu       sync.Mutex
	add, del []uint64 // not yet pushed to the sinks

	// sinkMu serialises pushes to the sinks, off the commit path: the
	// store's change hook only ever takes mu.
	sinkMu sync.Mutex
	sinks  []knownSink

	kick chan struct{}
	stop chan struct{}
	done chan struct{}

	closeOnce sync.Once
}

// knownFlushEvery bounds how long a lease change waits before the kernel
// knows its client; a full batch goes at once.
const (
	knownFlushEvery = 50 * time.Millisecond
	knownBatch      = 4096
)

// limitsOf converts the configuration's limits.
func limitsOf(rl config.RateLimits) admission.Limits {
	return admission.Limits(rl)
}

func newAdmission(rl config.RateLimits, log zerolog.Logger) *admissionState {
	a := &admissionState{
		known: admission.NewKnownSet(int(rl.KnownClients)),
		log:   log,
		kick:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	a.limiter = admission.NewLimiter(limitsOf(rl), admission.Options{Known: a.known})
	go a.flushLoop()
	return a
}

// active reports whether l makes its client known: an assigned lease
// (declined and reclaimed ones hold no client).
func active(l *lease.Lease) bool {
	return l != nil && l.State == lease.StateDefault
}

// changed is called from the store's change hook (in commit order), which
// runs without the store's lock, so the store may be read here: a client
// that still holds another lease (another subnet) stays known.
func (a *admissionState) changed(c lease.Change) {
	var add, del []uint64
	var ka, kd uint64
	var okA, okD bool
	if active(c.New) {
		ka, okA = admission.ClientKey(c.New.ClientID, c.New.HWAddr)
	}
	if active(c.Old) {
		kd, okD = admission.ClientKey(c.Old.ClientID, c.Old.HWAddr)
	}
	if okD && (!okA || kd != ka) && !a.stillHeld(c.Old, kd) {
		del = []uint64{kd}
	}
	if okA && (!okD || kd != ka) {
		add = []uint64{ka}
	}
	if add == nil && del == nil {
		return
	}
	a.known.Update(add, del)
	a.mu.Lock()
	a.add = append(a.add, add...)
	a.del = append(a.del, del...)
	full := len(a.add)+len(a.del) >= knownBatch
	a.mu.Unlock()
	if full {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
}

// stillHeld reports whether a lease other than old (another address)
// still makes key's client known.
func (a *admissionState) stillHeld(old *lease.Lease, key uint64) bool {
	if a.store == nil {
		return false
	}
	var ls []*lease.Lease
	if len(old.ClientID) > 0 {
		ls = a.store.FindByClientID(old.ClientID)
	} else {
		ls = a.store.FindByHW(old.HWAddr)
	}
	for _, l := range ls {
		if l.Addr == old.Addr || !active(l) {
			continue
		}
		if k, ok := admission.ClientKey(l.ClientID, l.HWAddr); ok && k == key {
			return true
		}
	}
	return false
}

// load marks every active lease of the store known (start-up), a page at
// a time so that a million leases do not sit in memory twice.
func (a *admissionState) load(s leaseBackend) {
	a.store = s
	const page = 8192
	var after netip.Addr
	for {
		ls := s.Page(after, page)
		for _, l := range ls {
			a.changed(lease.Change{New: l})
		}
		if len(ls) < page {
			return
		}
		after = ls[len(ls)-1].Addr
	}
}

// attach adds a sink and pushes the whole known set into it.
func (a *admissionState) attach(s knownSink) error {
	a.sinkMu.Lock()
	defer a.sinkMu.Unlock()
	if err := s.UpdateKnown(a.known.Keys(), nil); err != nil {
		return err
	}
	a.sinks = append(a.sinks, s)
	return nil
}

// flushLoop pushes pending keys to the sinks every knownFlushEvery, or at
// once when a batch is full.
func (a *admissionState) flushLoop() {
	defer close(a.done)
	t := time.NewTicker(knownFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		case <-a.kick:
		}
		a.flush()
	}
}

func (a *admissionState) flush() {
	a.sinkMu.Lock()
	defer a.sinkMu.Unlock()
	a.mu.Lock()
	add, del := a.add, a.del
	a.add, a.del = nil, nil
	a.mu.Unlock()
	if len(add)+len(del) == 0 {
		return
	}
	for _, s := range a.sinks {
		if err := s.UpdateKnown(add, del); err != nil {
			a.log.Warn().Err(err).Int("add", len(add)).Int("del", len(del)).Msg("known clients: kernel map update failed; those clients count as unknown until their next lease change")
		}
	}
}

// close stops the flusher.
func (a *admissionState) close() {
	a.closeOnce.Do(func() {
		close(a.stop)
		<-a.done
	})
}

// applyRateLimits puts reloaded rates (and served subnets) into force on
// the UDP path and in every XDP program.
func (d *Daemon) applyRateLimits(c *config.Dhcp4) {
	d.adm.limiter.SetLimits(limitsOf(c.XDHCP.RateLimits))
	if d.data != nil && d.data.xdp != nil {
		if err := d.data.xdp.reload(c); err != nil {
			d.log.Error().Err(err).Msg("reload: the xdp program keeps its previous rate limits or subnets")
		}
	}
}
