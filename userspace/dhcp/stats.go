package dhcp

import (
	"fmt"

	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// dropCause names why the engine returned no reply. Each has a cell
// "pkt4-dropped-<name>"; those with receiveDrop also count Kea's
// pkt4-receive-drop (in the worker's shard).
type dropCause struct {
	idx         int
	name        string
	receiveDrop bool
}

// Drop causes.
var (
	dropBadPacket   = dropCause{0, "bad-packet", true}
	dropUnsupported = dropCause{1, "unsupported-type", true}
	dropNotForUs    = dropCause{2, "not-for-us", true}
	dropHAScope     = dropCause{3, "ha-scope", true}
	dropClass       = dropCause{4, "drop-class", true}
	dropNoSubnet    = dropCause{5, "no-subnet", false}
	dropNoAddress   = dropCause{6, "no-address", false}
	dropInitReboot  = dropCause{7, "init-reboot-unknown", false}
	dropStoreError  = dropCause{8, "lease-store-error", false}
	dropNoLease     = dropCause{9, "no-lease", false}
	dropHostsDB     = dropCause{10, "hosts-database-error", false}
	numDropCauses   = 11
)

var dropCauses = []dropCause{dropBadPacket, dropUnsupported, dropNotForUs, dropHAScope, dropClass,
	dropNoSubnet, dropNoAddress, dropInitReboot, dropStoreError, dropNoLease, dropHostsDB}

// DropCauseNames lists the statistic names of the engine's drop causes.
func DropCauseNames() []string {
	out := make([]string, len(dropCauses))
	for i, c := range dropCauses {
		out[i] = "pkt4-dropped-" + c.name
	}
	return out
}

// globalStats are the engine's server-wide cells.
type globalStats struct {
	drops                                  []*stats.Cell
	declined, reclaimed, reclaimedDeclined *stats.Cell
	cumulative, resConflicts, naks         *stats.Cell
	allocFail, allocFailSubnet             *stats.Cell
	allocFailNetwork, allocFailClasses     *stats.Cell
	allocFailNoPools                       *stats.Cell
}

func newGlobalStats(r *stats.Registry) globalStats {
	g := globalStats{
		declined:          r.Cell("declined-addresses"),
		reclaimed:         r.Cell("reclaimed-leases"),
		reclaimedDeclined: r.Cell("reclaimed-declined-addresses"),
		cumulative:        r.Cell("cumulative-assigned-addresses"),
		resConflicts:      r.Cell("v4-reservation-conflicts"),
		naks:              r.Cell("pkt4-nak-decided"),
		allocFail:         r.Cell("v4-allocation-fail"),
		allocFailSubnet:   r.Cell("v4-allocation-fail-subnet"),
		allocFailNetwork:  r.Cell("v4-allocation-fail-shared-network"),
		allocFailClasses:  r.Cell("v4-allocation-fail-classes"),
		allocFailNoPools:  r.Cell("v4-allocation-fail-no-pools"),
	}
	g.drops = make([]*stats.Cell, numDropCauses)
	for _, c := range dropCauses {
		g.drops[c.idx] = r.Cell("pkt4-dropped-" + c.name)
	}
	return g
}

// subnetStats are the per-subnet cells (docs/kea/control-api.md §4).
type subnetStats struct {
	total, assigned, declined                *stats.Cell
	reclaimed, reclaimedDeclined, cumulative *stats.Cell
	resConflicts, allocFail                  *stats.Cell
}

func newSubnetStats(r *stats.Registry, id uint32) *subnetStats {
	n := func(s string) *stats.Cell { return r.Cell(fmt.Sprintf("subnet[%d].%s", id, s)) }
	return &subnetStats{
		total: n("total-addresses"), assigned: n("assigned-addresses"), declined: n("declined-addresses"),
		reclaimed: n("reclaimed-leases"), reclaimedDeclined: n("reclaimed-declined-addresses"),
		cumulative: n("cumulative-assigned-addresses"), resConflicts: n("v4-reservation-conflicts"),
		allocFail: n("v4-allocation-fail"),
	}
}

// nakCause counts a NAK decided by the engine (pkt4-nak-sent is counted by
// the server when it sends).
func (w *Worker) nakCause() { w.e.st.naks.Add(1) }

// allocFail counts an allocation failure by cause.
func (e *Engine) allocFail(x *exchange) {
	e.st.allocFail.Add(1)
	x.sub.st.allocFail.Add(1)
	pools, allowed := 0, 0
	for _, s := range x.sub.family() {
		for _, p := range s.pools {
			pools++
			if p.allowed(x.cls) && s.allowed(x.cls) {
				allowed++
			}
		}
	}
	switch {
	case pools == 0:
		e.st.allocFailNoPools.Add(1)
	case allowed == 0:
		e.st.allocFailClasses.Add(1)
	case x.sub.net != nil:
		e.st.allocFailNetwork.Add(1)
	default:
		e.st.allocFailSubnet.Add(1)
	}
}

// countReclaimed counts the reclamation of an expired lease.
func (e *Engine) countReclaimed(l *lease.Lease) {
	var ss *subnetStats
	if s := e.m.byID[l.SubnetID]; s != nil {
		ss = s.st
	}
	if l.State == lease.StateDeclined {
		e.st.reclaimedDeclined.Add(1)
		if ss != nil {
			ss.reclaimedDeclined.Add(1)
		}
	}
	e.st.reclaimed.Add(1)
	if ss != nil {
		ss.reclaimed.Add(1)
	}
}
