//go:build linux

package xdppath

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// waiter blocks a queue goroutine until its socket has RX frames or a
// handler wrote the queue's eventfd (xsk -1: the eventfd alone). Both descriptors sit in a private
// epoll instance that is itself registered with the Go runtime's network
// poller, so the goroutine parks in the scheduler rather than in a
// blocking poll(2): the handlers it just woke run on its P at once instead
// of waiting for the runtime to retake a P stuck in a system call.
type waiter struct {
	xsk, efd int
	f        *os.File // owns the epoll descriptor
	rc       syscall.RawConn
	evs      [2]unix.EpollEvent
	err      error // set by the Read callback
	woke     bool  // the eventfd was readable

	look, block func(uintptr) bool // Read callbacks, bound once
}

func newWaiter(xsk, efd int) (*waiter, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	for _, fd := range []int{xsk, efd} {
		if fd < 0 { // no socket: a queue handed to the kernel path
			continue
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			unix.Close(ep)
			return nil, fmt.Errorf("epoll add fd %d: %w", fd, err)
		}
	}
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		return nil, fmt.Errorf("epoll nonblock: %w", err)
	}
	w := &waiter{xsk: xsk, efd: efd, f: os.NewFile(uintptr(ep), "xdp-queue-epoll")}
	w.look, w.block = w.check(false), w.check(true)
	if w.rc, err = w.f.SyscallConn(); err != nil {
		w.f.Close()
		return nil, fmt.Errorf("epoll raw conn: %w", err)
	}
	return w, nil
}

// wait returns when the socket or the eventfd is readable (the eventfd is
// drained) or after timeout; timeout 0 only looks.
func (w *waiter) wait(timeout time.Duration) error {
	block := timeout > 0
	if block {
		if err := w.f.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return fmt.Errorf("epoll deadline: %w", err)
		}
	}
	w.err, w.woke = nil, false
	f := w.look
	if block {
		f = w.block
	}
	err := w.rc.Read(f)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("epoll wait: %w", err)
	}
	if w.woke {
		var b [8]byte
		_, _ = unix.Read(w.efd, b[:])
	}
	return w.err
}

// check is the RawConn.Read callback: true when something is ready (or
// when not blocking).
func (w *waiter) check(block bool) func(uintptr) bool {
	return func(fd uintptr) bool {
		n, err := unix.EpollWait(int(fd), w.evs[:], 0)
		if err != nil && !errors.Is(err, unix.EINTR) {
			w.err = fmt.Errorf("epoll wait: %w", err)
			return true
		}
		for _, ev := range w.evs[:max(n, 0)] {
			switch int(ev.Fd) {
			case w.efd:
				w.woke = true
			case w.xsk:
				if ev.Events&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
					w.err = fmt.Errorf("socket events %#x", ev.Events)
				}
			}
		}
		return n > 0 || !block
	}
}

// close closes the epoll descriptor (not the socket or the eventfd).
func (w *waiter) close() error { return w.f.Close() }
