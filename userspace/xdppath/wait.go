//go:build linux

package xdppath

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/userspace/afxdp"
)

// How a queue goroutine waits. While frames or wake-ups keep coming (hot)
// it sleeps in the socket's raw ppoll (afxdp.Socket.WaitHot), at most
// hotSlice at a time: a frame wakes this one thread and nothing else in
// the runtime. Once nothing has come for hotLinger it turns cold: the
// socket and the eventfd go back into the waiter's epoll instance, which
// the Go runtime's network poller watches, and the goroutine parks in the
// scheduler, releasing its P, until the next frame. An idle server
// therefore costs the runtime nothing but the loop's pollTimeout turns.
const (
	hotSlice  = 5 * time.Millisecond
	hotLinger = 20 * time.Millisecond
)

// waiter blocks a queue goroutine until its socket has RX frames or a
// handler wrote the queue's eventfd (sock nil: the eventfd alone, for a
// queue handed to the kernel path, which never turns hot).
//
// Cold, both descriptors sit in a private epoll instance that is itself
// registered with the Go runtime's network poller, so the goroutine parks
// in the scheduler rather than in a blocking poll(2). Hot, they are taken
// out of that epoll instance: otherwise every frame would also wake
// whichever idle thread sits in the network poller (and, in copy mode,
// make it drive the socket's TX).
type waiter struct {
	sock     *afxdp.Socket
	xsk, efd int
	f        *os.File // owns the epoll descriptor
	rc       syscall.RawConn
	evs      [2]unix.EpollEvent
	err      error // set by the Read callback
	woke     bool  // the eventfd was readable
	ready    bool  // the socket was readable

	hot    bool      // waiting in WaitHot; the descriptors are out of the epoll set
	active time.Time // last frame or wake-up seen while hot

	// For tests and Stats: whether the waiter is hot, and how often it
	// turned hot.
	isHot    atomic.Bool
	hotTurns atomic.Uint64

	look, block func(uintptr) bool // Read callbacks, bound once
}

func newWaiter(sock *afxdp.Socket, efd int) (*waiter, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	w := &waiter{sock: sock, xsk: -1, efd: efd}
	if sock != nil {
		w.xsk = sock.FD()
	}
	if err := w.watch(ep, unix.EPOLL_CTL_ADD); err != nil {
		unix.Close(ep)
		return nil, err
	}
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		return nil, fmt.Errorf("epoll nonblock: %w", err)
	}
	w.f = os.NewFile(uintptr(ep), "xdp-queue-epoll")
	w.look, w.block = w.check(false), w.check(true)
	if w.rc, err = w.f.SyscallConn(); err != nil {
		w.f.Close()
		return nil, fmt.Errorf("epoll raw conn: %w", err)
	}
	return w, nil
}

// watch adds the socket and the eventfd to the epoll instance ep, or
// removes them (op EPOLL_CTL_DEL).
func (w *waiter) watch(ep, op int) error {
	for _, fd := range []int{w.xsk, w.efd} {
		if fd < 0 {
			continue
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err := unix.EpollCtl(ep, op, fd, &ev); err != nil {
			return fmt.Errorf("epoll ctl %d fd %d: %w", op, fd, err)
		}
	}
	return nil
}

// wait returns when the socket or the eventfd is readable (the eventfd is
// drained) or after timeout (hot: at most hotSlice); timeout 0 only looks.
func (w *waiter) wait(timeout time.Duration) error {
	if w.hot {
		return w.waitHot(timeout)
	}
	if err := w.waitCold(timeout); err != nil {
		return err
	}
	if (w.ready || w.woke) && w.sock != nil {
		return w.setHot(true)
	}
	return nil
}

// waitHot is one raw wait; nothing seen for hotLinger turns the waiter
// cold.
func (w *waiter) waitHot(timeout time.Duration) error {
	rx, ev, err := w.sock.WaitHot(w.efd, min(timeout, hotSlice))
	if err != nil {
		return err
	}
	now := time.Now()
	if rx || ev {
		w.active = now
		return nil
	}
	if now.Sub(w.active) >= hotLinger {
		return w.setHot(false)
	}
	return nil
}

// setHot moves the descriptors out of the epoll set (hot) or back in.
func (w *waiter) setHot(hot bool) error {
	fd, err := w.fd()
	if err != nil {
		return err
	}
	op := unix.EPOLL_CTL_ADD
	if hot {
		op = unix.EPOLL_CTL_DEL
	}
	if err := w.watch(fd, op); err != nil {
		return err
	}
	w.hot, w.active = hot, time.Now()
	w.isHot.Store(hot)
	if hot {
		w.hotTurns.Add(1)
	}
	return nil
}

// fd is the epoll descriptor.
func (w *waiter) fd() (int, error) {
	var ep int
	if err := w.rc.Control(func(fd uintptr) { ep = int(fd) }); err != nil {
		return -1, fmt.Errorf("epoll fd: %w", err)
	}
	return ep, nil
}

// waitCold parks the goroutine in the Go scheduler until the epoll
// instance is readable or timeout passes.
func (w *waiter) waitCold(timeout time.Duration) error {
	block := timeout > 0
	if block {
		if err := w.f.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return fmt.Errorf("epoll deadline: %w", err)
		}
	}
	w.err, w.woke, w.ready = nil, false, false
	f := w.look
	if block {
		f = w.block
	}
	err := w.rc.Read(f)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("epoll wait: %w", err)
	}
	if w.woke {
		afxdp.DrainEventFD(w.efd)
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
				w.ready = true
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
