// Package afxdp is an AF_XDP socket bound to one (interface, RX queue) pair.
//
// A Socket owns its own UMEM (no shared UMEM), its four rings (fill,
// completion, RX, TX) and a free list of TX frames. The server runs one
// Socket and one worker goroutine per RX queue; nothing on the hot path is
// shared between queues, and a Socket's RX/TX methods take no lock.
//
// The UMEM is split in two halves: RX frames live in the fill ring, the
// kernel and the caller (between Receive and Release); TX frames live in a
// free list, the caller (between TxBuffer and Submit) and the kernel
// (between Submit and completion). Every frame's owner is tracked, so a
// frame is never handed to the kernel twice and a frame the kernel still
// owns is never handed to the caller.
//
// The package knows neither DHCP nor the XDP program: whoever loads the
// program registers FD() in its XSKMAP at index QueueID.
//
// Kernel needs: AF_XDP (Linux 4.18, CONFIG_XDP_SOCKETS), the need-wakeup
// flags and XDP_MMAP_OFFSETS with ring flags (Linux 5.4), all six
// XDP_STATISTICS counters (Linux 5.9; older kernels report the first
// three). UMEM registration counts against RLIMIT_MEMLOCK unless the
// process has CAP_IPC_LOCK. Zero-copy needs driver support; veth and most
// virtual NICs only do copy mode, and Open falls back to it.
//
// All of the project's unsafe code is in this package, in sys.go.
package afxdp
