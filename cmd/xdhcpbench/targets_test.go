package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func withDrop(s *Server, per1k, noise float64, err string) *Server {
	s.HADrop = &HADrop{Sent: 25000, Per1k: per1k, Per1kNoise: noise, Err: err}
	if err != "" {
		s.HADrop.Sent = 0
	}
	return s
}

func f64(v float64) *float64 { return &v }

// rung is one synthetic point: offered rate, median loss, CPU seconds
// per 1,000 leases, REQUEST-ACK p99 (ms), the machine's busy share and
// the share of the asked DISCOVERs the load tool sent.
type rung struct {
	rate            int
	loss, cpu, p99  float64
	busy, delivered float64
}

func r(rate int, loss, cpu float64) rung {
	return rung{rate: rate, loss: loss, cpu: cpu, p99: 0.5, busy: 0.5, delivered: 1}
}

// ladder is a settled server with the given points, stopped as the bench
// would (loss, a load-tool shortfall, or the ladder's top).
func ladder(name, actual string, rs ...rung) *Server {
	s := &Server{Name: name, Kind: "xdhcpd", Actual: actual, Stop: "ladder complete"}
	if strings.HasPrefix(name, "kea") {
		s.Kind, s.Actual = "kea", ""
	}
	s.HA = strings.HasSuffix(name, "-ha")
	for _, g := range rs {
		sent := uint64(float64(g.rate*5) * g.delivered)
		m := Run{Offered: g.rate, Seconds: 5, DiscSent: sent, AcksRecv: uint64(float64(sent) * (1 - g.loss)),
			RA: Delay{P50Ms: g.p99 / 4, P99Ms: g.p99, HasPct: true}, HostBusy: g.busy}
		m.CPUSeconds = g.cpu * float64(m.AcksRecv) / 1000
		m.finish()
		p := Point{Offered: g.rate, Runs: []Run{m}, Median: m}
		s.Points = append(s.Points, p)
		switch {
		case stopLadder(p):
			s.Stop = "loss"
		case loadShort(p):
			s.Stop = "load tool short"
		}
	}
	s.settle()
	return s
}

func TestTargetsLab(t *testing.T) {
	// Kea: best 4k; 2k at 200 us/lease, 4k at 180 us.
	kea := func() *Server { return ladder("kea", "", r(2000, 0, 0.20), r(4000, 0.005, 0.18), r(8000, 0.3, 0.15)) }
	// xdhcpd-auto: 30 and 15 us/lease at Kea's rungs, best 16k, then the
	// load tool could not deliver 32k.
	short := r(32000, 0, 0.01)
	short.delivered = 0.8
	auto := func(c2k, c4k float64, top rung) *Server {
		return ladder("xdhcpd-auto", "xdp-native", r(2000, 0, c2k), r(4000, 0, c4k), r(8000, 0, 0.012), r(16000, 0.004, 0.011), top)
	}
	good := func() *Server { return auto(0.030, 0.015, short) }
	lossy := r(32000, 0.3, 0.01)
	saturated := r(32000, 0.3, 0.01)
	saturated.busy = 0.98
	keaHA := func() *Server {
		return withDrop(ladder("kea-ha", "", r(1000, 0, 1.0), r(2000, 0.2, 0.9)), 0.040, 0.002, "")
	}
	ha := func(c1k, p99 float64, rest ...rung) *Server {
		g := r(1000, 0, c1k)
		g.p99 = p99
		return withDrop(ladder("xdhcpd-ha", "xdp-native", append([]rung{g}, rest...)...), 0.0008, 0.001, "")
	}
	haGood := func() *Server { return ha(0.15, 0.6, r(4000, 0, 0.1), r(12000, 0, 0.1), short) }
	noRung := ladder("xdhcpd-auto", "xdp-native", r(4000, 0, 0.015), r(8000, 0.4, 0.01))
	onUDP := good()
	onUDP.Actual = "udp"
	keaNone := ladder("kea", "", r(2000, 0.5, 0.3))
	keaCut := ladder("kea", "", r(2000, 0, 0.20))
	keaCut.Stop = "time budget (before 4k)"
	noPct := haGood()
	noPct.Points[0].Median.RA.HasPct = false
	big := auto(0.030, 0.015, r(40000, 0, 0.01))
	big.Points = append(big.Points, ladder("x", "", r(48000, 0.2, 0.01)).Points...)
	big.Stop = "loss"
	big.settle()

	tests := []struct {
		name    string
		servers []*Server
		target  int     // index into Targets()
		status  string  // MET, MISSED, n/a
		value   float64 // checked when a value is expected
		want    []string
	}{
		// 1a: every rung up to Kea's best (2k and 4k), worst ratio.
		{"1a met", []*Server{kea(), good()}, 0, Met, 0.15, []string{"worst 0.150 (1/6.7) at 2k", "2k 30.0 us/200.0 us=0.150", "4k 15.0 us/180.0 us=0.083"}},
		{"1a one rung misses", []*Server{kea(), auto(0.050, 0.015, short)}, 0, Missed, 0.25, []string{"over 1/5 at 2k", "worst 0.250"}},
		{"1a rung missing", []*Server{kea(), noRung}, 0, NA, 0.083333333333, []string{"missing: 2k (no xdhcpd-auto point)"}},
		{"1a a miss beats a missing rung", []*Server{kea(), ladder("xdhcpd-auto", "xdp-native", r(4000, 0, 0.05))}, 0, Missed, 0.05 / 0.18, []string{"missing: 2k", "over 1/5 at 4k"}},
		{"1a not XDP", []*Server{kea(), onUDP}, 0, NA, -1, []string{`ran on "udp"`}},
		{"1a kea no best", []*Server{keaNone, good()}, 0, NA, -1, []string{"kea had no point at <= 1% loss"}},
		{"1a kea not run", []*Server{good()}, 0, NA, -1, []string{"kea not run"}},
		{"1a auto not run", []*Server{kea()}, 0, NA, -1, []string{"xdhcpd-auto not run"}},
		// 1b: at Kea's best rate (4k), 1/10.
		{"1b met", []*Server{kea(), good()}, 1, Met, 0.015 / 0.18, []string{"at 4k/s: xdhcpd-auto 15.0 us/lease", "kea 180.0 us/lease"}},
		{"1b missed while 1a meets", []*Server{kea(), auto(0.030, 0.027, short)}, 1, Missed, 0.15, []string{"0.150 (1/6.7)"}},
		{"1b no point at Kea's best", []*Server{kea(), ladder("xdhcpd-auto", "xdp-native", r(2000, 0, 0.01))}, 1, NA, -1, []string{"at Kea's best rate 4k/s"}},
		// 2a: the pair, rungs up to the Kea pair's best (1k).
		{"2a met", []*Server{keaHA(), haGood()}, 2, Met, 0.15, []string{"1k 150.0 us/1000.0 us=0.150"}},
		{"2a missed", []*Server{keaHA(), ha(0.3, 0.6, short)}, 2, Missed, 0.3, []string{"over 1/5 at 1k"}},
		{"2a kea pair not run", []*Server{haGood()}, 2, NA, -1, []string{"kea-ha not run"}},
		// 2b: the pair's REQUEST-ACK p99 at the Kea pair's best rate.
		{"2b met", []*Server{keaHA(), haGood()}, 3, Met, 0.6, []string{"0.600 ms", "xdhcpd-ha at 1k/s"}},
		{"2b missed", []*Server{keaHA(), ha(0.15, 1.4)}, 3, Missed, 1.4, []string{"1.400 ms"}},
		{"2b no percentiles", []*Server{keaHA(), noPct}, 3, NA, -1, []string{"no percentiles"}},
		{"2b no run at that rate", []*Server{keaHA(), ladder("xdhcpd-ha", "xdp", r(4000, 0, 0.1))}, 3, NA, -1, []string{"no run at the Kea pair's best rate 1k/s"}},
		// 3a: best rate ratio and the limit that ended the climb.
		{"3a load tool limit is n/a", []*Server{kea(), good()}, 4, NA, 4, []string{"4.00x", "load tool could not offer more: sent 25600 DISCOVERs/s of 32k/s asked", "CPU-per-lease rows decide"}},
		{"3a server limit is missed", []*Server{kea(), auto(0.03, 0.015, lossy)}, 4, Missed, 4, []string{"server lost 30.0% at 32k/s, CPUs 50% busy"}},
		{"3a saturated CPUs is n/a", []*Server{kea(), auto(0.03, 0.015, saturated)}, 4, NA, 4, []string{"CPUs saturated: 98% busy at 32k/s"}},
		{"3a met", []*Server{kea(), big}, 4, Met, 10, []string{"10.00x", "xdhcpd-auto 40k/s", "kea 4k/s"}},
		{"3a met but kea cut short", []*Server{keaCut, big}, 4, NA, 20, []string{"kea stopped before a failing point"}},
		{"3a not XDP", []*Server{kea(), onUDP}, 4, NA, -1, []string{`ran on "udp"`}},
		// 3b: the pair's best against the single's.
		{"3b met", []*Server{auto(0.03, 0.015, lossy), haGood()}, 5, Met, 0.75, []string{"75.0%", "xdhcpd-ha 12k/s"}},
		{"3b server limit", []*Server{auto(0.03, 0.015, lossy), ha(0.15, 0.6, r(4000, 0, 0.1), r(8000, 0.2, 0.1))}, 5, Missed, 0.25, []string{"25.0%", "server lost 20.0% at 8k/s"}},
		{"3b load tool limit", []*Server{auto(0.03, 0.015, lossy), ha(0.15, 0.6, r(4000, 0, 0.1), short)}, 5, NA, 0.25, []string{"load tool could not offer more"}},
		{"3b at the ladder's top", []*Server{auto(0.03, 0.015, lossy), ha(0.15, 0.6, r(4000, 0, 0.1))}, 5, NA, 0.25, []string{"ladder ended before a failing point"}},
		{"3b context: Kea pair over Kea", []*Server{kea(), keaHA(), auto(0.03, 0.015, lossy), haGood()}, 5, Met, 0.75, []string{"kea-ha/kea 25% (1k/4k)"}},
		// 4: partner-owned DISCOVERs.
		{"partner within noise", []*Server{keaHA(), ha(0.1, 0.5)}, 6, Met, 0.0008 / 0.040, []string{"<0.045x", "kea-ha 0.0400"}},
		{"partner missed", []*Server{keaHA(), withDrop(ha(0.1, 0.5), 0.01, 0.001, "")}, 6, Missed, 0.25, []string{"0.25x"}},
		{"partner under 5% of Kea", []*Server{keaHA(), withDrop(ha(0.1, 0.5), 0.0016, 0.0001, "")}, 6, Met, 0.04, []string{"0.040x"}},
		{"partner: no Kea, above noise", []*Server{withDrop(ha(0.1, 0.5), 0.005, 0.001, "")}, 6, NA, -1, []string{"kea-ha not run"}},
		{"partner: pair phase failed", []*Server{keaHA(), withDrop(ha(0.1, 0.5), 0, 0, "needs bin/dhcpload")}, 6, NA, -1, []string{"needs bin/dhcpload"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := Targets(tc.servers, nil, "")
			if len(ts) != 14 {
				t.Fatalf("want 14 targets, got %d", len(ts))
			}
			got := ts[tc.target]
			if got.Status != tc.status {
				t.Errorf("status %s, want %s: %+v", got.Status, tc.status, got)
			}
			switch {
			case tc.value < 0 && got.Value != nil:
				t.Errorf("a value without figures: %+v", got)
			case tc.value >= 0 && (got.Value == nil || math.Abs(*got.Value-tc.value) > 1e-6):
				t.Errorf("value %v, want %v: %+v", got.Value, tc.value, got)
			}
			all := got.Measured + " | " + got.Detail
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("lacks %q: %s", w, all)
				}
			}
		})
	}
}

func TestCPUTable(t *testing.T) {
	kea := ladder("kea", "", r(2000, 0, 0.20), r(4000, 0.005, 0.18), r(8000, 0.3, 0.15))
	x := ladder("xdhcpd-auto", "xdp-native", r(2000, 0, 0.05), r(4000, 0, 0.015), r(8000, 0, 0.012))
	tab := CPUTable([]*Server{kea, x})
	for _, w := range []string{"single: xdhcpd-auto (xdp-native) vs kea", "200.0 (0.00%)", "50.0 (0.00%)", "0.250 (1/4.0)", "<= 0.20",
		"<= 0.10 (Kea's best)", "- (above Kea's best)", "utime+stime"} {
		if !strings.Contains(tab, w) {
			t.Errorf("lacks %q:\n%s", w, tab)
		}
	}
	if strings.Contains(tab, "pair:") {
		t.Errorf("pair section without pairs:\n%s", tab)
	}
	if CPUTable(nil) != "" {
		t.Error("no servers, a table")
	}
}

func TestLimitOf(t *testing.T) {
	short := r(8000, 0, 0.1)
	short.delivered = 0.9
	hot := r(8000, 0.2, 0.1)
	hot.busy = 0.99
	for _, c := range []struct {
		s    *Server
		kind string
	}{
		{ladder("x", "", r(2000, 0, 0.1), short), limitLoad},
		{ladder("x", "", r(2000, 0, 0.1), hot), limitHost},
		{ladder("x", "", r(2000, 0, 0.1), r(8000, 0.2, 0.1)), limitServer},
		{ladder("x", "", r(2000, 0, 0.1)), limitCapped},
		// A failing point below the best is not the limit: the first
		// point above the best is.
		{ladder("x", "", r(2000, 0.03, 0.1), r(4000, 0, 0.1), r(8000, 0.2, 0.1)), limitServer},
	} {
		if k, txt := limitOf(c.s); k != c.kind {
			t.Errorf("%s: limit %s (%s), want %s", c.s.Stop, k, txt, c.kind)
		}
	}
}

func TestTargetsLeaseLoad(t *testing.T) {
	full := func(rss, loadMs float64, keaMs *float64) *LeaseLoad {
		return &LeaseLoad{N: 1_000_000, Runs: 1, LoadMs: loadMs, LoadRunsMs: []float64{loadMs}, HeapPerLease: rss - 5,
			RSSPerLease: rss, KeaLoadMs: keaMs, KeaRSSPerLease: f64(580)}
	}
	small := full(130, 110, f64(3000))
	small.N = 200_000
	noKea := full(130, 600, nil)
	noKea.KeaError = "skipped (-kea '')"
	tests := []struct {
		name   string
		ll     *LeaseLoad
		why    string
		status [3]string
		want   []string
	}{
		{"all met", full(128, 605, f64(12353)), "", [3]string{Met, Met, Met}, []string{"128 B", "0.60 s", "20.42x", "Kea 580 B/lease", "Kea 12.35 s / xdhcp 0.60 s"}},
		{"all missed", full(300, 3500, f64(10000)), "", [3]string{Missed, Missed, Missed}, []string{"300 B", "3.50 s", "2.86x"}},
		{"edges", full(250, 2999, f64(2999*5)), "", [3]string{Met, Met, Met}, nil},
		{"load 3 s misses", full(251, 3000, f64(14999)), "", [3]string{Missed, Missed, Missed}, nil},
		{"other size: shown, not judged", small, "", [3]string{NA, NA, NA}, []string{"at 200000 leases (goal is at 1000000: not judged)", "27.27x"}},
		{"kea skipped", noKea, "", [3]string{Met, Met, NA}, []string{"skipped (-kea '')"}},
		{"not run", nil, "leaseload not run (LEASELOAD=0 or no -leaseload)", [3]string{NA, NA, NA}, []string{"LEASELOAD=0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := Targets(nil, tc.ll, tc.why)[7:10]
			var all []string
			for i, got := range ts {
				if got.Status != tc.status[i] {
					t.Errorf("%s: status %s, want %s: %+v", got.Name, got.Status, tc.status[i], got)
				}
				if tc.ll == nil && got.Value != nil {
					t.Errorf("%s: value without a report", got.Name)
				}
				all = append(all, got.Measured, got.Detail)
			}
			j := strings.Join(all, " | ")
			for _, w := range tc.want {
				if !strings.Contains(j, w) {
					t.Errorf("lacks %q: %s", w, j)
				}
			}
		})
	}
}

func TestTargetsTableAndJSON(t *testing.T) {
	res := sample(true)
	res.Targets = Targets(res.Servers, nil, "leaseload not run")
	res.TargetsTable = TargetsTable(res.Targets)
	lines := strings.Split(strings.TrimSpace(res.TargetsTable), "\n")
	if len(lines) != 3+14 || !strings.HasPrefix(lines[1], "target") {
		t.Fatalf("want title, header, rule, 14 rows:\n%s", res.TargetsTable)
	}
	for _, l := range lines[3:] {
		if !strings.Contains(l, " "+NA+" ") && !strings.Contains(l, Met) && !strings.Contains(l, Missed) {
			t.Errorf("row without a status: %s", l)
		}
	}
	if TargetsTable(nil) != "" {
		t.Error("empty targets render a table")
	}
	path := filepath.Join(t.TempDir(), "results.json")
	if err := writeJSON(path, res); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var m struct {
		Targets []map[string]any `json:"targets"`
	}
	if err := json.Unmarshal(b, &m); err != nil || len(m.Targets) != 14 {
		t.Fatalf("targets in results.json: %v %d", err, len(m.Targets))
	}
	for _, k := range []string{"name", "goal", "value", "measured", "detail", "status"} {
		if _, ok := m.Targets[0][k]; !ok {
			t.Errorf("target lacks %q", k)
		}
	}
}

func TestReadLeaseLoad(t *testing.T) {
	dir := t.TempDir()
	// leaseload -json's output (cmd/leaseload), Kea skipped.
	good := `{"n": 1000000, "runs": 1, "xdhcp_load_ms": 605.3, "xdhcp_load_runs_ms": [605.3],
  "xdhcp_heap_bytes_per_lease": 124.6, "xdhcp_rss_bytes_per_lease": 128.4, "xdhcp_rss_bytes_per_lease_after_free": 125.7,
  "kea_load_ms": null, "kea_rss_bytes_per_lease": null, "kea_error": "skipped (-kea '')"}`
	p := filepath.Join(dir, "ll.json")
	_ = os.WriteFile(p, []byte(good), 0o644)
	ll, err := readLeaseLoad(p)
	if err != nil || ll.N != 1000000 || ll.KeaLoadMs != nil || !near(ll.RSSPerLease, 128.4) || ll.KeaError == "" {
		t.Errorf("readLeaseLoad: %+v %v", ll, err)
	}
	_ = os.WriteFile(p, []byte(`{"n": 0}`), 0o644)
	if _, err := readLeaseLoad(p); err == nil {
		t.Error("empty report accepted")
	}
	if _, err := readLeaseLoad(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestBudgetAndShortLoad(t *testing.T) {
	names := []string{"kea", "xdhcpd-udp", "xdhcpd-auto", "kea-ha", "xdhcpd-ha"}
	none := func(string) time.Duration { return 0 }
	left := 900 * time.Second
	share := func(i int) time.Duration {
		rest := 0.0
		for _, n := range names[i:] {
			rest += budgetWeight[n]
		}
		return time.Duration(float64(left) * budgetWeight[names[i]] / rest)
	}
	if a := allowance(left, names, 0, none); a != share(0) || a < 90*time.Second {
		t.Errorf("kea's share of 900 s = %v, want %v", a, share(0))
	}
	if a := allowance(left, names, 2, none); a != share(2) || a < left/3 {
		t.Errorf("xdhcpd-auto's share = %v, want %v", a, share(2))
	}
	if a := allowance(left, names, 4, none); a != left {
		t.Errorf("the last server gets all that is left: %v", a)
	}
	if a := allowance(left, []string{"a", "b", "c"}, 0, none); a != 300*time.Second {
		t.Errorf("unknown names weigh 1: %v", a)
	}
	// Fixed costs (a pair's partner-owned phase) come off the top and back
	// to their server: 20 s for each pair, 3 s for the others.
	o := &options{haDrop: true, haDropSecs: 5}
	if o.fixedCost("kea-ha") != 20*time.Second || o.fixedCost("kea") != 3*time.Second {
		t.Errorf("fixed costs %v %v", o.fixedCost("kea-ha"), o.fixedCost("kea"))
	}
	w := budgetWeight["kea-ha"] / (budgetWeight["kea-ha"] + budgetWeight["xdhcpd-ha"])
	if a := allowance(500*time.Second, names, 3, o.fixedCost); a != 20*time.Second+time.Duration(w*float64(460*time.Second)) {
		t.Errorf("kea-ha's share of 500 s = %v", a)
	}
	if a := allowance(10*time.Second, names, 3, o.fixedCost); a != 20*time.Second {
		t.Errorf("nothing left for ladders: %v, want the fixed cost", a)
	}
	o.haDrop = false
	if o.fixedCost("xdhcpd-ha") != 3*time.Second {
		t.Error("no partner-owned phase, no fixed cost for it")
	}
	if got := runOrder([]string{"kea", "xdhcpd-udp", "xdhcpd-auto", "kea-ha"}); !slices.Equal(got, []int{0, 2, 3, 1}) {
		t.Errorf("runOrder = %v: xdhcpd-udp runs last", got)
	}
	// A best rate whose ladder was cut short is marked in the table.
	res := sample(true)
	res.Servers[1].Stop = "time budget (before 12k)"
	if tab := Table(res.Servers, true); !strings.Contains(tab, "8000+ (2.00x)") || !strings.Contains(tab, "+ the ladder ended") {
		t.Errorf("no + mark for a cut ladder:\n%s", tab)
	}
	// A point is settled once most planned runs passed (<= 1 % loss and
	// delivered), as skipRest ends it once most failed.
	good := Run{Offered: 4000, LeasesPerSec: 4000}
	lossy := Run{Offered: 4000, LeasesPerSec: 3900, Loss: 0.02}
	under := Run{Offered: 4000, LeasesPerSec: 3000}
	for _, c := range []struct {
		runs    []Run
		repeats int
		want    bool
	}{
		{[]Run{good}, 3, false}, {[]Run{good, good}, 3, true}, {[]Run{good, lossy}, 3, false},
		{[]Run{good, under}, 3, false}, {[]Run{good, lossy, good}, 3, true}, {[]Run{good}, 1, true},
		{[]Run{{Offered: 4000, LeasesPerSec: 4000, Err: "x"}, good}, 3, false},
	} {
		if got := settled(c.runs, c.repeats); got != c.want {
			t.Errorf("settled(%+v, %d) = %v", c.runs, c.repeats, got)
		}
		if c.want {
			p := Point{Offered: 4000, Runs: c.runs, Median: medianRun(c.runs)}
			if bestIndex([]Point{p}) != 0 {
				t.Errorf("a settled point does not count: %+v", p.Median)
			}
		}
	}
	// The load tool asked for 30k/s for 5 s but sent 25k/s: not sustained,
	// and the ladder stops, even though nothing was lost.
	short := Point{Offered: 30000, Median: Run{Offered: 30000, Seconds: 5, DiscSent: 125000, AcksRecv: 125000}}
	short.Median.finish()
	if short.Median.Loss != 0 || !loadShort(short) || bestIndex([]Point{short}) != -1 {
		t.Errorf("short load: loss %v, loadShort %v, best %d", short.Median.Loss, loadShort(short), bestIndex([]Point{short}))
	}
	ok := Point{Offered: 30000, Median: Run{Offered: 30000, Seconds: 5, DiscSent: 149000, AcksRecv: 148500}}
	ok.Median.finish()
	if loadShort(ok) || bestIndex([]Point{ok}) != 0 {
		t.Error("a delivered point counted as short")
	}
}

func TestTargetsHostile(t *testing.T) {
	rows := func(at50k, atMax float64, sent50k float64) *Hostile {
		return &Hostile{GoodRate: 1000, Seconds: 8, Rows: []HostileRow{
			{Baseline: true, Started: 8000, Completed: 8000, Share: 1, CPUSeconds: 0.5},
			{Offered: 50000, Sent: uint64(sent50k * 8), SentPerSec: sent50k, Started: 8000, Completed: uint64(8000 * at50k), Share: at50k, CPUSeconds: 1.5, Per1k: 0.0025},
			{Offered: 0, Sent: 1200000, SentPerSec: 150000, Started: 8000, Completed: uint64(8000 * atMax), Share: atMax},
		}}
	}
	x := &Server{Name: "xdhcpd-auto", Hostile: rows(0.9995, 0.995, 50000)}
	k := &Server{Name: "kea", Hostile: rows(0.98, 0.31, 50000)}
	ts := targetsHostile(x, k)
	if len(ts) != 2 || ts[0].Status != Met || ts[1].Status != Met || !strings.Contains(ts[0].Detail, "Kea 98.00%") {
		t.Fatalf("met: %+v", ts)
	}
	x.Hostile = rows(0.998, 0.90, 50000)
	ts = targetsHostile(x, nil)
	if ts[0].Status != Missed || ts[1].Status != Missed || *ts[0].Value != 0.998 {
		t.Fatalf("missed: %+v", ts)
	}
	x.Hostile = rows(1, 1, 30000)
	if ts = targetsHostile(x, nil); ts[0].Status != NA || !strings.Contains(ts[0].Detail, "lab sent < 90%") {
		t.Fatalf("lab short: %+v", ts[0])
	}
	if ts = targetsHostile(&Server{Name: "xdhcpd-auto"}, nil); ts[0].Status != NA || ts[1].Status != NA {
		t.Fatalf("not run: %+v", ts)
	}
	if tab := HostileTable([]*Server{k, x}); !strings.Contains(tab, "none (baseline)") || !strings.Contains(tab, "max") {
		t.Fatalf("table:\n%s", tab)
	}
}
