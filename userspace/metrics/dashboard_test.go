package metrics

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xdhcp/xdhcp/internal/dashboard"
	"github.com/xdhcp/xdhcp/internal/testenv"
)

// DashboardFile is the Grafana dashboard, relative to this package.
const dashboardFile = "../../docs/grafana/xdhcp.json"

// TestDashboard: every PromQL expression of the Grafana dashboard parses
// (promtool check rules runs Prometheus's own parser over them) and every
// metric it names is a family the collector describes; the panels the
// dashboard promises are there. cmd/xdhcpd's TestMetricsScrape checks the
// same names against a running daemon's scrape.
func TestDashboard(t *testing.T) {
	qs, err := dashboard.Load(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range Families() {
		names = append(names, f.Name)
	}
	used := map[string]bool{}
	for _, q := range qs {
		ms := dashboard.Metrics(q.Expr)
		if len(ms) == 0 {
			t.Errorf("%s: %q names no metric", q.Where, q.Expr)
		}
		for _, m := range ms {
			used[m] = true
			if !slices.Contains(names, m) {
				t.Errorf("%s: %s is not a metric the daemon exports", q.Where, m)
			}
		}
	}
	for _, want := range []string{
		"xdhcp_dhcp4_sent_messages_total",       // leases/s
		"xdhcp_dhcp4_subnet_assigned_addresses", // pool utilisation
		"xdhcp_dhcp4_subnet_addresses",
		"xdhcp_ha_state",                    // HA state
		"xdhcp_xdp_packets_total",           // XDP verdicts, kernel drops
		"xdhcp_dhcp4_dropped_packets_total", // user-space drops
	} {
		if !used[want] {
			t.Errorf("the dashboard does not use %s", want)
		}
	}

	promtool := testenv.RequireCommand(t, "promtool")[0]
	var rules strings.Builder
	rules.WriteString("groups:\n- name: dashboard\n  rules:\n")
	for i, q := range qs {
		fmt.Fprintf(&rules, "  - record: dashboard:query%d\n    expr: %q\n", i, dashboard.Expand(q.Expr))
	}
	file := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(file, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules (the dashboard's %d queries): %v\n%s\n%s", len(qs), err, out, rules.String())
	}
}
