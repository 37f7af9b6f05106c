package daemon

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/internal/crash"
)

// The drop report: counters say how much hostile input was dropped, by
// name, but an operator reading the log should see that a flood is on
// without polling them. Once per dropReportEvery, if any drop counter of
// the edge rose, one WARN line lists the rises (a rate-limited log line
// for every bad-input case, however many frames it covers).

const dropReportEvery = time.Minute

// dropCounter reports whether a counter name (statistic-get-all's, or the
// XDP path's with its "xdp:" prefix) counts hostile or malformed input
// dropped or turned away at the edge.
func dropCounter(name string) bool {
	switch {
	case strings.HasPrefix(name, "xdp:bpf_drop_"):
		return name != "xdp:bpf_drop_partner" // the HA partner's share is no drop
	case strings.HasPrefix(name, "xdp:bpf_pass_"):
		return name == "xdp:bpf_pass_not_our_mac" || name == "xdp:bpf_pass_not_our_ip" ||
			name == "xdp:bpf_pass_vlan" || name == "xdp:bpf_pass_fragment" || name == "xdp:bpf_pass_malformed"
	case strings.HasPrefix(name, "pkt4-udp-drop-rate-"), strings.HasPrefix(name, "pkt4-parse-failed-"):
		return true
	}
	return false
}

// dropSnapshot reads every edge drop counter.
func (d *Daemon) dropSnapshot() map[string]int64 {
	m := map[string]int64{}
	for k, v := range d.reg.Snapshot() {
		if dropCounter(k) {
			m[k] = v
		}
	}
	if d.data != nil && d.data.xdp != nil {
		for _, p := range d.data.xdp.paths {
			for k, v := range p.Counters() {
				if k = "xdp:" + k; dropCounter(k) {
					m[k] += v
				}
			}
		}
	}
	return m
}

// dropRises formats the counters that rose from before to after, largest
// first; "" when none did.
func dropRises(before, after map[string]int64) (string, int64) {
	type rise struct {
		name string
		n    int64
	}
	var rs []rise
	var total int64
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if n := after[k] - before[k]; n > 0 {
			rs = append(rs, rise{k, n})
			total += n
		}
	}
	slices.SortStableFunc(rs, func(a, b rise) int { return int(b.n - a.n) })
	var sb strings.Builder
	for i, r := range rs {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(r.name)
		sb.WriteString(" +")
		sb.WriteString(strconv.FormatInt(r.n, 10))
	}
	return sb.String(), total
}

// startDropReport logs the edge's drops once per period until ctx ends.
func (d *Daemon) startDropReport(ctx context.Context, every time.Duration, log zerolog.Logger) {
	crash.Go(log, "drop report", func() {
		t := time.NewTicker(every)
		defer t.Stop()
		last := d.dropSnapshot()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := d.dropSnapshot()
			if s, total := dropRises(last, now); total > 0 {
				log.Warn().Int64("dropped", total).Dur("period", every).Str("by-counter", s).
					Msg("hostile or malformed input dropped at the edge (counted by name; see statistic-get-all and xdp-stats-get)")
			}
			last = now
		}
	})
}
