package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LoadSpec is one load run's shape.
type LoadSpec struct {
	NS      string   // client namespace
	Iface   string   // client interface (br0)
	Server  string   // unicast server address; "" = broadcast
	Relays  []string // relay (source/giaddr) addresses on Iface, one per process
	Rate    int      // offered DORA/s, total
	Seconds int
	Clients int // client population (distinct MACs), total
	Pool    string
	// DiscoverOnly: DISCOVER-OFFER only, no REQUEST (no lease).
	DiscoverOnly bool
	// HAOwner "N/M": only clients whose HA load-balancing hash server N of
	// M owns (dhcpload only).
	HAOwner string
}

// Loader is a pluggable load tool: perfdhcp now, dhcpload when built.
type Loader interface {
	Name() string
	// Percentiles reports whether Parse fills P50/P99.
	Percentiles() bool
	// Procs is how many processes carry spec's rate.
	Procs(spec LoadSpec) int
	// Args is process i's command line (run inside spec.NS).
	Args(spec LoadSpec, i, n int) []string
	// Parse reads one process's output.
	Parse(out []byte) (Run, error)
}

// share splits total into n near-equal parts; part i.
func share(total, n, i int) int {
	q, r := total/n, total%n
	if i < r {
		return q + 1
	}
	return q
}

// procsFor is ceil(rate/per), at least 1, at most maxProcs (0 = no cap).
func procsFor(rate, per, maxProcs int) int {
	if per <= 0 || rate <= per {
		return 1
	}
	n := (rate + per - 1) / per
	if maxProcs > 0 && n > maxProcs {
		n = maxProcs
	}
	return n
}

// ---- perfdhcp ----

type perfdhcp struct {
	perProc int // DORA/s one process is asked to carry (it tops near 25k packets/s)
}

func (p *perfdhcp) Name() string      { return "perfdhcp" }
func (p *perfdhcp) Percentiles() bool { return false }

func (p *perfdhcp) Procs(s LoadSpec) int {
	if s.Server == "" {
		// Broadcast needs -l <interface>, whose (first) address is the
		// relay and source: two processes would share one address:67.
		return 1
	}
	return procsFor(s.Rate, p.perProc, len(s.Relays))
}

func (p *perfdhcp) Args(s LoadSpec, i, n int) []string {
	local := s.Iface
	if s.Server != "" {
		local = s.Relays[i]
	}
	a := []string{"perfdhcp", "-4", "-l", local,
		"-r", strconv.Itoa(share(s.Rate, n, i)),
		"-p", strconv.Itoa(s.Seconds),
		"-R", strconv.Itoa(max(1, share(s.Clients, n, i))),
		"-b", fmt.Sprintf("mac=02:00:%02x:00:00:00", i)}
	if s.DiscoverOnly {
		a = append(a, "-i")
	}
	if s.Server != "" {
		a = append(a, s.Server)
	}
	return a
}

var (
	reBlock = regexp.MustCompile(`\*\*\*Statistics for: ([A-Z-]+)\*\*\*`)
	reField = regexp.MustCompile(`(?m)^([a-z ]+): ([0-9.eE+-]+|nan|-nan|inf)`)
)

// parsePerfdhcp reads perfdhcp -4's report: per exchange block its sent and
// received packets and min/avg/max delay.
func parsePerfdhcp(out []byte) (Run, error) {
	var r Run
	found := 0
	heads := reBlock.FindAllSubmatchIndex(out, -1)
	for _, h := range heads {
		// A block runs to the next "***" heading (or the end).
		body := out[h[1]:]
		if j := bytes.Index(body, []byte("***")); j >= 0 {
			body = body[:j]
		}
		name := string(out[h[2]:h[3]])
		f := map[string]float64{}
		for _, fm := range reField.FindAllSubmatch(body, -1) {
			v, err := strconv.ParseFloat(string(fm[2]), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				v = 0
			}
			f[string(fm[1])] = v
		}
		d := Delay{MinMs: f["min delay"], AvgMs: f["avg delay"], MaxMs: f["max delay"]}
		switch name {
		case "DISCOVER-OFFER":
			r.DiscSent, r.OffersRecv, r.DO = uint64(f["sent packets"]), uint64(f["received packets"]), d
			found++
		case "REQUEST-ACK":
			r.ReqSent, r.AcksRecv, r.RA = uint64(f["sent packets"]), uint64(f["received packets"]), d
			found++
		}
	}
	if found < 2 {
		return r, fmt.Errorf("perfdhcp output has no DISCOVER-OFFER and REQUEST-ACK statistics: %s", firstLines(out, 5))
	}
	return r, nil
}

func (p *perfdhcp) Parse(out []byte) (Run, error) { return parsePerfdhcp(out) }

// ---- dhcpload ----

type dhcpload struct {
	bin     string
	mode    string // packet | afxdp
	perProc int    // 0: one process carries any rate
}

func (d *dhcpload) Name() string      { return "dhcpload(" + d.mode + ")" }
func (d *dhcpload) Percentiles() bool { return true }
func (d *dhcpload) Procs(s LoadSpec) int {
	return procsFor(s.Rate, d.perProc, len(s.Relays))
}

func (d *dhcpload) Args(s LoadSpec, i, n int) []string {
	srv := s.Server
	if srv == "" {
		srv = "255.255.255.255"
	}
	a := []string{d.bin, "-i", s.Iface, "-mode", d.mode, "-server", srv, "-giaddr", s.Relays[i],
		"-clients", strconv.Itoa(max(1, share(s.Clients, n, i))),
		"-rate", strconv.Itoa(share(s.Rate, n, i)),
		"-duration", fmt.Sprintf("%ds", s.Seconds),
		"-mac-base", fmt.Sprintf("02:00:%02x:00:00:00", i), "-json"}
	if s.Pool != "" {
		a = append(a, "-pool", s.Pool)
	}
	if s.DiscoverOnly {
		a = append(a, "-discover-only")
	}
	if s.HAOwner != "" {
		a = append(a, "-ha-owner", s.HAOwner)
	}
	return a
}

// dhcploadReport is the part of dhcpload -json the harness reads.
type dhcploadReport struct {
	Started       uint64       `json:"started"`
	Completed     uint64       `json:"completed"`
	DiscoverOffer dhcploadExch `json:"discover_offer"`
	RequestAck    dhcploadExch `json:"request_ack"`
	Violations    map[string]uint64
}

type dhcploadExch struct {
	Sent     uint64  `json:"sent"`
	Received uint64  `json:"received"`
	MinMs    float64 `json:"min_ms"`
	AvgMs    float64 `json:"avg_ms"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
}

func (e dhcploadExch) delay() Delay {
	return Delay{MinMs: e.MinMs, AvgMs: e.AvgMs, P50Ms: e.P50Ms, P99Ms: e.P99Ms, MaxMs: e.MaxMs, HasPct: true}
}

// parseDhcploadFull reads dhcpload -json output.
func parseDhcploadFull(out []byte) (dhcploadReport, error) {
	var rep dhcploadReport
	i := bytes.IndexByte(out, '{')
	if i < 0 {
		return rep, fmt.Errorf("dhcpload printed no JSON: %s", firstLines(out, 5))
	}
	if err := json.NewDecoder(bytes.NewReader(out[i:])).Decode(&rep); err != nil {
		return rep, fmt.Errorf("dhcpload JSON: %w", err)
	}
	return rep, nil
}

func parseDhcpload(out []byte) (Run, error) {
	rep, err := parseDhcploadFull(out)
	if err != nil {
		return Run{}, err
	}
	return Run{
		DiscSent: rep.DiscoverOffer.Sent, OffersRecv: rep.DiscoverOffer.Received, DO: rep.DiscoverOffer.delay(),
		ReqSent: rep.RequestAck.Sent, AcksRecv: rep.RequestAck.Received, RA: rep.RequestAck.delay(),
	}, nil
}

func (d *dhcpload) Parse(out []byte) (Run, error) { return parseDhcpload(out) }

// combine merges parallel processes' runs: counters add up; min/max are
// the extremes; avg is weighted by replies; p50 is the reply-weighted mean
// of the processes' p50 and p99 their largest p99 (an approximation: the
// processes' histograms are not merged).
func combine(parts []Run) Run {
	var r Run
	var wDO, wRA float64
	for i, p := range parts {
		r.DiscSent += p.DiscSent
		r.OffersRecv += p.OffersRecv
		r.ReqSent += p.ReqSent
		r.AcksRecv += p.AcksRecv
		mergeDelay(&r.DO, p.DO, float64(p.OffersRecv), &wDO, i == 0)
		mergeDelay(&r.RA, p.RA, float64(p.AcksRecv), &wRA, i == 0)
	}
	if wDO > 0 {
		r.DO.AvgMs /= wDO
		r.DO.P50Ms /= wDO
	}
	if wRA > 0 {
		r.RA.AvgMs /= wRA
		r.RA.P50Ms /= wRA
	}
	return r
}

func mergeDelay(dst *Delay, d Delay, w float64, wsum *float64, first bool) {
	if first {
		dst.MinMs, dst.HasPct = d.MinMs, d.HasPct
	}
	if w > 0 && (d.MinMs < dst.MinMs || dst.MinMs == 0) {
		dst.MinMs = d.MinMs
	}
	dst.MaxMs = math.Max(dst.MaxMs, d.MaxMs)
	dst.P99Ms = math.Max(dst.P99Ms, d.P99Ms)
	dst.AvgMs += d.AvgMs * w
	dst.P50Ms += d.P50Ms * w
	*wsum += w
}

// runLoad runs spec with loader l: its processes in parallel inside
// spec.NS, each bounded by spec.Seconds plus a grace period. Process logs
// go to logPrefix-N.out.
func runLoad(ctx context.Context, l Loader, spec LoadSpec, logPrefix string) (Run, error) {
	n := l.Procs(spec)
	parts := make([]Run, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(ctx, time.Duration(spec.Seconds)*time.Second+20*time.Second)
	defer cancel()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{"netns", "exec", spec.NS}, l.Args(spec, i, n)...)
			cmd := exec.CommandContext(ctx, "ip", args...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
			cmd.WaitDelay = 3 * time.Second
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			_ = os.WriteFile(fmt.Sprintf("%s-%d.out", logPrefix, i), []byte(strings.Join(cmd.Args, " ")+"\n"+out.String()), 0o644)
			if ctx.Err() != nil {
				errs[i] = fmt.Errorf("%s: %w", l.Name(), ctx.Err())
				return
			}
			parts[i], errs[i] = l.Parse(out.Bytes())
			if errs[i] != nil && err != nil {
				errs[i] = fmt.Errorf("%v (%v)", errs[i], err)
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return Run{}, e
		}
	}
	r := combine(parts)
	r.Offered, r.Seconds, r.Procs = spec.Rate, float64(spec.Seconds), n
	return r, nil
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(strings.TrimSpace(string(b)), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}
