package metrics

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMetricName(t *testing.T) {
	tests := []struct{ stat, name, subnet string }{
		{"pkt4-received", "kea_dhcp4_pkt4_received", ""},
		{"subnet[12].assigned-addresses", "kea_dhcp4_subnet_assigned_addresses", "12"},
		{"v4-allocation-fail", "kea_dhcp4_v4_allocation_fail", ""},
	}
	for _, tt := range tests {
		name, labels := MetricName("kea_dhcp4", tt.stat)
		if name != tt.name || labels["subnet"] != tt.subnet {
			t.Errorf("%s: %s %v", tt.stat, name, labels)
		}
	}
}

func TestScrape(t *testing.T) {
	c := New(func() map[string]int64 {
		return map[string]int64{
			"pkt4-received":                5,
			"subnet[1].assigned-addresses": 3,
			"subnet[2].assigned-addresses": 4,
			"subnet[1].total-addresses":    100,
			"pkt4-receive-drop":            1,
		}
	})
	c.AddSource("xdhcp_xdp", "XDP counter %s.", func() map[string]int64 { return map[string]int64{"drop_partner_bucket": 9} })
	c.AddState("xdhcp_ha_state", "HA state of this server.", func() string { return "load-balancing" })
	s, err := Listen("127.0.0.1:0", c, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		"kea_dhcp4_pkt4_received 5",
		`kea_dhcp4_subnet_assigned_addresses{subnet="1"} 3`,
		`kea_dhcp4_subnet_assigned_addresses{subnet="2"} 4`,
		`kea_dhcp4_subnet_total_addresses{subnet="1"} 100`,
		"xdhcp_xdp_drop_partner_bucket 9",
		`xdhcp_ha_state{state="load-balancing"} 1`,
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("scrape lacks %q:\n%s", want, body)
		}
	}
}

// TestPprofOnlyWhenAsked: /debug/pprof/ is served only with pprof set.
func TestPprofOnlyWhenAsked(t *testing.T) {
	for _, on := range []bool{false, true} {
		s, err := Listen("127.0.0.1:0", New(func() map[string]int64 { return nil }), on)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get("http://" + s.Addr() + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			s.Close()
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s.Close()
		served := resp.StatusCode == http.StatusOK && strings.Contains(string(body), "goroutine profile")
		if served != on {
			t.Errorf("pprof=%v: status %d, profile served %v", on, resp.StatusCode, served)
		}
	}
}
