package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Sandbox is a private mount namespace in which /etc, /usr, /var and
// /run are overlays over the host's, with their upper layers on a tmpfs
// that exists only in the namespace: packages installed there (dpkg -i,
// their maintainer scripts, users they add) never reach the host, and
// vanish with the namespace. /tmp and the rest stay the host's. The
// network namespaces that exist when it is made (/run/netns) are visible
// inside.
type Sandbox struct {
	cmd *exec.Cmd
	pid int
}

const sandboxScript = `set -e
mount -t tmpfs -o mode=0700 tmpfs "$SANDBOX"
if [ -d /run/netns ]; then mkdir "$SANDBOX/netns"; mount --rbind /run/netns "$SANDBOX/netns"; fi
for p in etc usr var run; do
	mkdir "$SANDBOX/$p.upper" "$SANDBOX/$p.work"
	mount -t overlay overlay -o "lowerdir=/$p,upperdir=$SANDBOX/$p.upper,workdir=$SANDBOX/$p.work" "/$p"
done
if [ -d "$SANDBOX/netns" ]; then mount --rbind "$SANDBOX/netns" /run/netns; fi
echo ready
exec sleep infinity
`

// NewSandbox makes a sandbox; it is torn down when the test ends (after
// the test's later cleanups, which should stop what runs inside).
func NewSandbox(t testing.TB) *Sandbox {
	t.Helper()
	RequireRoot(t)
	RequireCommand(t, "unshare", "nsenter", "sleep")
	dir, err := os.MkdirTemp("", "xdhcp-sandbox-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", sandboxScript)
	cmd.Env = append(os.Environ(), "SANDBOX="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Sandbox{cmd: cmd, pid: cmd.Process.Pid}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line) == "ready"
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("sandbox set-up failed (its error is above)")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("sandbox set-up did not finish within 20 s")
	}
	return s
}

// Command runs name inside the sandbox's mount namespace.
func (s *Sandbox) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--mount=/proc/" + strconv.Itoa(s.pid) + "/ns/mnt", "--", name}, args...)...)
}

// Run runs a command inside and fails the test with its output on error.
func (s *Sandbox) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := s.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("sandbox: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Path is where the test process reaches the sandbox's path p.
func (s *Sandbox) Path(p string) string {
	return filepath.Join("/proc", strconv.Itoa(s.pid), "root", p)
}
