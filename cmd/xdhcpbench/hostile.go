package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The hostile-edge phase (issue 11): after its ladder, a single server
// (Kea, xdhcpd on the XDP path) serves a well-behaved relay whose clients
// ask -hostile-good DORA/s, each exchange a new client, first alone, then
// while an attacker on the LAN (its own port, atk0 on br0: scripts/lab.sh)
// sends dhcpload -hostile frames at each of -hostile-rates frames/s
// (0 = as fast as the lab can send). A row reports the share of the
// relay's exchanges that completed, the frames the attacker sent, and
// the server process's CPU per 1,000 hostile frames: its utime+stime over
// the row less that of the baseline row (the relay alone), per 1,000
// frames sent.

// Hostile is one server's hostile phase (results.json servers[].hostile).
type Hostile struct {
	GoodRate int          `json:"good_rate"` // DORA/s, each a new client
	Seconds  int          `json:"seconds"`
	Rows     []HostileRow `json:"rows"`
}

// HostileRow is one flood rate (Offered 0 with Baseline: no attacker).
type HostileRow struct {
	Baseline bool   `json:"baseline"`
	Offered  int    `json:"offered_frames_per_sec"` // 0 with !Baseline: as fast as the lab can
	Sent     uint64 `json:"hostile_frames_sent"`
	// SentPerSec is what the attacker achieved.
	SentPerSec float64 `json:"hostile_frames_per_sec"`
	Started    uint64  `json:"good_started"`
	Completed  uint64  `json:"good_completed"`
	// Share is Completed/Started.
	Share      float64          `json:"good_completed_share"`
	CPUSeconds float64          `json:"server_cpu_seconds"`
	Per1k      float64          `json:"server_cpu_seconds_per_1k_hostile"` // baseline subtracted
	HostBusy   float64          `json:"host_cpu_busy"`
	Counters   map[string]int64 `json:"counters_delta"`
	Err        string           `json:"error,omitempty"`
}

// hostileMax is the -rate dhcpload -hostile gets for "as fast as the lab
// can send": far above what one AF_PACKET sender reaches here.
const hostileMax = 5000000

// hostilePerProc is the most frames/s one attacker process is asked for.
const hostilePerProc = 30000

// attackerIface is the attacker's port in the cli namespace (lab.sh).
const attackerIface = "atk0"

// hostile runs the phase against single server d.
func (b *bench) hostile(ctx context.Context, s *Server, d *daemon, dir string) {
	o := b.o
	h := &Hostile{GoodRate: o.hostileGood, Seconds: o.hostileSecs}
	s.Hostile = h
	dl := filepath.Join(o.root, "bin", "dhcpload")
	if _, err := os.Stat(dl); err != nil {
		h.Rows = append(h.Rows, HostileRow{Err: "needs bin/dhcpload (make build)"})
		return
	}
	rates := append([]int{-1}, o.hostileRates...) // -1: baseline
	var base float64
	for i, rate := range rates {
		if ctx.Err() != nil || !d.alive() {
			return
		}
		time.Sleep(time.Second) // drain the previous row
		r := b.hostileRow(ctx, d, dl, i, rate, dir)
		if r.Baseline {
			base = r.CPUSeconds
		} else if r.Sent > 0 {
			r.Per1k = (r.CPUSeconds - base) / (float64(r.Sent) / 1000)
		}
		h.Rows = append(h.Rows, r)
		what := "baseline (relay alone)"
		if !r.Baseline {
			what = fmt.Sprintf("%d hostile frames (%.0f/s)", r.Sent, r.SentPerSec)
		}
		fmt.Printf("bench:   %s hostile: %s: relay completed %d/%d (%.2f%%); server CPU %.3f s, %.3f ms per 1,000 hostile%s\n",
			s.Name, what, r.Completed, r.Started, 100*r.Share, r.CPUSeconds, 1000*r.Per1k, errSuffix(r.Err))
	}
}

// hostileRow runs the relay (and, unless rate < 0, the attacker) once.
func (b *bench) hostileRow(ctx context.Context, d *daemon, dl string, i, rate int, dir string) HostileRow {
	o := b.o
	r := HostileRow{Baseline: rate < 0, Offered: max(rate, 0)}
	secs := o.hostileSecs
	good := []string{"netns", "exec", b.lab.ns("cli"), dl, "-i", "br0", "-mode", "packet",
		"-server", labS1, "-giaddr", b.lab.relays[0], "-rate", strconv.Itoa(o.hostileGood),
		"-duration", fmt.Sprintf("%ds", secs), "-clients", strconv.Itoa(o.hostileGood*secs + 100),
		"-mac-base", fmt.Sprintf("02:00:7e:%02x:00:00", i), "-pool", poolFirst + "-" + poolLast, "-json"}
	// One AF_PACKET sender tops out near 40-50k frames/s here: the
	// attacker is several processes on the same port, each a share.
	var bad [][]string
	if !r.Baseline {
		procs, fr := 2, hostileMax
		if rate > 0 {
			procs = (rate + hostilePerProc - 1) / hostilePerProc
			fr = (rate + procs - 1) / procs
		}
		for k := range procs {
			// The attacker starts first and outlasts the relay's drain.
			bad = append(bad, []string{"netns", "exec", b.lab.ns("cli"), dl, "-i", attackerIface, "-mode", "packet", "-hostile",
				"-server", "255.255.255.255", "-giaddr", fmt.Sprintf("198.18.0.%d", 250-k), "-rate", strconv.Itoa(fr),
				"-duration", fmt.Sprintf("%ds", secs+4), "-json"})
		}
	}
	before := d.counterSnapshot()
	hb0, ht0 := hostTimes()
	c0, _ := cpuSeconds(d.pid())
	var wg sync.WaitGroup
	badOut := make([][]byte, len(bad))
	badErr := make([]error, len(bad))
	for k, args := range bad {
		wg.Add(1)
		go func() {
			defer wg.Done()
			badOut[k], badErr[k] = runBounded(ctx, args, time.Duration(secs+20)*time.Second)
		}()
	}
	if bad != nil {
		time.Sleep(300 * time.Millisecond)
	}
	goodOut, goodErr := runBounded(ctx, good, time.Duration(secs+20)*time.Second)
	c1, _ := cpuSeconds(d.pid())
	hb1, ht1 := hostTimes()
	wg.Wait()
	name := fmt.Sprintf("hostile-%d", i)
	_ = os.WriteFile(filepath.Join(dir, name+".relay.out"), append([]byte(strings.Join(good, " ")+"\n"), goodOut...), 0o644)
	for k, args := range bad {
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s.attacker%d.out", name, k)), append([]byte(strings.Join(args, " ")+"\n"), badOut[k]...), 0o644)
	}
	time.Sleep(300 * time.Millisecond)
	r.Counters = counterDeltas(before, d.counterSnapshot())
	r.CPUSeconds = c1 - c0
	r.HostBusy = busyShare(hb0, ht0, hb1, ht1)
	var errs []string
	if g, err := parseDhcploadFull(goodOut); err != nil {
		errs = append(errs, fmt.Sprintf("relay: %v (%v)", err, goodErr))
	} else {
		r.Started, r.Completed = g.Started, g.Completed
		if g.Started > 0 {
			r.Share = float64(g.Completed) / float64(g.Started)
		}
	}
	for k := range bad {
		if rep, err := parseFloodReport(badOut[k]); err != nil {
			errs = append(errs, fmt.Sprintf("attacker %d: %v (%v)", k, err, badErr[k]))
		} else {
			r.Sent += rep.Sent
			r.SentPerSec += rep.SentPerSec
		}
	}
	r.Err = strings.Join(errs, "; ")
	return r
}

// runBounded runs `ip args...` with a deadline, stopping it with SIGTERM.
func runBounded(ctx context.Context, args []string, limit time.Duration) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(cctx, "ip", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 3 * time.Second
	return cmd.CombinedOutput()
}

// HostileTable renders the hostile phase of every server that ran it; ""
// when none ran.
func HostileTable(servers []*Server) string {
	var ran []*Server
	for _, s := range servers {
		if s.Hostile != nil && len(s.Hostile.Rows) > 0 {
			ran = append(ran, s)
		}
	}
	if len(ran) == 0 {
		return ""
	}
	rows := [][]string{{"server", "attacker frames/s offered", "sent (/s)", "relay exchanges completed", "server CPU s", "CPU ms per 1,000 hostile", "counters that rose"}}
	for _, s := range ran {
		for _, r := range s.Hostile.Rows {
			off := "none (baseline)"
			sent := ""
			per := ""
			if !r.Baseline {
				off = strconv.Itoa(r.Offered)
				if r.Offered == 0 {
					off = "max"
				}
				sent = fmt.Sprintf("%d (%.0f)", r.Sent, r.SentPerSec)
				per = fmt.Sprintf("%.3f", 1000*r.Per1k)
			}
			done := fmt.Sprintf("%d/%d = %.2f%%", r.Completed, r.Started, 100*r.Share)
			if r.Err != "" {
				done += " (" + firstOf(r.Err) + ")"
			}
			rows = append(rows, []string{s.Name, off, sent, done, fmt.Sprintf("%.3f", r.CPUSeconds), per, fmtCounters(r.Counters, r.Sent, 6)})
		}
	}
	h := ran[0].Hostile
	var sb strings.Builder
	fmt.Fprintf(&sb, "Hostile edge: a relay asks %d DORA/s (each a new client) for %d s while an attacker on the LAN (own port) sends dhcpload -hostile frames (random MACs; valid, malformed, fuzzed, over-long, VLAN-stacked, fragmented DHCP)\n", h.GoodRate, h.Seconds)
	sb.WriteString(columns(rows))
	sb.WriteString("CPU per 1,000 hostile is the server's utime+stime over the row less the baseline row's, per 1,000 frames sent; softirq work (XDP) charged to other processes is not in it.\n")
	return sb.String()
}
