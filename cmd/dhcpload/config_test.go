package main

import (
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-i", "veth0", "-server", "198.18.0.2", "-n", "10", "-pool", "198.19.0.10-198.19.0.20"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Broadcast() || c.PoolFirst.String() != "198.19.0.10" || c.PoolLast.String() != "198.19.0.20" || c.Mode != "afxdp" {
		t.Errorf("config %+v", c)
	}
	c, err = parseFlags([]string{"-i", "veth0", "-duration", "1s"})
	if err != nil || !c.Broadcast() {
		t.Errorf("default destination: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-i", "x"}, "unbounded"},
		{[]string{"-i", "x", "-n", "1", "-server", "8.8.8.8"}, "refusing a destination"},
		{[]string{"-i", "x", "-n", "1", "-server", "10.0.0.1"}, "refusing a destination"},
		{[]string{"-i", "x", "-n", "1", "-server", "192.0.3.1"}, "refusing a destination"},
		{[]string{"-i", "x", "-n", "1", "-giaddr", "10.1.1.1"}, "-giaddr"},
		{[]string{"-i", "x", "-n", "1", "-mode", "tap"}, "-mode"},
		{[]string{"-i", "x", "-n", "1", "-pool", "198.19.0.20-198.19.0.10"}, "-pool"},
		{[]string{"-i", "x", "-n", "1", "-clients", "0"}, "-clients"},
		{[]string{"-i", "x", "-n", "1", "-mac-base", "zz"}, "-mac-base"},
		{[]string{"-n", "1"}, "-i"},
	} {
		if _, err := parseFlags(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseFlags(%q) = %v, want an error about %q", tc.args, err, tc.want)
		}
	}
	for _, ok := range []string{"198.18.0.1", "198.19.255.254", "192.0.2.7", "127.0.0.1", "255.255.255.255"} {
		if _, err := parseFlags([]string{"-i", "x", "-n", "1", "-server", ok}); err != nil {
			t.Errorf("-server %s refused: %v", ok, err)
		}
	}
}

func TestHist(t *testing.T) {
	h := newHist()
	for us := int64(1); us <= 100000; us++ {
		h.record(us * 1000)
	}
	s := h.summary()
	near := func(got, want float64) bool { return got >= want*0.98 && got <= want*1.02 }
	if s.MinMs != 0.001 || s.MaxMs != 100 || !near(s.AvgMs, 50.0005) || !near(s.P50Ms, 50) || !near(s.P99Ms, 99) {
		t.Errorf("summary %+v", s)
	}
	for _, us := range []uint64{0, 127, 128, 129, 1000, 1 << 20, 1 << 39} {
		if v := histValue(histIndex(us)); v < float64(us)*0.98 || v > float64(us)*1.02+1 {
			t.Errorf("bucket of %d µs is centred on %v", us, v)
		}
	}
	if (&hist{counts: nil}).summary() != (Delays{}) {
		t.Error("empty histogram summary not zero")
	}
}

func TestParseFlagsHA(t *testing.T) {
	c, err := parseFlags([]string{"-i", "x", "-n", "1", "-discover-only", "-ha-owner", "1/2"})
	if err != nil || !c.DiscoverOnly || c.HAOwner != 1 || c.HAServers != 2 {
		t.Fatalf("config %+v, %v", c, err)
	}
	for _, bad := range []string{"2/2", "-1/2", "0/0", "1", "a/b", "0/256"} {
		if _, err := parseFlags([]string{"-i", "x", "-n", "1", "-ha-owner", bad}); err == nil || !strings.Contains(err.Error(), "-ha-owner") {
			t.Errorf("-ha-owner %q: %v", bad, err)
		}
	}
	if _, err := parseFlags([]string{"-i", "x", "-n", "1", "-discover-only", "-renew"}); err == nil {
		t.Error("-discover-only -renew accepted")
	}
}
