package metrics

import (
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

func TestKeaSeries(t *testing.T) {
	tests := []struct {
		stat, family string
		labels       []string
	}{
		{"pkt4-received", "xdhcp_dhcp4_received_packets_total", nil},
		{"pkt4-discover-received", "xdhcp_dhcp4_received_messages_total", []string{"discover"}},
		{"pkt4-ack-sent", "xdhcp_dhcp4_sent_messages_total", []string{"ack"}},
		{"subnet[12].assigned-addresses", "xdhcp_dhcp4_subnet_assigned_addresses", []string{"12"}},
		{"subnet[3].total-addresses", "xdhcp_dhcp4_subnet_addresses", []string{"3"}},
		{"subnet[3].cumulative-assigned-addresses", "xdhcp_dhcp4_subnet_assigned_addresses_cumulative_total", []string{"3"}},
		{"v4-allocation-fail", "xdhcp_dhcp4_allocation_failures_total", nil},
		{"v4-allocation-fail-no-pools", "xdhcp_dhcp4_allocation_failure_causes_total", []string{"no-pools"}},
		{"pkt4-parse-failed-truncated", "xdhcp_dhcp4_dropped_packets_total", []string{"parse", "truncated"}},
		{"pkt4-dropped-ha-scope", "xdhcp_dhcp4_dropped_packets_total", []string{"server", "ha-scope"}},
		{"pkt4-receive-drop-queue-full", "xdhcp_dhcp4_dropped_packets_total", []string{"receive", "queue-full"}},
		{"pkt4-udp-drop-rate-client", "xdhcp_dhcp4_dropped_packets_total", []string{"udp", "rate-client"}},
		{"xdp-rx-drop-bad-udp-checksum", "xdhcp_dhcp4_dropped_packets_total", []string{"afxdp", "bad-udp-checksum"}},
		{"xdp-tx-fallback-neigh-unresolved", "xdhcp_afxdp_tx_fallbacks_total", []string{"neigh-unresolved"}},
		{"something-new", "xdhcp_unmapped_value", []string{"kea", "something-new"}},
	}
	for _, tt := range tests {
		f, l := KeaSeries(tt.stat)
		if f != tt.family || !slices.Equal(l, tt.labels) {
			t.Errorf("%s: %s %q, want %s %q", tt.stat, f, l, tt.family, tt.labels)
		}
	}
}

func TestInterfaceSeries(t *testing.T) {
	tests := []struct {
		name, family string
		labels       []string
	}{
		{"bpf_rx_total", "xdhcp_xdp_received_packets_total", []string{"eth0"}},
		{"bpf_drop_partner", "xdhcp_xdp_packets_total", []string{"eth0", "drop", "partner"}},
		{"bpf_pass_not_our_mac", "xdhcp_xdp_packets_total", []string{"eth0", "pass", "not-our-mac"}},
		{"bpf_redirect_ours", "xdhcp_xdp_packets_total", []string{"eth0", "redirect", "ours"}},
		{"bpf_no_socket", "xdhcp_xdp_redirect_fallback_packets_total", []string{"eth0"}},
		{"bpf_tx_renew", "xdhcp_xdp_packets_total", []string{"eth0", "tx", "renew"}},
		{"bpf_renew_mismatch", "xdhcp_xdp_renew_misses_total", []string{"eth0", "mismatch"}},
		{"xsk_rx_ring_full", "xdhcp_afxdp_socket_rx_ring_full_total", []string{"eth0"}},
		{"path_tx_frames", "xdhcp_afxdp_tx_frames_total", []string{"eth0"}},
	}
	for _, tt := range tests {
		f, l, ok := InterfaceSeries("eth0", tt.name)
		if !ok || f != tt.family || !slices.Equal(l, tt.labels) {
			t.Errorf("%s: %s %q %v, want %s %q", tt.name, f, l, ok, tt.family, tt.labels)
		}
	}
	if _, _, ok := InterfaceSeries("eth0", "bpf_weird"); ok {
		t.Error("bpf_weird mapped")
	}
}

// TestFamiliesLint: every family follows Prometheus naming (promlint:
// counters end in _total, gauges do not, no units in the wrong place).
func TestFamiliesLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	c := fullCollector()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, f := range Families() {
		if !got[f.Name] && f.Name != unmapped {
			t.Errorf("family %s not produced by the full collector", f.Name)
		}
	}
	if got[unmapped] {
		t.Errorf("the full collector produced %s", unmapped)
	}
}

// fullCollector has a value for every mapping in the tables.
func fullCollector() *Collector {
	kea := map[string]int64{
		"pkt4-discover-received": 5, "pkt4-ack-sent": 4, "pkt4-udp-ignored-interface": 1,
		"subnet[1].total-addresses": 100, "subnet[2].total-addresses": 50,
		"v4-allocation-fail-classes": 1, "pkt4-dropped-no-lease": 2, "xdp-tx-fallback-route-error": 1,
	}
	for k := range keaGlobal {
		kea[k] = 1
	}
	for k := range keaSubnet {
		kea["subnet[1]."+k] = 2
	}
	kea["pkt4-received"] = 5
	kea["subnet[1].total-addresses"] = 100
	iface := map[string]int64{"bpf_rx_total": 3, "bpf_no_socket": 0, "bpf_drop_partner": 1, "bpf_pass_not_ip": 1, "bpf_redirect_ours": 1, "bpf_renew_miss": 2}
	for k := range interfaceCounters {
		iface[k] = 1
	}
	listener, haCtr, control := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for k := range haListener {
		listener[k] = 0
	}
	for k := range haCounters {
		haCtr[k] = 0
	}
	for k := range controlCounters {
		control[k] = 0
	}
	c := New(func() map[string]int64 { return kea })
	c.AddInterface("veth0", func() map[string]int64 { return iface })
	c.AddHA(func() string { return "load-balancing" }, func() string { return "load-balancing" }, func() map[string]int64 { return listener }, func() map[string]int64 { return haCtr })
	c.AddControl(func() map[string]int64 { return control })
	c.AddHABackups(func() map[string][2]int64 { return map[string][2]int64{"server3": {7, 1}} })
	return c
}

// TestScrapePromtool serves the full collector and lints the scrape with
// promtool check metrics, as the daemon's end-to-end test does.
func TestScrapePromtool(t *testing.T) {
	s, err := Listen("127.0.0.1:0", fullCollector(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := scrape(t, s)
	for _, want := range []string{
		`xdhcp_dhcp4_received_messages_total{type="discover"} 5`,
		`xdhcp_dhcp4_subnet_addresses{subnet="1"} 100`,
		`xdhcp_dhcp4_subnet_addresses{subnet="2"} 50`,
		`xdhcp_xdp_packets_total{interface="veth0",reason="partner",verdict="drop"} 1`,
		`xdhcp_dhcp4_dropped_packets_total{reason="no-lease",stage="server"} 2`,
		`xdhcp_ha_state{state="load-balancing"} 1`,
		"# TYPE xdhcp_dhcp4_received_packets_total counter",
		"# TYPE xdhcp_dhcp4_subnet_assigned_addresses gauge",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("scrape lacks %q", want)
		}
	}
	promtool := testenv.RequireCommand(t, "promtool")[0]
	if out, err := promtoolCheck(promtool, body); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func scrape(t *testing.T, s *Server) string {
	t.Helper()
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// promtoolCheck runs `promtool check metrics` on an exposition.
func promtoolCheck(promtool, exposition string) (string, error) {
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
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

// TestBadValueKeepsScrape: a value that cannot be exported (a statistic
// name that is not UTF-8 makes an invalid label value) is left out; the
// rest of the scrape is served.
func TestBadValueKeepsScrape(t *testing.T) {
	c := New(func() map[string]int64 { return map[string]int64{"pkt4-received": 3, "bad-\xff": 1} })
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
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "xdhcp_dhcp4_received_packets_total 3\n") {
		t.Errorf("status %d:\n%s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "bad-") {
		t.Errorf("the invalid value was exported:\n%s", body)
	}
}
