package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

// Exit codes, as perfdhcp's where they overlap.
const (
	exitOK         = 0
	exitError      = 1
	exitDrops      = 3
	exitViolations = 4
)

// ExchangeReport is one request/reply pair's statistics.
type ExchangeReport struct {
	Sent     uint64 `json:"sent"`
	Received uint64 `json:"received"`
	Drops    uint64 `json:"drops"`
	Delays
}

// Report is the result of a run (the -json output).
type Report struct {
	Mode             string            `json:"mode"`
	Server           string            `json:"server"`
	Giaddr           string            `json:"giaddr"`
	Clients          int               `json:"clients"`
	Rate             float64           `json:"rate"`
	SendSeconds      float64           `json:"send_seconds"`
	TotalSeconds     float64           `json:"total_seconds"`
	Started          uint64            `json:"started"`
	Completed        uint64            `json:"completed"`
	ExchangesPerSec  float64           `json:"exchanges_per_sec"`
	PacketsSent      uint64            `json:"packets_sent"`
	SentPerSec       float64           `json:"sent_per_sec"`
	DiscoverOffer    ExchangeReport    `json:"discover_offer"`
	RequestAck       ExchangeReport    `json:"request_ack"`
	RenewAck         *ExchangeReport   `json:"renew_ack,omitempty"`
	Releases         uint64            `json:"releases"`
	Naks             uint64            `json:"naks"`
	Unmatched        uint64            `json:"unmatched"`
	Unexpected       uint64            `json:"unexpected"`
	Malformed        uint64            `json:"malformed"`
	NotDHCP          uint64            `json:"not_dhcp"`
	Drops            uint64            `json:"drops"`
	Violations       map[string]uint64 `json:"violations"`
	ViolationSamples []string          `json:"violation_samples,omitempty"`
	Transport        map[string]uint64 `json:"transport"`
	ExitCode         int               `json:"exit_code"`
}

func exchReport(e *exchStats) ExchangeReport {
	return ExchangeReport{Sent: e.sent, Received: e.recv, Drops: e.drops, Delays: e.h.summary()}
}

// report summarises a finished run.
func (e *engine) report(ep *endpoint) *Report {
	g, cfg := e.g, e.cfg
	total := time.Duration(max(e.lastReplyNs-e.renewStart, int64(e.sendElapsed)))
	r := &Report{
		Mode: cfg.Mode, Server: cfg.Server.String(), Giaddr: ep.giaddr.String(), Clients: cfg.Clients, Rate: cfg.Rate,
		SendSeconds: e.sendElapsed.Seconds(), TotalSeconds: total.Seconds(),
		Started: g.st.started, Completed: g.st.completed, PacketsSent: e.sentFrames,
		DiscoverOffer: exchReport(&g.st.do), RequestAck: exchReport(&g.st.ra),
		Releases: g.st.releases, Naks: g.st.naks, Unmatched: g.st.unmatched, Unexpected: g.st.unexpected,
		Malformed: g.st.malformed, NotDHCP: e.notDHCP, Violations: g.st.violations, ViolationSamples: g.st.samples,
		Transport: e.tr.counters(),
	}
	if cfg.Renewals {
		// The renewal phase only; the warm-up's DORAs stay in
		// discover_offer and request_ack.
		r.Started, r.Completed = g.st.started-e.started0, g.st.completed-e.completed0
	}
	if cfg.Renew || cfg.Renewals {
		rr := exchReport(&g.st.renew)
		r.RenewAck = &rr
	}
	if total > 0 {
		r.ExchangesPerSec = float64(r.Completed) / total.Seconds()
	}
	if e.sendElapsed > 0 {
		r.SentPerSec = float64(r.PacketsSent) / e.sendElapsed.Seconds()
	}
	r.Drops = g.st.do.drops + g.st.ra.drops + g.st.renew.drops
	switch {
	case g.numViolations() > 0:
		r.ExitCode = exitViolations
	case r.Drops > 0:
		r.ExitCode = exitDrops
	}
	return r
}

// writeJSON prints r as one JSON object.
func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeText prints r in perfdhcp's layout.
func (r *Report) writeText(w io.Writer) error {
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	p("Running: mode=%s server=%s giaddr=%s clients=%d rate=%g\n", r.Mode, r.Server, r.Giaddr, r.Clients, r.Rate)
	p("***Rate statistics***\n")
	p("Rate: %.3f 4-way exchanges/second, sent %.0f packets/s over %.3f s\n", r.ExchangesPerSec, r.SentPerSec, r.SendSeconds)
	block := func(name string, x *ExchangeReport) {
		p("\n***Statistics for: %s***\n", name)
		p("sent packets: %d\nreceived packets: %d\ndrops: %d\n", x.Sent, x.Received, x.Drops)
		p("min delay: %.3f ms\navg delay: %.3f ms\np50 delay: %.3f ms\np99 delay: %.3f ms\nmax delay: %.3f ms\n",
			x.MinMs, x.AvgMs, x.P50Ms, x.P99Ms, x.MaxMs)
	}
	block("DISCOVER-OFFER", &r.DiscoverOffer)
	block("REQUEST-ACK", &r.RequestAck)
	if r.RenewAck != nil {
		block("RENEW-ACK", r.RenewAck)
	}
	p("\n***Validation***\n")
	p("started: %d completed: %d releases: %d naks: %d unmatched: %d unexpected: %d malformed: %d not-dhcp: %d\n",
		r.Started, r.Completed, r.Releases, r.Naks, r.Unmatched, r.Unexpected, r.Malformed, r.NotDHCP)
	kinds := make([]string, 0, len(r.Violations))
	for k := range r.Violations {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		p("violations %s: %d\n", k, r.Violations[k])
	}
	for _, s := range r.ViolationSamples {
		p("  %s\n", s)
	}
	names := make([]string, 0, len(r.Transport))
	for k := range r.Transport {
		names = append(names, k)
	}
	sort.Strings(names)
	p("transport:")
	for _, k := range names {
		p(" %s=%d", k, r.Transport[k])
	}
	p("\n")
	return err
}
