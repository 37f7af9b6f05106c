package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Start-up failures an operator fixes outside xdhcpd (a capability, a
// mount, a directory's owner) are reported as one line that names what is
// wrong and how to fix it; main prints it and exits 1.

// capsFix is how to grant the capabilities xdhcpd needs.
const capsFix = `grant them (systemd: AmbientCapabilities= and CapabilityBoundingSet= as in the packaged xdhcpd.service; ` +
	`setpriv: --inh-caps/--ambient-caps/--bounding-set), or set user-context.xdhcp.datapath to "udp"`

// ErrNoBPFFS: the configured bpf-pin-path is not on a bpf filesystem.
var ErrNoBPFFS = errors.New("not on a bpf filesystem")

// checkBPFFS reports an error (ErrNoBPFFS) unless dir is, or would be
// created, on a bpf filesystem: pinning needs bpffs, and without it the
// error from the first pin would not say why. It judges the nearest
// existing directory; a path under something that is not a directory is
// left to mkdir, whose errno says so.
func checkBPFFS(dir string) error {
	p := filepath.Clean(dir)
	for {
		var st unix.Statfs_t
		err := unix.Statfs(p, &st)
		if err == nil {
			if st.Type == unix.BPF_FS_MAGIC {
				return nil
			}
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return nil
			}
			return fmt.Errorf(`user-context.xdhcp.bpf-pin-path %s: %s is on %s, %w: `+
				`mount one ("mount -t bpf bpf /sys/fs/bpf"; systemd does at boot) or set bpf-pin-path to "" to run without pins`,
				dir, p, fsName(st.Type), ErrNoBPFFS)
		}
		if errors.Is(err, syscall.ENOTDIR) {
			return nil // under a file: mkdir says so
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("user-context.xdhcp.bpf-pin-path %s: %w", dir, err)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return fmt.Errorf("user-context.xdhcp.bpf-pin-path %s: %w", dir, err)
		}
		p = parent
	}
}

// fsName names the file system types a bpffs mount point is likely to
// show when bpffs is missing.
func fsName(t int64) string {
	switch t {
	case unix.SYSFS_MAGIC:
		return "sysfs (no bpffs mounted there)"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	}
	return fmt.Sprintf("file system type %#x", t)
}

// permissionDenied reports whether err is a refused write: the
// directory's mode or owner (EACCES, EPERM) or a read-only mount (EROFS,
// e.g. systemd's ProtectSystem= without ReadWritePaths=).
func permissionDenied(err error) bool {
	return errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EROFS)
}

// whoami names the process's effective user, for "not writable by".
func whoami() string {
	uid := os.Geteuid()
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return fmt.Sprintf("uid %d (%s)", uid, u.Username)
	}
	return fmt.Sprintf("uid %d", uid)
}

// leaseDirError explains a lease file that cannot be created or opened
// for lack of permission.
func leaseDirError(file string, err error) error {
	dir := filepath.Dir(file)
	if errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("lease-database %s: %s is read-only here (%w): under systemd list it in ReadWritePaths= "+
			"(the packaged unit has /var/lib/xdhcp), or point lease-database.name elsewhere", file, dir, err)
	}
	return fmt.Errorf("lease-database %s: the directory %s is not writable by %s (%w): "+
		"give that user the directory (chown), or point lease-database.name elsewhere", file, dir, whoami(), err)
}
