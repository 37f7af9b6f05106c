package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Delay is one exchange's (DISCOVER-OFFER or REQUEST-ACK) reply delay in
// milliseconds. P50/P99 are meaningful only when HasPct is set (the load
// tool measured percentiles; perfdhcp gives min/avg/max only).
type Delay struct {
	MinMs  float64 `json:"min_ms"`
	AvgMs  float64 `json:"avg_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	HasPct bool    `json:"has_percentiles"`
}

// Run is one bounded load run against one server (or pair).
type Run struct {
	Offered      int     `json:"offered_rate"` // DORA/s asked of the load tool
	Seconds      float64 `json:"seconds"`
	Procs        int     `json:"load_processes"`
	DiscSent     uint64  `json:"discover_sent"`
	OffersRecv   uint64  `json:"offer_received"`
	ReqSent      uint64  `json:"request_sent"`
	AcksRecv     uint64  `json:"ack_received"`
	Loss         float64 `json:"loss"` // 1 - ACKs/DISCOVERs, 0..1
	LeasesPerSec float64 `json:"leases_per_sec"`
	DO           Delay   `json:"discover_offer"`
	RA           Delay   `json:"request_ack"`
	CPUSeconds   float64 `json:"server_cpu_seconds"`
	CPUPer1k     float64 `json:"server_cpu_seconds_per_1k_leases"`
	// HostBusy is the share of the machine's CPU time (all CPUs, from
	// /proc/stat) that was busy over the run, 0..1: near 1 the lab, load
	// tool included, ran out of cores.
	HostBusy float64 `json:"host_cpu_busy"`
	Err      string  `json:"error,omitempty"`
}

// finish derives loss and leases/s from the counters.
func (r *Run) finish() {
	if r.DiscSent > 0 {
		r.Loss = 1 - float64(r.AcksRecv)/float64(r.DiscSent)
		r.Loss = math.Max(0, r.Loss)
	} else {
		r.Loss = 1
	}
	if r.Seconds > 0 {
		r.LeasesPerSec = float64(r.AcksRecv) / r.Seconds
	}
	if r.AcksRecv > 0 {
		r.CPUPer1k = r.CPUSeconds / (float64(r.AcksRecv) / 1000)
	}
}

// Point is one offered rate, run Repeats times; Median holds each field's
// median over the runs.
type Point struct {
	Offered int   `json:"offered_rate"`
	Runs    []Run `json:"runs"`
	Median  Run   `json:"median"`
}

// Server is one system under test: a single server or an HA pair.
type Server struct {
	Name      string  `json:"name"`          // kea, xdhcpd-udp, xdhcpd-auto, kea-ha, xdhcpd-ha
	Kind      string  `json:"kind"`          // kea | xdhcpd
	HA        bool    `json:"ha"`            // an HA load-balancing pair
	Requested string  `json:"datapath"`      // xdhcpd's configured datapath ("" for Kea)
	Actual    string  `json:"datapath_used"` // what xdhcpd reported using
	Baseline  string  `json:"baseline"`      // the Kea row ratios are computed against
	Points    []Point `json:"points"`
	Best      int     `json:"best_index"`  // index into Points; -1 = no point at <= 1 % loss
	BestRate  int     `json:"best_rate"`   // offered DORA/s at Best (0 if none)
	PeakRSSKB int64   `json:"peak_rss_kb"` // VmHWM, largest of the pair's servers
	Stop      string  `json:"stop_reason"`
	Error     string  `json:"error,omitempty"`
	Color     string  `json:"chart_color,omitempty"`
	// HADrop is the pair's partner-owned phase (hadrop.go), nil if not run.
	HADrop *HADrop `json:"ha_partner_drop,omitempty"`
	// Reference is the one perfdhcp run at -ref-rate (Kea and
	// xdhcpd-auto), nil if not run; Flood the malformed-flood phase.
	Reference *Run   `json:"perfdhcp_reference,omitempty"`
	Flood     *Flood `json:"malformed_flood,omitempty"`
	// Hostile is the hostile-edge phase (hostile.go), nil if not run.
	Hostile *Hostile `json:"hostile,omitempty"`
	// Renewals is the renewal phase (renew.go), nil if not run.
	Renewals *Renewals `json:"renewals,omitempty"`
	// extras: run the reference and flood phases after the ladder.
	extras bool
}

// BestRun is the median run at the best point, or nil.
func (s *Server) BestRun() *Run {
	if s.Best < 0 || s.Best >= len(s.Points) {
		return nil
	}
	return &s.Points[s.Best].Median
}

// Results is out/bench/results.json.
type Results struct {
	Started      time.Time `json:"started"`
	Seconds      float64   `json:"wall_seconds"`
	Quick        bool      `json:"quick"`
	Loader       string    `json:"loader"`
	Percentiles  bool      `json:"percentiles"` // false: delays are avg/max, not p50/p99
	PointSeconds int       `json:"point_seconds"`
	Repeats      int       `json:"repeats"`
	Clients      int       `json:"clients"`
	Threads      int       `json:"thread_pool_size"`
	Ladder       []int     `json:"ladder"`
	HALadder     []int     `json:"ha_ladder"`
	LossTarget   float64   `json:"loss_target"` // best rate: median loss <= this
	LossStop     float64   `json:"loss_stop"`   // ladder stops after a point above this
	Servers      []*Server `json:"servers"`
	Table        string    `json:"table"`
	HADropTable  string    `json:"ha_partner_table,omitempty"`
	CPUTable     string    `json:"cpu_per_lease_table,omitempty"`
	RefTable     string    `json:"perfdhcp_reference_table,omitempty"`
	FloodTable   string    `json:"malformed_flood_table,omitempty"`
	HostileTable string    `json:"hostile_table,omitempty"`
	RenewTable   string    `json:"renewals_table,omitempty"`
	// Targets are the project's performance targets checked against this
	// run (targets.go); LeaseLoad is the leaseload report they read.
	Targets      []Target   `json:"targets"`
	TargetsTable string     `json:"targets_table,omitempty"`
	LeaseLoad    *LeaseLoad `json:"leaseload,omitempty"`
	Notes        []string   `json:"notes,omitempty"`
}

const (
	lossTarget = 0.01
	lossStop   = 0.05
	// minAchieved: a point counts as sustained only if the load tool
	// actually delivered it (ACKs/s at least this share of the offered rate).
	minAchieved = 0.95
)

// median of xs (mean of the middle two for an even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianRun is the field-wise median of runs (errored runs excluded; if all
// errored, a run with Loss 1 and the first error).
func medianRun(runs []Run) Run {
	var ok []Run
	for _, r := range runs {
		if r.Err == "" {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		m := Run{Loss: 1}
		if len(runs) > 0 {
			m.Offered, m.Seconds, m.Err = runs[0].Offered, runs[0].Seconds, runs[0].Err
		}
		return m
	}
	f := func(get func(*Run) float64) float64 {
		xs := make([]float64, len(ok))
		for i := range ok {
			xs[i] = get(&ok[i])
		}
		return median(xs)
	}
	u := func(get func(*Run) uint64) uint64 {
		return uint64(math.Round(f(func(r *Run) float64 { return float64(get(r)) })))
	}
	d := func(get func(*Run) *Delay) Delay {
		return Delay{
			MinMs:  f(func(r *Run) float64 { return get(r).MinMs }),
			AvgMs:  f(func(r *Run) float64 { return get(r).AvgMs }),
			P50Ms:  f(func(r *Run) float64 { return get(r).P50Ms }),
			P99Ms:  f(func(r *Run) float64 { return get(r).P99Ms }),
			MaxMs:  f(func(r *Run) float64 { return get(r).MaxMs }),
			HasPct: get(&ok[0]).HasPct,
		}
	}
	return Run{
		Offered:      ok[0].Offered,
		Seconds:      f(func(r *Run) float64 { return r.Seconds }),
		Procs:        ok[0].Procs,
		DiscSent:     u(func(r *Run) uint64 { return r.DiscSent }),
		OffersRecv:   u(func(r *Run) uint64 { return r.OffersRecv }),
		ReqSent:      u(func(r *Run) uint64 { return r.ReqSent }),
		AcksRecv:     u(func(r *Run) uint64 { return r.AcksRecv }),
		Loss:         f(func(r *Run) float64 { return r.Loss }),
		LeasesPerSec: f(func(r *Run) float64 { return r.LeasesPerSec }),
		DO:           d(func(r *Run) *Delay { return &r.DO }),
		RA:           d(func(r *Run) *Delay { return &r.RA }),
		CPUSeconds:   f(func(r *Run) float64 { return r.CPUSeconds }),
		CPUPer1k:     f(func(r *Run) float64 { return r.CPUPer1k }),
		HostBusy:     f(func(r *Run) float64 { return r.HostBusy }),
	}
}

// stopLadder is the ladder's stopping rule: stop climbing once a point's
// median loss exceeds lossStop (5 %).
func stopLadder(p Point) bool { return p.Median.Loss > lossStop }

// sentPerSec is the DISCOVERs per second the load tool sent in r.
func sentPerSec(r Run) float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return float64(r.DiscSent) / r.Seconds
}

// loadShort reports whether the load tool fell short of the offered rate
// at p: its median run sent fewer than minAchieved of the DISCOVERs asked
// for. Such a point never counts as sustained (bestIndex: its leases/s,
// at most the DISCOVERs sent, are below minAchieved of the offered rate),
// and a higher rate would not be delivered either, so the ladder stops.
func loadShort(p Point) bool {
	return p.Median.Err == "" && sentPerSec(p.Median) < minAchieved*float64(p.Offered)
}

// skipRest reports whether the remaining repeats of a point can be skipped:
// once more than half of the planned runs lost more than lossStop, the
// median is above lossStop whatever the rest do.
func skipRest(runs []Run, repeats int) bool {
	bad := 0
	for _, r := range runs {
		if r.Err != "" || r.Loss > lossStop {
			bad++
		}
	}
	return bad > repeats/2
}

// sustained reports whether run r alone would make its point count:
// no error, loss at most lossTarget, leases/s at least minAchieved of the
// offered rate.
func sustained(r Run) bool {
	return r.Err == "" && r.Loss <= lossTarget && r.LeasesPerSec >= minAchieved*float64(r.Offered)
}

// settled reports whether the remaining repeats of a point can be skipped
// because it passes whatever they do: more than half of the planned runs
// were sustained, so the median loss is at most lossTarget and the median
// leases/s at least minAchieved of the offered rate (bestIndex). The
// point's figures are then the medians of the runs made.
func settled(runs []Run, repeats int) bool {
	good := 0
	for _, r := range runs {
		if sustained(r) {
			good++
		}
	}
	return good > repeats/2
}

// bestIndex is the point with the highest offered rate whose median loss is
// at most lossTarget (1 %) and whose median leases/s reached minAchieved of
// the offered rate, or -1.
func bestIndex(points []Point) int {
	best := -1
	for i, p := range points {
		if p.Median.Err == "" && p.Median.Loss <= lossTarget &&
			p.Median.LeasesPerSec >= minAchieved*float64(p.Offered) && (best < 0 || p.Offered > points[best].Offered) {
			best = i
		}
	}
	return best
}

// settle fills Best and BestRate.
func (s *Server) settle() {
	s.Best = bestIndex(s.Points)
	s.BestRate = 0
	if s.Best >= 0 {
		s.BestRate = s.Points[s.Best].Offered
	}
}

// writeJSON writes v to path, indented, creating the directory.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func fmtRate(r int) string {
	if r >= 1000 && r%1000 == 0 {
		return fmt.Sprintf("%dk", r/1000)
	}
	return fmt.Sprint(r)
}
