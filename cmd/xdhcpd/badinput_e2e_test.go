package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// startFails runs cmd, which must exit with status 1 within 20 s, and
// returns its stderr, which must be exactly one line starting "xdhcpd: "
// (no stack trace, no log noise).
func startFails(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("xdhcpd: %v, want exit status 1\nstderr:\n%s\nstdout:\n%s", err, stderr.Bytes(), tail(stdout.Bytes(), 2048))
	}
	line := strings.TrimSuffix(stderr.String(), "\n")
	if strings.Contains(line, "\n") || !strings.HasPrefix(line, "xdhcpd: ") || strings.Contains(line, "goroutine ") {
		t.Fatalf("stderr is not one xdhcpd line:\n%s", stderr.Bytes())
	}
	t.Logf("%s", line)
	return line
}

// wantAll fails unless s contains every one of subs.
func wantAll(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%q does not say %q", s, sub)
		}
	}
}

// withXDHCP rewrites an e2eConfig's user-context.xdhcp object.
func withXDHCP(t *testing.T, cfgPath, datapath, xdhcp string) {
	t.Helper()
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	old := `"user-context": { "xdhcp": { "datapath": "` + datapath + `" } }`
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %s", cfgPath, old)
	}
	b = bytes.Replace(b, []byte(old), []byte(`"user-context": { "xdhcp": `+xdhcp+` }`), 1)
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBadInputCapabilities: started by setpriv without the XDP
// capabilities (datapath "xdp") or without CAP_NET_BIND_SERVICE, xdhcpd
// exits 1 with one line naming the missing capability and how to grant it.
func TestBadInputCapabilities(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "setpriv")
	srvNS, cliNS := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srvNS, "xd0", "198.18.0.2/24", cliNS, "xc0", "198.18.0.1/24")

	t.Run("no CAP_BPF for datapath xdp", func(t *testing.T) {
		dir, bin := unprivilegedDir(t)
		cfg, _, _ := e2eConfig(dir, "xd0", "198.18.0.1", "xdp")
		line := startFails(t, srvNS.Command("setpriv", setprivArgs([]string{"net_raw", "net_bind_service"}, bin, "-c", cfg)...))
		wantAll(t, line, "CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN", "AmbientCapabilities=", `"udp"`)
		if strings.Contains(line, "CAP_NET_RAW") {
			t.Errorf("%q names CAP_NET_RAW, which the process has", line)
		}
	})
	t.Run("no CAP_NET_BIND_SERVICE", func(t *testing.T) {
		dir, bin := unprivilegedDir(t)
		cfg, _, _ := e2eConfig(dir, "xd0", "198.18.0.1", "udp")
		line := startFails(t, srvNS.Command("setpriv", setprivArgs([]string{"net_raw"}, bin, "-c", cfg)...))
		wantAll(t, line, "port 67", "CAP_NET_BIND_SERVICE", "AmbientCapabilities=CAP_NET_BIND_SERVICE")
	})
}

// TestBadInputNoBPFFS: a bpf-pin-path that is not on a bpf filesystem
// (here a plain directory) stops the start with one line saying so and
// how to mount bpffs there (bpf.CheckPinPath); nothing is created.
func TestBadInputNoBPFFS(t *testing.T) {
	testenv.RequireBPF(t)
	srvNS, cliNS := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srvNS, "xd0", "198.18.0.2/24", cliNS, "xc0", "198.18.0.1/24")
	dir := t.TempDir()
	cfg, _, _ := e2eConfig(dir, "xd0", "198.18.0.1", "xdp")
	pins := filepath.Join(dir, "pins", "xdhcp")
	withXDHCP(t, cfg, "xdp", `{ "datapath": "xdp", "bpf-pin-path": "`+pins+`" }`)
	line := startFails(t, srvNS.Command(xdhcpdBin, "-c", cfg))
	wantAll(t, line, "bpf-pin-path", pins, "not on a bpf filesystem", "mkdir -p "+pins+" && mount -t bpf bpf "+pins)
	if _, err := os.Stat(filepath.Join(dir, "pins")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("xdhcpd created %s/pins on a non-bpf filesystem: %v", dir, err)
	}

	// The packaged pin path on a host without bpffs at /sys/fs/bpf:
	// `ip netns exec` gives xdhcpd a fresh sysfs, with nothing mounted on it.
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, bytes.Replace(b, []byte(pins), []byte("/sys/fs/bpf/xdhcp"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	line = startFails(t, srvNS.Command(xdhcpdBin, "-c", cfg))
	wantAll(t, line, "/sys/fs/bpf/xdhcp", "not on a bpf filesystem", "sysfs", "`mount -t bpf bpf /sys/fs/bpf`")
}

// TestBadInputLeaseDir: a lease directory the user cannot write (owned by
// root, mode 0755) stops xdhcpd with one line naming the file, the user
// and the fix.
func TestBadInputLeaseDir(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "setpriv")
	dir, bin := unprivilegedDir(t)
	cfg, _, leases := e2eConfig(dir, "lo", "198.18.0.1", "udp")
	rootDir := filepath.Join(dir, "root-owned")
	if err := os.Mkdir(rootDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(rootDir, "leases4.csv")
	b = bytes.Replace(b, []byte(`"name": "`+leases+`"`), []byte(`"name": "`+bad+`"`), 1)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// -p 1067: the UDP path on loopback needs no CAP_NET_BIND_SERVICE; the
	// lease file is opened before it anyway.
	line := startFails(t, exec.Command("setpriv", setprivArgs(xdhcpdCaps, bin, "-c", cfg, "-p", "1067")...))
	wantAll(t, line, "lease-database "+bad, rootDir+" is not writable by uid 65534", "chown", "lease-database.name")
}
