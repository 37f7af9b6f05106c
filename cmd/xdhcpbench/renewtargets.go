package main

import "fmt"

// Renewal goals (issue 16), from the renewal phase (renew.go):
//
//	8a renewals/s at <= 1 % loss with xdhcpd's kernel renewal cache on,
//	   against Kea 2.2 with lease caching: >= 20x. Where the lab cannot
//	   offer that many (the host's CPUs saturated at the "max" row: the
//	   load tool shares them), the row is n/a and says so with its figure.
//	8b what a kernel-answered renewal costs user space: the server's
//	   utime+stime per 1,000 renewals with the kernel cache on, net of its
//	   idle CPU (sampled just before), at the highest offered rate (not
//	   max) both it and the user-space cached row ran: <= 5 % of that
//	   row's.
const (
	goalRenewVsKea  = 20.0
	goalRenewUserSh = 0.05
)

// bestRenew is the highest renewals/s at <= 1 % loss among s's renewal
// rows that match (nil when none).
func bestRenew(s *Server, match func(RenewRow) bool) *RenewRow {
	if s == nil || s.Renewals == nil {
		return nil
	}
	var best *RenewRow
	for i, r := range s.Renewals.Rows {
		if r.Err != "" || !match(r) || r.Sent == 0 || r.Loss > 0.01 {
			continue
		}
		if best == nil || r.PerSec > best.PerSec {
			best = &s.Renewals.Rows[i]
		}
	}
	return best
}

// maxRow is s's "max" (as fast as the lab goes) row that matches.
func maxRow(s *Server, match func(RenewRow) bool) *RenewRow {
	if s == nil || s.Renewals == nil {
		return nil
	}
	for i, r := range s.Renewals.Rows {
		if r.Err == "" && r.Offered == 0 && match(r) {
			return &s.Renewals.Rows[i]
		}
	}
	return nil
}

func kernelOn(r RenewRow) bool  { return r.Cached && r.Kernel == "on" }
func kernelOff(r RenewRow) bool { return r.Cached && r.Kernel == "off" }
func keaCached(r RenewRow) bool { return r.Cached && r.Kernel == "" }

func targetsRenew(x, kea *Server) []Target {
	const nRate, gRate = "8a kernel-cached renewals/s <= 1% loss vs Kea cached", ">= 20x"
	const nCPU, gCPU = "8b server CPU per kernel-answered renewal", "<= 5% of its user-space cached renewal"
	if x == nil || x.Renewals == nil {
		return []Target{na(nRate, gRate, "renewal phase not run for xdhcpd-auto"), na(nCPU, gCPU, "renewal phase not run for xdhcpd-auto")}
	}
	var ts []Target
	xb, kb := bestRenew(x, kernelOn), bestRenew(kea, keaCached)
	switch {
	case xb == nil:
		ts = append(ts, Target{Name: nRate, Goal: gRate, Measured: "-", Status: Missed, Detail: "no kernel-cache row at <= 1% loss"})
	case kb == nil:
		ts = append(ts, na(nRate, gRate, "no Kea cached row at <= 1% loss (Kea not run?)"))
	default:
		v := xb.PerSec / kb.PerSec
		d := fmt.Sprintf("xdhcpd kernel cache %.0f/s (offered %s, %d by the kernel), Kea cached %.0f/s (offered %s)",
			xb.PerSec, rateLabel(xb.Offered), xb.KernelAcked, kb.PerSec, rateLabel(kb.Offered))
		t := Target{Name: nRate, Goal: gRate, Value: ptr(v), Measured: fmt.Sprintf("%.2fx", v), Detail: d, Status: status(v >= goalRenewVsKea)}
		if m := maxRow(x, kernelOn); v < goalRenewVsKea && m != nil {
			switch {
			case m.HostBusy >= hostSaturated:
				t.Status = NA
				t.Detail += fmt.Sprintf("; lab limit: at the max row the host's CPUs were %.0f%% busy (the load tool shares them) for %.0f/s acked, %.2f%% lost", 100*m.HostBusy, m.PerSec, 100*m.Loss)
			case m.Loss <= 0.01:
				t.Status = NA
				t.Detail += fmt.Sprintf("; lab limit: the max row (the load tool as fast as it goes) is the best, %.0f/s with %.2f%% lost: the load tool could not offer more", m.PerSec, 100*m.Loss)
			case m.Sent > 0 && float64(m.ServerAcks) >= 0.99*float64(m.Sent):
				t.Status = NA
				t.Detail += fmt.Sprintf("; lab limit: at the max row the server sent an ACK for %.1f%% of the load tool's %d renewals (%d, %d by the kernel) but the load tool took back %d (%.0f/s; %.2f%% lost after the server: its receive is the limit)",
					100*float64(m.ServerAcks)/float64(m.Sent), m.Sent, m.ServerAcks, m.KernelAcked, m.Acked, m.PerSec, 100*m.Loss)
			default:
				t.Detail += fmt.Sprintf("; max row: %.0f/s acked, %.2f%% lost, the server sent %d ACKs for %d renewals", m.PerSec, 100*m.Loss, m.ServerAcks, m.Sent)
			}
		}
		ts = append(ts, t)
	}
	// The highest offered rate (not max) both rows ran: the most
	// kernel-answered renewals over the server's background.
	var on, off *RenewRow
	for i, r := range x.Renewals.Rows {
		if r.Err != "" || r.Offered == 0 || r.Acked == 0 || !kernelOn(r) || (on != nil && r.Offered <= on.Offered) {
			continue
		}
		for j, q := range x.Renewals.Rows {
			if q.Err == "" && kernelOff(q) && q.Offered == r.Offered && q.Acked > 0 {
				on, off = &x.Renewals.Rows[i], &x.Renewals.Rows[j]
			}
		}
	}
	if on == nil || off == nil || off.Per1k <= 0 {
		return append(ts, na(nCPU, gCPU, "needs a kernel-cache row and a user-space cached row at the same offered rate"))
	}
	cost, how := on.Per1k, "background included"
	if on.IdleCPUPerSec > 0 {
		cost, how = on.NetPer1k, fmt.Sprintf("net of the server's idle %.1f ms/s; %.3f ms per 1,000 with it", 1000*on.IdleCPUPerSec, 1000*on.Per1k)
	}
	v := cost / off.Per1k
	d := fmt.Sprintf("at %s: kernel cache on %.3f ms per 1,000 (%s; %d of %d by the kernel), off %.3f ms per 1,000 (server utime+stime)",
		rateLabel(on.Offered), 1000*cost, how, on.KernelAcked, on.Acked, 1000*off.Per1k)
	return append(ts, Target{Name: nCPU, Goal: gCPU, Value: ptr(v), Measured: fmt.Sprintf("%.1f%%", 100*v), Detail: d, Status: status(v <= goalRenewUserSh)})
}
