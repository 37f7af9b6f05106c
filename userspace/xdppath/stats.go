//go:build linux

package xdppath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/xdhcp/xdhcp/userspace/afxdp"
)

// Stats are the path's counters since Open: the sockets' (summed over the
// queues) and the path's own.
type Stats struct {
	Sockets afxdp.Stats // summed over the queues

	RxFrames      uint64 // frames taken from the RX rings
	RxDropped     uint64 // frames dropped before the server (see the xdp-rx-drop-* cells)
	TxFrames      uint64 // replies queued on a TX ring
	TxFallback    uint64 // replies handed to the fallback (see the xdp-tx-fallback-* cells)
	TxErrors      uint64 // replies that could not be encoded or submitted
	NeighMisses   uint64 // next hops not in the neighbour table (reply sent through the fallback)
	NeighTriggers uint64 // resolution requests sent to the kernel
	AddrUpdates   uint64 // local address changes applied to the program's map
	AddrErrors    uint64 // address subscription or map update errors
}

// Stats sums the queues' counters. Socket statistics of a queue that cannot
// be read (socket closed) are left out and reported in the error.
func (p *Path) Stats() (Stats, error) {
	var s Stats
	var errs []error
	for _, q := range p.queues {
		c := &q.c
		s.RxFrames += c.rxFrames.Load()
		s.RxDropped += c.rxDropped.Load()
		s.TxFrames += c.txFrames.Load()
		s.TxFallback += c.txFallback.Load()
		s.TxErrors += c.txError.Load()
		s.NeighMisses += c.neighMisses.Load()
		ss, err := q.sockStats()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		addSocketStats(&s.Sockets, ss)
	}
	if p.neigh != nil {
		s.NeighTriggers = p.neigh.triggers.Load()
	}
	if w := p.addrs; w != nil {
		s.AddrUpdates, s.AddrErrors = w.updates.Load(), w.errs.Load()
	}
	return s, errors.Join(errs...)
}

func addSocketStats(d *afxdp.Stats, s afxdp.Stats) {
	d.RxDropped += s.RxDropped
	d.RxInvalidDescs += s.RxInvalidDescs
	d.TxInvalidDescs += s.TxInvalidDescs
	d.RxRingFull += s.RxRingFull
	d.RxFillRingEmptyDescs += s.RxFillRingEmptyDescs
	d.TxRingEmptyDescs += s.TxRingEmptyDescs
	d.RxPackets += s.RxPackets
	d.RxWakeups += s.RxWakeups
	d.TxPackets += s.TxPackets
	d.TxCompleted += s.TxCompleted
	d.TxKicks += s.TxKicks
	d.TxNoFrame += s.TxNoFrame
	d.InvalidRelease += s.InvalidRelease
	d.InvalidSubmit += s.InvalidSubmit
	d.UnexpectedFrames += s.UnexpectedFrames
}

// BPFCounters returns the XDP program's counters (bpf.Stats) keyed by
// their xdhcp.h names ("rx_total", "redirect_ours", "drop_partner", ...).
func (p *Path) BPFCounters() (map[string]int64, error) {
	st, err := p.dp.Stats()
	if err != nil {
		return nil, fmt.Errorf("xdp path on %s: %w", p.ifname, err)
	}
	m := make(map[string]int64, len(st))
	for k, v := range st {
		m[k] = int64(v)
	}
	return m, nil
}

// Counters flattens everything for the metrics side: the program's
// counters as "bpf_<name>", the sockets' as "xsk_<name>" and the path's as
// "path_<name>". Counters that cannot be read are left out.
func (p *Path) Counters() map[string]int64 {
	m := make(map[string]int64, 40)
	if b, err := p.BPFCounters(); err == nil {
		for k, v := range b {
			m["bpf_"+k] = v
		}
	}
	s, _ := p.Stats()
	k := s.Sockets
	for name, v := range map[string]uint64{
		"xsk_rx_dropped": k.RxDropped, "xsk_rx_invalid_descs": k.RxInvalidDescs,
		"xsk_tx_invalid_descs": k.TxInvalidDescs, "xsk_rx_ring_full": k.RxRingFull,
		"xsk_rx_fill_ring_empty_descs": k.RxFillRingEmptyDescs, "xsk_tx_ring_empty_descs": k.TxRingEmptyDescs,
		"xsk_rx_packets": k.RxPackets, "xsk_rx_wakeups": k.RxWakeups, "xsk_tx_packets": k.TxPackets,
		"xsk_tx_completed": k.TxCompleted, "xsk_tx_kicks": k.TxKicks, "xsk_tx_no_frame": k.TxNoFrame,
		"xsk_invalid_release": k.InvalidRelease, "xsk_invalid_submit": k.InvalidSubmit,
		"xsk_unexpected_frames": k.UnexpectedFrames,
		"path_rx_frames":        s.RxFrames, "path_rx_dropped": s.RxDropped, "path_tx_frames": s.TxFrames,
		"path_tx_fallback": s.TxFallback, "path_tx_errors": s.TxErrors,
		"path_neigh_misses": s.NeighMisses, "path_neigh_triggers": s.NeighTriggers,
		"path_addr_updates": s.AddrUpdates, "path_addr_errors": s.AddrErrors,
	} {
		m[name] = int64(v)
	}
	return m
}

// queueCount is how many RX queues to serve: Config.Queues if set, else
// the interface's active RX queues from sysfs (when this process's /sys
// shows the interface's namespace), else IFLA_NUM_RX_QUEUES.
func (p *Path) queueCount(lk netlink.Link) (int, error) {
	n := RxQueues(p.ifname, p.ifindex)
	if n == 0 {
		n = lk.Attrs().NumRxQueues
	}
	if n <= 0 {
		n = 1
	}
	if q := p.cfg.Queues; q > 0 {
		if q > n {
			return 0, fmt.Errorf("xdp path on %s: %d queues asked, the interface has %d", p.ifname, q, n)
		}
		n = q
	}
	return n, nil
}

// RxQueues counts /sys/class/net/<ifname>/queues/rx-* when that directory
// belongs to ifindex (sysfs shows the namespace it was mounted in), else 0.
// ifindex 0 skips the check.
func RxQueues(ifname string, ifindex int) int {
	dir := filepath.Join("/sys/class/net", ifname)
	if ifindex > 0 {
		b, err := os.ReadFile(filepath.Join(dir, "ifindex"))
		if err != nil {
			return 0
		}
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || v != ifindex {
			return 0
		}
	}
	m, _ := filepath.Glob(filepath.Join(dir, "queues", "rx-*"))
	return len(m)
}
