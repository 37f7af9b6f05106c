package lease

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecondOpenFails: a second Store on the same lease file is refused
// with ErrLocked naming the holder's pid (flock locks belong to the open
// file description, so this holds within one process too); after Close the
// file can be opened again.
func TestSecondOpenFails(t *testing.T) {
	p := tempPath(t)
	s, _ := openT(t, Options{Path: p, Persist: true})
	if err := s.Add(mk("192.0.2.1", "02:00:00:00:00:01", 1, 100, 600)); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(readFile(t, p+LockSuffix)); got != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file holds %q, want our pid %d", got, os.Getpid())
	}
	_, _, err := Open(Options{Path: p, Persist: true})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(msg, p+LockSuffix) {
		t.Fatalf("error %q does not name the lock file and holder pid %d", msg, os.Getpid())
	}
	// The refused Open touched nothing: the first store still appends.
	if err := s.Add(mk("192.0.2.2", "02:00:00:00:00:02", 1, 100, 600)); err != nil {
		t.Fatal(err)
	}
	// The lock survives an LFC (the lease file itself is renamed).
	if err := s.RunLFC(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(Options{Path: p, Persist: true}); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open after LFC: %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p+LockSuffix); got != "" {
		t.Fatalf("lock file after Close holds %q, want empty", got)
	}
	s2, rep := openT(t, Options{Path: p, Persist: true})
	if rep.Leases != 2 || s2.Count() != 2 {
		t.Fatalf("reopen: %+v", rep)
	}
}

// TestMemoryStoreTakesNoLock: persist=false writes no lock file and two
// memory stores coexist.
func TestMemoryStoreTakesNoLock(t *testing.T) {
	p := tempPath(t)
	openT(t, Options{Path: p, Persist: false})
	openT(t, Options{Path: p, Persist: false})
	if _, err := os.Stat(p + LockSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("persist=false created %s: %v", p+LockSuffix, err)
	}
}

const lockEnv = "XDHCP_LEASE_LOCK_CHILD"

// TestLockHolderChild is the child half of TestKilledHolderLeavesNoObstacle:
// it opens the store, says so on stdout and waits (at most 60 s) to be
// killed. It does nothing when run normally.
func TestLockHolderChild(t *testing.T) {
	path := os.Getenv(lockEnv)
	if path == "" {
		t.Skip("child process of TestKilledHolderLeavesNoObstacle only")
	}
	if _, _, err := Open(Options{Path: path, Persist: true}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("locked")
	time.Sleep(60 * time.Second)
	os.Exit(3) // never killed: the parent reports it
}

// TestKilledHolderLeavesNoObstacle: while another process holds the lease
// file, Open fails naming that process's pid; once it is killed with
// SIGKILL (no cleanup, a stale pid left in the lock file) Open succeeds.
func TestKilledHolderLeavesNoObstacle(t *testing.T) {
	p := tempPath(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHolderChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockEnv+"="+p)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "locked" {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("child exited before locking")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child did not lock within 30 s")
	}
	child := strconv.Itoa(cmd.Process.Pid)
	_, _, err = Open(Options{Path: p, Persist: true})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid "+child) {
		t.Fatalf("Open while child %s holds the lock: %v", child, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	waited = true
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", werr)
	}
	if got := strings.TrimSpace(readFile(t, p+LockSuffix)); got != child {
		t.Fatalf("lock file holds %q, want the dead child's pid %s", got, child)
	}
	openT(t, Options{Path: p, Persist: true})
	if got := strings.TrimSpace(readFile(t, p+LockSuffix)); got != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file holds %q after takeover, want our pid %d", got, os.Getpid())
	}
}
