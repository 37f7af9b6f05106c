package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRenewConfig: the renewal phase's reloads add calculate-tee-times
// (T1 = half of valid-lifetime 3600) and, for the cached rows,
// cache-threshold, to the configuration the server was started with, for
// Kea's spelling as for xdhcpd's.
func TestRenewConfig(t *testing.T) {
	for _, xd := range []bool{false, true} {
		base, err := renderConfig(cfgParams{Name: "server1", Work: t.TempDir(), Xdhcpd: xd, Datapath: "auto", Threads: 2, QueueSize: 256, Relays: []string{"198.18.0.1"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, th := range []float64{0, 0.6} {
			cfg, err := renewConfig(base, th, false)
			if err != nil {
				t.Fatal(err)
			}
			if xd {
				off, err := renewConfig(base, th, true)
				if err != nil {
					t.Fatal(err)
				}
				var w struct {
					Dhcp4 struct {
						UserContext struct {
							XDHCP map[string]any `json:"xdhcp"`
						} `json:"user-context"`
					}
				}
				if err := json.Unmarshal(off, &w); err != nil || w.Dhcp4.UserContext.XDHCP["kernel-renew"] != false {
					t.Errorf("kernel off: %v %v\n%s", err, w.Dhcp4.UserContext.XDHCP, off)
				}
			}
			var v struct {
				Dhcp4 map[string]any
			}
			if err := json.Unmarshal(cfg, &v); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, cfg)
			}
			if v.Dhcp4["calculate-tee-times"] != true || v.Dhcp4["valid-lifetime"] != float64(renewValid) {
				t.Errorf("tee times: %v", v.Dhcp4)
			}
			got, has := v.Dhcp4["cache-threshold"]
			if (th > 0) != has || (has && got != th) {
				t.Errorf("threshold %v: cache-threshold %v %v", th, got, has)
			}
		}
	}
	if _, err := renewConfig([]byte(`{"Dhcp4": {}}`), 0.5, false); err == nil {
		t.Error("a configuration without the bench's valid-lifetime was accepted")
	}
}

// TestRenewTable states the threshold and T1 and whether a T1 renewal hits.
func TestRenewTable(t *testing.T) {
	mk := func(th float64) []*Server {
		return []*Server{{Name: "kea", Renewals: &Renewals{Clients: 10, Seconds: 2, Valid: 3600, T1: 1800, Threshold: th, Rows: []RenewRow{
			{Offered: 100, Sent: 200, Acked: 200, PerSec: 100, CPUSeconds: 0.2, Per1k: 1, FileBytes: 12000, AgeSeconds: 0.1},
			{Cached: true, Offered: 100, Sent: 200, Acked: 200, PerSec: 100, CPUSeconds: 0.1, Per1k: 0.5, AgeSeconds: 0.1}}}}}
	}
	hi, lo := RenewTable(mk(0.6)), RenewTable(mk(0.25))
	for _, want := range []string{"T1 = 1800 s", "cache-threshold 0.6", "0.6 x 3600 = 2160 s", "60.0", "hits the cache at this threshold"} {
		if !strings.Contains(hi, want) {
			t.Errorf("table lacks %q:\n%s", want, hi)
		}
	}
	if !strings.Contains(lo, "does NOT hit the cache") {
		t.Errorf("threshold 0.25:\n%s", lo)
	}
	if RenewTable([]*Server{{Name: "kea"}}) != "" {
		t.Error("table without a renewal phase")
	}
}

// TestRenewOptions: the renewal rows' knobs, and their time added to the
// default budget (not to one given explicitly).
func TestRenewOptions(t *testing.T) {
	t.Setenv("BUDGET", "")
	on, err := parseOptions([]string{"-renew-rates", "2000,max", "-renew-threshold", "0.7"})
	if err != nil {
		t.Fatal(err)
	}
	off, err := parseOptions([]string{"-renew=false"})
	if err != nil {
		t.Fatal(err)
	}
	if len(on.renewRates) != 2 || on.renewRates[1] != 0 || on.renewThreshold != 0.7 || !on.renew {
		t.Errorf("parsed %v %v %v", on.renewRates, on.renewThreshold, on.renew)
	}
	if on.budget != off.budget+2*on.renewCost() || on.renewCost() <= 0 {
		t.Errorf("budget %s vs %s (+2 x %s)", on.budget, off.budget, on.renewCost())
	}
	if fixed, err := parseOptions([]string{"-budget", "100"}); err != nil || fixed.budget.Seconds() != 100 {
		t.Errorf("explicit budget: %v %v", fixed.budget, err)
	}
	if o, err := parseOptions([]string{"-renew-only"}); err != nil || !o.renew {
		t.Errorf("-renew-only: %v", err)
	}
	for _, bad := range [][]string{{"-renew-threshold", "1"}, {"-renew-rates", "fast"}, {"-renew-clients", "0"}} {
		if _, err := parseOptions(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if on.extrasCost("kea") <= off.extrasCost("kea") || on.extrasCost("xdhcpd-udp") != 0 {
		t.Errorf("extras %s vs %s", on.extrasCost("kea"), off.extrasCost("kea"))
	}
}
