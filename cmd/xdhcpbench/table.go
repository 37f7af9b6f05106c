package main

import (
	"fmt"
	"strings"
)

// ratio formats v/base as "1.23x", "-" when either is missing.
func ratio(v, base float64) string {
	if v <= 0 || base <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v/base)
}

// num formats a figure with a precision suited to its size.
func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// delayPair is the two figures shown for an exchange's delay: p50/p99 when
// the load tool measured percentiles, else avg/max.
func delayPair(d Delay, pct bool) (float64, float64) {
	if pct {
		return d.P50Ms, d.P99Ms
	}
	return d.AvgMs, d.MaxMs
}

// pointAt is the median run at offered rate, or nil.
func (s *Server) pointAt(rate int) *Run {
	for i := range s.Points {
		if s.Points[i].Offered == rate {
			return &s.Points[i].Median
		}
	}
	return nil
}

// delayRun is the run whose delays the table shows for s: the point at its
// baseline's best rate (the same load for both, so the ratio compares like
// with like), else s's own best point.
func delayRun(s, base *Server) *Run {
	if base != nil && base.BestRate > 0 {
		if r := s.pointAt(base.BestRate); r != nil {
			return r
		}
	}
	return s.BestRun()
}

// Table renders the one summary table: each server's best rate (highest
// offered rate at <= 1 % median loss), its leases/s and CPU seconds per
// 1,000 leases at that point, its delays at the Kea baseline's best rate,
// its peak RSS, and each figure's ratio to its Kea baseline (single server
// vs Kea, pair vs Kea pair). Ratios are plain quotients: above 1 is better
// for rate and leases/s, worse for delays, CPU and RSS.
func Table(servers []*Server, pct bool) string {
	dn := "avg/max"
	if pct {
		dn = "p50/p99"
	}
	byName := map[string]*Server{}
	for _, s := range servers {
		byName[s.Name] = s
	}
	head := []string{"server", "data path", "best rate <=1% loss", "leases/s",
		"DISCOVER-OFFER " + dn + " ms*", "REQUEST-ACK " + dn + " ms*", "CPU s/1k leases", "peak RSS MiB"}
	rows := [][]string{head}
	plus := false
	for _, s := range servers {
		path := s.Actual
		if s.Kind == "kea" {
			path = "kea"
		} else if s.Actual == "" {
			path = s.Requested
		} else if s.Requested != "" && s.Requested != s.Actual {
			path = s.Requested + "->" + s.Actual
		}
		row := []string{s.Name, path}
		b := s.BestRun()
		var base, baseD *Run
		var baseRate float64
		var baseRSS int64
		k := byName[s.Baseline]
		d := delayRun(s, k)
		if k != nil {
			base, baseD = k.BestRun(), delayRun(k, k)
			baseRate = float64(k.BestRate)
			baseRSS = k.PeakRSSKB
		}
		cell := func(v, bv float64) string {
			if base == nil && bv == 0 {
				return num(v)
			}
			return fmt.Sprintf("%s (%s)", num(v), ratio(v, bv))
		}
		if b == nil {
			why := "none"
			if s.Error != "" {
				why = "error"
			}
			row = append(row, fmt.Sprintf("%s (%s)", why, ratio(0, baseRate)), "-", "-", "-", "-")
		} else {
			var bd50, bd99, br50, br99, bl, bc float64
			if base != nil {
				bl, bc = base.LeasesPerSec, base.CPUPer1k
			}
			if baseD != nil {
				bd50, bd99 = delayPair(baseD.DO, pct)
				br50, br99 = delayPair(baseD.RA, pct)
			}
			d50, d99 := delayPair(d.DO, pct)
			r50, r99 := delayPair(d.RA, pct)
			mark := ""
			if capped(s) {
				mark, plus = "+", true
			}
			row = append(row,
				fmt.Sprintf("%d%s (%s)", s.BestRate, mark, ratio(float64(s.BestRate), baseRate)),
				cell(b.LeasesPerSec, bl),
				fmt.Sprintf("%s/%s (%s/%s)", num(d50), num(d99), ratio(d50, bd50), ratio(d99, bd99)),
				fmt.Sprintf("%s/%s (%s/%s)", num(r50), num(r99), ratio(r50, br50), ratio(r99, br99)),
				cell(b.CPUPer1k, bc),
			)
		}
		row = append(row, fmt.Sprintf("%s (%s)", num(float64(s.PeakRSSKB)/1024), ratio(float64(s.PeakRSSKB), float64(baseRSS))))
		rows = append(rows, row)
	}
	var sb strings.Builder
	sb.WriteString(columns(rows))
	sb.WriteString("* delays at the Kea baseline's best rate (same load for every row; own best rate if not run there)\n")
	if plus {
		sb.WriteString("+ the ladder ended before a failing point (time budget or its top): the best rate may be higher\n")
	}
	return sb.String()
}

// Ladders renders every point of every server, one line each: the detail
// behind the table.
func Ladders(servers []*Server, pct bool) string {
	var sb strings.Builder
	dn := "avg/max"
	if pct {
		dn = "p50/p99"
	}
	for _, s := range servers {
		fmt.Fprintf(&sb, "%s (stopped: %s)\n", s.Name, s.Stop)
		for i, p := range s.Points {
			m := p.Median
			d1, d2 := delayPair(m.DO, pct)
			r1, r2 := delayPair(m.RA, pct)
			mark := " "
			if i == s.Best {
				mark = "*"
			}
			short := ""
			if loadShort(p) {
				short = " (load tool short)"
			}
			fmt.Fprintf(&sb, " %s offered %6d/s  runs %d  sent %6.0f/s  loss %6.2f%%  leases/s %7.0f  D-O %s %s/%s ms  R-A %s %s/%s ms  CPU s/1k %s%s\n",
				mark, p.Offered, len(p.Runs), sentPerSec(m), 100*m.Loss, m.LeasesPerSec, dn, num(d1), num(d2), dn, num(r1), num(r2), num(m.CPUPer1k), short)
		}
	}
	return sb.String()
}

// columns renders rows as left-aligned columns two spaces apart, the first
// row a header underlined with dashes; the last column is not padded (it
// may be long).
func columns(rows [][]string) string {
	if len(rows) == 0 {
		return ""
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], len(c))
			}
		}
	}
	var sb strings.Builder
	for ri, r := range rows {
		for i, c := range r {
			if i > 0 {
				sb.WriteString("  ")
			}
			if i == len(r)-1 {
				sb.WriteString(c)
			} else {
				fmt.Fprintf(&sb, "%-*s", widths[i], c)
			}
		}
		sb.WriteByte('\n')
		if ri == 0 {
			n := len(rows[0][len(rows[0])-1])
			for _, w := range widths[:len(widths)-1] {
				n += w + 2
			}
			sb.WriteString(strings.Repeat("-", n) + "\n")
		}
	}
	return sb.String()
}

// CPUTable compares CPU per lease rung by rung, at the same offered rates:
// single xdhcpd on XDP against Kea, and the xdhcpd pair against the Kea
// pair (both servers summed), with the ratio and the goal that applies
// at the rung (targets 1a/1b/2a); "" when neither comparison has a rung.
func CPUTable(servers []*Server) string {
	by := map[string]*Server{}
	for _, s := range servers {
		by[s.Name] = s
	}
	var sb strings.Builder
	for _, c := range []struct{ x, base, title string }{
		{"xdhcpd-auto", "kea", "single: xdhcpd-auto (" + pathOf(by["xdhcpd-auto"]) + ") vs kea"},
		{"xdhcpd-ha", "kea-ha", "pair: xdhcpd-ha vs kea-ha (both servers summed)"},
	} {
		x, base := by[c.x], by[c.base]
		if x == nil && base == nil {
			continue
		}
		rungs := cpuRungs(x, base)
		if len(rungs) == 0 {
			continue
		}
		rows := [][]string{{"offered/s", c.base + " us/lease (loss)", c.x + " us/lease (loss)", "ratio", "goal"}}
		for _, g := range rungs {
			cell := func(have bool, v, loss float64) string {
				if !have {
					return "-"
				}
				return fmt.Sprintf("%.1f (%.2f%%)", 1000*v, 100*loss)
			}
			r, goal := "-", "-"
			if g.HaveX && g.HaveBase {
				r = fmt.Sprintf("%.3f (1/%.1f)", g.Ratio, 1/max(g.Ratio, 1e-9))
			}
			switch {
			case g.AtBaseBest && c.base == "kea":
				goal = fmt.Sprintf("<= %.2f (Kea's best)", goalCPUAtBest)
			case g.AtBaseBest:
				goal = fmt.Sprintf("<= %.2f (Kea pair's best)", goalCPUEvery)
			case g.UpToBase:
				goal = fmt.Sprintf("<= %.2f", goalCPUEvery)
			default:
				goal = "- (above Kea's best)"
			}
			rows = append(rows, []string{fmtRate(g.Rate), cell(g.HaveBase, g.Base, g.BaseLoss), cell(g.HaveX, g.X, g.XLoss), r, goal})
		}
		if sb.Len() > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString("CPU per lease, rung by rung, " + c.title + "\n")
		sb.WriteString(columns(rows))
	}
	if sb.Len() == 0 {
		return ""
	}
	sb.WriteString("us/lease: the server processes' utime+stime (/proc/<pid>/stat) over the load window / ACKed leases (median run), background not subtracted; softirq work charged to other processes (the load tool's sends, ksoftirqd) is in neither figure.\n")
	return sb.String()
}

func pathOf(s *Server) string {
	if s == nil || s.Actual == "" {
		return "not run"
	}
	return s.Actual
}

// ReferenceTable renders the perfdhcp reference runs next to the
// dhcpload run at the same rate; "" when none ran.
func ReferenceTable(servers []*Server) string {
	rows := [][]string{{"server", "loader", "offered/s", "loss", "leases/s", "REQUEST-ACK avg/max ms", "CPU us/lease"}}
	rate := 0
	for _, s := range servers {
		r := s.Reference
		if r == nil {
			continue
		}
		rate = r.Offered
		if r.Err != "" {
			rows = append(rows, []string{s.Name, "perfdhcp", fmtRate(r.Offered), "error: " + firstOf(r.Err), "", "", ""})
		} else {
			rows = append(rows, []string{s.Name, "perfdhcp", fmtRate(r.Offered), fmt.Sprintf("%.2f%%", 100*r.Loss),
				fmt.Sprintf("%.0f", r.LeasesPerSec), fmt.Sprintf("%s/%s", num(r.RA.AvgMs), num(r.RA.MaxMs)), fmt.Sprintf("%.1f", 1000*r.CPUPer1k)})
		}
		if d := s.pointAt(r.Offered); d != nil && d.Err == "" {
			rows = append(rows, []string{s.Name, "dhcpload (ladder)", fmtRate(r.Offered), fmt.Sprintf("%.2f%%", 100*d.Loss),
				fmt.Sprintf("%.0f", d.LeasesPerSec), fmt.Sprintf("%s/%s", num(d.RA.AvgMs), num(d.RA.MaxMs)), fmt.Sprintf("%.1f", 1000*d.CPUPer1k)})
		}
	}
	if len(rows) == 1 {
		return ""
	}
	return fmt.Sprintf("Reference row: perfdhcp (Kea 2.2's tool), one run at %s/s, next to the dhcpload ladder point at the same rate (not used by any target)\n", fmtRate(rate)) + columns(rows)
}
