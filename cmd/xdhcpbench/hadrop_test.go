package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestHADropFinish(t *testing.T) {
	h := &HADrop{Sent: 25000, IdleSeconds: 5, LoadSeconds: 6, IdleCPU: [2]float64{0.1, 0.05}, LoadCPU: [2]float64{1, 0.81},
		S2Idle: []float64{0.02, 0.03}, IdleWall: []float64{2.5, 2.5}}
	h.finish()
	// 0.81 - 0.05/5*6 = 0.75 over 25 thousand packets; the windows' rates
	// differ by 0.004/s: ±0.002/s over 6 s is 0.012 s, 0.00048 s per 1k.
	if !near(h.NetCPU, 0.75) || !near(h.Per1k, 0.03) || !near(h.Per1kNoise, 0.00048) || h.XDPDropsMatch {
		t.Errorf("net %v per1k %v", h.NetCPU, h.Per1k)
	}
	z := &HADrop{}
	z.finish()
	if z.Per1k != 0 {
		t.Errorf("no packets: per1k %v", z.Per1k)
	}
	for _, c := range []struct {
		drops int64
		match bool
	}{{25000, true}, {24800, true}, {25240, true}, {24700, false}, {0, false}} {
		h.XDPDrops = &c.drops
		if h.finish(); h.XDPDropsMatch != c.match {
			t.Errorf("%d drops for 25000 sent: match %v", c.drops, h.XDPDropsMatch)
		}
	}
}

func TestHADropTable(t *testing.T) {
	res := sample(true)
	if HADropTable(res.Servers) != "" || len(haDropNote(res.Servers)) != 0 {
		t.Error("no phase ran: want no table and no notes")
	}
	i64 := func(v int64) *int64 { return &v }
	kha, xha := res.Servers[3], res.Servers[4]
	kha.HADrop = &HADrop{Rate: 5000, Seconds: 5, HAOwner: haOwnerS1, CPUSource: "schedstat", Sent: 25000, OffersRecv: 25000,
		LoadCPU: [2]float64{1.5, 0.8}, IdleCPU: [2]float64{0.02, 0.01}, Per1k: 0.032, Received: i64(25000)}
	xha.HADrop = &HADrop{Rate: 5000, Seconds: 5, HAOwner: haOwnerS1, CPUSource: "schedstat", Sent: 25000, OffersRecv: 24990,
		LoadCPU: [2]float64{0.5, 0.011}, IdleCPU: [2]float64{0.02, 0.01}, Per1k: 0.00004, XDPDrops: i64(25000), XDPDropsMatch: true, Received: i64(0)}
	tab := HADropTable(res.Servers)
	for _, want := range []string{"kea-ha ", "0.0320 ±0.0000 (1.00x)", "0.000040 ±0.0000 (0.001x)", "25000 (100.0%)", "24990 (100.0%)", "0.011/0.010 (0.0/0.0)", "lbhash owner 0/2"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	notes := haDropNote(res.Servers)
	if len(notes) != 2 || !strings.Contains(notes[0], "0.001x") || !strings.Contains(notes[1], "rose by 25000 for 25000") || !strings.Contains(notes[1], "matches") {
		t.Errorf("notes %q", notes)
	}
	xha.HADrop.Per1k = -0.0001
	if !strings.Contains(HADropTable(res.Servers), "(~0x)") {
		t.Error("a figure below the background is not shown as ~0x")
	}
	if fmtSmall(0.032) != "0.0320" || fmtSmall(0.00004) != "0.000040" || fmtSmall(-0.0012) != "-0.0012" || fmtSmall(0) != "0.0000" {
		t.Errorf("fmtSmall: %s %s %s", fmtSmall(0.032), fmtSmall(0.00004), fmtSmall(-0.0012))
	}
	if smallRatio(1, 0, 0) != "-" || smallRatio(3, 0, 2) != "1.50x" || smallRatio(-0.0002, 0.00025, 0.0337) != "<0.007x" || smallRatio(0.01, 0.001, 2) != "0.005x" {
		t.Error("smallRatio")
	}
}

func TestHADropArgs(t *testing.T) {
	spec := LoadSpec{Iface: "br0", Relays: []string{"198.18.0.1"}, Rate: 5000, Seconds: 5, Clients: 100, DiscoverOnly: true, HAOwner: "0/2"}
	a := (&dhcpload{bin: "dhcpload", mode: "packet"}).Args(spec, 0, 1)
	if !slices.Contains(a, "-discover-only") || !slices.Contains(a, "-ha-owner") || a[slices.Index(a, "-ha-owner")+1] != "0/2" {
		t.Errorf("dhcpload args %q", a)
	}
	if p := (&perfdhcp{perProc: 10000}).Args(spec, 0, 1); !slices.Contains(p, "-i") {
		t.Errorf("perfdhcp args %q", p)
	}
	if v, src := procCPU(os.Getpid()); v <= 0 || src == "" {
		t.Errorf("procCPU = %v %q", v, src)
	}
}
