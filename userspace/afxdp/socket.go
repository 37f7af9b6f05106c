package afxdp

import (
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Errors returned by Socket methods.
var (
	// ErrClosed is returned by methods called after Close.
	ErrClosed = errors.New("afxdp: socket closed")
	// ErrNoTxFrame means every TX frame is in flight: the kernel has not
	// completed enough of them yet.
	ErrNoTxFrame = errors.New("afxdp: no free tx frame")
	// ErrFrameState means a frame was released or submitted that the
	// caller does not own (a double Release, a Submit of an address not
	// obtained from TxBuffer, ...). The frame is left untouched.
	ErrFrameState = errors.New("afxdp: frame not owned by the caller")
)

// frameState records who owns a UMEM frame.
type frameState uint8

const (
	rxKernel frameState = iota // in the fill ring or being received
	rxUser                     // returned by Receive, not yet released
	txFree                     // in the TX free list
	txUser                     // returned by TxBuffer, not yet submitted
	txKernel                   // submitted, not yet completed
)

// Socket is an AF_XDP socket bound to one interface queue, with its own
// UMEM.
//
// The RX and TX methods (Receive, Release, Frame, Poll, TxBuffer, Submit,
// FreeTxBuffer, Flush, Complete, Send) are meant for one goroutine at a time
// and take no lock. Stats may be called from any goroutine. Close may be
// called from any goroutine but only once the RX/TX goroutine has stopped
// using the socket: it unmaps the memory that Frame and TxBuffer slices
// point into.
type Socket struct {
	fd         int
	ifindex    int
	queue      int
	zeroCopy   bool
	needWakeup bool

	umem       []byte
	frameShift uint // log2(FrameSize)
	frameSize  uint64
	rxFrames   uint64 // frames [0, rxFrames) are RX frames, the rest TX
	state      []frameState

	fill ring[uint64]
	comp ring[uint64]
	rx   ring[unix.XDPDesc]
	tx   ring[unix.XDPDesc]

	txFreeList []uint64 // stack of free TX frame addresses
	txPending  uint32   // Submit calls since the last publish
	pfd        [1]unix.PollFd

	counters counters

	mu     sync.Mutex // guards closed against Stats and Close; not on the hot path
	closed atomic.Bool
}

// counters are this package's own statistics; atomic so Stats can read
// them from another goroutine.
type counters struct {
	rxPackets, rxWakeups                           atomic.Uint64
	txPackets, txCompleted, txKicks, txNoFrame     atomic.Uint64
	invalidRelease, invalidSubmit, unexpectedFrame atomic.Uint64
}

// Open creates the socket and its UMEM, maps the rings, binds to
// (cfg.IfIndex, cfg.QueueID) and fills the fill ring with the RX frames.
// It must run in the network namespace where cfg.IfIndex is valid; the
// socket stays usable from any goroutine afterwards. Frames reach it only
// once an XDP program on the interface redirects them to an XSKMAP slot
// holding FD().
func Open(cfg Config) (*Socket, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Socket{fd: -1, ifindex: cfg.IfIndex, queue: cfg.QueueID, needWakeup: !cfg.DisableNeedWakeup}
	if err := s.open(cfg); err != nil {
		_ = s.release()
		return nil, fmt.Errorf("afxdp open ifindex %d queue %d: %w", cfg.IfIndex, cfg.QueueID, err)
	}
	return s, nil
}

func (s *Socket) open(cfg Config) error {
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket(AF_XDP): %w", err)
	}
	s.fd = fd

	// UMEM: anonymous memory, registered (and pinned) by the kernel.
	s.frameSize = uint64(cfg.FrameSize)
	s.frameShift = uint(bits.TrailingZeros64(s.frameSize))
	s.rxFrames = uint64(cfg.NumFrames / 2)
	size := cfg.NumFrames * cfg.FrameSize
	s.umem, err = unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap %d-byte umem: %w", size, err)
	}
	reg := unix.XDPUmemReg{Addr: sliceAddr(s.umem), Len: uint64(size), Size: uint32(cfg.FrameSize)}
	if err := setsockoptUmemReg(fd, &reg); err != nil {
		return fmt.Errorf("register %d-byte umem (RLIMIT_MEMLOCK without CAP_IPC_LOCK?): %w", size, err)
	}
	s.state = make([]frameState, cfg.NumFrames)

	// Rings: sizes, then offsets, then mappings.
	for _, r := range []struct {
		name string
		opt  int
		n    int
	}{
		{"fill", unix.XDP_UMEM_FILL_RING, cfg.FillRingSize},
		{"completion", unix.XDP_UMEM_COMPLETION_RING, cfg.CompRingSize},
		{"rx", unix.XDP_RX_RING, cfg.RxRingSize},
		{"tx", unix.XDP_TX_RING, cfg.TxRingSize},
	} {
		if err := unix.SetsockoptInt(fd, unix.SOL_XDP, r.opt, r.n); err != nil {
			return fmt.Errorf("set %s ring size %d: %w", r.name, r.n, err)
		}
	}
	off, err := getsockoptMmapOffsets(fd)
	if err != nil {
		return fmt.Errorf("get ring offsets: %w", err)
	}
	if err := mapRing(&s.fill, fd, "fill", unix.XDP_UMEM_PGOFF_FILL_RING, off.Fr, cfg.FillRingSize, addrEntrySize, addrsAt, true); err != nil {
		return err
	}
	if err := mapRing(&s.comp, fd, "completion", unix.XDP_UMEM_PGOFF_COMPLETION_RING, off.Cr, cfg.CompRingSize, addrEntrySize, addrsAt, false); err != nil {
		return err
	}
	if err := mapRing(&s.rx, fd, "rx", unix.XDP_PGOFF_RX_RING, off.Rx, cfg.RxRingSize, descEntrySize, descsAt, false); err != nil {
		return err
	}
	if err := mapRing(&s.tx, fd, "tx", unix.XDP_PGOFF_TX_RING, off.Tx, cfg.TxRingSize, descEntrySize, descsAt, true); err != nil {
		return err
	}

	// Bind: zero-copy if allowed and supported, else copy mode.
	var flags uint16
	if s.needWakeup {
		flags |= unix.XDP_USE_NEED_WAKEUP
	}
	sa := unix.SockaddrXDP{Ifindex: uint32(cfg.IfIndex), QueueID: uint32(cfg.QueueID)}
	var zcErr error
	if !cfg.Copy {
		sa.Flags = flags | unix.XDP_ZEROCOPY
		if zcErr = bind(fd, &sa); zcErr == nil {
			s.zeroCopy = true
		}
	}
	if !s.zeroCopy {
		sa.Flags = flags | unix.XDP_COPY
		if err := bind(fd, &sa); err != nil {
			if zcErr != nil {
				return fmt.Errorf("bind: zero-copy: %v; copy: %w", zcErr, err)
			}
			return fmt.Errorf("bind (copy mode): %w", err)
		}
	}

	// RX frames go to the fill ring, TX frames to the free list.
	for i := uint64(0); i < s.rxFrames; i++ {
		s.fill.put(i << s.frameShift)
		s.state[i] = rxKernel
	}
	s.fill.publish()
	s.txFreeList = make([]uint64, 0, uint64(cfg.NumFrames)-s.rxFrames)
	for i := uint64(cfg.NumFrames) - 1; i >= s.rxFrames; i-- {
		s.txFreeList = append(s.txFreeList, i<<s.frameShift)
		s.state[i] = txFree
	}
	s.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	return nil
}

// bindBusyWait bounds how long bind retries EBUSY. The kernel releases a
// closed socket's hold on its queue from a work queue, after close(2) has
// returned, so reopening a queue right after Close can briefly see EBUSY.
const bindBusyWait = 2 * time.Second

// bind binds, retrying EBUSY for at most bindBusyWait. A queue held by a
// live socket still fails, only later.
func bind(fd int, sa *unix.SockaddrXDP) error {
	deadline := time.Now().Add(bindBusyWait)
	for delay := 100 * time.Microsecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := unix.Bind(fd, sa)
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
	}
}

// mapRing maps one ring of n entries of entrySize bytes at page offset pgoff.
func mapRing[T uint64 | unix.XDPDesc](r *ring[T], fd int, name string, pgoff int64, off unix.XDPRingOffset, n int,
	entrySize uint64, view func([]byte, uint64, uint32) ([]T, error), producerSide bool) error {
	length := int(off.Desc + uint64(n)*entrySize)
	mem, err := unix.Mmap(fd, pgoff, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap %s ring: %w", name, err)
	}
	r.mem = mem // set first so release unmaps it even if the view fails
	if err := initRing(r, mem, off, uint32(n), view, producerSide); err != nil {
		return fmt.Errorf("%s ring: %w", name, err)
	}
	return nil
}

// FD is the socket's file descriptor, to be stored in the XSKMAP slot for
// QueueID. It stays valid until Close.
func (s *Socket) FD() int { return s.fd }

// IfIndex is the interface index the socket is bound to.
func (s *Socket) IfIndex() int { return s.ifindex }

// QueueID is the RX queue the socket is bound to.
func (s *Socket) QueueID() int { return s.queue }

// ZeroCopy reports whether the socket is bound in zero-copy mode.
func (s *Socket) ZeroCopy() bool { return s.zeroCopy }

// Close closes the socket and unmaps its rings and UMEM. It is idempotent.
// See Socket for when it may be called; slices returned by Frame and
// TxBuffer must not be used afterwards.
func (s *Socket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.release(); err != nil {
		return fmt.Errorf("afxdp close ifindex %d queue %d: %w", s.ifindex, s.queue, err)
	}
	return nil
}

// release closes the fd and unmaps whatever Open managed to map.
func (s *Socket) release() error {
	var errs []error
	if s.fd >= 0 {
		errs = append(errs, unix.Close(s.fd))
		s.fd = -1
	}
	for _, m := range []*[]byte{&s.fill.mem, &s.comp.mem, &s.rx.mem, &s.tx.mem, &s.umem} {
		if *m != nil {
			errs = append(errs, unix.Munmap(*m))
			*m = nil
		}
	}
	s.fill, s.comp = ring[uint64]{}, ring[uint64]{}
	s.rx, s.tx = ring[unix.XDPDesc]{}, ring[unix.XDPDesc]{}
	s.txFreeList = nil
	s.closed.Store(true)
	return errors.Join(errs...)
}

// Stats are the kernel's XDP_STATISTICS for the socket plus the package's
// own counters. All are totals since Open.
type Stats struct {
	// Kernel counters (XDP_STATISTICS).
	RxDropped            uint64 // frames dropped for reasons other than below (e.g. too large)
	RxInvalidDescs       uint64 // invalid fill ring descriptors
	TxInvalidDescs       uint64 // invalid TX ring descriptors
	RxRingFull           uint64 // frames dropped because the RX ring was full (Linux 5.9)
	RxFillRingEmptyDescs uint64 // times the fill ring was empty (Linux 5.9)
	TxRingEmptyDescs     uint64 // times the kernel found the TX ring empty (Linux 5.9)

	// Own counters.
	RxPackets      uint64 // frames returned by Receive
	RxWakeups      uint64 // fill-ring wakeups (recvfrom) issued
	TxPackets      uint64 // frames published to the TX ring
	TxCompleted    uint64 // TX frames the kernel completed
	TxKicks        uint64 // sendto calls made to drive TX
	TxNoFrame      uint64 // Send calls that failed because every TX frame was in flight
	InvalidRelease uint64 // Release of frames not owned by the caller (ignored)
	InvalidSubmit  uint64 // Submit/FreeTxBuffer of frames not owned by the caller (refused)
	// UnexpectedFrames counts ring entries naming a frame the kernel did
	// not own (never seen; a kernel or package bug). They are skipped.
	UnexpectedFrames uint64
}

// Stats reads the socket's statistics. It is safe to call from any
// goroutine, concurrently with the RX/TX goroutine.
func (s *Socket) Stats() (Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return Stats{}, ErrClosed
	}
	k, err := getsockoptStatistics(s.fd)
	if err != nil {
		return Stats{}, fmt.Errorf("afxdp statistics ifindex %d queue %d: %w", s.ifindex, s.queue, err)
	}
	c := &s.counters
	return Stats{
		RxDropped:            k.Rx_dropped,
		RxInvalidDescs:       k.Rx_invalid_descs,
		TxInvalidDescs:       k.Tx_invalid_descs,
		RxRingFull:           k.Rx_ring_full,
		RxFillRingEmptyDescs: k.Rx_fill_ring_empty_descs,
		TxRingEmptyDescs:     k.Tx_ring_empty_descs,
		RxPackets:            c.rxPackets.Load(),
		RxWakeups:            c.rxWakeups.Load(),
		TxPackets:            c.txPackets.Load(),
		TxCompleted:          c.txCompleted.Load(),
		TxKicks:              c.txKicks.Load(),
		TxNoFrame:            c.txNoFrame.Load(),
		InvalidRelease:       c.invalidRelease.Load(),
		InvalidSubmit:        c.invalidSubmit.Load(),
		UnexpectedFrames:     c.unexpectedFrame.Load(),
	}, nil
}

// frameIndex returns the index of the frame holding UMEM address addr.
func (s *Socket) frameIndex(addr uint64) (uint64, bool) {
	i := addr >> s.frameShift
	return i, i < uint64(len(s.state))
}
