package daemon

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

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
