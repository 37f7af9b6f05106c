package lease

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

const crashEnv = "XDHCP_LEASE_CRASH_CHILD"

// TestCrashChild is the child half of TestCrashRecovery: it adds leases and
// kills itself with SIGKILL without closing anything. It does nothing when
// run normally.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("child process of TestCrashRecovery only")
	}
	n, _ := strconv.Atoi(os.Getenv(crashEnv + "_N"))
	s, _, err := Open(Options{Path: path, Persist: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := range n {
		if err := s.Add(mk(fmt.Sprintf("10.0.%d.%d", i/256, i%256), "02:00:00:00:00:01", 1, int64(i), 600)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

func TestCrashRecovery(t *testing.T) {
	const n = 1000
	p := tempPath(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+p, crashEnv+"_N="+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v\n%s", err, out)
	}
	s, rep := openT(t, Options{Path: p, Persist: true})
	if s.Count() != n || rep.RowErrors != 0 {
		t.Fatalf("after crash: %d leases, report %+v; want %d", s.Count(), rep, n)
	}
	for i := range n {
		l := mk(fmt.Sprintf("10.0.%d.%d", i/256, i%256), "02:00:00:00:00:01", 1, int64(i), 600)
		if got, ok := s.Get(l.Addr); !ok || got.CLTT != l.CLTT {
			t.Fatalf("lease %v lost or wrong: %+v", l.Addr, got)
		}
	}
}
