package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The partner-owned phase: in an HA load-balancing pair each server must
// ignore the queries whose load-balancing hash (ha/lbhash) the partner
// owns. Kea parses every one before its HA hook drops it; xdhcpd's XDP
// program drops them in the kernel. Once a pair is in load-balancing, and
// before its ladder, the bench idles for -ha-drop-secs (the background:
// heartbeats, timers), then offers DISCOVERs only (dhcpload -discover-only:
// no REQUEST, so no lease is committed and no lease update travels between
// the peers) at -ha-drop-rate for -ha-drop-secs, broadcast to both
// servers, from clients whose MACs all hash to server1 (the primary,
// owner 0 of 2: dhcpload -ha-owner 0/2). Server2's CPU over that window,
// less its idle rate times the window, per 1,000 DISCOVERs sent, is the
// user-space cost of a partner-owned packet.

// haOwnerS1 is server1's share of the hash: the primary is active server
// 0 of 2 (ha/lbhash.Owner; the configuration's peers list server1 as
// "primary").
const haOwnerS1 = "0/2"

// dropTolerance is how far server2's drop counter may stray from the
// DISCOVERs sent (a share of them) and still count as matching.
const dropTolerance = 0.01

// HADrop is one pair's partner-owned phase (results.json
// servers[].ha_partner_drop).
type HADrop struct {
	Rate        int     `json:"offered_rate"` // DISCOVERs/s
	Seconds     int     `json:"seconds"`      // idle window and load run, each
	HAOwner     string  `json:"ha_owner"`     // dhcpload -ha-owner: the clients' owner N/M
	CPUSource   string  `json:"cpu_source"`   // schedstat (ns, summed over threads) or stat (ticks)
	Sent        uint64  `json:"discover_sent"`
	OffersRecv  uint64  `json:"offer_received"`    // server1's answers
	IdleSeconds float64 `json:"idle_wall_seconds"` // both idle windows
	LoadSeconds float64 `json:"load_wall_seconds"`
	// Per server (index 0 server1, 1 server2): CPU seconds (utime+stime)
	// over the two idle windows (before and after the load) and over the
	// load window.
	IdleCPU [2]float64 `json:"idle_cpu_seconds"`
	LoadCPU [2]float64 `json:"load_cpu_seconds"`
	// NetCPU is server2's load-window CPU less its idle rate times the
	// load window; Per1k is that per 1,000 DISCOVERs sent.
	NetCPU float64 `json:"server2_net_cpu_seconds"`
	Per1k  float64 `json:"server2_cpu_seconds_per_1k_partner_packets"`
	// S2Idle and IdleWall are server2's CPU and the wall time of each idle
	// window; Per1kNoise is half the difference of the two windows' rates
	// over the load window, per 1,000 DISCOVERs: how far the background
	// itself wanders (the figure is only known to about that).
	S2Idle     []float64 `json:"server2_idle_cpu_seconds_by_window"`
	IdleWall   []float64 `json:"idle_wall_seconds_by_window"`
	Per1kNoise float64   `json:"server2_cpu_seconds_per_1k_noise"`
	// XDPDrops is server2's bpf_drop_partner delta over the load window
	// (xdp-stats-get; nil when it has no XDP program).
	XDPDrops *int64 `json:"server2_xdp_drop_partner,omitempty"`
	// XDPDropsMatch: XDPDrops is within dropTolerance of Sent.
	XDPDropsMatch bool `json:"server2_xdp_drops_match_sent"`
	// Received is server2's pkt4-received statistic delta over the load
	// window (nil when not answered).
	Received *int64 `json:"server2_pkt4_received,omitempty"`
	Err      string `json:"error,omitempty"`
}

// finish derives the net CPU and the per-1k figure.
func (h *HADrop) finish() {
	h.NetCPU = h.LoadCPU[1]
	if h.IdleSeconds > 0 {
		h.NetCPU -= h.IdleCPU[1] / h.IdleSeconds * h.LoadSeconds
	}
	h.Per1kNoise = 0
	if h.Sent > 0 {
		h.Per1k = h.NetCPU / (float64(h.Sent) / 1000)
		if len(h.S2Idle) == 2 && h.IdleWall[0] > 0 && h.IdleWall[1] > 0 {
			d := math.Abs(h.S2Idle[0]/h.IdleWall[0]-h.S2Idle[1]/h.IdleWall[1]) / 2
			h.Per1kNoise = d * h.LoadSeconds / (float64(h.Sent) / 1000)
		}
	}
	h.XDPDropsMatch = h.XDPDrops != nil && h.Sent > 0 &&
		math.Abs(float64(*h.XDPDrops)-float64(h.Sent)) <= dropTolerance*float64(h.Sent)
}

// procCPU is pid's CPU seconds: the sum of its threads' on-CPU time from
// /proc/<pid>/task/*/schedstat (nanoseconds; threads that exit are lost,
// the servers keep theirs), else utime+stime from /proc/<pid>/stat (10 ms
// ticks, too coarse for a near-idle server over a few seconds).
func procCPU(pid int) (float64, string) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	ns, ok := 0.0, len(tasks) > 0
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		f := strings.Fields(string(b))
		if err != nil || len(f) == 0 {
			continue // the thread exited
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			ok = false
			break
		}
		ns += v
	}
	if ok {
		return ns / 1e9, "schedstat"
	}
	v, _ := cpuSeconds(pid)
	return v, "stat"
}

// statistic is a statistic-get value (its latest sample).
func (d *daemon) statistic(name string) (int64, bool) {
	v, err := d.command(`{"command":"statistic-get","arguments":{"name":"`+name+`"}}`, time.Second)
	if err != nil || result(v) != 0 {
		return 0, false
	}
	args, _ := v["arguments"].(map[string]any)
	samples, _ := args[name].([]any)
	if len(samples) == 0 {
		return 0, false
	}
	s, _ := samples[0].([]any)
	if len(s) == 0 {
		return 0, false
	}
	f, ok := s[0].(float64)
	return int64(f), ok
}

// xdpCounter is the sum over interfaces of one xdp-stats-get counter
// ("bpf_drop_partner", ...); false when the server has no XDP path.
func (d *daemon) xdpCounter(name string) (int64, bool) {
	v, err := d.command(`{"command":"xdp-stats-get"}`, time.Second)
	if err != nil || result(v) != 0 {
		return 0, false
	}
	args, _ := v["arguments"].(map[string]any)
	ifs, _ := args["interfaces"].([]any)
	var sum int64
	found := false
	for _, i := range ifs {
		m, _ := i.(map[string]any)
		c, _ := m["counters"].(map[string]any)
		if f, ok := c[name].(float64); ok {
			sum += int64(f)
			found = true
		}
	}
	return sum, found
}

// deltaOf is after-before, nil unless both reads worked.
func deltaOf(before, after int64, ok1, ok2 bool) *int64 {
	if !ok1 || !ok2 {
		return nil
	}
	d := after - before
	return &d
}

// haDropLoader is the dhcpload the phase needs (perfdhcp cannot pick
// MACs by hash), or nil.
func (b *bench) haDropLoader() *dhcpload {
	if d, ok := b.loader.(*dhcpload); ok {
		return d
	}
	dl := filepath.Join(b.o.root, "bin", "dhcpload")
	if _, err := os.Stat(dl); err != nil {
		return nil
	}
	return &dhcpload{bin: dl, mode: env("DHCPLOAD_MODE", "packet")}
}

// haDrop runs the partner-owned phase against pair ds (server1, server2).
func (b *bench) haDrop(ctx context.Context, s *Server, ds []*daemon, dir string) {
	o := b.o
	h := &HADrop{Rate: o.haDropRate, Seconds: o.haDropSecs, HAOwner: haOwnerS1}
	s.HADrop = h
	l := b.haDropLoader()
	if l == nil {
		h.Err = "needs bin/dhcpload (make build): perfdhcp cannot choose MACs by their HA hash"
		fmt.Println("bench:", s.Name, "partner-owned phase skipped:", h.Err)
		return
	}
	cpu := func() [2]float64 {
		var c [2]float64
		for i, d := range ds[:2] {
			c[i], h.CPUSource = procCPU(d.pid())
		}
		return c
	}
	s2 := ds[1]
	window := time.Duration(o.haDropSecs) * time.Second
	// idle waits one window and adds the servers' CPU over it.
	idle := func() bool {
		c0, t0 := cpu(), time.Now()
		select {
		case <-ctx.Done():
			h.Err = "interrupted"
			return false
		case <-time.After(window):
		}
		c1 := cpu()
		w := time.Since(t0).Seconds()
		h.IdleSeconds += w
		h.IdleWall = append(h.IdleWall, w)
		h.S2Idle = append(h.S2Idle, c1[1]-c0[1])
		for i := range 2 {
			h.IdleCPU[i] += c1[i] - c0[i]
		}
		return true
	}
	if !idle() {
		return
	}
	x0, xok0 := s2.xdpCounter("bpf_drop_partner")
	r0, rok0 := s2.statistic("pkt4-received")
	c2, t2 := cpu(), time.Now()
	spec := LoadSpec{NS: b.lab.ns("cli"), Iface: "br0", Relays: b.lab.relays[:1], Seconds: o.haDropSecs,
		Rate: o.haDropRate, Clients: o.clients, Pool: poolFirst + "-" + haPoolSplit,
		DiscoverOnly: true, HAOwner: haOwnerS1}
	r, err := runLoad(ctx, l, spec, filepath.Join(dir, "partner-owned"))
	c3, t3 := cpu(), time.Now()
	x1, xok1 := s2.xdpCounter("bpf_drop_partner")
	r1, rok1 := s2.statistic("pkt4-received")
	if err != nil {
		h.Err = err.Error()
	}
	h.Sent, h.OffersRecv = r.DiscSent, r.OffersRecv
	h.LoadSeconds = t3.Sub(t2).Seconds()
	for i := range 2 {
		h.LoadCPU[i] = c3[i] - c2[i]
	}
	// The second idle window, after the load (late replies, timers): the
	// background is the mean rate over both.
	time.Sleep(200 * time.Millisecond)
	idle()
	h.XDPDrops = deltaOf(x0, x1, xok0, xok1)
	h.Received = deltaOf(r0, r1, rok0, rok1)
	h.finish()
	fmt.Printf("bench:   %s partner-owned: %d DISCOVERs (%d offered by server1); server2 CPU %.3f s in %.1f s (idle %.3f s in %.1f s) = %s s/1k net; XDP drops %s; pkt4-received %s%s\n",
		s.Name, h.Sent, h.OffersRecv, h.LoadCPU[1], h.LoadSeconds, h.IdleCPU[1], h.IdleSeconds, fmtSmall(h.Per1k), optInt(h.XDPDrops), optInt(h.Received), errSuffix(h.Err))
}

// fmtSmall shows v with at least four decimals and two significant
// digits: 0.0320, 0.000041, -0.0012.
func fmtSmall(v float64) string {
	d := 4
	if a := math.Abs(v); a > 0 && a < 0.001 {
		d = min(int(math.Ceil(-math.Log10(a)))+1, 9)
	}
	return strconv.FormatFloat(v, 'f', d, 64)
}

func optInt(p *int64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatInt(*p, 10)
}

// smallRatio is v/base for figures that may be near zero (or below, after
// the background is subtracted): more digits than ratio; when v is within
// its noise of zero (or below), an upper bound "<(max(v,0)+noise)/base",
// or "~0x" without a noise figure.
func smallRatio(v, noise, base float64) string {
	switch {
	case base <= 0:
		return "-"
	case v <= noise && noise > 0:
		return fmt.Sprintf("<%.3fx", (max(v, 0)+noise)/base)
	case v <= 0:
		return "~0x"
	case v/base < 0.1:
		return fmt.Sprintf("%.3fx", v/base)
	}
	return fmt.Sprintf("%.2fx", v/base)
}

// HADropTable renders the partner-owned phase of every pair that ran it,
// with server2's CPU per 1,000 partner-owned packets against the Kea
// pair's; "" when none ran.
func HADropTable(servers []*Server) string {
	byName := map[string]*Server{}
	var ran []*Server
	for _, s := range servers {
		byName[s.Name] = s
		if s.HADrop != nil {
			ran = append(ran, s)
		}
	}
	if len(ran) == 0 {
		return ""
	}
	h0 := ran[0].HADrop
	head := []string{"pair", "DISCOVERs sent", "OFFERs (server1)", "server2 CPU s load/idle (wall s)", "server2 CPU s/1k partner pkts*", "server2 XDP drops", "server2 pkt4-received"}
	rows := [][]string{head}
	for _, s := range ran {
		h := s.HADrop
		if h.Err != "" && h.Sent == 0 {
			rows = append(rows, []string{s.Name, "error: " + h.Err, "", "", "", "", ""})
			continue
		}
		var base float64
		if k := byName[s.Baseline]; k != nil && k.HADrop != nil && k.HADrop.Err == "" {
			base = k.HADrop.Per1k
		}
		pct := func(n uint64) string {
			if h.Sent == 0 {
				return fmt.Sprint(n)
			}
			return fmt.Sprintf("%d (%.1f%%)", n, 100*float64(n)/float64(h.Sent))
		}
		drops := "-"
		if h.XDPDrops != nil {
			drops = pct(uint64(max(0, *h.XDPDrops)))
		}
		rows = append(rows, []string{s.Name, fmt.Sprint(h.Sent), pct(h.OffersRecv),
			fmt.Sprintf("%.3f/%.3f (%.1f/%.1f)", h.LoadCPU[1], h.IdleCPU[1], h.LoadSeconds, h.IdleSeconds),
			fmt.Sprintf("%s ±%s (%s)", fmtSmall(h.Per1k), fmtSmall(h.Per1kNoise), smallRatio(h.Per1k, h.Per1kNoise, base)), drops, optInt(h.Received)})
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "HA partner-owned DISCOVERs: %d/s for %d s between two idle windows, DISCOVER only (no lease), every client hashing to server1 (lbhash owner %s), broadcast to both\n",
		h0.Rate, h0.Seconds, h0.HAOwner)
	sb.WriteString(columns(rows))
	fmt.Fprintf(&sb, "* server2 (the non-owner) process CPU (utime+stime, %s) over the load window less its idle-window rate, per 1,000 DISCOVERs sent, ± the drift between the two idle windows; ratio to the Kea pair. In-kernel XDP work runs in softirq and is not charged to the process.\n", h0.CPUSource)
	return sb.String()
}

// haDropNote is the results.json note for the phase: xdhcpd's figure
// against Kea's, and the drop counter against the DISCOVERs sent.
func haDropNote(servers []*Server) []string {
	var notes []string
	byName := map[string]*Server{}
	for _, s := range servers {
		byName[s.Name] = s
	}
	for _, s := range servers {
		h := s.HADrop
		if h == nil || s.Kind != "xdhcpd" {
			continue
		}
		k := byName[s.Baseline]
		if h.Err == "" && k != nil && k.HADrop != nil && k.HADrop.Err == "" {
			notes = append(notes, fmt.Sprintf("%s: server2 spends %s ±%s CPU s per 1,000 partner-owned DISCOVERs (net of background) vs %s for %s (%s)",
				s.Name, fmtSmall(h.Per1k), fmtSmall(h.Per1kNoise), fmtSmall(k.HADrop.Per1k), k.Name, smallRatio(h.Per1k, h.Per1kNoise, k.HADrop.Per1k)))
		}
		if h.XDPDrops != nil && h.Sent > 0 {
			verdict := "matches"
			if !h.XDPDropsMatch {
				verdict = fmt.Sprintf("MISMATCH (over %.0f%%)", 100*dropTolerance)
			}
			notes = append(notes, fmt.Sprintf("%s: server2's XDP bpf_drop_partner rose by %d for %d partner-owned DISCOVERs sent (%+.2f%%, %s)",
				s.Name, *h.XDPDrops, h.Sent, 100*(float64(*h.XDPDrops)-float64(h.Sent))/float64(h.Sent), verdict))
		}
	}
	return notes
}
