package daemon

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// capability is one Linux capability the data paths need, and why.
type capability struct {
	bit  uint
	name string
	why  string
}

// xdpCaps are what the XDP/AF_XDP path needs (README, "Running without
// root"). The
// UDP path alone needs only CAP_NET_BIND_SERVICE and CAP_NET_RAW.
var xdpCaps = []capability{
	{unix.CAP_BPF, "CAP_BPF", "load the XDP program, create and update its maps"},
	// Without it the verifier refuses the program as written: "pointer
	// arithmetic with it prohibited for !root" at ip = data + off
	// (bpf/xdhcp.c), measured on Linux 6.18.
	{unix.CAP_PERFMON, "CAP_PERFMON", "the verifier allows the program's variable-offset packet pointer arithmetic only with it"},
	{unix.CAP_NET_ADMIN, "CAP_NET_ADMIN", "attach the XDP program to the interface (bpf_link), netlink neighbour requests"},
	{unix.CAP_NET_RAW, "CAP_NET_RAW", "open AF_XDP sockets"},
	{unix.CAP_IPC_LOCK, "CAP_IPC_LOCK", "register (pin) each AF_XDP socket's UMEM beyond RLIMIT_MEMLOCK"},
}

// effectiveCaps reads the process's effective capability set.
func effectiveCaps() (func(bit uint) bool, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return nil, fmt.Errorf("capget: %w", err)
	}
	return func(bit uint) bool { return data[bit/32].Effective&(1<<(bit%32)) != 0 }, nil
}

// missingXDPCaps names the capabilities the XDP path needs that the
// process lacks, with why each is needed; "" when none is missing.
// CAP_IPC_LOCK is not needed when RLIMIT_MEMLOCK already covers umemBytes
// (every queue's UMEM).
func missingXDPCaps(umemBytes uint64) (string, error) {
	has, err := effectiveCaps()
	if err != nil {
		return "", err
	}
	var missing []string
	for _, c := range xdpCaps {
		if has(c.bit) {
			continue
		}
		if c.bit == unix.CAP_IPC_LOCK && memlockCovers(umemBytes) {
			continue
		}
		missing = append(missing, fmt.Sprintf("%s (%s)", c.name, c.why))
	}
	return strings.Join(missing, ", "), nil
}

// memlockCovers reports whether RLIMIT_MEMLOCK lets an unprivileged
// process lock n bytes.
func memlockCovers(n uint64) bool {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &r); err != nil {
		return false
	}
	return r.Cur == unix.RLIM_INFINITY || r.Cur >= n
}
