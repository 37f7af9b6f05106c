package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFloodParts(t *testing.T) {
	// dhcpload -malformed -json's output.
	out := []byte(`{"mode": "packet", "server": "198.18.0.11", "giaddr": "198.18.0.1", "rate": 20000, "malformed": true,
  "sent": 60000, "by_kind": {"truncated": 12000, "bad-options": 12000, "bad-cookie": 12000, "bootreply": 12000, "garbage": 12000},
  "send_seconds": 3.0, "sent_per_sec": 20000, "received": 0, "transport": {}, "exit_code": 0}`)
	r, err := parseFloodReport(out)
	if err != nil || r.Sent != 60000 || r.ByKind["garbage"] != 12000 || r.SentPerSec != 20000 {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := parseFloodReport([]byte(`{"sent": 5}`)); err == nil || !strings.Contains(err.Error(), "ignored -malformed") {
		t.Errorf("a report without malformed: %v", err)
	}
	if _, err := parseFloodReport([]byte("dhcpload: bad flag")); err == nil {
		t.Error("no JSON accepted")
	}
	// statistic-get-all's arguments (Kea's shape).
	var args map[string]any
	_ = json.Unmarshal([]byte(`{"pkt4-received": [[60010, "2024-01-01 00:00:00.000"], [10, "..."]],
		"pkt4-parse-failed": [[48000, "x"]], "empty": [], "text": [["a", "x"]]}`), &args)
	v := statValues(args)
	if len(v) != 2 || v["pkt4-received"] != 60010 || v["pkt4-parse-failed"] != 48000 {
		t.Errorf("statValues %v", v)
	}
	d := counterDeltas(map[string]int64{"stat:a": 5, "stat:b": 7, "xdp:c": 1}, map[string]int64{"stat:a": 5, "stat:b": 60007, "xdp:c": 12001, "xdp:new": 3})
	if len(d) != 3 || d["stat:b"] != 60000 || d["xdp:c"] != 12000 || d["xdp:new"] != 3 {
		t.Errorf("counterDeltas %v", d)
	}
	if got := fmtCounters(d, 60000, 2); got != "stat:b +60000 (100%), xdp:c +12000 (20%)" {
		t.Errorf("fmtCounters %q", got)
	}
	f := &Flood{Rate: 20000, Seconds: 3, Sent: 60000, SentPerSec: 20000, CPUSeconds: 0.6, Counters: d}
	f.finish()
	if !near(f.Per1k, 0.01) {
		t.Errorf("per 1k %v", f.Per1k)
	}
	k := &Flood{Rate: 20000, Seconds: 3, Sent: 60000, SentPerSec: 20000, CPUSeconds: 2.4}
	k.finish()
	tab := FloodTable([]*Server{{Name: "kea", Flood: k}, {Name: "xdhcpd-auto", Flood: f}, {Name: "xdhcpd-ha"}})
	for _, w := range []string{"20000 frames/s for 3 s", "10.000 (0.25x)", "40.000", "stat:b +60000 (100%)", "none changed"} {
		if !strings.Contains(tab, w) {
			t.Errorf("lacks %q:\n%s", w, tab)
		}
	}
	// A server that answers malformed frames did not drop them: the
	// figure is per frame not answered, marked, and no ratio against it.
	k.Replies = 20000
	k.finish()
	if k.Dropped != 40000 || !near(k.Per1k, 0.06) {
		t.Errorf("answered: dropped %d per1k %v", k.Dropped, k.Per1k)
	}
	tab = FloodTable([]*Server{{Name: "kea", Flood: k}, {Name: "xdhcpd-auto", Flood: f}})
	if !strings.Contains(tab, "60.000 *") || strings.Contains(tab, "0.25x") || !strings.Contains(tab, "answered some malformed frames") {
		t.Errorf("answered frames not marked:\n%s", tab)
	}
	if FloodTable([]*Server{{Name: "kea"}}) != "" {
		t.Error("no flood ran: want no table")
	}
}

func TestHostTimes(t *testing.T) {
	b, tot := parseHostTimes("cpu  100 5 50 800 45 0 10 0 0 0\ncpu0 1 2 3 4\n")
	if b != 165 || tot != 1010 {
		t.Errorf("busy %v total %v", b, tot)
	}
	if b, tot := parseHostTimes("intr 1 2"); b != 0 || tot != 0 {
		t.Error("not a cpu line")
	}
	if s := busyShare(100, 1000, 190, 1100); !near(s, 0.9) {
		t.Errorf("busyShare %v", s)
	}
	if busyShare(0, 0, 0, 0) != 0 {
		t.Error("no interval, a share")
	}
}

func TestReferenceTableAndOptions(t *testing.T) {
	k := ladder("kea", "", r(2000, 0, 0.2), r(4000, 0, 0.18))
	ref := Run{Offered: 4000, Seconds: 5, DiscSent: 20000, AcksRecv: 19900, CPUSeconds: 3.98, RA: Delay{AvgMs: 2, MaxMs: 30}}
	ref.finish()
	k.Reference = &ref
	tab := ReferenceTable([]*Server{k, ladder("xdhcpd-auto", "xdp", r(2000, 0, 0.01))})
	for _, w := range []string{"one run at 4k/s", "perfdhcp", "dhcpload (ladder)", "200.0", "180.0", "0.50%"} {
		if !strings.Contains(tab, w) {
			t.Errorf("lacks %q:\n%s", w, tab)
		}
	}
	if ReferenceTable([]*Server{ladder("kea", "")}) != "" {
		t.Error("no reference run: want no table")
	}
	o, err := parseOptions([]string{"-quick", "-flood-rate", "5000"})
	if err != nil || o.floodRate != 5000 || !o.flood || o.refRate <= 0 {
		t.Fatalf("%+v %v", o, err)
	}
	if _, err := parseOptions([]string{"-flood-rate", "0"}); err == nil {
		t.Error("flood rate 0 accepted")
	}
	// The extras (reference run, flood) are in the singles' fixed cost,
	// not in the pairs' or xdhcpd-udp's.
	o.haDrop = false
	if o.extrasCost("kea") <= 0 || o.extrasCost("xdhcpd-auto") != o.extrasCost("kea") || o.extrasCost("xdhcpd-udp") != 0 || o.extrasCost("kea-ha") != 0 {
		t.Errorf("extras %v %v %v", o.extrasCost("kea"), o.extrasCost("xdhcpd-udp"), o.extrasCost("kea-ha"))
	}
	if o.fixedCost("kea") != o.fixedCost("xdhcpd-udp")+o.extrasCost("kea") {
		t.Error("fixed cost lacks the extras")
	}
}
