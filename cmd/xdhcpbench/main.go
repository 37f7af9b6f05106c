// Command xdhcpbench is the side-by-side lab benchmark of xdhcpd against
// ISC Kea 2.2 (make bench, via scripts/bench.sh, which builds it as
// bin/xdhcpbench). It creates a netns lab (scripts/lab.sh, prefix
// xbench-), then for each system under test — Kea,
// xdhcpd on the UDP path, xdhcpd with datapath "auto" (XDP when it
// attaches), a Kea HA load-balancing pair and an xdhcpd pair — climbs a
// ladder of offered DORA rates, each point run up to -repeats times for
// -secs seconds (fewer once a majority of the planned runs passed, or
// failed: the median's verdict is then settled), stopping once a point's
// median loss exceeds 5 % or the load tool sent under 95 % of the
// DISCOVERs asked for (such a point never counts as sustained: see
// minAchieved). Single servers share one ladder and pairs another, so Kea
// and xdhcpd are measured at the same offered rates, rung by rung. Each
// server keeps running over its ladder with a fixed client population
// (-clients MACs cycling through full DORA, as perfdhcp -R does), after a
// short unmeasured warm-up.
//
// One load tool carries every row and rung: the project's generator
// dhcpload (bin/dhcpload, p50/p99 delays); perfdhcp is used for all of
// them only when dhcpload is not built (-loader, and a note says so).
// perfdhcp is kept as one reference row: after their ladders, Kea and
// xdhcpd-auto each get one perfdhcp run at -ref-rate, shown next to the
// dhcpload point at that rate (in no target).
//
// CPU per lease is the server processes' utime+stime (/proc/<pid>/stat)
// from just before the load tool starts to just after it exits, divided by
// the ACKed leases; both servers summed for a pair; no background
// subtracted; softirq work charged to other processes (the load tool's
// sends, ksoftirqd) is in neither Kea's nor xdhcpd's figure. Each run also
// records the machine's busy CPU share (/proc/stat), which tells whether
// a failing point hit the lab's limit.
//
// After their ladders Kea and xdhcpd-auto also get the malformed-flood
// phase (flood.go): dhcpload -malformed sends -flood-rate malformed
// relayed frames per second for -flood-secs; the bench reports the server
// process's CPU per 1,000 dropped frames and every counter that rose
// (statistic-get-all, and xdp-stats-get for xdhcpd).
//
// It prints each server's ladder, one summary table (best rate at <= 1 %
// loss, leases/s, delays, CPU seconds per 1,000 leases, peak RSS, each
// with its ratio to Kea), the per-rung CPU-per-lease comparison (single
// and pair), the partner-owned, reference and flood tables, and writes
// out/bench/results.json, out/bench/chart.png and out/bench/chart.json
// (the chart's legend).
//
// Last it prints the project's performance targets (targets.go: CPU per
// lease against Kea at every rung up to Kea's best rate, the pair's
// REQUEST-ACK p99, best-rate ratios with the limit that ended the climb,
// partner-owned DISCOVERs, and, from leaseload's -json report
// (-leaseload; scripts/bench.sh runs leaseload first), the lease-file
// targets), each MET, MISSED or n/a with its figures, and stores them in
// results.json (targets).
//
// The time budget (-budget, for the whole lab part) is split as the
// servers go (allowance): each gets its fixed cost (start, warm-up, a
// pair's partner-owned phase, a single's reference run and flood) plus a
// weighted share (budgetWeight) of the ladder time left, so the XDP single
// server and the xdhcpd pair, whose ladders climb furthest, get the larger
// shares, and whatever a server leaves unused flows to later ones.
// xdhcpd-udp, in no target, runs last (runLast) on what is left; the
// tables keep the -servers order.
//
// Each HA pair first runs the partner-owned phase (hadrop.go): an idle
// window, then DISCOVERs only from clients that all hash to server1, and
// server2's CPU per 1,000 of them net of the idle background, with the
// XDP drop counter for xdhcpd; a second table and the notes report it
// against the Kea pair.
//
// Settings come from flags, defaulted from the environment: QUICK=1 (a
// two-minute smoke run), SECS, REPEATS, LADDER, HA_LADDER, BUDGET (seconds
// for the whole lab part), LOADER, SERVERS, CLIENTS, THREADS, LAB_PREFIX,
// HA_DROP=0 (skip the partner-owned phase), HA_DROP_ONLY=1 (only that
// phase, no HA ladder), HA_DROP_RATE, HA_DROP_SECS, REF_RATE (0: no
// perfdhcp reference row), FLOOD=0 (skip the malformed flood), FLOOD_RATE,
// FLOOD_SECS, LEASELOAD_JSON, RENEW=0 (skip the renewal phase),
// RENEW_ONLY=1 (only the renewal phase, renew.go), RENEW_RATES,
// RENEW_SECS, RENEW_CLIENTS, RENEW_THRESHOLD, PG=0 (leave out the
// PostgreSQL rows), PG_ONLY=1 (only them: kea-pg and xdhcpd-pg, pg.go),
// PG_LADDER.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	root, out, prefix, loader, servers string
	quick                              bool
	secs, repeats, clients, threads    int
	queue, relays                      int
	haDrop, haDropOnly                 bool
	haDropRate, haDropSecs             int
	refRate                            int // perfdhcp reference run, DORA/s (0: none)
	flood                              bool
	floodRate, floodSecs               int
	hostile                            bool
	hostileGood, hostileSecs           int
	hostileRates                       []int
	renew, renewOnly                   bool
	renewRates                         []int
	renewSecs, renewClients            int
	renewThreshold                     float64
	ladder, haLadder, pgLadder         []int
	pgOnly, pgStatements               bool
	budget                             time.Duration
	leaseload                          string
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func parseLadder(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		mult := 1
		if v, ok := strings.CutSuffix(strings.ToLower(f), "k"); ok {
			f, mult = v, 1000
		}
		n, err := strconv.ParseFloat(f, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("ladder step %q: want a positive rate", f)
		}
		out = append(out, int(n*float64(mult)))
	}
	if len(out) == 0 {
		return nil, errors.New("empty ladder")
	}
	return out, nil
}

func parseOptions(args []string) (*options, error) {
	o := &options{}
	quick := env("QUICK", "0") == "1"
	defSecs, defRep, defBudget := "5", "3", "520"
	defRef, defFloodRate, defFloodSecs := "4000", "20000", "3"
	defHostileSecs := "8"
	// Kea on PostgreSQL tops out between 1,000 and 1,500 DORA/s here and
	// xdhcpd between 4,000 and 5,000: rungs at 500/1k and 3k/4k made
	// target 7's ratio swing between 3x and 6x from one run to the next,
	// so the ladder is finer where each one ends. Not finer below: every
	// rung adds dead rows (lease4 and the lease4_stat triggers' counters)
	// that the rungs after it pay for, and a ladder of 13 rungs cost
	// xdhcpd a third of its best rate against a fresh database.
	defPG := "500,1k,1.25k,1.5k,2k,3k,4k,4.5k,5k,6k,8k,12k"
	defServers := "kea,xdhcpd-udp,xdhcpd-auto,kea-ha,xdhcpd-ha"
	if env("PG", "1") == "1" {
		defServers += ",kea-pg,xdhcpd-pg,xdhcpd-pg-udp"
	}
	pgOnly := env("PG_ONLY", "0") == "1"
	if pgOnly {
		defServers = "kea-pg,xdhcpd-pg,xdhcpd-pg-udp"
	}
	defRenewSecs, defRenewRates := "3", "2500,5000,10000,20000,max"
	// Single xdhcpd on XDP sustains ~28k DORA/s on a quiet 2-vCPU machine,
	// a pair ~20k: the ladders reach past that, finer near the top.
	defLadder, defHA := "2k,4k,8k,12k,16k,20k,24k,28k,32k,40k,48k,56k", "1k,2k,4k,8k,12k,16k,18k,20k,22k,24k,28k"
	if quick {
		defSecs, defRep, defBudget = "2", "1", "120"
		defLadder, defHA = "2k,4k,8k", "1k,2k,4k"
		defRef, defFloodRate, defFloodSecs = "2000", "10000", "2"
		defHostileSecs = "3"
		defRenewSecs, defRenewRates = "2", "5000"
		defPG = "500,1k,2k,4k"
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.root, "root", ".", "repository root (bin/, scripts/lab.sh)")
	fs.StringVar(&o.out, "out", "out/bench", "output directory")
	fs.StringVar(&o.prefix, "prefix", env("LAB_PREFIX", "xbench-"), "lab namespace prefix")
	fs.StringVar(&o.loader, "loader", env("LOADER", "auto"), "load tool: auto (dhcpload if bin/dhcpload exists, else perfdhcp), perfdhcp, dhcpload")
	fs.StringVar(&o.servers, "servers", env("SERVERS", defServers), "systems under test, in order (kea-pg, xdhcpd-pg: the PostgreSQL phase)")
	fs.BoolVar(&o.pgOnly, "pg-only", pgOnly, "only the PostgreSQL rows (kea-pg, xdhcpd-pg); the other phases off")
	fs.BoolVar(&o.pgStatements, "pg-statements", env("PG_STATEMENTS", "0") == "1", "PostgreSQL rows: load pg_stat_statements and write each server's statements (pg-statements.txt)")
	pgLadder := fs.String("pg-ladder", env("PG_LADDER", defPG), "offered DORA/s steps for the PostgreSQL rows")
	fs.BoolVar(&o.quick, "quick", quick, "smoke run (also QUICK=1)")
	secs, rep := env("SECS", defSecs), env("REPEATS", defRep)
	fs.IntVar(&o.secs, "secs", atoi(secs), "seconds per load run")
	fs.IntVar(&o.repeats, "repeats", atoi(rep), "runs per point (median taken)")
	fs.IntVar(&o.clients, "clients", atoi(env("CLIENTS", "20000")), "client population (distinct MACs)")
	fs.IntVar(&o.threads, "threads", atoi(env("THREADS", "2")), "thread-pool-size for every server")
	fs.IntVar(&o.queue, "queue", 256, "packet-queue-size for every server")
	fs.IntVar(&o.relays, "relays", 8, "relay addresses on br0 (198.18.0.1..N), one per parallel load process")
	ladder := fs.String("ladder", env("LADDER", defLadder), "offered DORA/s steps for single servers")
	haLadder := fs.String("ha-ladder", env("HA_LADDER", defHA), "offered DORA/s steps for HA pairs")
	fs.BoolVar(&o.haDrop, "ha-drop", env("HA_DROP", "1") == "1", "HA pairs: measure server2's CPU per partner-owned DISCOVER (needs bin/dhcpload)")
	fs.BoolVar(&o.haDropOnly, "ha-drop-only", env("HA_DROP_ONLY", "0") == "1", "HA pairs: run only the partner-owned phase, no ladder")
	fs.IntVar(&o.haDropRate, "ha-drop-rate", atoi(env("HA_DROP_RATE", "5000")), "partner-owned phase: DISCOVERs/s")
	fs.IntVar(&o.haDropSecs, "ha-drop-secs", atoi(env("HA_DROP_SECS", "5")), "partner-owned phase: seconds of idle, then of load")
	fs.IntVar(&o.refRate, "ref-rate", atoi(env("REF_RATE", defRef)), "perfdhcp reference run (Kea and xdhcpd-auto, one run): DORA/s; 0 = none")
	fs.BoolVar(&o.flood, "flood", env("FLOOD", "1") == "1", "malformed-flood phase for Kea and xdhcpd-auto (needs bin/dhcpload)")
	fs.IntVar(&o.floodRate, "flood-rate", atoi(env("FLOOD_RATE", defFloodRate)), "malformed flood: frames/s")
	fs.IntVar(&o.floodSecs, "flood-secs", atoi(env("FLOOD_SECS", defFloodSecs)), "malformed flood: seconds")
	fs.BoolVar(&o.hostile, "hostile", env("HOSTILE", "1") == "1", "hostile-edge phase for Kea and xdhcpd-auto (needs bin/dhcpload)")
	fs.IntVar(&o.hostileGood, "hostile-good", atoi(env("HOSTILE_GOOD", "1000")), "hostile phase: the relay's DORA/s, each a new client")
	fs.IntVar(&o.hostileSecs, "hostile-secs", atoi(env("HOSTILE_SECS", defHostileSecs)), "hostile phase: seconds per row")
	hostileRates := fs.String("hostile-rates", env("HOSTILE_RATES", "50000,max"), "hostile phase: attacker frames/s per row (max: as fast as the lab can send)")
	fs.BoolVar(&o.renew, "renew", env("RENEW", "1") == "1", "renewal phase for Kea and xdhcpd-auto, without and with lease caching (needs bin/dhcpload)")
	fs.BoolVar(&o.renewOnly, "renew-only", env("RENEW_ONLY", "0") == "1", "run only the renewal phase (Kea and xdhcpd-auto; no ladder, no other phase)")
	renewRates := fs.String("renew-rates", env("RENEW_RATES", defRenewRates), "renewal phase: offered renewals/s per row (max: as fast as the clients go)")
	fs.IntVar(&o.renewSecs, "renew-secs", atoi(env("RENEW_SECS", defRenewSecs)), "renewal phase: seconds of renewals per row")
	fs.IntVar(&o.renewClients, "renew-clients", atoi(env("RENEW_CLIENTS", "3000")), "renewal phase: clients per row (each takes a lease first)")
	fs.Float64Var(&o.renewThreshold, "renew-threshold", atof(env("RENEW_THRESHOLD", "0.6")), "renewal phase: cache-threshold of the cached rows (above 0.5: a T1 renewal hits)")
	fs.StringVar(&o.leaseload, "leaseload", env("LEASELOAD_JSON", ""), "leaseload -json report for the targets table (scripts/bench.sh runs leaseload)")
	budget := fs.Int("budget", atoi(env("BUDGET", defBudget)), "seconds for the whole lab run; ladders are cut to fit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var err error
	if o.ladder, err = parseLadder(*ladder); err != nil {
		return nil, err
	}
	if o.haLadder, err = parseLadder(*haLadder); err != nil {
		return nil, err
	}
	if o.pgLadder, err = parseLadder(*pgLadder); err != nil {
		return nil, err
	}
	if o.pgOnly {
		o.haDrop, o.flood, o.hostile, o.renew, o.refRate = false, false, false, false, 0
	}
	o.budget = time.Duration(*budget) * time.Second
	budgetSet := os.Getenv("BUDGET") != ""
	fs.Visit(func(f *flag.Flag) { budgetSet = budgetSet || f.Name == "budget" })
	for _, f := range strings.Split(*hostileRates, ",") {
		f = strings.TrimSpace(f)
		if f == "max" {
			o.hostileRates = append(o.hostileRates, 0)
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 1000000 {
			return nil, fmt.Errorf("hostile-rates: %q: want frames/s 1..1000000 or max", f)
		}
		o.hostileRates = append(o.hostileRates, n)
	}
	for _, f := range strings.Split(*renewRates, ",") {
		f = strings.TrimSpace(f)
		if f == "max" {
			o.renewRates = append(o.renewRates, 0)
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 1000000 {
			return nil, fmt.Errorf("renew-rates: %q: want renewals/s 1..1000000 or max", f)
		}
		o.renewRates = append(o.renewRates, n)
	}
	if o.renewOnly && !o.pgOnly {
		o.renew = true
	}
	if !budgetSet && strings.Contains(o.servers, "-pg") {
		// The PostgreSQL rows come on top of the default budget: about
		// four minutes (Kea stops within a few rungs on a synchronous
		// database, xdhcpd climbs ten; the three rows share it by
		// weight).
		o.budget += 4 * time.Minute
		if o.pgOnly {
			o.budget = time.Duration(len(o.pgLadder)*2+4) * time.Duration(o.repeats*o.secs+3) * time.Second
		}
	}
	if o.renew && (o.renewSecs < 1 || o.renewSecs > 60 || o.renewClients < 1 || o.renewClients > 20000 || len(o.renewRates) == 0 ||
		o.renewThreshold <= 0 || o.renewThreshold >= 1) {
		return nil, errors.New("renew-secs must be 1..60, renew-clients 1..20000, renew-rates not empty, renew-threshold in (0, 1)")
	}
	// Every renewal row takes leases for its own clients (xdhcpd runs three
	// modes per rate): they must fit the pool, or later rows get no lease.
	if o.renew && renewLeasesNeeded(o) > renewPoolSize {
		return nil, fmt.Errorf("renewal rows need %d leases (renew-clients %d x %d rates x 3 modes), the pool has %d: fewer clients or rates",
			renewLeasesNeeded(o), o.renewClients, len(o.renewRates), renewPoolSize)
	}
	if o.renew && !o.renewOnly && !budgetSet {
		// The renewal rows (Kea and xdhcpd-auto) come on top of the
		// default budget rather than out of the ladders' time.
		o.budget += 2 * o.renewCost()
	}
	if o.hostile && (o.hostileGood < 1 || o.hostileGood > 20000 || o.hostileSecs < 1 || o.hostileSecs > 60 || len(o.hostileRates) == 0) {
		return nil, errors.New("hostile-good must be 1..20000, hostile-secs 1..60, hostile-rates not empty")
	}
	if o.haDropOnly {
		o.haDrop = true
	}
	if o.haDrop && (o.haDropRate < 1 || o.haDropRate > 100000 || o.haDropSecs < 1 || o.haDropSecs > 60) {
		return nil, errors.New("ha-drop-rate must be 1..100000, ha-drop-secs 1..60")
	}
	if o.flood && (o.floodRate < 1 || o.floodRate > 200000 || o.floodSecs < 1 || o.floodSecs > 30) {
		return nil, errors.New("flood-rate must be 1..200000, flood-secs 1..30")
	}
	if o.refRate < 0 || o.refRate > 50000 {
		return nil, errors.New("ref-rate must be 0..50000")
	}
	if o.secs < 1 || o.repeats < 1 || o.clients < 1 || o.threads < 1 || o.relays < 1 || o.relays > 10 || o.budget <= 0 {
		return nil, errors.New("secs, repeats, clients, threads, budget must be positive; relays 1..10 (198.18.0.11 is a server)")
	}
	return o, nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func atof(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }

func main() {
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, o)
	stop()
	os.Exit(code)
}

// suts are the systems under test, by name.
var suts = map[string]Server{
	"kea":         {Name: "kea", Kind: "kea", Baseline: "kea", extras: true},
	"xdhcpd-udp":  {Name: "xdhcpd-udp", Kind: "xdhcpd", Requested: "udp", Baseline: "kea"},
	"xdhcpd-auto": {Name: "xdhcpd-auto", Kind: "xdhcpd", Requested: "auto", Baseline: "kea", extras: true},
	"kea-ha":      {Name: "kea-ha", Kind: "kea", HA: true, Baseline: "kea-ha"},
	"xdhcpd-ha":   {Name: "xdhcpd-ha", Kind: "xdhcpd", HA: true, Requested: "auto", Baseline: "kea-ha"},
	"kea-pg":      {Name: "kea-pg", Kind: "kea", PG: true, Baseline: "kea-pg"},
	"xdhcpd-pg":   {Name: "xdhcpd-pg", Kind: "xdhcpd", PG: true, Requested: "auto", Baseline: "kea-pg"},
	// The UDP path's worker pool (thread-pool-size) against the XDP path's
	// one run-to-completion worker per RX queue, when each lease waits
	// for a database round trip.
	"xdhcpd-pg-udp": {Name: "xdhcpd-pg-udp", Kind: "xdhcpd", PG: true, Requested: "udp", Baseline: "kea-pg"},
}

// budgetWeight is each system's share of the lab's ladder time, relative
// to the others still to run (allowance); unknown names weigh 1. With the
// defaults a point costs ~12 s (2 runs of 5 s; ~18 s when it takes 3). The
// XDP single server and the xdhcpd pair climb the longest ladders (~9 and
// ~10 points) and the targets compare them; Kea (4-6 points) and the Kea
// pair (3) get enough to reach their failing point, since a Kea baseline
// cut short would flatter the ratios; the UDP path, in no target, runs
// last (runLast) and is the one a short budget cuts.
var budgetWeight = map[string]float64{
	"kea": 2, "xdhcpd-udp": 0.75, "xdhcpd-auto": 3, "kea-ha": 1.25, "xdhcpd-ha": 3,
	"kea-pg": 1.5, "xdhcpd-pg": 3, "xdhcpd-pg-udp": 2,
}

// runLast are run after the others, whatever their place in -servers:
// the UDP path is in no target, so it gets the time the others leave.
var runLast = map[string]bool{"xdhcpd-udp": true}

// runOrder is the order to run names in, as indexes into names: as given,
// runLast ones moved to the end.
func runOrder(names []string) []int {
	var first, last []int
	for i, n := range names {
		if runLast[n] {
			last = append(last, i)
		} else {
			first = append(first, i)
		}
	}
	return append(first, last...)
}

func weightOf(name string) float64 {
	if w, ok := budgetWeight[strings.TrimSpace(name)]; ok {
		return w
	}
	return 1
}

// fixedCost is the time a server needs besides its ladder: starting (and
// a pair reaching load-balancing), the warm-up and, for a pair, the
// partner-owned phase (three windows of -ha-drop-secs), for Kea and
// xdhcpd-auto the reference run and the flood (extrasCost).
func (o *options) fixedCost(name string) time.Duration {
	s, ok := suts[strings.TrimSpace(name)]
	if ok && s.HA && o.haDrop {
		return time.Duration(3*o.haDropSecs)*time.Second + 5*time.Second
	}
	return 3*time.Second + o.extrasCost(name)
}

// extrasCost is the time of the phases after a single server's ladder:
// the perfdhcp reference run and the malformed flood.
func (o *options) extrasCost(name string) time.Duration {
	if s, ok := suts[strings.TrimSpace(name)]; !ok || !s.extras {
		return 0
	}
	var d time.Duration
	if o.refRate > 0 {
		d += time.Duration(o.secs)*time.Second + 3*time.Second
	}
	if o.flood {
		d += time.Duration(o.floodSecs)*time.Second + 3*time.Second
	}
	if o.hostile {
		d += time.Duration(len(o.hostileRates)+1) * (time.Duration(o.hostileSecs)*time.Second + 6*time.Second)
	}
	if o.renew {
		d += o.renewCost()
	}
	return d
}

// allowance is server i's share of left, the time still in the budget:
// its fixed cost, plus the ladder time (left less the fixed costs of it and
// the servers after it) times its weight over the weights of it and the
// servers after it. Whatever a server leaves unused flows to later ones.
func allowance(left time.Duration, names []string, i int, fixed func(string) time.Duration) time.Duration {
	rest, reserved := 0.0, time.Duration(0)
	for _, n := range names[i:] {
		rest += weightOf(n)
		reserved += fixed(n)
	}
	ladder := max(0, left-reserved)
	return fixed(names[i]) + time.Duration(float64(ladder)*weightOf(names[i])/rest)
}

// bench is one run's state.
type bench struct {
	o      *options
	loader Loader
	lab    *lab
	work   string
	keaBin string
	// renewCPUs pins the renewal phase's load tool (taskset -c; "" = not pinned).
	renewCPUs string
	xdBin     string
	res       *Results
	started   time.Time
	pg        *pgCluster // the running server's lease database (PostgreSQL rows), else nil
}

func run(ctx context.Context, o *options) int {
	start := time.Now()
	root, err := filepath.Abs(o.root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	o.root = root
	if !filepath.IsAbs(o.out) {
		o.out = filepath.Join(root, o.out)
	}
	b := &bench{o: o, started: start, xdBin: filepath.Join(root, "bin", "xdhcpd")}
	if err := b.preflight(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	b.work = filepath.Join(o.out, "run")
	_ = os.RemoveAll(b.work)
	if err := os.MkdirAll(b.work, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	b.res = &Results{Started: start, Quick: o.quick, Loader: b.loader.Name(), Percentiles: b.loader.Percentiles(),
		PointSeconds: o.secs, Repeats: o.repeats, Clients: o.clients, Threads: o.threads,
		Ladder: o.ladder, HALadder: o.haLadder, LossTarget: lossTarget, LossStop: lossStop}

	b.lab = &lab{root: root, prefix: o.prefix}
	if err := b.lab.up(ctx, o.relays); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		b.lab.down()
		return 1
	}
	defer b.lab.down()

	// Results (table, chart, JSON) keep the order given; the run order
	// puts runLast servers at the end, where they get what is left.
	var names []string
	for _, n := range strings.Split(o.servers, ",") {
		n = strings.TrimSpace(n)
		tmpl, ok := suts[n]
		if !ok {
			fmt.Fprintf(os.Stderr, "bench: unknown server %q\n", n)
			continue
		}
		s := tmpl
		s.Best = -1
		s.Color = palette[len(names)%len(palette)].hex()
		b.res.Servers = append(b.res.Servers, &s)
		names = append(names, n)
	}
	order := runOrder(names)
	runNames := make([]string, len(order))
	for k, i := range order {
		runNames[k] = names[i]
	}
	fmt.Printf("bench: lab %s* up; loader %s; %d s x %d per point; budget %s; run order %s\n",
		o.prefix, b.loader.Name(), o.secs, o.repeats, o.budget, strings.Join(runNames, ","))
	deadline := start.Add(o.budget)
	for k, i := range order {
		s := b.res.Servers[i]
		if ctx.Err() != nil {
			s.Stop = "interrupted"
			continue
		}
		allow := allowance(time.Until(deadline), runNames, k, o.fixedCost)
		b.bench(ctx, s, time.Now().Add(allow))
		s.settle()
		fmt.Printf("bench: %s done: best %d DORA/s at <=1%% loss (stopped: %s)\n", s.Name, s.BestRate, s.Stop)
	}
	b.res.Seconds = time.Since(start).Seconds()
	b.res.Table = Table(b.res.Servers, b.res.Percentiles)
	b.res.HADropTable = HADropTable(b.res.Servers)
	b.res.CPUTable = CPUTable(b.res.Servers)
	b.res.RefTable = ReferenceTable(b.res.Servers)
	b.res.FloodTable = FloodTable(b.res.Servers)
	b.res.HostileTable = HostileTable(b.res.Servers)
	b.res.RenewTable = RenewTable(b.res.Servers)
	b.res.PGTable = PGTable(b.res.Servers)
	b.res.Notes = append(b.res.Notes, haDropNote(b.res.Servers)...)
	var llWhy string
	if o.leaseload == "" {
		llWhy = "leaseload not run (LEASELOAD=0 or no -leaseload)"
	} else if ll, err := readLeaseLoad(o.leaseload); err != nil {
		llWhy = "leaseload report: " + firstOf(err.Error())
	} else {
		b.res.LeaseLoad = ll
	}
	b.res.Targets = Targets(b.res.Servers, b.res.LeaseLoad, llWhy)
	b.res.TargetsTable = TargetsTable(b.res.Targets)
	if _, ok := b.loader.(*dhcpload); !ok {
		b.res.Notes = append(b.res.Notes, "bin/dhcpload missing: every row and rung used perfdhcp, not the project's generator (make build)")
	}
	if !b.res.Percentiles {
		b.res.Notes = append(b.res.Notes, "perfdhcp gives min/avg/max delays only: the delay columns are avg/max, not p50/p99")
	}
	return b.report(ctx)
}

// preflight checks the tools and picks the loader.
func (b *bench) preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces)")
	}
	for _, c := range []string{"ip", "kea-dhcp4", "perfdhcp"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("%s not found (run scripts/deps.sh)", c)
		}
	}
	kb, _ := exec.LookPath("kea-dhcp4")
	b.keaBin = kb
	if _, err := os.Stat(b.xdBin); err != nil {
		return fmt.Errorf("%s missing (make build)", b.xdBin)
	}
	dl := filepath.Join(b.o.root, "bin", "dhcpload")
	_, dlErr := os.Stat(dl)
	switch b.o.loader {
	case "perfdhcp":
		b.loader = &perfdhcp{perProc: 10000}
	case "dhcpload":
		if dlErr != nil {
			return fmt.Errorf("-loader dhcpload: %s missing (make build)", dl)
		}
		b.loader = &dhcpload{bin: dl, mode: env("DHCPLOAD_MODE", "packet"), perProc: atoi(env("DHCPLOAD_PROC_RATE", "0"))}
	case "auto":
		if dlErr == nil {
			b.loader = &dhcpload{bin: dl, mode: env("DHCPLOAD_MODE", "packet"), perProc: atoi(env("DHCPLOAD_PROC_RATE", "0"))}
		} else {
			b.loader = &perfdhcp{perProc: 10000}
		}
	default:
		return fmt.Errorf("-loader %q: want auto, perfdhcp or dhcpload", b.o.loader)
	}
	return nil
}

// bench runs one system under test's ladder, until until.
func (b *bench) bench(ctx context.Context, s *Server, until time.Time) {
	o := b.o
	fmt.Printf("bench: == %s (time allowed %s)\n", s.Name, time.Until(until).Round(time.Second))
	dir := filepath.Join(b.work, s.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.Error, s.Stop = err.Error(), "error"
		return
	}
	bin := b.xdBin
	if s.Kind == "kea" {
		bin = b.keaBin
	}
	p := cfgParams{Work: dir, Xdhcpd: s.Kind == "xdhcpd", Datapath: s.Requested, HA: s.HA,
		Threads: o.threads, QueueSize: o.queue, Relays: b.lab.relays}
	if s.PG {
		if why := pgPreflight(); why != "" {
			s.Error, s.Stop = why, "error"
			fmt.Println("bench:", why)
			return
		}
		pg, err := startPG(ctx, filepath.Join(dir, "pg"), o.pgStatements)
		if err != nil {
			s.Error, s.Stop = "PostgreSQL: "+err.Error(), "error"
			fmt.Println("bench:", s.Error)
			return
		}
		b.pg = pg
		defer func() {
			if o.pgStatements {
				b.writeStatements(ctx, s, pg, dir)
			}
			pg.stop()
			b.pg = nil
		}()
		p.LeaseDB = pg.leaseDB()
		s.PGConf = strings.TrimSpace(pgConf)
	}
	var ds []*daemon
	defer func() {
		for _, d := range ds {
			if pk := peakRSSKB(d.pid()); pk > s.PeakRSSKB {
				s.PeakRSSKB = pk
			}
		}
		for _, d := range ds {
			d.stop()
		}
		// The lease files are large and of no further use.
		m, _ := filepath.Glob(filepath.Join(dir, "*leases4.csv*"))
		for _, f := range m {
			_ = os.Remove(f)
		}
	}()
	nsFor := []string{b.lab.ns("s1"), b.lab.ns("s2")}
	n := 1
	if s.HA {
		n = 2
	}
	// The servers of a pair start together, as a pair would.
	started := make([]*daemon, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		p := p
		p.Name = "server" + strconv.Itoa(i+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			started[i], errs[i] = startDaemon(ctx, bin, nsFor[i], p, 20*time.Second)
		}()
	}
	wg.Wait()
	for i := range n {
		if started[i] != nil {
			ds = append(ds, started[i])
		}
	}
	if err := errors.Join(errs...); err != nil {
		s.Error, s.Stop = err.Error(), "error"
		fmt.Println("bench:", s.Error)
		return
	}
	if s.HA {
		if err := waitLoadBalancing(ctx, ds, 40*time.Second); err != nil {
			s.Error, s.Stop = err.Error(), "error"
			fmt.Println("bench:", s.Error)
			return
		}
	}
	if s.Kind == "xdhcpd" {
		var paths []string
		for _, d := range ds {
			paths = append(paths, d.datapath())
		}
		s.Actual = strings.Join(dedup(paths), "+")
		fmt.Printf("bench: %s data path: requested %s, used %s\n", s.Name, s.Requested, s.Actual)
	}
	if o.renewOnly {
		if s.extras {
			b.renewals(ctx, s, ds[0], p, dir)
		}
		s.Stop = "ladder skipped (-renew-only)"
		return
	}
	if s.HA && o.haDrop {
		b.haDrop(ctx, s, ds, dir)
		if o.haDropOnly {
			s.Stop = "ladder skipped (-ha-drop-only)"
			return
		}
	}
	spec := LoadSpec{NS: b.lab.ns("cli"), Iface: "br0", Relays: b.lab.relays, Seconds: o.secs, Clients: o.clients,
		Pool: poolFirst + "-" + poolLast}
	if !s.HA {
		spec.Server = labS1
	}
	ladder := o.ladder
	if s.HA {
		ladder = o.haLadder
	}
	if s.PG {
		ladder = o.pgLadder
	}
	// Warm-up, not measured: leases for part of the population, caches.
	warm := spec
	warm.Rate, warm.Seconds = ladder[0], 1
	if _, err := runLoad(ctx, b.loader, warm, filepath.Join(dir, "warmup")); err != nil && ctx.Err() == nil {
		fmt.Println("bench: warm-up:", err)
	}
	b.climb(ctx, s, ds, spec, ladder, until.Add(-o.extrasCost(s.Name)), dir)
	if !s.extras || ctx.Err() != nil || !ds[0].alive() {
		return
	}
	if o.refRate > 0 {
		b.reference(ctx, s, ds, spec, dir)
	}
	if o.flood {
		b.flood(ctx, s, ds[0], dir)
	}
	if o.hostile {
		b.hostile(ctx, s, ds[0], dir)
	}
	if o.renew && ctx.Err() == nil && ds[0].alive() {
		// A fresh server (empty lease file) for the renewal rows: the
		// ladder and the hostile phase leave most of the pool leased, and
		// each renewal row takes leases for clients of its own.
		if pk := peakRSSKB(ds[0].pid()); pk > s.PeakRSSKB {
			s.PeakRSSKB = pk
		}
		ds[0].stop()
		m, _ := filepath.Glob(filepath.Join(dir, "*leases4.csv*"))
		for _, f := range m {
			_ = os.Remove(f)
		}
		fresh := p
		fresh.Name = "server1"
		d, err := startDaemon(ctx, bin, nsFor[0], fresh, 20*time.Second)
		if err != nil {
			fmt.Println("bench: renewals: restarting the server:", err)
			ds = ds[1:]
			return
		}
		ds[0] = d
		b.renewals(ctx, s, ds[0], p, dir)
	}
}

// reference is the one perfdhcp run at -ref-rate against a single server,
// measured as the ladder's runs are: perfdhcp is kept as a reference row
// next to the load tool every row and rung uses.
func (b *bench) reference(ctx context.Context, s *Server, ds []*daemon, spec LoadSpec, dir string) {
	time.Sleep(time.Second) // let the ladder's last run drain
	spec.Rate = b.o.refRate
	r := b.measureWith(ctx, &perfdhcp{perProc: 10000}, spec, ds, filepath.Join(dir, fmt.Sprintf("perfdhcp-%d", spec.Rate)))
	s.Reference = &r
	fmt.Printf("bench:   %s perfdhcp reference %d/s: loss %.2f%% leases/s %.0f R-A avg %s ms cpu/lease %s%s\n",
		s.Name, spec.Rate, 100*r.Loss, r.LeasesPerSec, num(r.RA.AvgMs), us(r.CPUPer1k), errSuffix(r.Err))
}

// climb runs s's ladder until until: each rate up to -repeats times,
// stopping at a failing point, a load-tool shortfall or the time budget.
func (b *bench) climb(ctx context.Context, s *Server, ds []*daemon, spec LoadSpec, ladder []int, until time.Time, dir string) {
	o := b.o
	perRun := time.Duration(o.secs)*time.Second + 1500*time.Millisecond
	s.Stop = "ladder complete"
	for _, rate := range ladder {
		if ctx.Err() != nil {
			s.Stop = "interrupted"
			return
		}
		if time.Now().Add(time.Duration(o.repeats) * perRun).After(until) {
			s.Stop = fmt.Sprintf("time budget (before %s)", fmtRate(rate))
			return
		}
		pt := Point{Offered: rate}
		for rep := range o.repeats {
			if ctx.Err() != nil {
				break
			}
			spec.Rate = rate
			r := b.measure(ctx, spec, ds, filepath.Join(dir, fmt.Sprintf("load-%d-%d", rate, rep)))
			pt.Runs = append(pt.Runs, r)
			fmt.Printf("bench:   %s %6d/s run %d: loss %6.2f%% leases/s %7.0f R-A avg %s ms cpu/1k %s%s\n",
				s.Name, rate, rep+1, 100*r.Loss, r.LeasesPerSec, num(r.RA.AvgMs), num(r.CPUPer1k), errSuffix(r.Err))
			if skipRest(pt.Runs, o.repeats) || settled(pt.Runs, o.repeats) {
				break
			}
			time.Sleep(500 * time.Millisecond) // let queues drain between runs
		}
		pt.Median = medianRun(pt.Runs)
		s.Points = append(s.Points, pt)
		for _, d := range ds {
			if !d.alive() {
				s.Error, s.Stop = d.name+" exited: "+tail(d.out, d.log), "server exited"
				return
			}
		}
		if stopLadder(pt) {
			s.Stop = fmt.Sprintf("loss %.1f%% > %.0f%% at %s", 100*pt.Median.Loss, 100*lossStop, fmtRate(rate))
			return
		}
		if loadShort(pt) {
			s.Stop = fmt.Sprintf("load tool sent %.0f DISCOVERs/s of %s/s asked", sentPerSec(pt.Median), fmtRate(rate))
			return
		}
	}
}

// measure is one load run with the servers' CPU time around it.
func (b *bench) measure(ctx context.Context, spec LoadSpec, ds []*daemon, logPrefix string) Run {
	return b.measureWith(ctx, b.loader, spec, ds, logPrefix)
}

// measureWith is measure with load tool l: the servers' utime+stime
// (/proc/<pid>/stat, summed over ds) from just before the load tool starts
// to just after it exits, nothing subtracted, and the machine's busy share.
func (b *bench) measureWith(ctx context.Context, l Loader, spec LoadSpec, ds []*daemon, logPrefix string) Run {
	cpu := func() float64 {
		t := 0.0
		for _, d := range ds {
			v, _ := cpuSeconds(d.pid())
			t += v
		}
		return t
	}
	var pg0, pg1 pgCounters
	var pgErr error
	if b.pg != nil {
		pg0, pgErr = b.pg.counters(ctx)
	}
	hb0, ht0 := hostTimes()
	c0 := cpu()
	r, err := runLoad(ctx, l, spec, logPrefix)
	c1 := cpu()
	hb1, ht1 := hostTimes()
	if b.pg != nil && pgErr == nil {
		pg1, pgErr = b.pg.counters(ctx)
	}
	if err != nil {
		r = Run{Offered: spec.Rate, Seconds: float64(spec.Seconds), Err: err.Error()}
	}
	r.CPUSeconds = c1 - c0
	r.HostBusy = busyShare(hb0, ht0, hb1, ht1)
	if b.pg != nil {
		if pgErr != nil {
			r.PGErr = pgErr.Error()
		} else {
			r.PGCPUSeconds = pg1.cpu - pg0.cpu
			r.PGXacts = pg1.nextXID - pg0.nextXID
			r.PGWALBytes = pg1.wal - pg0.wal
		}
	}
	r.finish()
	if r.Err != "" {
		r.Loss = 1
	}
	return r
}

func waitLoadBalancing(ctx context.Context, ds []*daemon, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var states []string
		all := true
		for _, d := range ds {
			st := d.haState()
			states = append(states, d.name+"="+st)
			all = all && st == "load-balancing"
		}
		if all {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("HA pair not in load-balancing after %s: %s", timeout, strings.Join(states, " "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// report prints the table and writes the JSON and the chart.
func (b *bench) report(ctx context.Context) int {
	o, res := b.o, b.res
	fmt.Println()
	fmt.Print(Ladders(res.Servers, res.Percentiles))
	fmt.Println()
	hdr := fmt.Sprintf("xdhcpd vs Kea 2.2: %d s x up to %d runs per point (medians; a point ends once most of its runs passed or failed), %d clients, thread-pool-size %d, loader %s; ratios are to Kea (pairs: to the Kea pair)",
		o.secs, o.repeats, o.clients, o.threads, res.Loader)
	if !res.Percentiles {
		hdr += "; delays are avg/max (perfdhcp reports no percentiles)"
	}
	fmt.Println(hdr)
	fmt.Print(res.Table)
	for _, t := range []string{res.CPUTable, res.HADropTable, res.RefTable, res.FloodTable, res.HostileTable, res.RenewTable, res.PGTable} {
		if t != "" {
			fmt.Println()
			fmt.Print(t)
		}
	}
	if res.TargetsTable != "" {
		fmt.Println()
		fmt.Print(res.TargetsTable)
	}
	for _, n := range res.Notes {
		fmt.Println("note:", n)
	}
	code := 0
	if err := writeJSON(filepath.Join(o.out, "results.json"), res); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		code = 1
	}
	if err := writeChart(filepath.Join(o.out, "chart.png"), filepath.Join(o.out, "chart.json"), res); err != nil {
		fmt.Fprintln(os.Stderr, "bench: chart:", err)
		code = 1
	}
	fmt.Printf("bench: wrote %s/{results.json,chart.png,chart.json}; logs in %s; %.0f s\n", o.out, b.work, res.Seconds)
	if ctx.Err() != nil {
		return 130
	}
	return code
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return " ERROR " + e
}

func dedup(xs []string) []string {
	var out []string
	for _, x := range xs {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}
