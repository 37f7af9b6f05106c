//go:build linux

package bpf

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// TestPinReplacesStaleLayout: pins left by a version whose maps had
// another layout (the counters as an array of u64 indexed by the enum,
// the buckets as u8) are replaced at Load instead of failing it, and a
// pin whose layout still matches keeps its contents.
func TestPinReplacesStaleLayout(t *testing.T) {
	testenv.RequireBPF(t)
	root := filepath.Join(mountBPFFS(t), "xdhcp")
	d, err := Load(Options{PinPath: root})
	if err != nil {
		t.Fatalf("load pinned: %v", err)
	}
	if err := d.SetConfig(Config{MAC: [6]byte{2, 0, 0, 0, 0, 7}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// The old layout, as the previous xdhcp.h made it.
	for _, old := range []*ebpf.MapSpec{
		{Name: "xdhcp_stats", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: uint32(xdhcpXdhcpStatXDHCP_STAT_MAX)},
		{Name: "xdhcp_buckets", Type: ebpf.Array, KeySize: 4, ValueSize: 1, MaxEntries: Buckets},
	} {
		p := filepath.Join(root, old.Name)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		m, err := ebpf.NewMap(old)
		if err != nil {
			t.Fatalf("create old %s: %v", old.Name, err)
		}
		if err := m.Pin(p); err != nil {
			t.Fatalf("pin old %s: %v", old.Name, err)
		}
		m.Close()
	}

	d2, err := Load(Options{PinPath: root})
	if err != nil {
		t.Fatalf("load over stale pins: %v", err)
	}
	defer d2.Close()
	got := d2.ReplacedPins()
	if len(got) != 2 || !strings.Contains(got[0], "xdhcp_buckets (ValueSize: 1 changed to 4") ||
		!strings.Contains(got[1], fmt.Sprintf("xdhcp_stats (ValueSize: 8 changed to %d, MaxEntries: %d changed to 1",
			8*xdhcpXdhcpStatXDHCP_STAT_MAX, xdhcpXdhcpStatXDHCP_STAT_MAX)) {
		t.Fatalf("replaced pins %q", got)
	}
	spec, err := loadXdhcp()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{xdhcpMapXdhcpStats, xdhcpMapXdhcpBuckets} {
		m, err := ebpf.LoadPinnedMap(filepath.Join(root, n), nil)
		if err != nil {
			t.Fatalf("new pin %s: %v", n, err)
		}
		if err := spec.Maps[n].Compatible(m); err != nil {
			t.Errorf("pin %s after load: %v", n, err)
		}
		m.Close()
	}
	// The compatible xdhcp_cfg pin was reused: the MAC survived.
	var cfg xdhcpXdhcpConfig
	if err := d2.objs.XdhcpCfg.Lookup(uint32(0), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Mac != [6]byte{2, 0, 0, 0, 0, 7} {
		t.Errorf("xdhcp_cfg after reload: MAC %x, want the pinned 020000000007", cfg.Mac)
	}
	// And the program counts into the new map.
	setServe(t, d2, serveNone)
	if ret, delta := run(t, d2, frame{payload: msg(t, dhcpv4.MessageTypeDiscover, nil)}.bytes()); ret != xdpDrop || delta["drop_partner"] != 1 {
		t.Fatalf("after replace: verdict %d deltas %v", ret, delta)
	}
}

// TestPinReplacesSameSizeLayout: a pin whose sizes match but whose value
// type differs in BTF (here enum xdhcp_bucket_owner with its values
// swapped, which would invert the bucket table) is replaced too; pins of
// this very layout are reused (TestPinning).
func TestPinReplacesSameSizeLayout(t *testing.T) {
	testenv.RequireBPF(t)
	root := filepath.Join(mountBPFFS(t), "xdhcp")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	old := &ebpf.MapSpec{
		Name: "xdhcp_buckets", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: Buckets,
		Key: &btf.Int{Name: "__u32", Size: 4},
		Value: &btf.Enum{Name: "xdhcp_bucket_owner", Size: 4, Values: []btf.EnumValue{
			{Name: "XDHCP_BUCKET_OURS", Value: 0}, {Name: "XDHCP_BUCKET_PARTNER", Value: 1},
		}},
	}
	m, err := ebpf.NewMap(old)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := m.Pin(filepath.Join(root, old.Name)); err != nil {
		t.Fatal(err)
	}
	m.Close()
	d, err := Load(Options{PinPath: root})
	if err != nil {
		t.Fatalf("load over a same-size stale pin: %v", err)
	}
	defer d.Close()
	got := d.ReplacedPins()
	if len(got) != 1 || !strings.Contains(got[0], "xdhcp_buckets (value type xdhcp_bucket_owner changed from enum{XDHCP_BUCKET_OURS=0 XDHCP_BUCKET_PARTNER=1}4 to enum{XDHCP_BUCKET_PARTNER=0 XDHCP_BUCKET_OURS=1}4)") {
		t.Fatalf("replaced pins %q", got)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := Load(Options{PinPath: root})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if r := d2.ReplacedPins(); len(r) != 0 {
		t.Errorf("reloading the same version replaced %q", r)
	}
}

// TestPinPathNotBPFFS: a pin directory on another filesystem is one
// error line that says what is wrong and which mount fixes it.
func TestPinPathNotBPFFS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pins", "xdhcp")
	err := CheckPinPath(dir)
	if !errors.Is(err, ErrNotBPFFS) {
		t.Fatalf("CheckPinPath(%s) = %v, want ErrNotBPFFS", dir, err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "bpf pin path "+dir+" is not on a bpf filesystem") ||
		!strings.Contains(msg, "`mkdir -p "+dir+" && mount -t bpf bpf "+dir+"`") {
		t.Errorf("message %q", msg)
	}
	// An existing directory: mount on it.
	if err := CheckPinPath(filepath.Dir(filepath.Dir(dir))); err == nil || !strings.Contains(err.Error(), "`mount -t bpf bpf "+filepath.Dir(filepath.Dir(dir))+"`") {
		t.Errorf("existing directory: %v", err)
	}
	// A file where a directory should be is not a bpffs question.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, filepath.Join(file, "sub")} {
		if err := CheckPinPath(p); !errors.Is(err, unix.ENOTDIR) || errors.Is(err, ErrNotBPFFS) {
			t.Errorf("CheckPinPath(%s) = %v, want ENOTDIR", p, err)
		}
	}
	if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CheckPinPath created %s", filepath.Dir(dir))
	}
	// Under an unmounted /sys/fs/bpf the fix names /sys/fs/bpf itself.
	var fs = "/sys/fs/bpf"
	if CheckPinPath(fs) != nil {
		err = CheckPinPath(fs + "/xdhcp/eth0")
		if !strings.Contains(err.Error(), "`mount -t bpf bpf /sys/fs/bpf`") {
			t.Errorf("under %s: %v", fs, err)
		}
	}

	testenv.RequireBPF(t)
	if _, err := Load(Options{PinPath: dir}); !errors.Is(err, ErrNotBPFFS) || err.Error() != msg {
		t.Errorf("Load on a non-bpffs pin path: %v", err)
	}
	root := mountBPFFS(t)
	for _, ok := range []string{root, filepath.Join(root, "not", "yet")} {
		if err := CheckPinPath(ok); err != nil {
			t.Errorf("CheckPinPath(%s) on bpffs: %v", ok, err)
		}
	}
}

// TestBpftoolNames: what the README's operations section shows. bpftool
// prints the counters by their xdhcp.h names (one struct per CPU, summing
// to Stats) and the buckets as ours/partner.
func TestBpftoolNames(t *testing.T) {
	testenv.RequireBPF(t)
	bpftool := testenv.RequireCommand(t, "bpftool")[0]
	root := filepath.Join(mountBPFFS(t), "xdhcp")
	d, err := Load(Options{PinPath: root})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	setServe(t, d, func(h int) bool { return h < 128 })
	for _, f := range [][]byte{
		frame{payload: msg(t, dhcpv4.MessageTypeDiscover, nil)}.bytes(),
		frame{etherType: 0x0806, payload: make([]byte, 28)}.bytes(),
	} {
		if _, err := d.Program().Run(&ebpf.RunOptions{Data: f}); err != nil {
			t.Fatal(err)
		}
	}
	want, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}

	dump := func(m string, v any) {
		t.Helper()
		out, err := exec.Command(bpftool, "-j", "map", "dump", "pinned", filepath.Join(root, m)).Output()
		if err != nil {
			t.Fatalf("bpftool map dump %s: %v", m, err)
		}
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatalf("bpftool map dump %s: %v\n%s", m, err, out)
		}
	}
	var stats []struct {
		Formatted struct {
			Key    uint32
			Values []struct {
				CPU   int
				Value map[string]uint64
			}
		}
	}
	dump(xdhcpMapXdhcpStats, &stats)
	if len(stats) != 1 || stats[0].Formatted.Key != 0 || len(stats[0].Formatted.Values) == 0 {
		t.Fatalf("xdhcp_stats dump: %+v", stats)
	}
	sum := map[string]uint64{}
	for _, c := range stats[0].Formatted.Values {
		if len(c.Value) != len(d.StatNames()) {
			t.Errorf("cpu %d: %d counters, want %d", c.CPU, len(c.Value), len(d.StatNames()))
		}
		for k, v := range c.Value {
			sum[k] += v
		}
	}
	for _, n := range d.StatNames() {
		if sum[n] != want[n] {
			t.Errorf("bpftool %s = %d, Stats %d", n, sum[n], want[n])
		}
	}
	if sum["rx_total"] != 2 || sum["pass_not_ip"] != 1 {
		t.Errorf("bpftool counters %v", sum)
	}

	var buckets []struct {
		Formatted struct {
			Key   int
			Value string
		}
	}
	dump(xdhcpMapXdhcpBuckets, &buckets)
	if len(buckets) != Buckets {
		t.Fatalf("%d buckets dumped", len(buckets))
	}
	for _, b := range buckets {
		w := "XDHCP_BUCKET_PARTNER"
		if b.Formatted.Key < 128 {
			w = "XDHCP_BUCKET_OURS"
		}
		if b.Formatted.Value != w {
			t.Errorf("bucket %d: %q, want %q", b.Formatted.Key, b.Formatted.Value, w)
		}
	}
}
