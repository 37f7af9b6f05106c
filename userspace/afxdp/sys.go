package afxdp

// This file holds every use of unsafe in the project. Each helper either
// passes a pointer to a kernel ABI struct (from x/sys/unix) to a socket
// option syscall, or builds a typed view of memory mapped from the kernel
// (ring indexes and descriptor arrays). Views are built once in Open and
// dropped in Close; the hot path uses only the typed views and sync/atomic.

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setsockoptUmemReg registers the UMEM (XDP_UMEM_REG).
func setsockoptUmemReg(fd int, reg *unix.XDPUmemReg) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, unix.XDP_UMEM_REG,
		uintptr(unsafe.Pointer(reg)), unsafe.Sizeof(*reg), 0)
	if e != 0 {
		return e
	}
	return nil
}

// getsockoptMmapOffsets reads XDP_MMAP_OFFSETS. Kernels before 5.4 return
// the shorter layout without ring flags, which this package cannot use.
func getsockoptMmapOffsets(fd int) (unix.XDPMmapOffsets, error) {
	var off unix.XDPMmapOffsets
	n, err := getsockopt(fd, unix.XDP_MMAP_OFFSETS, unsafe.Pointer(&off), unsafe.Sizeof(off))
	if err != nil {
		return off, err
	}
	if n != unsafe.Sizeof(off) {
		return off, fmt.Errorf("short XDP_MMAP_OFFSETS (%d bytes): ring flags need linux 5.4: %w", n, unix.EOPNOTSUPP)
	}
	return off, nil
}

// getsockoptStatistics reads XDP_STATISTICS. Kernels before 5.9 fill only
// the first three counters; the rest stay zero.
func getsockoptStatistics(fd int) (unix.XDPStatistics, error) {
	var st unix.XDPStatistics
	_, err := getsockopt(fd, unix.XDP_STATISTICS, unsafe.Pointer(&st), unsafe.Sizeof(st))
	return st, err
}

func getsockopt(fd, opt int, p unsafe.Pointer, size uintptr) (uintptr, error) {
	l := uint32(size)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt),
		uintptr(p), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return 0, e
	}
	return uintptr(l), nil
}

// sliceAddr is the user-space address of b's first byte (for XDP_UMEM_REG).
// b must be a non-empty mapping that outlives the registration.
func sliceAddr(b []byte) uint64 {
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

// u32At views the 4 bytes of a kernel-shared mapping at off as a uint32 for
// sync/atomic. The kernel aligns ring indexes (they sit on cache lines).
func u32At(mem []byte, off uint64) (*uint32, error) {
	if off%4 != 0 || off+4 > uint64(len(mem)) {
		return nil, fmt.Errorf("ring index offset %d outside a %d-byte mapping", off, len(mem))
	}
	return (*uint32)(unsafe.Pointer(&mem[off])), nil
}

// addrsAt views n uint64 fill/completion ring entries of mem starting at off.
func addrsAt(mem []byte, off uint64, n uint32) ([]uint64, error) {
	if off%8 != 0 || off+uint64(n)*8 > uint64(len(mem)) {
		return nil, fmt.Errorf("%d ring entries at offset %d outside a %d-byte mapping", n, off, len(mem))
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&mem[off])), n), nil
}

// descsAt views n RX/TX ring descriptors of mem starting at off.
func descsAt(mem []byte, off uint64, n uint32) ([]unix.XDPDesc, error) {
	sz := uint64(unsafe.Sizeof(unix.XDPDesc{}))
	if off%8 != 0 || off+uint64(n)*sz > uint64(len(mem)) {
		return nil, fmt.Errorf("%d ring descriptors at offset %d outside a %d-byte mapping", n, off, len(mem))
	}
	return unsafe.Slice((*unix.XDPDesc)(unsafe.Pointer(&mem[off])), n), nil
}

// Sizes of one ring entry, for the length of a ring's mapping.
const (
	addrEntrySize = uint64(unsafe.Sizeof(uint64(0)))
	descEntrySize = uint64(unsafe.Sizeof(unix.XDPDesc{}))
)
