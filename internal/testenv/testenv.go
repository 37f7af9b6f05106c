// Package testenv gates tests that need root, BPF or external programs, and
// builds throw-away network namespaces for them.
//
// A gated test skips, saying why, when the machine cannot run it. With
// XDHCP_REQUIRE_ROOT_TESTS=1 (set by .ci/run) every such skip is a failure
// instead, so CI cannot pass by skipping.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// Required reports whether gated tests must run (XDHCP_REQUIRE_ROOT_TESTS=1).
func Required() bool { return os.Getenv("XDHCP_REQUIRE_ROOT_TESTS") == "1" }

func skip(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatalf("XDHCP_REQUIRE_ROOT_TESTS=1 but this test cannot run: %s", why)
	}
	t.Skip(why)
}

// RequireRoot skips (or fails, see Required) unless running as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "needs root (network namespaces, XDP, raw sockets)")
	}
}

// RequireBPF skips unless root and the bpf syscall is usable.
func RequireBPF(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		skip(t, "needs a kernel with BTF (/sys/kernel/btf/vmlinux): "+err.Error())
	}
}

// RequireCommand skips unless every named program is on PATH and returns
// their paths in order. scripts/deps.sh installs them.
func RequireCommand(t testing.TB, names ...string) []string {
	t.Helper()
	paths := make([]string, len(names))
	for i, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			skip(t, fmt.Sprintf("needs %s on PATH (run scripts/deps.sh)", n))
		}
		paths[i] = p
	}
	return paths
}

// Short skips the test in -short mode (never a failure: -short is a choice).
func Short(t testing.TB, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: " + why)
	}
}

// Name returns a short random name with the given prefix, fit for a netns
// or an interface (at most 15 bytes when prefix is at most 7).
func Name(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Netns is a named network namespace created for one test.
type Netns struct {
	Name   string
	Handle netns.NsHandle
}

// NewNetns creates a named namespace (visible to `ip netns exec`) with
// loopback up, and removes it when the test ends, pass or fail.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	RequireRoot(t)
	name := Name("xdt-")
	Run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open netns %s: %v", name, err)
	}
	t.Cleanup(func() { h.Close() })
	n := &Netns{Name: name, Handle: h}
	n.Run(t, "ip", "link", "set", "lo", "up")
	return n
}

// Run runs a command in the namespace and fails the test on error.
func (n *Netns) Run(t testing.TB, args ...string) string {
	t.Helper()
	return Run(t, append([]string{"ip", "netns", "exec", n.Name}, args...)...)
}

// Command returns an exec.Cmd that runs inside the namespace.
func (n *Netns) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Do runs fn on an OS thread switched into the namespace. Sockets opened in
// fn stay in the namespace after it returns.
func (n *Netns) Do(fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return fmt.Errorf("get current netns: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(n.Handle); err != nil {
		return fmt.Errorf("enter netns %s: %w", n.Name, err)
	}
	defer func() { _ = netns.Set(orig) }()
	return fn()
}

// Veth connects two namespaces with a veth pair. aName lives in a with
// address aCIDR, bName in b with bCIDR (CIDR strings such as
// "198.18.0.1/24"; empty for none). Both ends are up. Extra link options
// (e.g. "numrxqueues", "2") are passed to `ip link add`.
func Veth(t testing.TB, a *Netns, aName, aCIDR string, b *Netns, bName, bCIDR string, extra ...string) {
	t.Helper()
	args := []string{"ip", "link", "add", aName, "netns", a.Name}
	args = append(args, extra...)
	args = append(args, "type", "veth", "peer", "name", bName, "netns", b.Name)
	args = append(args, extra...)
	Run(t, args...)
	for _, e := range []struct {
		ns         *Netns
		name, cidr string
	}{{a, aName, aCIDR}, {b, bName, bCIDR}} {
		if e.cidr != "" {
			e.ns.Run(t, "ip", "addr", "add", e.cidr, "dev", e.name)
		}
		e.ns.Run(t, "ip", "link", "set", e.name, "up")
	}
}

// Run runs a command and fails the test with its output on error.
func Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
