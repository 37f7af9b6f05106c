// Command leaseload measures how fast and how compactly xdhcp loads a Kea 2.2
// memfile, and compares the load time and RSS with a real kea-dhcp4 loading
// the same file.
//
//	go run ./cmd/leaseload -n 1000000 [-json out.json]
//
// It writes a synthetic lease file with N distinct leases (addresses in
// 10.0.0.0/8; they are data only, nothing is sent on the network), then:
//
//   - xdhcp: after runtime.GC(), times lease.Open in this process and reports
//     HeapInuse (after another GC) and VmRSS, each minus the pre-load value,
//     per lease;
//   - Kea: starts kea-dhcp4 with no interfaces, memfile persist=true,
//     lfc-interval=0 and a unix control socket, on a copy of the file, and
//     times exec → first successful status-get reply (Kea only serves the
//     socket once the configuration, lease loading included, is committed).
//     The same is done with an empty lease file; the difference is Kea's load
//     time. Kea's VmRSS after loading (minus the empty-file VmRSS) per lease
//     is reported too.
//
// -json FILE also writes the measurements as JSON (Report; make bench reads
// it for its targets table). Everything is written under a temporary
// directory that is removed at exit.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

func main() {
	n := flag.Int("n", 1_000_000, "number of distinct leases in the file")
	runs := flag.Int("runs", 3, "timed loads per server (median reported; memory from the first)")
	keaBin := flag.String("kea", "kea-dhcp4", "kea-dhcp4 binary (empty: skip Kea)")
	cpuprof := flag.String("cpuprofile", "", "write a CPU profile of our loads to this file")
	memprof := flag.String("memprofile", "", "write an allocation profile after our first load to this file")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	jsonOut := flag.String("json", "", "also write the measurements to this file as JSON")
	flag.Parse()
	if *n < 1 || *runs < 1 {
		check(fmt.Errorf("-n and -runs must be positive"))
	}

	dir, err := os.MkdirTemp("", "leaseload-")
	check(err)
	if !*keep {
		defer os.RemoveAll(dir)
	} else {
		fmt.Fprintln(os.Stderr, "temp dir:", dir)
	}

	src := filepath.Join(dir, "leases.csv")
	size, err := writeLeaseFile(src, *n)
	check(err)
	fmt.Printf("lease file: %d leases, %d rows, %.1f MiB\n", *n, *n, float64(size)/(1<<20))

	ours, err := measureOurs(dir, src, *n, *runs, *cpuprof, *memprof)
	check(err)

	var kea keaResult
	keaSkip := "skipped (-kea '')"
	if *keaBin != "" {
		kea, err = measureKea(dir, *keaBin, src, *n, *runs)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kea:", err)
			keaSkip = firstLine(err.Error())
		}
	}
	printTable(*n, ours, kea)
	if *jsonOut != "" {
		check(writeReport(*jsonOut, makeReport(*n, *runs, ours, kea, keaSkip)))
	}
}

// Report is -json's content. The Kea fields are null when Kea was skipped
// (-kea ”) or failed (KeaError says why).
type Report struct {
	N    int `json:"n"`
	Runs int `json:"runs"`
	// xdhcp: lease.Open's median wall time over the runs, and each run.
	LoadMs     float64   `json:"xdhcp_load_ms"`
	LoadRunsMs []float64 `json:"xdhcp_load_runs_ms"`
	// Memory after the first load, each less the pre-load value, per lease:
	// Go heap in use, VmRSS, and VmRSS after debug.FreeOSMemory.
	HeapPerLease     float64   `json:"xdhcp_heap_bytes_per_lease"`
	RSSPerLease      float64   `json:"xdhcp_rss_bytes_per_lease"`
	RSSPerLeaseFreed float64   `json:"xdhcp_rss_bytes_per_lease_after_free"`
	GoVersion        string    `json:"go_version"`
	GOMAXPROCS       int       `json:"gomaxprocs"`
	KeaLoadMs        *float64  `json:"kea_load_ms"` // median(start with file) - median(start with no file)
	KeaFullRunsMs    []float64 `json:"kea_start_with_file_runs_ms"`
	KeaEmptyRunsMs   []float64 `json:"kea_start_empty_runs_ms"`
	KeaRSSPerLease   *float64  `json:"kea_rss_bytes_per_lease"`
	KeaOverXdhcpLoad *float64  `json:"kea_over_xdhcp_load"` // Kea's load time / xdhcp's
	KeaError         string    `json:"kea_error,omitempty"` // why the Kea fields are null
}

// firstLine is s's first line, at most 200 bytes.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func msOf(d time.Duration) float64 { return float64(d) / 1e6 }

func msList(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = msOf(d)
	}
	return out
}

func makeReport(n, runs int, o ourResult, k keaResult, keaSkip string) Report {
	r := Report{N: n, Runs: runs, LoadMs: msOf(o.load), LoadRunsMs: msList(o.loads),
		HeapPerLease: o.heapPerLease, RSSPerLease: o.rssPerLease, RSSPerLeaseFreed: o.rssFreed,
		GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	if !k.ok {
		r.KeaError = keaSkip
		return r
	}
	load, rss := msOf(k.load), k.rssPerLease
	r.KeaLoadMs, r.KeaRSSPerLease = &load, &rss
	r.KeaFullRunsMs, r.KeaEmptyRunsMs = msList(k.full), msList(k.empty)
	if o.load > 0 {
		x := float64(k.load) / float64(o.load)
		r.KeaOverXdhcpLoad = &x
	}
	return r
}

func writeReport(path string, r Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "leaseload:", err)
		os.Exit(1)
	}
}

// writeLeaseFile writes a Kea 2.2 lease4 memfile with n distinct leases:
// dense pools .10–.250 of consecutive /24s in 10.0.0.0/8, a unique MAC per
// lease, a client-id (01 + MAC) on every second lease, a hostname on every
// third, 0.1% declined (no identifiers), 1% with a user context, lifetimes
// 1 h–1 d expiring in the future.
func writeLeaseFile(path string, n int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, lease.Header)
	now := time.Now().Unix()
	const perNet = 241 // .10 – .250
	var buf []byte
	for i := range n {
		net24, host := i/perNet, 10+i%perNet
		if net24 >= 1<<16 {
			return 0, fmt.Errorf("too many leases for 10.0.0.0/8 pools: %d", n)
		}
		l := &lease.Lease{
			SubnetID:      1,
			ValidLifetime: uint32(3600 * (1 + i%24)),
		}
		l.Addr = netip.AddrFrom4([4]byte{10, byte(net24 >> 8), byte(net24), byte(host)})
		l.CLTT = now - int64(i%3600)
		h := uint32(i) * 2654435761
		mac := []byte{0x02, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), byte(h >> 24)}
		switch {
		case i%1000 == 999: // declined: no identifiers, no hostname
			l.State = lease.StateDeclined
			l.ValidLifetime = 86400
		default:
			l.HWAddr = mac
			if i%2 == 0 {
				l.ClientID = append([]byte{1}, mac...)
			}
			if i%3 == 0 {
				l.Hostname = "host-" + strconv.Itoa(i) + ".example.org"
				l.FqdnFwd, l.FqdnRev = true, true
			}
			if i%100 == 7 {
				l.UserContext = `{ "comment": "lease ` + strconv.Itoa(i) + `" }`
			}
		}
		buf = lease.AppendRow(buf[:0], l)
		if _, err := w.Write(buf); err != nil {
			return 0, err
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), f.Close()
}

type ourResult struct {
	load         time.Duration // median
	loads        []time.Duration
	heapPerLease float64
	rssPerLease  float64
	rssFreed     float64 // RSS/lease after debug.FreeOSMemory
	leases       int
}

func measureOurs(dir, src string, n, runs int, cpuprof, memprof string) (ourResult, error) {
	var r ourResult
	if cpuprof != "" {
		f, err := os.Create(cpuprof)
		if err != nil {
			return r, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return r, err
		}
		defer pprof.StopCPUProfile()
	}
	if memprof != "" {
		runtime.MemProfileRate = 64 << 10
	}
	for i := range runs {
		path := filepath.Join(dir, "ours", strconv.Itoa(i), "kea-leases4.csv")
		if err := copyFile(src, path); err != nil {
			return r, err
		}
		debug.FreeOSMemory()
		var ms0 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		rss0 := vmRSS(os.Getpid())

		t0 := time.Now()
		s, rep, err := lease.Open(lease.Options{Path: path, Persist: true})
		d := time.Since(t0)
		if err != nil {
			return r, err
		}
		r.loads = append(r.loads, d)
		if rep.Leases != n || rep.RowErrors != 0 {
			return r, fmt.Errorf("loaded %d leases with %d row errors, want %d", rep.Leases, rep.RowErrors, n)
		}
		r.leases = rep.Leases
		if i == 0 {
			runtime.GC()
			var ms1 runtime.MemStats
			runtime.ReadMemStats(&ms1)
			rss1 := vmRSS(os.Getpid())
			debug.FreeOSMemory()
			rss2 := vmRSS(os.Getpid())
			r.heapPerLease = float64(int64(ms1.HeapInuse)-int64(ms0.HeapInuse)) / float64(n)
			r.rssPerLease = float64(rss1-rss0) / float64(n)
			r.rssFreed = float64(rss2-rss0) / float64(n)
			if memprof != "" {
				f, err := os.Create(memprof)
				if err != nil {
					return r, err
				}
				if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
					return r, err
				}
				f.Close()
			}
		}
		runtime.KeepAlive(s)
		if err := s.Close(); err != nil {
			return r, err
		}
		s = nil
		os.RemoveAll(filepath.Dir(path))
	}
	r.load = median(r.loads)
	return r, nil
}

type keaResult struct {
	ok          bool
	load        time.Duration // median(full) - median(empty)
	full, empty []time.Duration
	rssPerLease float64
	rssFull     int64
	rssEmpty    int64
}

func measureKea(dir, bin, src string, n, runs int) (keaResult, error) {
	var r keaResult
	if _, err := exec.LookPath(bin); err != nil {
		return r, err
	}
	for i := range runs {
		d, rss, err := runKea(filepath.Join(dir, "kea-empty-"+strconv.Itoa(i)), bin, "", n)
		if err != nil {
			return r, fmt.Errorf("empty file: %w", err)
		}
		r.empty = append(r.empty, d)
		if i == 0 {
			r.rssEmpty = rss
		}
	}
	for i := range runs {
		d, rss, err := runKea(filepath.Join(dir, "kea-full-"+strconv.Itoa(i)), bin, src, n)
		if err != nil {
			return r, fmt.Errorf("full file: %w", err)
		}
		r.full = append(r.full, d)
		if i == 0 {
			r.rssFull = rss
		}
	}
	r.ok = true
	r.load = median(r.full) - median(r.empty)
	r.rssPerLease = float64(r.rssFull-r.rssEmpty) / float64(n)
	return r, nil
}

// runKea starts kea-dhcp4 on a copy of src (or an absent lease file when src
// is ""), waits for status-get to answer, checks the lease count through the
// statistics, and returns the start-up time and VmRSS.
func runKea(dir, bin, src string, n int) (time.Duration, int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	leaseFile := filepath.Join(dir, "kea-leases4.csv")
	if src != "" {
		if err := copyFile(src, leaseFile); err != nil {
			return 0, 0, err
		}
	}
	sock := filepath.Join(dir, "ctrl.sock")
	cfg := fmt.Sprintf(`{"Dhcp4": {
  "interfaces-config": {"interfaces": []},
  "control-socket": {"socket-type": "unix", "socket-name": %q},
  "lease-database": {"type": "memfile", "name": %q, "persist": true, "lfc-interval": 0},
  "valid-lifetime": 3600,
  "subnet4": [{"id": 1, "subnet": "10.0.0.0/8"}],
  "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stderr"}], "severity": "WARN"}]
}}`, sock, leaseFile)
	cfgPath := filepath.Join(dir, "kea-dhcp4.json")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return 0, 0, err
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "-c", cfgPath)
	cmd.Env = append(os.Environ(), "KEA_PIDFILE_DIR="+dir, "KEA_LOCKFILE_DIR="+dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	// Both servers read a file that was just written (page cache).
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	var d time.Duration
	for {
		if r, err := keaSend(sock, `{"command":"status-get"}`); err == nil && r["result"] == float64(0) {
			d = time.Since(t0)
			break
		}
		select {
		case err := <-done:
			done <- err
			return 0, 0, fmt.Errorf("kea-dhcp4 exited: %v\n%s", err, out.String())
		case <-time.After(2 * time.Millisecond):
		}
		if time.Since(t0) > 5*time.Minute {
			return 0, 0, fmt.Errorf("kea-dhcp4 not ready after 5 min:\n%s", out.String())
		}
	}
	rss := vmRSS(cmd.Process.Pid)
	if src != "" {
		r, err := keaSend(sock, `{"command":"statistic-get","arguments":{"name":"subnet[1].assigned-addresses"}}`)
		if err != nil {
			return 0, 0, err
		}
		got := statValue(r)
		// Declined leases are counted in declined-addresses as well as assigned.
		if got != int64(n) {
			return 0, 0, fmt.Errorf("kea reports %d assigned addresses in subnet 1, want %d: %v", got, n, r)
		}
	}
	return d, rss, nil
}

func statValue(r map[string]any) int64 {
	args, _ := r["arguments"].(map[string]any)
	for _, v := range args {
		samples, _ := v.([]any)
		if len(samples) == 0 {
			continue
		}
		s, _ := samples[0].([]any)
		if len(s) > 0 {
			if f, ok := s[0].(float64); ok {
				return int64(f)
			}
		}
	}
	return -1
}

func keaSend(sock, cmd string) (map[string]any, error) {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	if _, err := c.Write([]byte(cmd)); err != nil {
		return nil, err
	}
	var r map[string]any
	if err := json.NewDecoder(c).Decode(&r); err != nil {
		return nil, err
	}
	return r, nil
}

// vmRSS returns a process's VmRSS in bytes (-1 if unknown).
func vmRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/1e6) }

func printTable(n int, o ourResult, k keaResult) {
	fmt.Printf("\nleases: %d   GOMAXPROCS: %d   %s\n", n, runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("%-34s %s\n", "metric", "value")
	fmt.Printf("%-34s %s  (runs: %v)\n", "xdhcp load (lease.Open)", ms(o.load), o.loads)
	if k.ok {
		fmt.Printf("%-34s %s  (with file: %v, empty: %v)\n", "kea-dhcp4 load (start − empty)", ms(k.load), k.full, k.empty)
		fmt.Printf("%-34s %.1fx\n", "kea / xdhcp load time", float64(k.load)/float64(o.load))
	} else {
		fmt.Printf("%-34s %s\n", "kea-dhcp4 load", "n/a")
	}
	fmt.Printf("%-34s %.0f B\n", "xdhcp heap in use / lease", o.heapPerLease)
	fmt.Printf("%-34s %.0f B  (after FreeOSMemory: %.0f B)\n", "xdhcp RSS / lease", o.rssPerLease, o.rssFreed)
	if k.ok {
		fmt.Printf("%-34s %.0f B  (RSS %d MiB loaded, %d MiB empty)\n", "kea-dhcp4 RSS / lease", k.rssPerLease, k.rssFull>>20, k.rssEmpty>>20)
	}
}
