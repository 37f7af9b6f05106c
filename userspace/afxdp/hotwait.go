package afxdp

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// WaitHot blocks the calling goroutine's thread in ppoll(2) until the RX
// ring has frames, the eventfd efd (when efd >= 0) is readable, or timeout
// passes, and reports which. A readable eventfd is drained.
//
// Unlike Poll, the wait bypasses the Go scheduler (a raw system call): the
// goroutine keeps its thread and its P while it sleeps in the kernel, so
// a frame's arrival wakes exactly one thread, and neither the runtime's
// sysmon nor an idle P's network poller is woken with it. At a few
// thousand frames a second that is most of what a frame costs in user
// space (see ARCHITECTURE.md, "The queue loop"). The price is a P per
// waiting goroutine, so the caller keeps GOMAXPROCS above the number of
// goroutines that wait here and bounds timeout (a few milliseconds): the
// runtime cannot run anything else on that P, or stop the world, until
// the call returns (a preemption signal interrupts it: EINTR, reported as
// a timeout).
func (s *Socket) WaitHot(efd int, timeout time.Duration) (rx, event bool, err error) {
	if s.closed.Load() {
		return false, false, ErrClosed
	}
	if s.rx.available() > 0 {
		return true, false, nil
	}
	pfd := [2]unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}, {Fd: int32(efd), Events: unix.POLLIN}}
	n := 1
	if efd >= 0 {
		n = 2
	}
	ts := unix.NsecToTimespec(int64(max(timeout, 0)))
	r, _, e := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd[0])), uintptr(n),
		uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	switch {
	case e == unix.EINTR:
		return false, false, nil
	case e != 0:
		return false, false, fmt.Errorf("afxdp poll ifindex %d queue %d: %w", s.ifindex, s.queue, e)
	case r == 0:
		return false, false, nil
	}
	if pfd[0].Revents&(unix.POLLERR|unix.POLLNVAL) != 0 {
		return false, false, fmt.Errorf("afxdp poll ifindex %d queue %d: revents %#x", s.ifindex, s.queue, pfd[0].Revents)
	}
	if n == 2 && pfd[1].Revents&unix.POLLIN != 0 {
		event = true
		DrainEventFD(efd)
	}
	return s.rx.available() > 0, event, nil
}

// DrainEventFD resets a non-blocking eventfd's counter with one raw
// read(2) (it never blocks, so it need not leave the Go scheduler).
func DrainEventFD(efd int) {
	var b [8]byte
	_, _, _ = unix.RawSyscall(unix.SYS_READ, uintptr(efd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
}

// RawWrite is write(2) on a non-blocking descriptor as one raw system
// call: the Go scheduler does not see it, so a hot queue goroutine that
// holds its P (WaitHot) can write a lease update to the partner's TCP
// socket without waking sysmon or having its P taken while the kernel
// delivers the segment. A full socket returns EAGAIN; EINTR is retried.
func RawWrite(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		}
		return 0, e
	}
}
