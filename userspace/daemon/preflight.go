package daemon

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// Start-up failures an operator fixes outside xdhcpd (a capability, a
// directory's owner or mount) are reported as one line that names what is
// wrong and how to fix it; main prints it and exits 1. (A pin path off
// bpffs is bpf.CheckPinPath's.)

// capsFix is how to grant the capabilities xdhcpd needs.
const capsFix = `grant them (systemd: AmbientCapabilities= and CapabilityBoundingSet= as in the packaged xdhcpd.service; ` +
	`setpriv: --inh-caps/--ambient-caps/--bounding-set), or set user-context.xdhcp.datapath to "udp"`

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
