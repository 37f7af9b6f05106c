package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/dashboard"
	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/metrics"
)

// obsDaemon is an xdhcpd on the XDP path in a netns lab with its maps
// pinned under a private bpffs and /metrics on 127.0.0.1:9547 in its
// namespace, after perfdhcp traffic.
type obsDaemon struct {
	srv        *proc
	srvNS      *testenv.Netns
	pins       string // the bpf-pin-path
	acks       int64
	scrapeBody string
}

// mountBPFFS mounts a private bpffs for the test (unmounted at the end).
// `ip netns exec` remounts only /sys, so the daemon sees it too.
func mountBPFFS(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("bpf", dir, "bpf", 0, ""); err != nil {
		if testenv.Required() {
			t.Fatalf("mount bpffs: %v", err)
		}
		t.Skipf("mount bpffs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

func startObsDaemon(t *testing.T) *obsDaemon {
	t.Helper()
	testenv.RequireBPF(t)
	testenv.RequireCommand(t, "perfdhcp")
	srvNS, cliNS := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srvNS, "xd0", "198.18.0.2/24", cliNS, "xc0", "198.18.0.1/24")
	cliNS.Run(t, "ethtool", "-K", "xc0", "tx", "off")
	pins := filepath.Join(mountBPFFS(t), "xdhcp")
	cfg, sock, _ := e2eConfig(t.TempDir(), "xd0", "198.18.0.1", "xdp")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(string(b), `"user-context": { "xdhcp": { "datapath": "xdp" } }`,
		`"user-context": { "xdhcp": { "datapath": "xdp", "bpf-pin-path": "`+pins+`", "prometheus": { "listen": "127.0.0.1:9547" } } }`, 1)
	if body == string(b) {
		t.Fatal("e2eConfig changed: cannot add bpf-pin-path and prometheus")
	}
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	o := &obsDaemon{srv: startXdhcpd(t, srvNS, cfg, sock), srvNS: srvNS, pins: pins}
	res := runPerfdhcp(t, cliNS, "-4", "-r", "200", "-p", "3", "-R", "100", "-l", "xc0", "198.18.0.2")
	o.acks = statistic(t, sock, "pkt4-ack-sent")
	if o.acks == 0 {
		t.Fatalf("no lease granted:\n%s", res.Output)
	}
	o.scrapeBody = o.scrape(t)
	return o
}

// scrape GETs /metrics inside the daemon's namespace.
func (o *obsDaemon) scrape(t *testing.T) string {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := o.srvNS.Do(func() (err error) {
			c, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("http://127.0.0.1:9547/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sample is one series of a text exposition.
type sample struct {
	name, labels string
	value        float64
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// parseExposition reads the samples of a Prometheus text exposition.
func parseExposition(t *testing.T, body string) []sample {
	t.Helper()
	var out []sample
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("exposition line %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("exposition line %q: %v", line, err)
		}
		out = append(out, sample{m[1], m[2], v})
	}
	return out
}

func value(ss []sample, name, labels string) (float64, bool) {
	for _, s := range ss {
		if s.name == name && s.labels == labels {
			return s.value, true
		}
	}
	return 0, false
}

// TestMetricsScrape: a running daemon's /metrics, after DHCP traffic over
// XDP, passes `promtool check metrics` with no problem at all; its
// labelled series (subnets, the interface's XDP verdicts, message types)
// are there under the new names; and every metric the Grafana dashboard
// names is in the scrape (HA ones, with no HA configured here, in the
// collector's descriptors).
func TestMetricsScrape(t *testing.T) {
	promtool := testenv.RequireCommand(t, "promtool")[0]
	o := startObsDaemon(t)
	body := o.scrapeBody

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	ss := parseExposition(t, body)
	for _, w := range []struct {
		name, labels string
		min          float64
	}{
		{"xdhcp_dhcp4_sent_messages_total", `{type="ack"}`, float64(o.acks)},
		{"xdhcp_dhcp4_received_messages_total", `{type="discover"}`, 1},
		{"xdhcp_dhcp4_subnet_addresses", `{subnet="1"}`, 65000},
		{"xdhcp_dhcp4_subnet_assigned_addresses", `{subnet="1"}`, 1},
		{"xdhcp_xdp_received_packets_total", `{interface="xd0"}`, 1},
		{"xdhcp_xdp_packets_total", `{interface="xd0",reason="ours",verdict="redirect"}`, 1},
		{"xdhcp_xdp_packets_total", `{interface="xd0",reason="not-ip",verdict="pass"}`, 1}, // ARP
		{"xdhcp_xdp_packets_total", `{interface="xd0",reason="partner",verdict="drop"}`, 0},
		{"xdhcp_afxdp_socket_rx_packets_total", `{interface="xd0"}`, 1},
		{"xdhcp_dhcp4_dropped_packets_total", `{reason="no-lease",stage="server"}`, 0},
	} {
		v, ok := value(ss, w.name, w.labels)
		if !ok || v < w.min {
			t.Errorf("%s%s = %v (present %v), want >= %v", w.name, w.labels, v, ok, w.min)
		}
	}
	exported := map[string]bool{}
	for _, s := range ss {
		exported[s.name] = true
		if s.name == "xdhcp_unmapped_value" {
			t.Errorf("unmapped value %s: map it to a family", s.labels)
		}
		if strings.HasPrefix(s.name, "kea_dhcp4_") || strings.HasPrefix(s.name, "xdhcp_xdp_xd0") {
			t.Errorf("old metric name %s", s.name)
		}
	}

	qs, err := dashboard.Load("../../docs/grafana/xdhcp.json")
	if err != nil {
		t.Fatal(err)
	}
	var described []string
	for _, f := range metrics.Families() {
		described = append(described, f.Name)
	}
	for _, q := range qs {
		for _, m := range dashboard.Metrics(q.Expr) {
			switch {
			case exported[m]:
			case strings.HasPrefix(m, "xdhcp_ha_") && slices.Contains(described, m):
			default:
				t.Errorf("dashboard %s: %s is not in the daemon's scrape", q.Where, m)
			}
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", body)
	}
}

// bpftoolJSON runs bpftool -j with args and decodes its output into v.
func bpftoolJSON(t *testing.T, args []string, v any) {
	t.Helper()
	bpftool := testenv.RequireCommand(t, "bpftool")[0]
	out, err := exec.Command(bpftool, append([]string{"-j"}, args...)...).Output()
	if err != nil {
		t.Fatalf("bpftool -j %s: %v", strings.Join(args, " "), err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("bpftool -j %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
