package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/xdhcp/xdhcp/internal/keatest"
)

const (
	leaseSubnet = "198.19.0.0/16"
	poolFirst   = "198.19.0.10"
	poolLast    = "198.19.255.250"
	haPoolSplit = "198.19.127.250" // server1's half ends here, server2's starts at 198.19.128.10 (keatest.DefaultPools)
	router      = "198.19.0.1"
)

// cfgParams says which configuration a server gets. Kea and xdhcpd run the
// same one: the HA pair's is keatest.HAPair (the project's one pair
// template), the single server's is singleTmpl.
type cfgParams struct {
	Name      string // this server's name (server1/server2 in a pair)
	Work      string // its socket, lease file and log live here
	Xdhcpd    bool   // adds xdhcpd's datapath and its kea-dhcp4.xdp logger
	Datapath  string
	HA        bool // a load-balancing pair: server1 at labS1, server2 at labS2
	Threads   int
	QueueSize int
	Relays    []string
	LeaseDB   string // lease-database JSON; "" = the memfile in Work
}

// singleData is what singleTmpl renders: the pair's fields and the lease
// database.
type singleData struct {
	keatest.HAPair
	LeaseDB string
}

// singleTmpl is one server without HA: the pair's configuration without
// the hooks, with one pool over the whole range.
var singleTmpl = template.Must(template.New("single").Funcs(template.FuncMap{"json": func(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}}).Parse(`{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "eth0" ] },
  "control-socket": { "socket-type": "unix", "socket-name": {{json .Socket}} },
  "lease-database": {{if .LeaseDB}}{{.LeaseDB}}{{else}}{ "type": "memfile", "persist": true, "name": {{json .Leases}}, "lfc-interval": 0 }{{end}},
  "multi-threading": { "enable-multi-threading": true, "thread-pool-size": {{.Threads}}, "packet-queue-size": {{.QueueSize}} },
  "valid-lifetime": 3600,
{{- if .Datapath}}
  "user-context": { "xdhcp": { "datapath": {{json .Datapath}} } },
{{- end}}
  "subnet4": [ { "id": 1, "subnet": "` + leaseSubnet + `",
      "pools": [ { "pool": "` + poolFirst + ` - ` + poolLast + `" } ],
      "relay": { "ip-addresses": {{json .Relays}} },
      "option-data": [ { "name": "routers", "data": "` + router + `" } ] } ],
  "loggers": [
{{- range $i, $l := .Loggers}}{{if $i}},{{end}}
    { "name": {{json $l.Name}}, "output_options": [ { "output": {{json $l.Output}} } ], "severity": {{json $l.Severity}} }
{{- end}} ]
} }
`))

// renderConfig returns server p.Name's configuration.
func renderConfig(p cfgParams) ([]byte, error) {
	log := filepath.Join(p.Work, p.Name+".log")
	pair := keatest.HAPair{
		Name:      p.Name,
		URLs:      [2]string{"http://" + labS1 + ":8000/", "http://" + labS2 + ":8000/"},
		Socket:    filepath.Join(p.Work, p.Name+".sock"),
		Leases:    filepath.Join(p.Work, p.Name+"-leases4.csv"),
		Threads:   p.Threads,
		QueueSize: p.QueueSize,
		Relays:    p.Relays,
		Router:    router,
		Loggers:   []keatest.Logger{{Name: "kea-dhcp4", Severity: "WARN", Output: log}},
	}
	if p.Xdhcpd {
		pair.Datapath = p.Datapath
		pair.Loggers = append(pair.Loggers, keatest.Logger{Name: "kea-dhcp4.xdp", Severity: "INFO", Output: log})
	}
	if p.HA {
		return pair.Render()
	}
	var sb strings.Builder
	if err := singleTmpl.Execute(&sb, singleData{HAPair: pair, LeaseDB: p.LeaseDB}); err != nil {
		return nil, fmt.Errorf("single-server config: %w", err)
	}
	return []byte(sb.String()), nil
}

// daemon is one running kea-dhcp4 or xdhcpd.
type daemon struct {
	name, sock, log, out string
	k                    *keatest.Kea
}

// startDaemon writes the configuration, starts bin in ns and waits (at
// most wait, or until ctx ends) until it answers status-get.
func startDaemon(ctx context.Context, bin, ns string, p cfgParams, wait time.Duration) (*daemon, error) {
	cfg, err := renderConfig(p)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(p.Work, p.Name+".json")
	if err := os.WriteFile(path, cfg, 0o644); err != nil {
		return nil, err
	}
	d := &daemon{name: p.Name, sock: filepath.Join(p.Work, p.Name+".sock"),
		log: filepath.Join(p.Work, p.Name+".log"), out: filepath.Join(p.Work, p.Name+".out")}
	// keatest appends to the output; tail and datapath read this start's only.
	if err := os.WriteFile(d.out, nil, 0o644); err != nil {
		return nil, err
	}
	// ip netns exec execs the server: the pid is the server's. Its own
	// process group: Ctrl-C reaches us, not it; we stop it.
	d.k, err = keatest.Start(keatest.Options{Bin: bin, Dir: p.Work, ConfigPath: path, Socket: d.sock, Netns: ns,
		Output: d.out, Wait: wait, OwnProcessGroup: true, Context: ctx})
	if err != nil {
		if t := tail(d.log); t != "" {
			return nil, fmt.Errorf("%s: %w\n%s", p.Name, err, t)
		}
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	return d, nil
}

func (d *daemon) pid() int { return d.k.Pid() }

func (d *daemon) alive() bool { return !d.k.Exited() }

// stop sends SIGTERM, then SIGKILL after 5 s.
func (d *daemon) stop() {
	if d == nil {
		return
	}
	_ = d.k.Stop(5 * time.Second)
}

// command sends one control-channel command and decodes the answer.
func (d *daemon) command(cmd string, timeout time.Duration) (map[string]any, error) {
	c, err := net.DialTimeout("unix", d.sock, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte(cmd)); err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.NewDecoder(c).Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func result(v map[string]any) int {
	if f, ok := v["result"].(float64); ok {
		return int(f)
	}
	return -1
}

// haState is this server's HA state from status-get ("" if unknown).
func (d *daemon) haState() string {
	v, err := d.command(`{"command":"status-get"}`, time.Second)
	if err != nil {
		return ""
	}
	args, _ := v["arguments"].(map[string]any)
	has, _ := args["high-availability"].([]any)
	if len(has) == 0 {
		return ""
	}
	h, _ := has[0].(map[string]any)
	srv, _ := h["ha-servers"].(map[string]any)
	loc, _ := srv["local"].(map[string]any)
	s, _ := loc["state"].(string)
	return s
}

var reDatapath = regexp.MustCompile(`"datapath":"([^"]+)"[^\n]*data path selected|data path selected[^\n]*"datapath":"([^"]+)"|data path selected[^\n]*datapath=(\S+)`)

// datapathFromLog finds xdhcpd's "data path selected" line.
func datapathFromLog(log []byte) string {
	m := reDatapath.FindSubmatch(log)
	if m == nil {
		return ""
	}
	for _, g := range m[1:] {
		if len(g) > 0 {
			return string(g)
		}
	}
	return ""
}

// datapath is what xdhcpd reports using: its log line, else whether it
// answers xdp-stats-get.
func (d *daemon) datapath() string {
	for range 20 {
		for _, f := range []string{d.log, d.out} {
			if b, err := os.ReadFile(f); err == nil {
				if p := datapathFromLog(b); p != "" {
					return p
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v, err := d.command(`{"command":"xdp-stats-get"}`, time.Second); err == nil && result(v) == 0 {
		return "xdp"
	}
	return "unknown"
}

// cpuSeconds is utime+stime of pid from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b), 100)
}

// parseStatCPU reads fields 14 and 15 (utime, stime, in clock ticks) of a
// /proc/<pid>/stat line; the command name may contain spaces and ')'.
func parseStatCPU(stat string, hz float64) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state): utime is field 14 = f[11], stime f[12].
	if len(f) < 13 {
		return 0, errors.New("short stat")
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	s, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed stat times")
	}
	return (u + s) / hz, nil
}

// peakRSSKB is VmHWM of pid in KiB.
func peakRSSKB(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fs := strings.Fields(rest)
			if len(fs) > 0 {
				v, _ := strconv.ParseInt(fs[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// tail is the last lines of the given files, for error messages.
func tail(files ...string) string {
	var parts []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || len(b) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 5 {
			lines = lines[len(lines)-5:]
		}
		parts = append(parts, filepath.Base(f)+": "+strings.Join(lines, " | "))
	}
	return strings.Join(parts, "; ")
}

// hostTimes is the machine's CPU time from /proc/stat's "cpu" line, in
// ticks: busy (everything but idle and iowait) and total.
func hostTimes() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	return parseHostTimes(string(b))
}

func parseHostTimes(stat string) (busy, total float64) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	// user nice system idle iowait irq softirq steal (guest time is
	// already in user).
	for i, v := range f[1:min(len(f), 9)] {
		x, _ := strconv.ParseFloat(v, 64)
		total += x
		if i != 3 && i != 4 {
			busy += x
		}
	}
	return busy, total
}

// busyShare is the busy share of the machine's CPU time between two
// hostTimes readings, 0..1 (0 when unknown).
func busyShare(b0, t0, b1, t1 float64) float64 {
	if t1 <= t0 {
		return 0
	}
	return min(1, max(0, (b1-b0)/(t1-t0)))
}
