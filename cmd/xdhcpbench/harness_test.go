package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A real perfdhcp -4 report (Kea 2.2, Debian), trimmed of nothing.
const perfdhcpOut = `Running: perfdhcp -4 -l 198.18.0.2 -r 3000 -p 3 -R 10000 -b mac=02:01:00:00:00:00 198.18.0.11
Scenario: basic.
Multi-thread mode enabled.
***Rate statistics***
Rate: 2997.59 4-way exchanges/second, expected rate: 3000

***Malformed Packets***
Malformed packets: 0
***Statistics for: DISCOVER-OFFER***
sent packets: 8999
received packets: 8998
drops: 1
drops ratio: 0.0111123 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.108 ms
avg delay: 7.275 ms
max delay: 44.594 ms
std deviation: 10.708 ms
collected packets: 0

***Statistics for: REQUEST-ACK***
sent packets: 8998
received packets: 8997
drops: 1
drops ratio: 0.011 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.122 ms
avg delay: 6.586 ms
max delay: 47.686 ms
std deviation: 10.047 ms
collected packets: 0
`

const dhcploadOut = `{
  "mode": "packet", "server": "198.18.0.11", "giaddr": "198.18.0.1", "clients": 10000, "rate": 3000,
  "discover_offer": { "sent": 9000, "received": 8992, "drops": 8, "min_ms": 0.04, "avg_ms": 7.58, "p50_ms": 0.572, "p99_ms": 45.824, "max_ms": 52.8 },
  "request_ack": { "sent": 8992, "received": 8983, "drops": 9, "min_ms": 0.06, "avg_ms": 7.17, "p50_ms": 0.524, "p99_ms": 44.288, "max_ms": 52.79 },
  "violations": {}, "exit_code": 3
}`

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestParsePerfdhcp(t *testing.T) {
	r, err := parsePerfdhcp([]byte(perfdhcpOut))
	if err != nil {
		t.Fatal(err)
	}
	if r.DiscSent != 8999 || r.OffersRecv != 8998 || r.ReqSent != 8998 || r.AcksRecv != 8997 {
		t.Errorf("counters: %+v", r)
	}
	if !near(r.DO.MinMs, 0.108) || !near(r.DO.AvgMs, 7.275) || !near(r.DO.MaxMs, 44.594) || r.DO.HasPct {
		t.Errorf("DO delay: %+v", r.DO)
	}
	if !near(r.RA.AvgMs, 6.586) || !near(r.RA.MaxMs, 47.686) {
		t.Errorf("RA delay: %+v", r.RA)
	}
	r.Seconds = 3
	r.finish()
	if !near(r.Loss, 1-8997.0/8999) || !near(r.LeasesPerSec, 8997.0/3) {
		t.Errorf("loss %v leases/s %v", r.Loss, r.LeasesPerSec)
	}
	if _, err := parsePerfdhcp([]byte("perfdhcp: usage error\n")); err == nil {
		t.Error("garbage parsed")
	}
	// Only one block: an error, not a half-filled run.
	if _, err := parsePerfdhcp([]byte(perfdhcpOut[:strings.Index(perfdhcpOut, "***Statistics for: REQUEST-ACK")])); err == nil {
		t.Error("report without REQUEST-ACK parsed")
	}
}

func TestParseDhcpload(t *testing.T) {
	r, err := parseDhcpload([]byte("warning: something\n" + dhcploadOut))
	if err != nil {
		t.Fatal(err)
	}
	if r.DiscSent != 9000 || r.AcksRecv != 8983 || !r.RA.HasPct || !near(r.RA.P99Ms, 44.288) || !near(r.DO.P50Ms, 0.572) {
		t.Errorf("%+v", r)
	}
	if _, err := parseDhcpload([]byte("dhcpload: -i: interface required")); err == nil {
		t.Error("no JSON parsed")
	}
}

func TestCombine(t *testing.T) {
	a := Run{DiscSent: 100, OffersRecv: 100, ReqSent: 100, AcksRecv: 100,
		RA: Delay{MinMs: 1, AvgMs: 2, P50Ms: 2, P99Ms: 5, MaxMs: 9, HasPct: true}}
	b := Run{DiscSent: 300, OffersRecv: 300, ReqSent: 300, AcksRecv: 300,
		RA: Delay{MinMs: 0.5, AvgMs: 4, P50Ms: 4, P99Ms: 7, MaxMs: 8, HasPct: true}}
	c := combine([]Run{a, b})
	if c.DiscSent != 400 || c.AcksRecv != 400 {
		t.Errorf("counters %+v", c)
	}
	if !near(c.RA.AvgMs, 3.5) || !near(c.RA.P50Ms, 3.5) || c.RA.P99Ms != 7 || c.RA.MaxMs != 9 || c.RA.MinMs != 0.5 || !c.RA.HasPct {
		t.Errorf("delays %+v", c.RA)
	}
}

func TestProcsAndShare(t *testing.T) {
	p := &perfdhcp{perProc: 10000}
	relays := []string{"198.18.0.1", "198.18.0.2", "198.18.0.3"}
	for _, tc := range []struct {
		rate   int
		server string
		want   int
	}{{2000, "198.18.0.11", 1}, {10000, "198.18.0.11", 1}, {12000, "198.18.0.11", 2}, {32000, "198.18.0.11", 3}, {32000, "", 1}} {
		if got := p.Procs(LoadSpec{Rate: tc.rate, Server: tc.server, Relays: relays}); got != tc.want {
			t.Errorf("Procs(%d, %q) = %d, want %d", tc.rate, tc.server, got, tc.want)
		}
	}
	sum := 0
	for i := range 3 {
		sum += share(10001, 3, i)
	}
	if sum != 10001 {
		t.Errorf("shares sum to %d", sum)
	}
	args := strings.Join(p.Args(LoadSpec{Rate: 12000, Seconds: 5, Clients: 20000, Server: "198.18.0.11", Relays: relays}, 1, 2), " ")
	if args != "perfdhcp -4 -l 198.18.0.2 -r 6000 -p 5 -R 10000 -b mac=02:00:01:00:00:00 198.18.0.11" {
		t.Errorf("args %q", args)
	}
	bargs := strings.Join(p.Args(LoadSpec{Rate: 2000, Seconds: 5, Clients: 20000, Iface: "br0", Relays: relays}, 0, 1), " ")
	if !strings.Contains(bargs, "-l br0") || strings.HasSuffix(bargs, "198.18.0.11") {
		t.Errorf("broadcast args %q", bargs)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	in := []float64{3, 1, 2}
	median(in)
	if in[0] != 3 {
		t.Error("median sorted its argument")
	}
	runs := []Run{
		{Offered: 4000, Seconds: 5, DiscSent: 100, AcksRecv: 90, Loss: 0.10, LeasesPerSec: 18, RA: Delay{P99Ms: 9}},
		{Offered: 4000, Seconds: 5, DiscSent: 100, AcksRecv: 99, Loss: 0.01, LeasesPerSec: 19.8, RA: Delay{P99Ms: 3}},
		{Offered: 4000, Seconds: 5, Err: "boom", Loss: 1},
		{Offered: 4000, Seconds: 5, DiscSent: 100, AcksRecv: 100, Loss: 0, LeasesPerSec: 20, RA: Delay{P99Ms: 1}},
	}
	m := medianRun(runs)
	if m.Loss != 0.01 || m.AcksRecv != 99 || m.RA.P99Ms != 3 || m.Offered != 4000 || m.Err != "" {
		t.Errorf("medianRun: %+v", m)
	}
	if m := medianRun(runs[2:3]); m.Loss != 1 || m.Err != "boom" {
		t.Errorf("all errored: %+v", m)
	}
}

func pt(rate int, loss float64) Point {
	return Point{Offered: rate, Median: Run{Offered: rate, Loss: loss, LeasesPerSec: float64(rate) * (1 - loss)}}
}

func TestLadderRules(t *testing.T) {
	if stopLadder(pt(2000, 0.05)) || !stopLadder(pt(2000, 0.0501)) {
		t.Error("stop rule is: median loss > 5 %")
	}
	// Highest rate at <= 1 %, even after a noisy point above it.
	pts := []Point{pt(2000, 0), pt(4000, 0.02), pt(6000, 0.01), pt(8000, 0.3)}
	if got := bestIndex(pts); got != 2 {
		t.Errorf("bestIndex = %d, want 2", got)
	}
	under := pt(4000, 0)
	under.Median.LeasesPerSec = 3000 // the load tool fell short of the offered rate
	if got := bestIndex([]Point{pt(2000, 0), under}); got != 0 {
		t.Errorf("bestIndex counted an undelivered rate as sustained: %d", got)
	}
	if got := bestIndex([]Point{pt(2000, 0.5)}); got != -1 {
		t.Errorf("bestIndex with none under 1%% = %d", got)
	}
	bad, good := Run{Loss: 0.2}, Run{Loss: 0}
	if skipRest([]Run{bad}, 3) || !skipRest([]Run{bad, bad}, 3) || skipRest([]Run{bad, good}, 3) || !skipRest([]Run{bad}, 1) {
		t.Error("skipRest: skip once a majority of the planned runs lost > 5 %")
	}
	s := &Server{Points: pts}
	s.settle()
	if s.Best != 2 || s.BestRate != 6000 || s.BestRun().Loss != 0.01 {
		t.Errorf("settle: %+v", s)
	}
	if l, err := parseLadder("2k, 4000,1.5k"); err != nil || len(l) != 3 || l[0] != 2000 || l[2] != 1500 {
		t.Errorf("parseLadder: %v %v", l, err)
	}
	if _, err := parseLadder("2k,-1"); err == nil {
		t.Error("negative step accepted")
	}
}

// sample is a results set: Kea, an xdhcpd, a pair of each.
func sample(pct bool) *Results {
	mk := func(rate int, loss, lps, p99, cpu float64) Point {
		r := Run{Offered: rate, Seconds: 5, Loss: loss, LeasesPerSec: lps, CPUPer1k: cpu,
			DO: Delay{AvgMs: p99 / 4, P50Ms: p99 / 5, P99Ms: p99, MaxMs: 2 * p99, HasPct: pct},
			RA: Delay{AvgMs: p99 / 4, P50Ms: p99 / 5, P99Ms: p99, MaxMs: 2 * p99, HasPct: pct}}
		return Point{Offered: rate, Runs: []Run{r}, Median: r}
	}
	kea := &Server{Name: "kea", Kind: "kea", Baseline: "kea", PeakRSSKB: 20480,
		Points: []Point{mk(2000, 0, 2000, 2, 0.3), mk(4000, 0.004, 3990, 4, 0.25), mk(8000, 0.2, 6400, 40, 0.2)}}
	xd := &Server{Name: "xdhcpd-udp", Kind: "xdhcpd", Requested: "udp", Actual: "udp", Baseline: "kea", PeakRSSKB: 40960,
		Points: []Point{mk(2000, 0, 2000, 1, 0.2), mk(4000, 0, 4000, 2, 0.15), mk(8000, 0.001, 7992, 8, 0.1), mk(12000, 0.3, 8400, 30, 0.08)}}
	auto := &Server{Name: "xdhcpd-auto", Kind: "xdhcpd", Requested: "auto", Actual: "udp", Baseline: "kea",
		Error: "did not start"}
	kha := &Server{Name: "kea-ha", Kind: "kea", HA: true, Baseline: "kea-ha", PeakRSSKB: 30000,
		Points: []Point{mk(1000, 0.001, 999, 5, 1)}}
	xha := &Server{Name: "xdhcpd-ha", Kind: "xdhcpd", HA: true, Requested: "auto", Actual: "xdp", Baseline: "kea-ha", PeakRSSKB: 45000,
		Points: []Point{mk(1000, 0, 1000, 1, 0.5), mk(2000, 0, 2000, 2, 0.4)}}
	res := &Results{Loader: "test", Percentiles: pct, PointSeconds: 5, Repeats: 1, Ladder: []int{2000, 4000}, HALadder: []int{1000},
		LossTarget: lossTarget, LossStop: lossStop, Servers: []*Server{kea, xd, auto, kha, xha}}
	for _, s := range res.Servers {
		if s.Best = -1; len(s.Points) > 0 {
			s.settle()
		}
	}
	return res
}

func TestTable(t *testing.T) {
	res := sample(true)
	tab := Table(res.Servers, true)
	lines := strings.Split(strings.TrimSpace(tab), "\n")
	if len(lines) != 2+5+1 {
		t.Fatalf("want header, rule, 5 rows, footnote:\n%s", tab)
	}
	if !strings.Contains(lines[0], "p50/p99") {
		t.Errorf("header: %s", lines[0])
	}
	row := func(name string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, name+" ") {
				return l
			}
		}
		t.Fatalf("no row %s:\n%s", name, tab)
		return ""
	}
	// xdhcpd-udp: best 8000 vs Kea's 4000 = 2x; leases 7992/3990; CPU 0.1/0.25;
	// delays at Kea's best rate (4000): p50 0.4 vs 0.8, p99 2 vs 4; RSS 40/20.
	x := row("xdhcpd-udp")
	for _, want := range []string{"8000 (2.00x)", "7992 (2.00x)", "0.400/2.00 (0.50x/0.50x)", "0.100 (0.40x)", "40.0 (2.00x)"} {
		if !strings.Contains(x, want) {
			t.Errorf("xdhcpd-udp row lacks %q:\n%s", want, x)
		}
	}
	if k := row("kea"); !strings.Contains(k, "4000 (1.00x)") {
		t.Errorf("kea row: %s", k)
	}
	if a := row("xdhcpd-auto"); !strings.Contains(a, "auto->udp") || !strings.Contains(a, "error") {
		t.Errorf("auto row: %s", a)
	}
	// The pair compares with the Kea pair; no common rate beyond 1000 needed.
	if h := row("xdhcpd-ha"); !strings.Contains(h, "2000 (2.00x)") || !strings.Contains(h, "auto->xdp") {
		t.Errorf("ha row: %s", h)
	}
	if tab2 := Table(sample(false).Servers, false); !strings.Contains(tab2, "avg/max") {
		t.Errorf("no-percentile header:\n%s", tab2)
	}
	if ratio(0, 1) != "-" || ratio(1, 0) != "-" || ratio(3, 2) != "1.50x" {
		t.Error("ratio")
	}
	if !strings.Contains(Ladders(res.Servers, true), "* offered") {
		t.Error("ladder detail marks no best point")
	}
}

func TestJSONShape(t *testing.T) {
	res := sample(true)
	res.Table = Table(res.Servers, true)
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "results.json")
	if err := writeJSON(path, res); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"started", "loader", "percentiles", "point_seconds", "repeats", "ladder", "ha_ladder", "servers", "table", "loss_target", "loss_stop"} {
		if _, ok := m[k]; !ok {
			t.Errorf("results.json lacks %q", k)
		}
	}
	srv := m["servers"].([]any)[1].(map[string]any)
	for _, k := range []string{"name", "kind", "ha", "datapath", "datapath_used", "baseline", "points", "best_index", "best_rate", "peak_rss_kb", "stop_reason"} {
		if _, ok := srv[k]; !ok {
			t.Errorf("server lacks %q", k)
		}
	}
	p := srv["points"].([]any)[0].(map[string]any)
	med := p["median"].(map[string]any)
	for _, k := range []string{"offered_rate", "loss", "leases_per_sec", "discover_offer", "request_ack", "server_cpu_seconds_per_1k_leases", "ack_received", "discover_sent"} {
		if _, ok := med[k]; !ok {
			t.Errorf("median run lacks %q", k)
		}
	}
	for _, k := range []string{"p50_ms", "p99_ms", "avg_ms", "max_ms", "has_percentiles"} {
		if _, ok := med["request_ack"].(map[string]any)[k]; !ok {
			t.Errorf("delay lacks %q", k)
		}
	}
	var back Results
	if err := json.Unmarshal(b, &back); err != nil || len(back.Servers) != 5 || back.Servers[1].BestRate != 8000 {
		t.Errorf("round trip: %v %+v", err, back.Servers)
	}
}

func TestChart(t *testing.T) {
	dir := t.TempDir()
	pngPath, lg := filepath.Join(dir, "chart.png"), filepath.Join(dir, "chart.json")
	if err := writeChart(pngPath, lg, sample(true)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != chartW || img.Bounds().Dy() != chartH {
		t.Errorf("chart is %v, want %dx%d", img.Bounds(), chartW, chartH)
	}
	// Every server's colour appears (lines and legend), on a white ground.
	seen := map[[3]uint32]int{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, b >> 8}]++
		}
	}
	for i := range 5 {
		c := palette[i]
		if seen[[3]uint32{uint32(c.r), uint32(c.g), uint32(c.b)}] == 0 {
			t.Errorf("colour %s of series %d not drawn", c.hex(), i)
		}
	}
	var legend chartLegend
	lb, _ := os.ReadFile(lg)
	if err := json.Unmarshal(lb, &legend); err != nil || len(legend.Series) != 5 || legend.Series[0].Color != palette[0].hex() || len(legend.Panels) != 2 {
		t.Errorf("legend: %v %+v", err, legend)
	}
	// The y axes say their units.
	if len(legend.Panels) == 2 && (!strings.Contains(legend.Panels[0], "%") || !strings.Contains(legend.Panels[1], "(ms)")) {
		t.Errorf("panels without units: %q", legend.Panels)
	}
	// An empty result set still renders, at the same size.
	if err := writeChart(pngPath, lg, &Results{}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width != chartW || cfg.Height != chartH {
		t.Errorf("empty chart: %v %+v", err, cfg)
	}
	if legendEntryText(&Server{Name: "a"}) != "a (no data)" || legendEntryText(&Server{Name: "b", Actual: "xdp-native", Points: []Point{{}}}) != "b (xdp-native)" {
		t.Error("legendEntryText")
	}
	if niceCeil(7.3) != 10 || niceCeil(0.012) != 0.02 || niceCeil(32000) != 50000 || niceCeil(2400) != 2500 {
		t.Error("niceCeil")
	}
}

func TestProcHelpers(t *testing.T) {
	stat := "1234 (kea dhcp4 (x)) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 130 0 0 20 0 3 0 100 1000000 500 18446744073709551615"
	if v, err := parseStatCPU(stat, 100); err != nil || !near(v, 3.8) {
		t.Errorf("parseStatCPU = %v, %v", v, err)
	}
	if _, err := parseStatCPU("garbage", 100); err == nil {
		t.Error("garbage stat parsed")
	}
	if v, err := cpuSeconds(os.Getpid()); err != nil || v < 0 {
		t.Errorf("own cpu: %v %v", v, err)
	}
	if peakRSSKB(os.Getpid()) <= 0 {
		t.Error("own VmHWM")
	}
	log := `{"level":"warn","message":"x"}
{"level":"info","logger":"kea-dhcp4.xdp","component":"xdp","datapath":"xdp-native","why":"attached","message":"data path selected"}`
	if got := datapathFromLog([]byte(log)); got != "xdp-native" {
		t.Errorf("datapathFromLog = %q", got)
	}
	if got := datapathFromLog([]byte("INFO data path selected datapath=udp why=...")); got != "udp" {
		t.Errorf("text form = %q", got)
	}
	if datapathFromLog([]byte("nothing")) != "" {
		t.Error("found a data path in nothing")
	}
	list := "xdemo-cli (id: 3)\nxbench-s1\nother\n"
	if !nsListHas(list, "xbench-") || !nsListHas(list, "xdemo-") || nsListHas(list, "xb-") || nsListHas("xbench-s10\n", "xbench-") {
		t.Error("nsListHas")
	}
	if got := labPrefixes("xdemo-cli\nxdemo-s1 (id: 3)\nxdemo-s2\nxprof-cli\nxprof-s1\nother\ncli\n"); !slices.Equal(got, []string{"xdemo-"}) {
		t.Errorf("labPrefixes = %q, want [xdemo-]", got)
	}
}
