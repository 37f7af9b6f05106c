package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// xdhcpdCaps is the capability set xdhcpd needs (README, "Running without
// root"), as
// setpriv spells it.
var xdhcpdCaps = []string{"bpf", "perfmon", "net_admin", "net_raw", "net_bind_service", "ipc_lock"}

// unprivileged is the uid and gid the test runs xdhcpd as (nobody).
const unprivileged = 65534

// setprivArgs runs argv as uid/gid 65534 with no supplementary groups and
// exactly caps: inheritable and ambient (so they survive the exec as
// permitted and effective), and the bounding set cut to them.
func setprivArgs(caps []string, argv ...string) []string {
	set := "-all"
	for _, c := range caps {
		set += ",+" + c
	}
	u := strconv.Itoa(unprivileged)
	return append([]string{"--reuid=" + u, "--regid=" + u, "--clear-groups", "--no-new-privs",
		"--inh-caps=" + set, "--ambient-caps=" + set, "--bounding-set=" + set}, argv...)
}

// unprivilegedDir is a directory the unprivileged user owns, holding a
// copy of xdhcpd it can execute (the test binary's is in a 0700 root
// directory). It is removed when the test ends.
func unprivilegedDir(t *testing.T) (dir, bin string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "xdhcpd-caps-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b, err := os.ReadFile(xdhcpdBin)
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "xdhcpd")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, bin} {
		if err := os.Chown(p, unprivileged, unprivileged); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, bin
}

// capMask is the capability bit mask of names (without the CAP_ prefix).
func capMask(t *testing.T, names []string) uint64 {
	t.Helper()
	bits := map[string]uint{"bpf": unix.CAP_BPF, "perfmon": unix.CAP_PERFMON, "net_admin": unix.CAP_NET_ADMIN,
		"net_raw": unix.CAP_NET_RAW, "net_bind_service": unix.CAP_NET_BIND_SERVICE, "ipc_lock": unix.CAP_IPC_LOCK}
	var m uint64
	for _, n := range names {
		b, ok := bits[n]
		if !ok {
			t.Fatalf("unknown capability %q", n)
		}
		m |= 1 << b
	}
	return m
}

// procStatus reads the Uid and CapEff lines of /proc/pid/status.
func procStatus(t *testing.T, pid int) (uid string, capEff uint64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 2 && f[0] == "Uid:":
			uid = f[1] // real uid
		case len(f) == 2 && f[0] == "CapEff:":
			if capEff, err = strconv.ParseUint(f[1], 16, 64); err != nil {
				t.Fatalf("CapEff %q: %v", f[1], err)
			}
		}
	}
	return uid, capEff
}

// TestUnprivilegedXDP: xdhcpd started by setpriv as nobody with exactly
// the documented capabilities attaches XDP (datapath "xdp": no fallback to
// UDP), serves perfdhcp through the AF_XDP redirect and writes its lease
// file; without CAP_PERFMON it refuses to start, naming it.
func TestUnprivilegedXDP(t *testing.T) {
	testenv.RequireBPF(t)
	testenv.RequireCommand(t, "setpriv", "perfdhcp", "ethtool")
	srvNS, cliNS := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srvNS, "xd0", "198.18.0.2/24", cliNS, "xc0", "198.18.0.1/24", "numrxqueues", "2", "numtxqueues", "2")
	cliNS.Run(t, "ethtool", "-K", "xc0", "tx", "off")

	t.Run("exact capability set", func(t *testing.T) {
		dir, bin := unprivilegedDir(t)
		cfg, sock, leases := e2eConfig(dir, "xd0", "198.18.0.1", "xdp")
		p := startUnprivileged(t, srvNS, cfg, sock, setprivArgs(xdhcpdCaps, bin, "-c", cfg))
		uid, eff := procStatus(t, p.cmd.Process.Pid)
		if uid != strconv.Itoa(unprivileged) || eff != capMask(t, xdhcpdCaps) {
			t.Fatalf("xdhcpd runs as uid %s with CapEff %#x; want %d and %#x", uid, eff, unprivileged, capMask(t, xdhcpdCaps))
		}
		mode, before := xdpCounters(t, sock)
		if mode != "xdp-native" && mode != "xdp-generic" {
			t.Fatalf("datapath %q, want an XDP mode", mode)
		}
		res := runPerfdhcp(t, cliNS, "-4", "-r", "100", "-p", "3", "-R", "1000", "-l", "xc0", "198.18.0.2")
		_, after := xdpCounters(t, sock)
		acks := statistic(t, sock, "pkt4-ack-sent")
		t.Logf("unprivileged %s: DISCOVER %d, ACK %d, redirected %d", mode, res.DiscoverSent, res.AckReceived,
			after["bpf_redirect_ours"]-before["bpf_redirect_ours"])
		if res.AckReceived == 0 || float64(res.AckReceived) < 0.99*float64(res.DiscoverSent) {
			t.Errorf("%d of %d exchanges completed", res.AckReceived, res.DiscoverSent)
		}
		if after["bpf_redirect_ours"] <= before["bpf_redirect_ours"] {
			t.Error("no request went through the AF_XDP redirect")
		}
		if err := p.stop(t); err != nil {
			t.Errorf("xdhcpd exit: %v", err)
		}
		checkLeaseFile(t, leases, acks)
		if fi, err := os.Stat(leases); err != nil || fi.Sys().(*syscall.Stat_t).Uid != unprivileged {
			t.Errorf("lease file %s not written by the unprivileged user: %v", leases, err)
		}
	})

	t.Run("without CAP_PERFMON", func(t *testing.T) {
		dir, bin := unprivilegedDir(t)
		cfg, _, _ := e2eConfig(dir, "xd0", "198.18.0.1", "xdp")
		var caps []string
		for _, c := range xdhcpdCaps {
			if c != "perfmon" {
				caps = append(caps, c)
			}
		}
		cmd := srvNS.Command("setpriv", setprivArgs(caps, bin, "-c", cfg)...)
		timer := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
		defer timer.Stop()
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("xdhcpd without CAP_PERFMON: %v, want exit status 1\n%s", err, tail(out, 2048))
		}
		if !strings.Contains(string(out), "CAP_PERFMON") {
			t.Errorf("the error does not name CAP_PERFMON:\n%s", tail(out, 2048))
		}
	})
}

// startUnprivileged runs `setpriv args...` in ns and waits until the
// control socket answers status-get; the process is stopped when the test
// ends.
func startUnprivileged(t *testing.T, ns *testenv.Netns, cfgPath, sock string, args []string) *proc {
	t.Helper()
	return startCmd(t, ns.Command("setpriv", args...), cfgPath, sock)
}
