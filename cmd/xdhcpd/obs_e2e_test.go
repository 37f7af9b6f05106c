package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/bpf"
	"github.com/xdhcp/xdhcp/internal/dashboard"
	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/metrics"
)

// obsDaemon is an xdhcpd on the XDP path in a netns lab with its maps
// pinned under a private bpffs and /metrics on 127.0.0.1:9547 in its
// namespace, after perfdhcp traffic.
type obsDaemon struct {
	srv        *proc
	cfg        string // its configuration file (the log is cfg + ".log")
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

// startObsDaemon starts it; prepare, if not nil, runs on the pin path
// before the daemon starts.
func startObsDaemon(t *testing.T, prepare func(pins string)) *obsDaemon {
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
	if prepare != nil {
		prepare(pins)
	}
	o := &obsDaemon{cfg: cfg, srv: startXdhcpd(t, srvNS, cfg, sock), srvNS: srvNS, pins: pins}
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
	return scrapeIn(t, o.srvNS, "127.0.0.1:9547")
}

// scrapeIn GETs http://addr/metrics from inside ns.
func scrapeIn(t *testing.T, ns *testenv.Netns, addr string) string {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := ns.Do(func() (err error) {
			c, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("http://" + addr + "/metrics")
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
	o := startObsDaemon(t, nil)
	body := o.scrapeBody

	promtoolCheck(t, promtool, body)

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

	// HA is not configured here: runHAPair checks the xdhcp_ha_ ones.
	checkDashboardNames(t, exported, func(m string) bool { return strings.HasPrefix(m, "xdhcp_ha_") })
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

// readmeSection returns the README's section under heading, up to the
// next heading of the same or a higher level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no %q", heading)
	}
	s = s[i+len(heading)+2:]
	level := strings.Repeat("#", strings.Index(heading, " "))
	for _, h := range []string{"\n" + level + " ", "\n" + level[:len(level)-1] + " "} {
		if j := strings.Index(s, h); j >= 0 && len(h) > 2 {
			s = s[:j]
		}
	}
	return s
}

// TestPinPathNotBPFFS: a bpf-pin-path that is not on a bpffs (here
// /sys/fs/bpf/xdhcp under `ip netns exec`, which mounts a fresh sysfs) stops
// xdhcpd with exactly the one line the README shows, in both XDP modes.
func TestPinPathNotBPFFS(t *testing.T) {
	testenv.RequireRoot(t)
	sec := readmeSection(t, "### Operations: bpftool")
	var want string
	for _, l := range strings.Split(sec, "\n") {
		if strings.HasPrefix(l, "xdhcpd: ") && strings.Contains(l, "not on a bpf filesystem") {
			want = l
		}
	}
	if want == "" {
		t.Fatal("the README's operations section shows no bpffs error line")
	}
	ns := testenv.NewNetns(t)
	for _, dp := range []string{"auto", "xdp"} {
		dir := shortDir(t)
		cfg := filepath.Join(dir, "xdhcpd.json")
		body := `{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "lo" ], "dhcp-socket-type": "udp" },
  "control-socket": { "socket-type": "unix", "socket-name": "` + filepath.Join(dir, "ctrl.sock") + `" },
  "lease-database": { "type": "memfile", "name": "` + filepath.Join(dir, "leases4.csv") + `", "lfc-interval": 0 },
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.10 - 192.0.2.20" } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "stdout" } ], "severity": "WARN" } ],
  "user-context": { "xdhcp": { "datapath": "` + dp + `", "bpf-pin-path": "/sys/fs/bpf/xdhcp" } }
} }`
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns.Name, xdhcpdBin, "-c", cfg)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("datapath %s: exit %v, want status 1", dp, err)
		}
		if got := strings.TrimSuffix(stderr.String(), "\n"); got != want || stdout.Len() != 0 {
			t.Errorf("datapath %s: stderr\n%s\nstdout\n%s\nwant on stderr only\n%s", dp, stderr.String(), stdout.String(), want)
		}
	}
}

// readmeCommand is a `$ bpftool ...` line of the README's operations
// section and the sample output under it.
type readmeCommand struct {
	args   []string
	sample string
}

// readmeBpftool returns the bpftool commands of the README's operations
// section, keyed by "prog show", "map dump" etc. plus the object name.
func readmeBpftool(t *testing.T) map[string]readmeCommand {
	t.Helper()
	sec := readmeSection(t, "### Operations: bpftool")
	out := map[string]readmeCommand{}
	var key string
	var cur *readmeCommand
	for _, l := range strings.Split(sec, "\n") {
		if strings.HasPrefix(l, "```") {
			cur = nil
			continue
		}
		if a, ok := strings.CutPrefix(l, "$ bpftool "); ok {
			f := strings.Fields(a)
			key = strings.Join(f, " ")
			out[key] = readmeCommand{args: f}
			c := out[key]
			cur = &c
			continue
		}
		if cur != nil {
			cur.sample += l + "\n"
			out[key] = *cur
		}
	}
	return out
}

// TestReadmeBpftool: the README's operations section shows the bpftool
// lines an operator needs; each is run with -j against a running xdhcpd
// (its pinned objects, so other programs on the machine do not interfere)
// and the names and fields shown must be what bpftool reports.
func TestReadmeBpftool(t *testing.T) {
	testenv.RequireCommand(t, "bpftool")
	cmds := readmeBpftool(t)
	need := []string{
		"prog show name xdhcp_xdp", "net show dev eth0", "map show name xdhcp_stats",
		"map dump name xdhcp_stats", "map dump name xdhcp_buckets",
	}
	for _, k := range need {
		if _, ok := cmds[k]; !ok {
			t.Fatalf("README's operations section lacks `$ bpftool %s` (has %v)", k, slices.Collect(mapsKeys(cmds)))
		}
	}
	o := startObsDaemon(t, nil)
	pin := func(name string) string { return filepath.Join(o.pins, "xd0", name) }

	// prog show
	var prog struct {
		ID     int    `json:"id"`
		Type   string `json:"type"`
		Name   string `json:"name"`
		MapIDs []int  `json:"map_ids"`
	}
	bpftoolJSON(t, []string{"prog", "show", "pinned", pin("xdhcp_xdp")}, &prog)
	head := regexp.MustCompile(`(?m)^\d+: (\w+)  name (\w+)`)
	if m := head.FindStringSubmatch(cmds[need[0]].sample); m == nil || m[1] != prog.Type || m[2] != prog.Name {
		t.Errorf("README prog show %q; bpftool: type %s name %s", m, prog.Type, prog.Name)
	}
	if !strings.Contains(cmds[need[0]].sample, "map_ids ") {
		t.Error("README prog show lacks map_ids")
	}

	// net show dev: run in the daemon's namespace
	var net []struct {
		XDP []struct {
			Devname string `json:"devname"`
			Mode    string `json:"mode"`
			ID      int    `json:"id"`
		} `json:"xdp"`
	}
	out, err := exec.Command("ip", "netns", "exec", o.srvNS.Name, "bpftool", "-j", "net", "show", "dev", "xd0").Output()
	if err != nil {
		t.Fatalf("bpftool -j net show dev xd0: %v", err)
	}
	if err := json.Unmarshal(out, &net); err != nil {
		t.Fatalf("bpftool -j net show: %v\n%s", err, out)
	}
	nm := regexp.MustCompile(`(?m)^eth0\(\d+\) (\w+) id (\d+)$`).FindStringSubmatch(cmds[need[1]].sample)
	if len(net) != 1 || len(net[0].XDP) != 1 || nm == nil || net[0].XDP[0].Mode != nm[1] ||
		net[0].XDP[0].ID != prog.ID || net[0].XDP[0].Devname != "xd0" {
		t.Errorf("README net show %q; bpftool: %s (program id %d)", nm, out, prog.ID)
	}

	// map show
	var mp struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Name       string `json:"name"`
		BytesKey   int    `json:"bytes_key"`
		BytesValue int    `json:"bytes_value"`
		MaxEntries int    `json:"max_entries"`
	}
	bpftoolJSON(t, []string{"map", "show", "pinned", pin("xdhcp_stats")}, &mp)
	ms := cmds[need[2]].sample
	m := head.FindStringSubmatch(ms)
	sz := regexp.MustCompile(`key (\d+)B  value (\d+)B  max_entries (\d+)`).FindStringSubmatch(ms)
	if m == nil || sz == nil || m[1] != mp.Type || m[2] != mp.Name || sz[1] != strconv.Itoa(mp.BytesKey) ||
		sz[2] != strconv.Itoa(mp.BytesValue) || sz[3] != strconv.Itoa(mp.MaxEntries) {
		t.Errorf("README map show %q %q; bpftool: %+v", m, sz, mp)
	}
	if !slices.Contains(prog.MapIDs, mp.ID) {
		t.Errorf("the program's maps %v do not include xdhcp_stats %d", prog.MapIDs, mp.ID)
	}

	// map dump xdhcp_stats: the same counter names, per CPU
	var dump []struct {
		Formatted struct {
			Key    int `json:"key"`
			Values []struct {
				CPU   int              `json:"cpu"`
				Value map[string]int64 `json:"value"`
			} `json:"values"`
		} `json:"formatted"`
	}
	bpftoolJSON(t, []string{"map", "dump", "pinned", pin("xdhcp_stats")}, &dump)
	var shown []string
	for _, c := range regexp.MustCompile(`"(\w+)": \d+`).FindAllStringSubmatch(cmds[need[3]].sample, -1) {
		if c[1] != "key" && c[1] != "cpu" && !slices.Contains(shown, c[1]) {
			shown = append(shown, c[1])
		}
	}
	if len(dump) != 1 || len(dump[0].Formatted.Values) == 0 {
		t.Fatalf("bpftool map dump xdhcp_stats: %+v", dump)
	}
	var redirected int64
	for _, c := range dump[0].Formatted.Values {
		got := slices.Sorted(mapsKeys(c.Value))
		if want := slices.Sorted(slices.Values(shown)); !slices.Equal(got, want) {
			t.Errorf("cpu %d counters %v, README shows %v", c.CPU, got, want)
		}
		redirected += c.Value["redirect_ours"]
	}
	if redirected < 2*o.acks {
		t.Errorf("bpftool: redirect_ours %d over the CPUs for %d ACKs", redirected, o.acks)
	}

	// map dump xdhcp_buckets: ours/partner by name
	var buckets []struct {
		Formatted struct {
			Key   int    `json:"key"`
			Value string `json:"value"`
		} `json:"formatted"`
	}
	bpftoolJSON(t, []string{"map", "dump", "pinned", pin("xdhcp_buckets")}, &buckets)
	names := []string{"XDHCP_BUCKET_OURS", "XDHCP_BUCKET_PARTNER"}
	for _, v := range regexp.MustCompile(`"value": "(\w+)"`).FindAllStringSubmatch(cmds[need[4]].sample, -1) {
		if !slices.Contains(names, v[1]) {
			t.Errorf("README bucket value %s", v[1])
		}
	}
	if len(buckets) != 256 {
		t.Errorf("%d buckets", len(buckets))
	}
	for _, b := range buckets {
		if b.Formatted.Value != "XDHCP_BUCKET_OURS" { // no HA: every bucket is served here
			t.Errorf("bucket %d: %q", b.Formatted.Key, b.Formatted.Value)
		}
	}
}

func mapsKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestStartReplacesStalePins: a pin left by a version whose counter map
// had another layout (the old u64 array indexed by the enum) does not stop
// xdhcpd forced onto XDP: the pin is replaced, a WARN line says so, and
// the counters count in the new map.
func TestStartReplacesStalePins(t *testing.T) {
	o := startObsDaemon(t, func(pins string) {
		dir := filepath.Join(pins, "xd0")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "xdhcp_stats", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 22})
		if err != nil {
			t.Fatalf("create an old-layout xdhcp_stats: %v", err)
		}
		defer m.Close()
		if err := m.Pin(filepath.Join(dir, "xdhcp_stats")); err != nil {
			t.Fatal(err)
		}
	})
	log, err := os.ReadFile(o.cfg + ".log")
	if err != nil {
		t.Fatal(err)
	}
	size := bpf.CountersValueSize()
	var warned bool
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, `"level":"warn"`) && strings.Contains(l, "replaced a pinned map") &&
			strings.Contains(l, fmt.Sprintf("xdhcp_stats (ValueSize: 8 changed to %d, MaxEntries: 22 changed to 1)", size)) {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no WARN line about the replaced xdhcp_stats pin in the log:\n%s", log)
	}
	var mp struct {
		BytesValue int `json:"bytes_value"`
		MaxEntries int `json:"max_entries"`
	}
	bpftoolJSON(t, []string{"map", "show", "pinned", filepath.Join(o.pins, "xd0", "xdhcp_stats")}, &mp)
	if mp.BytesValue != size || mp.MaxEntries != 1 {
		t.Errorf("pinned xdhcp_stats after start: %+v", mp)
	}
	ss := parseExposition(t, o.scrapeBody)
	if v, _ := value(ss, "xdhcp_xdp_packets_total", `{interface="xd0",reason="ours",verdict="redirect"}`); v < float64(2*o.acks) {
		t.Errorf("redirect_ours %v for %d ACKs after the replacement", v, o.acks)
	}
}

// promtoolCheck fails the test unless `promtool check metrics` finds no
// problem at all in the exposition.
func promtoolCheck(t *testing.T, promtool, body string) {
	t.Helper()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// checkDashboardNames checks that every metric the Grafana dashboard names
// is in exported (a scrape's names); those for which elsewhere returns
// true need only be families the collector describes.
func checkDashboardNames(t *testing.T, exported map[string]bool, elsewhere func(string) bool) {
	t.Helper()
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
			case elsewhere(m) && slices.Contains(described, m):
			default:
				t.Errorf("dashboard %s: %s is not in the daemon's scrape", q.Where, m)
			}
		}
	}
}

// checkHAScrape scrapes an xdhcpd of an HA pair in load-balancing (its
// configuration from haConfigJSON listens on 127.0.0.1:9547): promtool
// finds no problem, both HA states are load-balancing, the kernel's
// partner drops are there as xdhcp_xdp_packets_total, and every metric the
// dashboard names is in the scrape but those of the UDP path.
func checkHAScrape(t *testing.T, n *haNode, partnerDrops int64) {
	t.Helper()
	promtool := testenv.RequireCommand(t, "promtool")[0]
	body := scrapeIn(t, n.ns, "127.0.0.1:9547")
	promtoolCheck(t, promtool, body)
	ss := parseExposition(t, body)
	for _, w := range []struct {
		name, labels string
		v            float64
	}{
		{"xdhcp_ha_state", `{state="load-balancing"}`, 1},
		{"xdhcp_ha_partner_state", `{state="load-balancing"}`, 1},
	} {
		if v, ok := value(ss, w.name, w.labels); !ok || v != w.v {
			t.Errorf("%s: %s%s = %v (present %v), want %v", n, w.name, w.labels, v, ok, w.v)
		}
	}
	if v, _ := value(ss, "xdhcp_xdp_packets_total", `{interface="eth0",reason="partner",verdict="drop"}`); v < float64(partnerDrops) {
		t.Errorf("%s: xdhcp_xdp_packets_total{verdict=\"drop\",reason=\"partner\"} = %v, xdp-stats-get said %d", n, v, partnerDrops)
	}
	exported := map[string]bool{}
	for _, s := range ss {
		exported[s.name] = true
		if s.name == "xdhcp_unmapped_value" {
			t.Errorf("%s: unmapped value %s: map it to a family", n, s.labels)
		}
	}
	checkDashboardNames(t, exported, func(string) bool { return false })
	if t.Failed() {
		t.Logf("%s scrape:\n%s", n, body)
	}
}
