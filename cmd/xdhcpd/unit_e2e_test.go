package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/packaging"
)

// unitFile is a parsed systemd unit: every assignment of each key, in
// order (a key may repeat, as ReadWritePaths= does).
type unitFile map[string][]string

func parseUnit(t *testing.T, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == ';' || l[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("%s: not an assignment: %q", path, l)
		}
		u[k] = append(u[k], v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// one is the single value of key; the test fails if there is not exactly one.
func (u unitFile) one(t *testing.T, key string) string {
	t.Helper()
	if len(u[key]) != 1 {
		t.Fatalf("unit has %d %s= lines, want 1", len(u[key]), key)
	}
	return u[key][0]
}

// setprivCaps turns "CAP_BPF CAP_NET_RAW" into setpriv's "-all,+bpf,+net_raw".
func setprivCaps(unitCaps string) (string, []string) {
	set := "-all"
	var names []string
	for _, c := range strings.Fields(unitCaps) {
		n := strings.ToLower(strings.TrimPrefix(c, "CAP_"))
		names = append(names, n)
		set += ",+" + n
	}
	return set, names
}

// notifyListener is a fake NOTIFY_SOCKET: every datagram's lines.
type notifyListener struct {
	path   string
	msgs   chan string
	exited chan struct{} // closed when the service process exits
}

func newNotifyListener(t *testing.T) *notifyListener {
	t.Helper()
	dir, err := os.MkdirTemp("", "xdhcp-notify-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // the service user sends here
		t.Fatal(err)
	}
	path := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := os.Chmod(path, 0o777); err != nil {
		t.Fatal(err)
	}
	n := &notifyListener{path: path, msgs: make(chan string, 1024), exited: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, _, err := c.ReadFromUnix(buf)
			if err != nil {
				close(n.msgs)
				return
			}
			n.msgs <- string(buf[:k])
		}
	}()
	return n
}

// wait returns the first message (skipping others) that has line want.
func (n *notifyListener) wait(t *testing.T, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-n.msgs:
			if !ok {
				t.Fatalf("notify socket closed while waiting for %s", want)
			}
			for _, l := range strings.Split(m, "\n") {
				if l == want {
					return m
				}
			}
		case <-n.exited:
			// What it sent before exiting may still be queued.
			select {
			case m := <-n.msgs:
				if slices.Contains(strings.Split(m, "\n"), want) {
					return m
				}
				continue
			default:
			}
			t.Fatalf("the service exited while waiting for %s on NOTIFY_SOCKET", want)
		case <-deadline:
			t.Fatalf("no %s on NOTIFY_SOCKET within %v", want, timeout)
		}
	}
}

// TestPackagedUnit installs the xdhcpd package in a sandbox (throw-away
// overlays over the host's /etc, /usr, /var, /run), turns the shipped
// configuration into one that serves a test subnet on XDP, and runs the
// unit's ExecStartPre and ExecStart as systemd would: as its User= and
// Group=, with its AmbientCapabilities=, CapabilityBoundingSet=,
// LimitMEMLOCK= and NoNewPrivileges= (setpriv, prlimit), in a network
// namespace, with a fake NOTIFY_SOCKET and WATCHDOG_USEC. It checks the
// notify protocol (READY=1 once started, WATCHDOG=1 pings, RELOADING=1
// then READY=1 around SIGHUP, STOPPING=1), the process's uid and
// capabilities, and that perfdhcp gets leases through the AF_XDP path.
func TestPackagedUnit(t *testing.T) { runPackagedUnit(t, false) }

// TestPackagedUnitSyscalls runs the same scenario with xdhcpd under
// strace -f and checks that every system call it made is one the unit's
// SystemCallFilter= allows (systemd-analyze syscall-filter expands the
// groups): a call outside it would get EPERM under systemd
// (SystemCallErrorNumber=EPERM).
func TestPackagedUnitSyscalls(t *testing.T) { runPackagedUnit(t, true) }

// runPackagedUnit is TestPackagedUnit, with xdhcpd under strace when
// traced is set.
func runPackagedUnit(t *testing.T, traced bool) {
	testenv.RequireBPF(t)
	testenv.RequireCommand(t, "setpriv", "prlimit", "perfdhcp", "ethtool", "dpkg")
	if traced {
		testenv.RequireCommand(t, "strace", "systemd-analyze")
	}
	dir := t.TempDir()
	debs := testDebs(t)
	srvNS, cliNS := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srvNS, "xd0", "198.18.0.2/24", cliNS, "xc0", "198.18.0.1/24", "numrxqueues", "2", "numtxqueues", "2")
	cliNS.Run(t, "ethtool", "-K", "xc0", "tx", "off")
	sb := testenv.NewSandbox(t) // after the namespaces: it sees them
	sb.Run(t, "dpkg", "-i", debs["xdhcpd"])

	u := parseUnit(t, sb.Path("/lib/systemd/system/xdhcpd.service"))
	if got := u.one(t, "Type"); got != "notify" {
		t.Fatalf("Type=%s, want notify", got)
	}
	if w, err := time.ParseDuration(u.one(t, "WatchdogSec")); err != nil || w <= 0 {
		t.Fatalf("WatchdogSec=%s: want a watchdog", u.one(t, "WatchdogSec"))
	}
	if u.one(t, "NoNewPrivileges") != "yes" {
		t.Fatal("NoNewPrivileges is not yes")
	}
	user, group := u.one(t, "User"), u.one(t, "Group")
	amb, capNames := setprivCaps(u.one(t, "AmbientCapabilities"))
	bound, _ := setprivCaps(u.one(t, "CapabilityBoundingSet"))
	memlock := u.one(t, "LimitMEMLOCK")
	if memlock == "infinity" {
		memlock = "unlimited" // prlimit's word
	}
	for _, rw := range []string{"/var/lib/xdhcp", "/run/xdhcp", "-/sys/fs/bpf/xdhcp"} {
		if !strings.Contains(" "+strings.Join(u["ReadWritePaths"], " ")+" ", " "+rw+" ") {
			t.Errorf("ReadWritePaths= lacks %s", rw)
		}
	}
	for _, fam := range []string{"AF_XDP", "AF_NETLINK", "AF_UNIX", "AF_INET"} {
		if !strings.Contains(" "+u.one(t, "RestrictAddressFamilies")+" ", " "+fam+" ") {
			t.Errorf("RestrictAddressFamilies= lacks %s", fam)
		}
	}
	if len(u["SystemCallFilter"]) == 0 {
		t.Error("no SystemCallFilter=")
	}

	// The operator's edit: an interface, a subnet, and XDP required (no
	// quiet fallback to UDP).
	confPath := sb.Path("/etc/xdhcp/xdhcpd.conf")
	conf := string(mustReadFile(t, confPath))
	for old, repl := range map[string]string{
		`"interfaces": [ ]`: `"interfaces": [ "xd0" ]`,
		`"subnet4": [ ]`: `"subnet4": [ { "id": 1, "subnet": "198.19.0.0/16",
            "pools": [ { "pool": "198.19.0.10 - 198.19.255.250" } ],
            "relay": { "ip-addresses": [ "198.18.0.1" ] } } ]`,
		`"datapath": "auto"`: `"datapath": "xdp"`,
	} {
		if !strings.Contains(conf, old) {
			t.Fatalf("shipped configuration has no %s", old)
		}
		conf = strings.Replace(conf, old, repl, 1)
	}
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// systemd's RuntimeDirectory=xdhcp (StateDirectory= is there: postinst).
	sb.Run(t, "install", "-d", "-o", user, "-g", group, "-m", "0750", "/run/xdhcp")

	var pre []string
	for _, p := range u["ExecStartPre"] {
		pre = append(pre, strings.TrimLeft(p, "-+@:!")) // systemd's prefixes; "+": run as root, as here
	}
	// `ip netns exec` gives the command a fresh /sys without the bpffs
	// systemd mounts at boot: mount it first.
	limit := "prlimit --memlock=" + memlock + ":" + memlock + " "
	if _, eff := procStatus(t, os.Getpid()); eff&(1<<unix.CAP_SYS_RESOURCE) == 0 {
		// Raising a hard limit needs CAP_SYS_RESOURCE, which this
		// machine's root lacks (systemd, as PID 1, has it). The UMEM is
		// locked under CAP_IPC_LOCK either way.
		t.Logf("no CAP_SYS_RESOURCE here: LimitMEMLOCK=%s not applied, the memlock limit stays as it is", memlock)
		limit = ""
	}
	trace, traceOut := "", ""
	if traced {
		tdir, err := os.MkdirTemp("", "xdhcp-strace-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(tdir) })
		if err := os.Chmod(tdir, 0o777); err != nil { // strace runs as the service user
			t.Fatal(err)
		}
		traceOut = filepath.Join(tdir, "summary")
		trace = "strace -f -qq -c -o " + traceOut + " "
	}
	script := "set -e\nmount -t bpf bpf /sys/fs/bpf\n" + strings.Join(pre, "\n") + "\n" +
		"exec " + limit + "setpriv --reuid=" + user + " --regid=" + group +
		" --init-groups --no-new-privs --inh-caps=" + amb + " --ambient-caps=" + amb + " --bounding-set=" + bound + " " +
		trace + u.one(t, "ExecStart")
	ntf := newNotifyListener(t)
	cmd := sb.Command("ip", "netns", "exec", srvNS.Name, "sh", "-c", script)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+ntf.path, "WATCHDOG_USEC=1000000")
	logPath := filepath.Join(dir, "xdhcpd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); close(ntf.exited) }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("xdhcpd log (last 4 KiB):\n%s", tail(b, 4096))
		}
	})

	t.Logf("ExecStart as the unit would run it:\n%s", script)
	ready := ntf.wait(t, "READY=1", 30*time.Second)
	t.Logf("notify: %q", ready)
	pid := cmd.Process.Pid // nsenter, ip netns exec, sh, prlimit and setpriv exec in turn
	if traced {
		pid = childOf(t, pid) // strace's tracee
	}
	if exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); exe != "/usr/sbin/xdhcpd" {
		t.Fatalf("process %d is %q, want /usr/sbin/xdhcpd", pid, exe)
	}
	uid, eff := procStatus(t, pid)
	wantUID := strings.TrimSpace(sb.Run(t, "id", "-u", user))
	if uid != wantUID || eff != capMask(t, capNames) {
		t.Fatalf("xdhcpd runs as uid %s with CapEff %#x; want %s (%s) and %#x", uid, eff, wantUID, user, capMask(t, capNames))
	}
	ntf.wait(t, "WATCHDOG=1", 5*time.Second)

	sock := filepath.Join("/proc", strconv.Itoa(pid), "root", "run/xdhcp/xdhcp4-ctrl-socket")
	mode, before := xdpCounters(t, sock)
	if mode != "xdp-native" && mode != "xdp-generic" {
		t.Fatalf("datapath %q, want an XDP mode", mode)
	}
	res := runPerfdhcp(t, cliNS, "-4", "-r", "100", "-p", "3", "-R", "1000", "-l", "xc0", "198.18.0.2")
	_, after := xdpCounters(t, sock)
	acks := statistic(t, sock, "pkt4-ack-sent")
	t.Logf("packaged unit, %s: DISCOVER %d, ACK %d, redirected %d, server ACKs %d", mode, res.DiscoverSent,
		res.AckReceived, after["bpf_redirect_ours"]-before["bpf_redirect_ours"], acks)
	if res.AckReceived == 0 || float64(res.AckReceived) < 0.99*float64(res.DiscoverSent) {
		t.Errorf("%d of %d exchanges completed", res.AckReceived, res.DiscoverSent)
	}
	if after["bpf_redirect_ours"] <= before["bpf_redirect_ours"] {
		t.Error("no request went through the AF_XDP redirect")
	}
	// The watchdog is still fed after the load (the queues kept turning).
	ntf.wait(t, "WATCHDOG=1", 5*time.Second)

	// systemctl reload: ExecReload sends SIGHUP.
	if !strings.Contains(u.one(t, "ExecReload"), "-HUP") {
		t.Errorf("ExecReload=%s does not send SIGHUP", u.one(t, "ExecReload"))
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ntf.wait(t, "RELOADING=1", 10*time.Second)
	ntf.wait(t, "READY=1", 10*time.Second)

	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ntf.wait(t, "STOPPING=1", 10*time.Second) // sent before the process exits
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("xdhcpd exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("xdhcpd did not stop within 15 s of SIGTERM")
	}
	if traced {
		checkSyscalls(t, traceOut, u["SystemCallFilter"])
	}
	leases := sb.Path("/var/lib/xdhcp/xdhcp-leases4.csv")
	checkLeaseFile(t, leases, acks)
	if fi, err := os.Stat(leases); err != nil || strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)) != wantUID {
		t.Errorf("lease file not written by %s: %v", user, err)
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	debsOnce sync.Once
	debsDir  string
	debsPkgs packaging.Packages
	debsErr  error
)

// testDebs builds the Debian packages once per test binary (removed by
// TestMain's temporary directory).
func testDebs(t *testing.T) packaging.Packages {
	t.Helper()
	debsOnce.Do(func() {
		debsDir = filepath.Join(filepath.Dir(xdhcpdBin), "debs")
		debsPkgs, debsErr = packaging.Build(packaging.Options{Root: "../..", Out: debsDir, Version: "0.0~test1-1"})
	})
	if debsErr != nil {
		t.Fatal(debsErr)
	}
	return debsPkgs
}

// childOf is pid's only child.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", strconv.Itoa(pid), "children"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		t.Fatalf("process %d has children %q, want one", pid, f)
	}
	c, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// allowedSyscalls evaluates SystemCallFilter= lines as systemd does: the
// first line is an allow list, later lines add to it or, with "~", take
// away from it; groups are expanded with systemd-analyze syscall-filter.
func allowedSyscalls(t *testing.T, filters []string) map[string]bool {
	t.Helper()
	out, err := exec.Command("systemd-analyze", "syscall-filter").Output()
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter: %v", err)
	}
	groups := map[string][]string{}
	var cur string
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "@"):
			cur = strings.TrimSpace(l)
		case strings.HasPrefix(strings.TrimSpace(l), "#"), strings.TrimSpace(l) == "":
		case cur != "":
			groups[cur] = append(groups[cur], strings.TrimSpace(l))
		}
	}
	allowed := map[string]bool{}
	var set func(name string, allow bool)
	set = func(name string, allow bool) {
		if !strings.HasPrefix(name, "@") {
			allowed[name] = allow
			return
		}
		members, ok := groups[name]
		if !ok {
			t.Fatalf("SystemCallFilter= names %s, which systemd-analyze does not know", name)
		}
		for _, m := range members {
			set(m, allow)
		}
	}
	for i, line := range filters {
		deny := strings.HasPrefix(line, "~")
		if i == 0 && deny {
			t.Fatalf("SystemCallFilter=%s: this check handles a first line that allows only", line)
		}
		for _, f := range strings.Fields(strings.TrimPrefix(line, "~")) {
			set(f, !deny)
		}
	}
	return allowed
}

// TestAllowedSyscalls: the evaluation the syscall check relies on. bpf
// is in @privileged: taking that group away and adding bpf back is the
// unit's pattern.
func TestAllowedSyscalls(t *testing.T) {
	testenv.RequireCommand(t, "systemd-analyze")
	a := allowedSyscalls(t, []string{"@system-service", "~@privileged @resources @debug"})
	if a["bpf"] || a["chown"] || a["perf_event_open"] || !a["read"] || !a["epoll_pwait"] {
		t.Fatalf("@system-service ~@privileged: bpf %v chown %v perf_event_open %v read %v epoll_pwait %v",
			a["bpf"], a["chown"], a["perf_event_open"], a["read"], a["epoll_pwait"])
	}
	a = allowedSyscalls(t, []string{"@system-service", "~@privileged @resources @debug", "bpf"})
	if !a["bpf"] || a["chown"] {
		t.Fatalf("bpf added back: bpf %v chown %v", a["bpf"], a["chown"])
	}
}

// checkSyscalls compares the system calls in an strace -c summary with
// what the unit's SystemCallFilter= lines admit.
// syscallName is what a system call's name in strace's table looks like.
var syscallName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func checkSyscalls(t *testing.T, summary string, filters []string) {
	t.Helper()
	allowed := allowedSyscalls(t, filters)
	filter := strings.Join(filters, " | ")
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatalf("strace summary: %v", err)
	}
	var used, denied []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || strings.HasPrefix(f[0], "%") || strings.HasPrefix(f[0], "-") || f[len(f)-1] == "total" {
			continue
		}
		name := f[len(f)-1]
		if !syscallName.MatchString(name) {
			// Not a row of strace's table (a stray line strace -f
			// interleaves, such as a resumed call's "...>").
			t.Logf("strace summary: skipping %q", l)
			continue
		}
		used = append(used, name)
		if !allowed[name] {
			denied = append(denied, name)
		}
	}
	t.Logf("xdhcpd made %d distinct system calls: %s", len(used), strings.Join(used, " "))
	if len(used) < 10 || !slices.Contains(used, "bpf") {
		t.Fatalf("strace summary looks wrong (no bpf among %d calls):\n%s", len(used), b)
	}
	if len(denied) > 0 {
		t.Errorf("SystemCallFilter=%s would refuse (EPERM) these calls xdhcpd makes: %s", filter, strings.Join(denied, " "))
	}
}
