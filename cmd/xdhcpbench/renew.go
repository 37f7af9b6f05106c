package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The renewal phase (issue 13): after its other phases (or alone, with
// RENEW_ONLY=1), a single server (Kea, xdhcpd-auto) is reloaded twice with
// calculate-tee-times (valid-lifetime 3600, so T1 = 1800 s): first without
// lease caching, then with cache-threshold -renew-threshold (Kea 2.2's
// AllocEngine::setLeaseReusable: a renewal within threshold × valid
// lifetime of the lease's last write is answered from the stored lease,
// neither written nor replicated). Each time dhcpload -renewals gives
// -renew-clients clients a lease (warm-up, not measured), then renews them
// at each of -renew-rates for -renew-secs. A row reports the renewals
// acked per second, their loss, p50/p99 and the server's utime+stime per
// 1,000 renewals, counted from the end of the warm-up (dhcpload says so on
// stderr) to the end of the run.

// renewValid is the bench configurations' valid-lifetime (servers.go).
const renewValid = 3600

// renewPoolSize is the addresses in poolFirst..poolLast (198.19.0.10 -
// 198.19.255.250).
const renewPoolSize = 65536 - 10 - 5

// renewLeasesNeeded is how many leases the renewal rows of one server take
// at most: each (mode, rate) row has its own clients.
func renewLeasesNeeded(o *options) int { return 3 * len(o.renewRates) * o.renewClients }

// Renewals is one server's renewal phase (results.json servers[].renewals).
type Renewals struct {
	Clients   int     `json:"clients"`
	Seconds   int     `json:"seconds"`
	Valid     int     `json:"valid_lifetime"`
	T1        int     `json:"t1"`
	Threshold float64 `json:"cache_threshold"`
	// Pinning says where the server and the load tool ran ("" = not
	// pinned: one CPU, or taskset failed).
	Pinning string     `json:"pinning,omitempty"`
	Rows    []RenewRow `json:"rows"`
}

// RenewRow is one (caching, kernel, rate) run.
type RenewRow struct {
	Cached bool `json:"cached"`
	// Kernel is xdhcpd's kernel renewal cache (user-context.xdhcp
	// kernel-renew): "on", "off", or "" for Kea.
	Kernel     string  `json:"kernel_renew,omitempty"`
	Offered    int     `json:"offered_per_sec"` // 0: as fast as the clients go
	Sent       uint64  `json:"renewals_sent"`
	Acked      uint64  `json:"renewals_acked"`
	PerSec     float64 `json:"renewals_acked_per_sec"`
	Loss       float64 `json:"loss"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	CPUSeconds float64 `json:"server_cpu_seconds"`
	Per1k      float64 `json:"server_cpu_seconds_per_1k_renewals"`
	HostBusy   float64 `json:"host_cpu_busy"`
	// HostPer1k is the whole machine's busy CPU seconds (user, system,
	// irq, softirq: the XDP program's work is softirq) per 1,000 renewals
	// acked; it includes the load generator on the same machine.
	HostPer1k float64 `json:"host_cpu_seconds_per_1k_renewals"`
	// KernelAcked is how many of the ACKs the XDP program sent (tx_renew),
	// KernelEntries and KernelBytes the renewal cache's entries and their
	// kernel map bytes (entries and profiles) at the end of the run.
	KernelAcked   uint64 `json:"kernel_acked,omitempty"`
	KernelEntries uint64 `json:"kernel_cache_entries,omitempty"`
	KernelBytes   uint64 `json:"kernel_cache_bytes,omitempty"`
	// ServerAcks is the server's own count of ACKs sent over the run
	// (statistic pkt4-ack-sent, kernel-answered renewals folded in): next
	// to Acked it tells replies lost after the server (the load tool's
	// receive) from requests the server did not answer.
	ServerAcks int64 `json:"server_acks_sent"`
	// IdleCPUPerSec is the server's utime+stime per second while idle,
	// sampled before the run (kernel-cache rows), and NetPer1k the
	// row's CPU per 1,000 renewals with that background taken out.
	IdleCPUPerSec float64 `json:"server_idle_cpu_per_sec,omitempty"`
	NetPer1k      float64 `json:"server_cpu_seconds_per_1k_renewals_net,omitempty"`
	// FileBytes is what the lease file grew by over the renewals: a
	// renewal written is a row, a reused lease none.
	FileBytes int64 `json:"lease_file_bytes"`
	// AgeSeconds is how old a lease is when its client renews it: the
	// clients over the achieved rate.
	AgeSeconds float64 `json:"lease_age_at_renewal_s"`
	Err        string  `json:"error,omitempty"`
}

// renewCost is the phase's time: a reload per mode (three for xdhcpd: no
// caching, caching with the kernel cache off, and on), and per row the
// warm-up (at most the clients at the lowest rate, twice over), the run
// and drains.
func (o *options) renewCost() time.Duration {
	var d time.Duration
	for _, rate := range o.renewRates {
		warm := time.Second
		if rate > 0 {
			warm += time.Duration(o.renewClients/rate) * time.Second
		}
		d += warm + time.Duration(o.renewSecs)*time.Second + 5*time.Second
	}
	return 3*d + 3*time.Second
}

// renewConfig is cfg with calculate-tee-times and, when threshold > 0,
// cache-threshold added after the valid-lifetime; kernelOff turns
// xdhcpd's kernel renewal cache off (user-context.xdhcp.kernel-renew).
func renewConfig(cfg []byte, threshold float64, kernelOff bool) ([]byte, error) {
	key := []byte(`"valid-lifetime": ` + strconv.Itoa(renewValid) + `,`)
	if !bytes.Contains(cfg, key) {
		return nil, fmt.Errorf("renewals: configuration has no %s", key)
	}
	if x := []byte(`"xdhcp": {`); bytes.Contains(cfg, x) {
		// xdhcpd: the load renews each client several times a second
		// (a day of T1 renewals squeezed into seconds), which the
		// hostile-edge per-client limit (4/s by default) rightly takes
		// for abuse; every xdhcpd renewal row lifts it alike.
		add := `"xdhcp": { "rate-limits": { "client-rate": 1000, "client-burst": 1000 },`
		if kernelOff {
			add += ` "kernel-renew": false,`
		}
		cfg = bytes.Replace(cfg, x, []byte(add), 1)
	} else if kernelOff {
		return nil, fmt.Errorf("renewals: configuration has no %s", x)
	}
	add := `"calculate-tee-times": true,`
	if threshold > 0 {
		add += fmt.Sprintf(` "cache-threshold": %s,`, strconv.FormatFloat(threshold, 'f', -1, 64))
	}
	return bytes.Replace(cfg, key, append(append(key, ' '), add...), 1), nil
}

// renewals runs the phase against single server d (configuration p).
func (b *bench) renewals(ctx context.Context, s *Server, d *daemon, p cfgParams, dir string) {
	o := b.o
	r := &Renewals{Clients: o.renewClients, Seconds: o.renewSecs, Valid: renewValid, T1: renewValid / 2, Threshold: o.renewThreshold}
	s.Renewals = r
	dl := filepath.Join(o.root, "bin", "dhcpload")
	if _, err := os.Stat(dl); err != nil {
		r.Rows = append(r.Rows, RenewRow{Err: "needs bin/dhcpload (make build)"})
		return
	}
	// The server on CPU 0, the load tool on the others, where the
	// machine has more than one: the kernel answers renewals in the
	// softirq of the load tool's sends, so this keeps the server process's
	// CPU figure its own.
	var loadCPUs string
	if n := runtime.NumCPU(); n > 1 {
		loadCPUs = fmt.Sprintf("1-%d", n-1)
		if err := pinProcess(d.pid(), "0"); err != nil {
			loadCPUs = ""
			fmt.Printf("bench:   %s renewals: not pinned: %v\n", s.Name, err)
		} else {
			defer func() { _ = pinProcess(d.pid(), fmt.Sprintf("0-%d", n-1)) }()
			r.Pinning = "server on CPU 0, load tool on CPUs " + loadCPUs
		}
	}
	b.renewCPUs = loadCPUs
	p.Name = d.name
	base, err := renderConfig(p)
	if err != nil {
		r.Rows = append(r.Rows, RenewRow{Err: err.Error()})
		return
	}
	type mode struct {
		cached bool
		kernel string
	}
	modes := []mode{{false, ""}, {true, ""}}
	if d.xdhcpd() {
		modes = []mode{{false, "off"}, {true, "off"}, {true, "on"}}
	}
	for k, md := range modes {
		cached := md.cached
		th := 0.0
		if cached {
			th = o.renewThreshold
		}
		cfg, err := renewConfig(base, th, md.kernel == "off")
		if err == nil {
			err = os.WriteFile(filepath.Join(p.Work, p.Name+".json"), cfg, 0o644)
		}
		if err == nil {
			var v map[string]any
			if v, err = d.command(`{"command":"config-reload"}`, 10*time.Second); err == nil && result(v) != 0 {
				err = fmt.Errorf("config-reload: %v", v["text"])
			}
		}
		if err != nil {
			r.Rows = append(r.Rows, RenewRow{Cached: cached, Kernel: md.kernel, Err: err.Error()})
			continue
		}
		for i, rate := range o.renewRates {
			if ctx.Err() != nil || !d.alive() {
				return
			}
			time.Sleep(time.Second) // let the previous run drain
			// Each run its own clients (MAC base), so its warm-up takes
			// new leases and its renewals meet this configuration only.
			mb := fmt.Sprintf("02:00:7d:%02x:00:00", 16*k+i)
			leases := filepath.Join(p.Work, p.Name+"-leases4.csv")
			k0 := d.kernelRenew()
			var detach func()
			if md.kernel == "on" {
				if detach, err = passXDP(b.lab.ns("cli"), b.lab.prefix+"v1", b.lab.prefix+"v2"); err != nil {
					r.Rows = append(r.Rows, RenewRow{Cached: cached, Kernel: md.kernel, Offered: rate, Err: err.Error()})
					continue
				}
			}
			var idle float64
			if md.kernel == "on" {
				idle = idleCPU(d, 2*time.Second)
			}
			row := b.renewRow(ctx, d, dl, rate, mb, leases, filepath.Join(dir, fmt.Sprintf("renewals-cached%v-kernel%s-%d", cached, md.kernel, rate)), idle)
			if detach != nil {
				detach()
			}
			row.Cached, row.Kernel = cached, md.kernel
			if md.kernel != "" {
				k1 := d.kernelRenew()
				row.KernelAcked = k1.acked - k0.acked
				row.KernelEntries, row.KernelBytes = k1.entries, k1.bytes
			}
			r.Rows = append(r.Rows, row)
			fmt.Printf("bench:   %s renewals (%s%s): offered %s, acked %d (%.0f/s, loss %.2f%%, %d by the kernel), p50/p99 %s/%s ms, CPU %.3f ms per 1,000 (net of idle %.3f; host %.3f), server ACKs %d, memfile %.1f B per renewal, lease age %.1f s, kernel cache %d entries %d B%s\n",
				s.Name, cacheLabel(cached, o.renewThreshold), kernelLabel(md.kernel), rateLabel(rate), row.Acked, row.PerSec, 100*row.Loss, row.KernelAcked,
				num(row.P50Ms), num(row.P99Ms), 1000*row.Per1k, 1000*row.NetPer1k, 1000*row.HostPer1k, row.ServerAcks, perRenewal(row.FileBytes, row.Acked), row.AgeSeconds,
				row.KernelEntries, row.KernelBytes, errSuffix(row.Err))
		}
	}
}

// renewRow is one dhcpload -renewals run; the server's CPU is sampled when
// dhcpload announces the end of its warm-up and when it exits.
// idle (> 0) is the server's background CPU per second, taken out of
// NetPer1k.
func (b *bench) renewRow(ctx context.Context, d *daemon, dl string, rate int, macBase, leases, logPrefix string, idle float64) RenewRow {
	o := b.o
	var row RenewRow
	row.Offered = rate
	args := []string{"netns", "exec", b.lab.ns("cli")}
	if b.renewCPUs != "" {
		args = append(args, "taskset", "-c", b.renewCPUs)
	}
	args = append(args, dl, "-i", "br0", "-mode", "packet", "-renewals",
		"-server", labS1, "-giaddr", b.lab.relays[0], "-rate", strconv.Itoa(rate),
		"-duration", fmt.Sprintf("%ds", o.renewSecs), "-clients", strconv.Itoa(o.renewClients),
		"-mac-base", macBase, "-pool", poolFirst+"-"+poolLast, "-json",
		// One renewal per client in the warm-up: xdhcpd's kernel cache learns
		// each client from its first renewal (a user-space ACK), so the
		// measured phase is every server's steady state.
		"-warm-renewals", "1")
	limit := time.Duration(o.renewSecs)*time.Second + 40*time.Second
	if rate > 0 {
		limit += time.Duration(2*o.renewClients/rate) * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(cctx, "ip", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 3 * time.Second
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		row.Err = err.Error()
		return row
	}
	if err := cmd.Start(); err != nil {
		row.Err = err.Error()
		return row
	}
	var c0, hb0, ht0 float64
	var f0, acks0 int64
	var t0 time.Time
	var stderr bytes.Buffer
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		line := sc.Text()
		stderr.WriteString(line + "\n")
		if t0.IsZero() && strings.Contains(line, "renewals begin") {
			c0, _ = cpuSeconds(d.pid())
			acks0, _ = d.statistic("pkt4-ack-sent")
			hb0, ht0 = hostTimes()
			f0 = fileSize(leases)
			t0 = time.Now()
		}
	}
	_, _ = io.Copy(io.Discard, errPipe)
	werr := cmd.Wait()
	c1, _ := cpuSeconds(d.pid())
	window := time.Since(t0)
	acks1, _ := d.statistic("pkt4-ack-sent")
	hb1, ht1 := hostTimes()
	row.FileBytes = fileSize(leases) - f0
	_ = os.WriteFile(logPrefix+".out", append(append([]byte(strings.Join(cmd.Args, " ")+"\n"), stdout.Bytes()...), stderr.Bytes()...), 0o644)
	if t0.IsZero() {
		row.Err = fmt.Sprintf("dhcpload never began renewing (%v): %s", werr, firstLines(stderr.Bytes(), 3))
		return row
	}
	rep, err := parseRenewReport(stdout.Bytes())
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.Sent, row.Acked = rep.RenewAck.Sent, rep.RenewAck.Received
	row.P50Ms, row.P99Ms = rep.RenewAck.P50Ms, rep.RenewAck.P99Ms
	if rep.TotalSeconds > 0 {
		row.PerSec = float64(row.Acked) / rep.TotalSeconds
	}
	if row.Sent > 0 {
		row.Loss = 1 - float64(row.Acked)/float64(row.Sent)
	}
	if row.PerSec > 0 {
		row.AgeSeconds = float64(o.renewClients) / row.PerSec
	}
	row.CPUSeconds = c1 - c0
	row.ServerAcks = acks1 - acks0
	if idle > 0 && row.Acked > 0 {
		row.IdleCPUPerSec = idle
		row.NetPer1k = max(row.CPUSeconds-idle*window.Seconds(), 0) / float64(row.Acked) * 1000
	}
	row.HostBusy = busyShare(hb0, ht0, hb1, ht1)
	if row.Acked > 0 {
		row.Per1k = row.CPUSeconds / float64(row.Acked) * 1000
		row.HostPer1k = (hb1 - hb0) / userHZ / float64(row.Acked) * 1000
	}
	return row
}

// pinProcess sets the CPU affinity of every thread of pid (taskset -a).
func pinProcess(pid int, cpus string) error {
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(pid)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset -a -p -c %s %d: %v: %s", cpus, pid, err, bytes.TrimSpace(out))
	}
	return nil
}

// idleCPU is d's utime+stime per second over an idle window of length w.
func idleCPU(d *daemon, w time.Duration) float64 {
	c0, err := cpuSeconds(d.pid())
	if err != nil {
		return 0
	}
	time.Sleep(w)
	c1, err := cpuSeconds(d.pid())
	if err != nil {
		return 0
	}
	return (c1 - c0) / w.Seconds()
}

// userHZ is /proc/stat's tick rate (USER_HZ).
const userHZ = 100

func kernelLabel(k string) string {
	if k == "" {
		return ""
	}
	return ", kernel cache " + k
}

// kernelRenewState is what xdp-stats-get says of kernel renewals.
type kernelRenewState struct {
	acked, entries, bytes uint64
}

// xdhcpd reports whether d is an xdhcpd (it answers xdp-stats-get).
func (d *daemon) xdhcpd() bool {
	v, err := d.command(`{"command":"xdp-stats-get"}`, 5*time.Second)
	return err == nil && result(v) == 0
}

// kernelRenew sums tx_renew and the renewal caches over d's interfaces.
func (d *daemon) kernelRenew() kernelRenewState {
	var k kernelRenewState
	v, err := d.command(`{"command":"xdp-stats-get"}`, 5*time.Second)
	if err != nil || result(v) != 0 {
		return k
	}
	args, _ := v["arguments"].(map[string]any)
	ifs, _ := args["interfaces"].([]any)
	for _, x := range ifs {
		m, _ := x.(map[string]any)
		c, _ := m["counters"].(map[string]any)
		k.acked += u64(c["bpf_tx_renew"])
		if rc, ok := m["renew-cache"].(map[string]any); ok {
			cc, _ := rc["counters"].(map[string]any)
			k.entries += u64(cc["entries"])
			k.bytes += u64(rc["entries-bytes-total"]) + u64(rc["profiles-bytes-total"])
		}
	}
	return k
}

func u64(v any) uint64 {
	f, _ := v.(float64)
	return uint64(f)
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// renewReport is the part of dhcpload -renewals -json the phase reads.
type renewReport struct {
	TotalSeconds float64      `json:"total_seconds"`
	RenewAck     dhcploadExch `json:"renew_ack"`
}

func parseRenewReport(out []byte) (renewReport, error) {
	var rep renewReport
	i := bytes.IndexByte(out, '{')
	if i < 0 {
		return rep, fmt.Errorf("dhcpload printed no JSON: %s", firstLines(out, 5))
	}
	if err := json.NewDecoder(bytes.NewReader(out[i:])).Decode(&rep); err != nil {
		return rep, fmt.Errorf("dhcpload JSON: %w", err)
	}
	return rep, nil
}

func perRenewal(bytes int64, acked uint64) float64 {
	if acked == 0 {
		return 0
	}
	return float64(bytes) / float64(acked)
}

func cacheLabel(cached bool, th float64) string {
	if !cached {
		return "no caching"
	}
	return "cache-threshold " + strconv.FormatFloat(th, 'f', -1, 64)
}

func rateLabel(rate int) string {
	if rate == 0 {
		return "max"
	}
	return strconv.Itoa(rate) + "/s"
}

// RenewTable is the renewal phase's table, Kea's rows beside xdhcpd's.
func RenewTable(servers []*Server) string {
	var ran []*Server
	for _, s := range servers {
		if s.Renewals != nil && len(s.Renewals.Rows) > 0 {
			ran = append(ran, s)
		}
	}
	if len(ran) == 0 {
		return ""
	}
	rows := [][]string{{"server", "lease caching", "kernel cache", "renewals/s offered", "acked/s", "loss", "acked by the kernel", "p50/p99 ms", "server CPU s", "CPU ms per 1,000 renewals", "host CPU ms per 1,000", "memfile bytes per renewal", "lease age at renewal s", "kernel cache entries / bytes"}}
	for _, s := range ran {
		for _, r := range s.Renewals.Rows {
			kc := r.Kernel
			if kc == "" {
				kc = "-"
			}
			if r.Err != "" {
				rows = append(rows, []string{s.Name, cacheLabel(r.Cached, s.Renewals.Threshold), kc, rateLabel(r.Offered), "ERROR " + firstOf(r.Err), "", "", "", "", "", "", "", "", ""})
				continue
			}
			kb := "-"
			if r.Kernel != "" {
				kb = fmt.Sprintf("%d / %d", r.KernelEntries, r.KernelBytes)
			}
			rows = append(rows, []string{s.Name, cacheLabel(r.Cached, s.Renewals.Threshold), kc, rateLabel(r.Offered),
				fmt.Sprintf("%.0f", r.PerSec), fmt.Sprintf("%.2f%%", 100*r.Loss), fmt.Sprint(r.KernelAcked), num(r.P50Ms) + "/" + num(r.P99Ms),
				fmt.Sprintf("%.3f", r.CPUSeconds), fmt.Sprintf("%.3f", 1000*r.Per1k), fmt.Sprintf("%.3f", 1000*r.HostPer1k),
				fmt.Sprintf("%.1f", perRenewal(r.FileBytes, r.Acked)), fmt.Sprintf("%.1f", r.AgeSeconds), kb})
		}
	}
	rn := ran[0].Renewals
	var sb strings.Builder
	fmt.Fprintf(&sb, "Renewals: %d clients take a lease (not measured), then renew it (REQUEST with ciaddr, relayed) for %d s; valid-lifetime %d s, calculate-tee-times, so T1 = %d s; cached rows: cache-threshold %s (a lease is reused while its age is at most %s x %d = %.0f s)\n",
		rn.Clients, rn.Seconds, rn.Valid, rn.T1, strconv.FormatFloat(rn.Threshold, 'f', -1, 64), strconv.FormatFloat(rn.Threshold, 'f', -1, 64), rn.Valid, rn.Threshold*float64(rn.Valid))
	if rn.Pinning != "" {
		fmt.Fprintf(&sb, "Pinned: %s.\n", rn.Pinning)
	}
	sb.WriteString(columns(rows))
	if rn.Threshold > 0.5 {
		sb.WriteString("A client renewing at T1 (age = half the lifetime) hits the cache at this threshold (it needs one above 0.5); ")
	} else {
		sb.WriteString("A client renewing at T1 (age = half the lifetime) does NOT hit the cache at this threshold (it needs one above 0.5); ")
	}
	sb.WriteString("here a lease is renewed at the age in its column, well inside the threshold. CPU is the server's utime+stime from the end of the warm-up to the end of the run, per 1,000 renewals acked; host CPU is the whole machine's busy time (user, system, irq, softirq: the XDP program's renewals are softirq time) including the load generator. Kernel cache on: xdhcpd's XDP program answers renewals the cache reuses (docs/kea/kernel-renew.md); bytes are its map keys and values.\n")
	return sb.String()
}
