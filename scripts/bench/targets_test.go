package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// srv is a settled server whose ladder is the given (offered, loss)
// points, leases/s = offered × (1 - loss).
func srv(name, actual string, pts ...[2]float64) *Server {
	s := &Server{Name: name, Kind: "xdhcpd", Actual: actual, Stop: "loss"}
	if strings.HasPrefix(name, "kea") {
		s.Kind, s.Actual = "kea", ""
	}
	for _, p := range pts {
		s.Points = append(s.Points, pt(int(p[0]), p[1]))
	}
	s.settle()
	return s
}

func withDrop(s *Server, per1k, noise float64, err string) *Server {
	s.HADrop = &HADrop{Sent: 25000, Per1k: per1k, Per1kNoise: noise, Err: err}
	if err != "" {
		s.HADrop.Sent = 0
	}
	return s
}

func f64(v float64) *float64 { return &v }

func TestTargetsLab(t *testing.T) {
	kea := func() *Server { return srv("kea", "", [2]float64{2000, 0}, [2]float64{4000, 0.3}) }
	keaHA := func() *Server {
		return withDrop(srv("kea-ha", "", [2]float64{1000, 0}, [2]float64{2000, 0.2}), 0.040, 0.002, "")
	}
	auto := func(top int) *Server {
		return srv("xdhcpd-auto", "xdp-native", [2]float64{2000, 0}, [2]float64{float64(top), 0.005}, [2]float64{float64(top) + 4000, 0.4})
	}
	ha := func(top int, per1k, noise float64) *Server {
		return withDrop(srv("xdhcpd-ha", "xdp-native", [2]float64{1000, 0}, [2]float64{float64(top), 0}, [2]float64{float64(top) + 2000, 0.5}), per1k, noise, "")
	}
	noPoint := srv("xdhcpd-auto", "xdp-native", [2]float64{2000, 0.5})
	onUDP := auto(28000)
	onUDP.Actual = "udp"
	broken := &Server{Name: "xdhcpd-auto", Kind: "xdhcpd", Best: -1, Error: "server1 exited: boom", Stop: "error"}
	kh := keaHA()
	kh.HADrop = nil
	// Ladders that ended before a failing point: the best is a lower bound.
	keaCut := kea()
	keaCut.Points = keaCut.Points[:1]
	keaCut.Stop = "time budget (before 4k)"
	autoTop := auto(8000)
	autoTop.Stop = "ladder complete"
	shortHA := ha(12000, 0, 0)
	shortHA.Stop = "load tool sent 15093 DISCOVERs/s of 16k/s asked"

	tests := []struct {
		name    string
		servers []*Server
		target  int     // index into Targets()
		status  string  // MET, MISSED, n/a
		value   float64 // checked when status is not n/a
		want    []string
	}{
		{"xdp 5x met", []*Server{kea(), auto(28000)}, 0, Met, 28000 * 0.995 / 2000, []string{"13.93x"}},
		{"xdp 5x missed", []*Server{kea(), auto(8000)}, 0, Missed, 8000 * 0.995 / 2000, []string{"3.98x", "xdhcpd-auto 7960 leases/s (at 8k/s)", "kea 2000 leases/s (at 2k/s)"}},
		{"xdp: auto not run", []*Server{kea()}, 0, NA, 0, []string{"xdhcpd-auto not run"}},
		{"xdp: auto none under 1%", []*Server{kea(), noPoint}, 0, NA, 0, []string{"no point at <= 1% loss"}},
		{"xdp: auto errored", []*Server{kea(), broken}, 0, NA, 0, []string{"failed: server1 exited"}},
		{"xdp: auto fell back to udp", []*Server{kea(), onUDP}, 0, NA, 0, []string{`ran on "udp"`}},
		{"xdp: kea cut short, met", []*Server{keaCut, auto(28000)}, 0, NA, 0, []string{"kea stopped before a failing point (time budget (before 4k)): the ratio may be lower"}},
		{"xdp: kea cut short, missed anyway", []*Server{keaCut, auto(8000)}, 0, Missed, 8000 * 0.995 / 2000, nil},
		{"xdp: auto at its ladder's top, missed", []*Server{kea(), autoTop}, 0, NA, 0, []string{"xdhcpd-auto stopped before a failing point (ladder complete): the ratio may be higher"}},
		{"ha: single at its top, met anyway is n/a", []*Server{autoTop, ha(8000, 0, 0)}, 1, NA, 0, []string{"ratio may be lower"}},
		{"ha: pair stopped by the load tool is a failing point", []*Server{auto(28000), shortHA}, 1, Missed, 12000 / (28000 * 0.995), []string{"xdhcpd-ha stopped: load tool sent 15093"}},
		{"xdp: kea not run", []*Server{auto(28000)}, 0, NA, 0, []string{"kea not run"}},
		{"ha 70% met", []*Server{kea(), auto(28000), keaHA(), ha(20000, 0, 0)}, 1, Met, 20000 / (28000 * 0.995), []string{"71.8%", "kea-ha/kea 50% (1000/2000)"}},
		{"ha 70% missed", []*Server{auto(28000), ha(16000, 0, 0)}, 1, Missed, 16000 / (28000 * 0.995), []string{"57.4%", "kea-ha/kea -"}},
		{"ha: pair not run", []*Server{kea(), auto(28000)}, 1, NA, 0, []string{"xdhcpd-ha not run"}},
		{"ha: single none under 1%", []*Server{noPoint, ha(20000, 0, 0)}, 1, NA, 0, []string{"xdhcpd-auto had no point"}},
		{"partner within noise", []*Server{keaHA(), ha(20000, 0.0008, 0.001)}, 2, Met, 0.0008 / 0.040, []string{"<0.045x", "kea-ha 0.0400"}},
		{"partner below noise, negative", []*Server{keaHA(), ha(20000, -0.002, 0.001)}, 2, Met, -0.002 / 0.040, nil},
		{"partner under 5% of Kea", []*Server{keaHA(), ha(20000, 0.0016, 0.0001)}, 2, Met, 0.04, []string{"0.040x"}},
		{"partner missed", []*Server{keaHA(), ha(20000, 0.01, 0.001)}, 2, Missed, 0.25, []string{"0.25x"}},
		{"partner: no Kea, within noise", []*Server{ha(20000, 0.0005, 0.001)}, 2, Met, 0.0005, []string{"within noise", "kea-ha not run"}},
		{"partner: no Kea, above noise", []*Server{ha(20000, 0.005, 0.001)}, 2, NA, 0, []string{"kea-ha not run"}},
		{"partner: Kea phase not run", []*Server{kh, ha(20000, 0.005, 0.001)}, 2, NA, 0, []string{"phase not run"}},
		{"partner: pair phase failed", []*Server{keaHA(), withDrop(ha(20000, 0, 0), 0, 0, "needs bin/dhcpload")}, 2, NA, 0, []string{"needs bin/dhcpload"}},
		{"partner: pair not run", []*Server{keaHA()}, 2, NA, 0, []string{"xdhcpd-ha not run"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := Targets(tc.servers, nil, "")
			if len(ts) != 6 {
				t.Fatalf("want 6 targets, got %d", len(ts))
			}
			got := ts[tc.target]
			if got.Status != tc.status {
				t.Errorf("status %s, want %s: %+v", got.Status, tc.status, got)
			}
			switch {
			case tc.status == NA && tc.target < 2 && got.Value != nil && !strings.Contains(got.Detail, "stopped before"):
				t.Errorf("n/a with a value: %+v", got)
			case tc.status != NA && (got.Value == nil || !near(*got.Value, tc.value)):
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
			ts := Targets(nil, tc.ll, tc.why)[3:]
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
	if len(lines) != 3+6 || !strings.HasPrefix(lines[1], "target") {
		t.Fatalf("want title, header, rule, 6 rows:\n%s", res.TargetsTable)
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
	if err := json.Unmarshal(b, &m); err != nil || len(m.Targets) != 6 {
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
	// leaseload -json's output (scripts/bench/leaseload), Kea skipped.
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
