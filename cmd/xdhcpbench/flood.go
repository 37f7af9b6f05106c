package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The malformed-flood phase: after its ladder, a single server (Kea and
// xdhcpd on the XDP path) gets a bounded burst of malformed relayed
// frames from dhcpload -malformed (truncated BOOTP, options running past
// the end, a bad cookie, a BOOTREPLY, garbage; in turn) at -flood-rate for
// -flood-secs. None deserves an answer: every frame is to be dropped, at
// the earliest stage that can tell, by a named counter. The phase reports
// the server process's utime+stime over the burst per 1,000 frames (all
// dropped; background not subtracted, as for leases) and every counter
// that rose: statistic-get-all's (stat:) and, for xdhcpd, xdp-stats-get's
// (xdp:, summed over interfaces).

// Flood is one server's malformed-flood phase (results.json
// servers[].malformed_flood).
type Flood struct {
	Rate       int               `json:"offered_rate"` // frames/s
	Seconds    int               `json:"seconds"`
	Sent       uint64            `json:"frames_sent"`
	ByKind     map[string]uint64 `json:"frames_by_kind"`
	SentPerSec float64           `json:"frames_per_sec"`
	Replies    uint64            `json:"replies_received"` // none expected
	CPUSeconds float64           `json:"server_cpu_seconds"`
	// Dropped is the frames sent less the replies (a server that answers
	// a malformed frame did not drop it); Per1k is CPUSeconds per 1,000
	// of them (with replies, it includes the answering work).
	Dropped  uint64  `json:"frames_dropped"`
	Per1k    float64 `json:"server_cpu_seconds_per_1k_dropped"`
	HostBusy float64 `json:"host_cpu_busy"`
	// Counters are the counters that changed over the burst, by name
	// ("stat:pkt4-parse-failed", "xdp:pass_malformed").
	Counters map[string]int64 `json:"counters_delta"`
	Err      string           `json:"error,omitempty"`
}

// floodReport is the part of dhcpload -malformed -json the bench reads.
type floodReport struct {
	Sent       uint64            `json:"sent"`
	ByKind     map[string]uint64 `json:"by_kind"`
	SentPerSec float64           `json:"sent_per_sec"`
	Received   uint64            `json:"received"`
	Malformed  bool              `json:"malformed"`
}

func parseFloodReport(out []byte) (floodReport, error) {
	var r floodReport
	i := bytes.IndexByte(out, '{')
	if i < 0 {
		return r, fmt.Errorf("dhcpload -malformed printed no JSON: %s", firstLines(out, 5))
	}
	if err := json.NewDecoder(bytes.NewReader(out[i:])).Decode(&r); err != nil {
		return r, fmt.Errorf("dhcpload -malformed JSON: %w", err)
	}
	if !r.Malformed {
		return r, fmt.Errorf("dhcpload ignored -malformed (an older build?): %s", firstLines(out, 3))
	}
	return r, nil
}

// finish derives the per-1k figure.
func (f *Flood) finish() {
	f.Per1k, f.Dropped = 0, 0
	if f.Sent > f.Replies {
		f.Dropped = f.Sent - f.Replies
		f.Per1k = f.CPUSeconds / (float64(f.Dropped) / 1000)
	}
}

// counterSnapshot is every numeric statistic (stat:) and XDP counter
// (xdp:) the server answers with.
func (d *daemon) counterSnapshot() map[string]int64 {
	m := map[string]int64{}
	if v, err := d.command(`{"command":"statistic-get-all"}`, 2*time.Second); err == nil && result(v) == 0 {
		args, _ := v["arguments"].(map[string]any)
		for k, x := range statValues(args) {
			m["stat:"+k] = x
		}
	}
	if v, err := d.command(`{"command":"xdp-stats-get"}`, time.Second); err == nil && result(v) == 0 {
		args, _ := v["arguments"].(map[string]any)
		ifs, _ := args["interfaces"].([]any)
		for _, i := range ifs {
			im, _ := i.(map[string]any)
			c, _ := im["counters"].(map[string]any)
			for k, x := range c {
				if f, ok := x.(float64); ok {
					m["xdp:"+k] += int64(f)
				}
			}
		}
	}
	return m
}

// statValues reads statistic-get-all's arguments: each name's latest
// sample, [[value, "timestamp"], ...].
func statValues(args map[string]any) map[string]int64 {
	out := map[string]int64{}
	for k, v := range args {
		samples, _ := v.([]any)
		if len(samples) == 0 {
			continue
		}
		s, _ := samples[0].([]any)
		if len(s) == 0 {
			continue
		}
		if f, ok := s[0].(float64); ok {
			out[k] = int64(f)
		}
	}
	return out
}

// counterDeltas is after-before for every counter that changed.
func counterDeltas(before, after map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for k, a := range after {
		if x := a - before[k]; x != 0 {
			d[k] = x
		}
	}
	return d
}

// flood runs the malformed-flood phase against single server d.
func (b *bench) flood(ctx context.Context, s *Server, d *daemon, dir string) {
	o := b.o
	f := &Flood{Rate: o.floodRate, Seconds: o.floodSecs}
	s.Flood = f
	dl := filepath.Join(o.root, "bin", "dhcpload")
	if _, err := os.Stat(dl); err != nil {
		f.Err = "needs bin/dhcpload (make build)"
		return
	}
	time.Sleep(time.Second) // let the ladder's last run drain
	before := d.counterSnapshot()
	hb0, ht0 := hostTimes()
	c0, _ := cpuSeconds(d.pid())
	args := []string{"netns", "exec", b.lab.ns("cli"), dl, "-i", "br0", "-mode", "packet", "-malformed",
		"-server", labS1, "-giaddr", b.lab.relays[0], "-rate", strconv.Itoa(o.floodRate),
		"-duration", fmt.Sprintf("%ds", o.floodSecs), "-clients", strconv.Itoa(o.clients),
		"-mac-base", "02:00:7f:00:00:00", "-json"}
	cctx, cancel := context.WithTimeout(ctx, time.Duration(o.floodSecs)*time.Second+15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, "ip", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 3 * time.Second
	out, err := cmd.CombinedOutput()
	c1, _ := cpuSeconds(d.pid())
	hb1, ht1 := hostTimes()
	_ = os.WriteFile(filepath.Join(dir, "malformed-flood.out"), append([]byte(strings.Join(cmd.Args, " ")+"\n"), out...), 0o644)
	time.Sleep(300 * time.Millisecond) // counters settle
	after := d.counterSnapshot()
	rep, perr := parseFloodReport(out)
	switch {
	case perr != nil && err != nil:
		f.Err = fmt.Sprintf("%v (%v)", perr, err)
	case perr != nil:
		f.Err = perr.Error()
	}
	f.Sent, f.ByKind, f.SentPerSec, f.Replies = rep.Sent, rep.ByKind, rep.SentPerSec, rep.Received
	f.CPUSeconds = c1 - c0
	f.HostBusy = busyShare(hb0, ht0, hb1, ht1)
	f.Counters = counterDeltas(before, after)
	f.finish()
	fmt.Printf("bench:   %s malformed flood: %d frames (%.0f/s), %d replies; server CPU %.3f s = %.3f ms per 1,000 dropped (%d); counters %s%s\n",
		s.Name, f.Sent, f.SentPerSec, f.Replies, f.CPUSeconds, 1000*f.Per1k, f.Dropped, fmtCounters(f.Counters, f.Sent, 0), errSuffix(f.Err))
}

// fmtCounters lists counters that rose, largest first ("name +N (P%)"),
// at most limit of them (0: all).
func fmtCounters(c map[string]int64, sent uint64, limit int) string {
	if len(c) == 0 {
		return "none changed"
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c[a] != c[b] {
			return int(c[b] - c[a])
		}
		return strings.Compare(a, b)
	})
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	var parts []string
	for _, k := range keys {
		p := fmt.Sprintf("%s %+d", k, c[k])
		if sent > 0 {
			p += fmt.Sprintf(" (%.0f%%)", 100*float64(c[k])/float64(sent))
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// FloodTable renders the flood phase of every server that ran it, the
// CPU figure with its ratio to Kea's; "" when none ran.
func FloodTable(servers []*Server) string {
	var ran []*Server
	var kea *Flood
	for _, s := range servers {
		if s.Flood != nil {
			ran = append(ran, s)
			if s.Name == "kea" && s.Flood.Err == "" {
				kea = s.Flood
			}
		}
	}
	if len(ran) == 0 {
		return ""
	}
	answered := false
	rows := [][]string{{"server", "frames sent (/s)", "replies", "server CPU s", "CPU ms per 1,000 dropped", "counters that rose (share of frames sent)"}}
	for _, s := range ran {
		f := s.Flood
		if f.Err != "" && f.Sent == 0 {
			rows = append(rows, []string{s.Name, "error: " + firstOf(f.Err), "", "", "", ""})
			continue
		}
		r := ""
		if kea != nil && s.Name != "kea" && kea.Replies == 0 {
			r = " (" + smallRatio(f.Per1k, 0, kea.Per1k) + ")"
		}
		if f.Replies > 0 {
			r += " *"
			answered = true
		}
		rows = append(rows, []string{s.Name, fmt.Sprintf("%d (%.0f)", f.Sent, f.SentPerSec), fmt.Sprint(f.Replies),
			fmt.Sprintf("%.3f", f.CPUSeconds), fmt.Sprintf("%.3f%s", 1000*f.Per1k, r), fmtCounters(f.Counters, f.Sent, 8)})
	}
	f0 := ran[0].Flood
	var sb strings.Builder
	fmt.Fprintf(&sb, "Malformed flood: %d frames/s for %d s, relayed to server1:67 (truncated BOOTP, options past the end, bad cookie, BOOTREPLY, garbage; in turn), none to be answered\n", f0.Rate, f0.Seconds)
	sb.WriteString(columns(rows))
	if answered {
		sb.WriteString("* the server answered some malformed frames (they were not dropped): its figure is per frame not answered and includes the answering work; no ratio is given against it\n")
	}
	sb.WriteString("CPU is the server process's utime+stime over the burst, nothing subtracted; softirq work (XDP, the kernel's UDP/raw receive) charged to other processes is not in it, for either server. stat: statistic-get-all, xdp: xdp-stats-get (summed over interfaces).\n")
	return sb.String()
}
