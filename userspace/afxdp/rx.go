package afxdp

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Desc is one received frame: where it is in the UMEM and how long it is.
type Desc struct {
	Addr uint64 // UMEM offset of the first byte of the frame
	Len  uint32
}

// Receive moves up to len(descs) received frames from the RX ring into
// descs and returns how many. It never blocks (use Poll to wait). The
// frames belong to the caller until Release; read them with Frame. When
// nothing was received and the kernel asked for a fill-ring wakeup
// (need-wakeup, Linux 5.4), Receive wakes it. It also reaps TX completions.
func (s *Socket) Receive(descs []Desc) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	s.Complete()
	n := min(uint32(len(descs)), s.rx.available())
	got := 0
	for range n {
		d := s.rx.get()
		i, ok := s.frameIndex(d.Addr)
		if !ok || i >= s.rxFrames || s.state[i] != rxKernel || d.Addr+uint64(d.Len) > (i+1)<<s.frameShift {
			s.counters.unexpectedFrame.Add(1)
			continue
		}
		s.state[i] = rxUser
		descs[got] = Desc{Addr: d.Addr, Len: d.Len}
		got++
	}
	if n > 0 {
		s.rx.release()
		s.counters.rxPackets.Add(uint64(got))
		return got, nil
	}
	if s.needWakeup && s.fill.needWakeup() {
		if err := s.wakeRx(); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// wakeRx asks the kernel to look at the fill ring again (recvfrom with
// MSG_DONTWAIT, as libbpf's xdpsock does; raw, as it never blocks: see
// kickTx).
func (s *Socket) wakeRx() error {
	s.counters.rxWakeups.Add(1)
	_, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	switch e {
	case 0, unix.EAGAIN, unix.EBUSY, unix.ENOBUFS, unix.ENETDOWN, unix.EINTR:
		return nil
	}
	return fmt.Errorf("afxdp wake rx ifindex %d queue %d: %w", s.ifindex, s.queue, e)
}

// Frame returns the bytes of a received frame, aliasing the UMEM: valid
// until d is released (and the socket closed). It panics if d lies outside
// the UMEM.
func (s *Socket) Frame(d Desc) []byte {
	end := d.Addr + uint64(d.Len)
	return s.umem[d.Addr:end:end]
}

// Release returns received frames to the kernel through the fill ring.
// Frames the caller does not own (already released, never received) are
// skipped and counted in Stats.InvalidRelease.
func (s *Socket) Release(descs []Desc) {
	if s.closed.Load() {
		return
	}
	put := false
	for _, d := range descs {
		i, ok := s.frameIndex(d.Addr)
		if !ok || s.state[i] != rxUser {
			s.counters.invalidRelease.Add(1)
			continue
		}
		// Cannot be full: the ring holds every RX frame (see Config).
		s.state[i] = rxKernel
		s.fill.put(i << s.frameShift)
		put = true
	}
	if put {
		s.fill.publish()
	}
}

// Poll waits until the RX ring has frames or timeout passes (a negative
// timeout waits forever; sub-millisecond timeouts round up to 1 ms) and
// reports whether frames are ready. In copy mode the kernel also drives
// pending TX from poll. An interrupted wait returns false and no error.
func (s *Socket) Poll(timeout time.Duration) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	if s.rx.available() > 0 {
		return true, nil
	}
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	s.pfd[0].Revents = 0
	n, err := unix.Poll(s.pfd[:], ms)
	if err != nil {
		if errors.Is(err, unix.EINTR) {
			return false, nil
		}
		return false, fmt.Errorf("afxdp poll ifindex %d queue %d: %w", s.ifindex, s.queue, err)
	}
	if n > 0 && s.pfd[0].Revents&(unix.POLLERR|unix.POLLNVAL) != 0 {
		return false, fmt.Errorf("afxdp poll ifindex %d queue %d: revents %#x", s.ifindex, s.queue, s.pfd[0].Revents)
	}
	return s.rx.available() > 0, nil
}
