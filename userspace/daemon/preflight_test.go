package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// TestCheckBPFFS: a pin path (existing or not) off bpffs is ErrNoBPFFS
// with the mount command; under a bpffs mount it passes; a path under a
// regular file is left to mkdir's ENOTDIR.
func TestCheckBPFFS(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{dir, filepath.Join(dir, "not", "yet")} {
		err := checkBPFFS(p)
		if !errors.Is(err, ErrNoBPFFS) || !strings.Contains(err.Error(), "mount -t bpf bpf /sys/fs/bpf") {
			t.Errorf("checkBPFFS(%s) = %v, want ErrNoBPFFS naming the mount command", p, err)
		}
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkBPFFS(filepath.Join(file, "pins")); err != nil {
		t.Errorf("under a regular file: %v, want nil (mkdir reports ENOTDIR)", err)
	}

	testenv.RequireRoot(t)
	mnt := filepath.Join(dir, "bpffs")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("bpf", mnt, "bpf", 0, ""); err != nil {
		t.Fatalf("mount bpffs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	for _, p := range []string{mnt, filepath.Join(mnt, "xdhcp", "eth0")} {
		if err := checkBPFFS(p); err != nil {
			t.Errorf("checkBPFFS(%s) on bpffs: %v", p, err)
		}
	}
}

// TestLeaseDirError names the file, the directory, the user and the fix,
// and tells a read-only mount (ReadWritePaths=) from a permission.
func TestLeaseDirError(t *testing.T) {
	err := leaseDirError("/var/lib/xdhcp/l.csv", &os.PathError{Op: "open", Path: "/var/lib/xdhcp/l.csv.lock", Err: syscall.EACCES})
	for _, want := range []string{"lease-database /var/lib/xdhcp/l.csv", "/var/lib/xdhcp is not writable by uid", "chown", "lease-database.name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	err = leaseDirError("/var/lib/xdhcp/l.csv", &os.PathError{Op: "open", Path: "/var/lib/xdhcp/l.csv.lock", Err: syscall.EROFS})
	if !strings.Contains(err.Error(), "ReadWritePaths=") || !errors.Is(err, syscall.EROFS) {
		t.Errorf("read-only: %v", err)
	}
}
