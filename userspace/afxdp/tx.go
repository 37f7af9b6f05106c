package afxdp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// maxKickStalls bounds the kicks in a row that move no TX descriptor
// before Flush gives up (the rest stays queued for the next Flush).
const maxKickStalls = 3

// TxBuffer hands out a free TX frame to build an outgoing frame in: buf is
// the whole UMEM chunk (FrameSize bytes) and addr its UMEM address for
// Submit. ok is false when every TX frame is in flight even after reaping
// completions. The frame belongs to the caller until Submit or
// FreeTxBuffer.
func (s *Socket) TxBuffer() (buf []byte, addr uint64, ok bool) {
	if s.closed.Load() {
		return nil, 0, false
	}
	if len(s.txFreeList) == 0 && s.Complete() == 0 {
		return nil, 0, false
	}
	last := len(s.txFreeList) - 1
	addr = s.txFreeList[last]
	s.txFreeList = s.txFreeList[:last]
	s.state[addr>>s.frameShift] = txUser
	end := addr + s.frameSize
	return s.umem[addr:end:end], addr, true
}

// FreeTxBuffer gives back a frame from TxBuffer that will not be sent.
func (s *Socket) FreeTxBuffer(addr uint64) error {
	if s.closed.Load() {
		return ErrClosed
	}
	i, ok := s.frameIndex(addr)
	if !ok || s.state[i] != txUser || addr != i<<s.frameShift {
		s.counters.invalidSubmit.Add(1)
		return fmt.Errorf("free tx buffer %#x: %w", addr, ErrFrameState)
	}
	s.state[i] = txFree
	s.txFreeList = append(s.txFreeList, addr)
	return nil
}

// Submit queues the first length bytes of a frame from TxBuffer for
// transmission. Nothing is sent before Flush; the frame belongs to the
// kernel until its completion is reaped. Submitting an address not
// obtained from TxBuffer, twice, or with a length outside 1..FrameSize
// returns an error wrapping ErrFrameState and changes nothing.
func (s *Socket) Submit(addr uint64, length int) error {
	if s.closed.Load() {
		return ErrClosed
	}
	i, ok := s.frameIndex(addr)
	if !ok || s.state[i] != txUser || addr != i<<s.frameShift || length <= 0 || uint64(length) > s.frameSize {
		s.counters.invalidSubmit.Add(1)
		return fmt.Errorf("submit tx frame %#x length %d: %w", addr, length, ErrFrameState)
	}
	// Cannot be full: the ring holds every TX frame (see Config).
	s.state[i] = txKernel
	s.tx.put(unix.XDPDesc{Addr: addr, Len: uint32(length)})
	s.txPending++
	return nil
}

// Complete moves TX frames the kernel has finished with from the
// completion ring back to the free list and returns how many. Receive,
// TxBuffer and Flush call it; call it directly only when neither runs for
// a while.
func (s *Socket) Complete() int {
	if s.closed.Load() {
		return 0
	}
	n := s.comp.available()
	if n == 0 {
		return 0
	}
	done := 0
	for range n {
		addr := s.comp.get()
		i, ok := s.frameIndex(addr)
		if !ok || s.state[i] != txKernel {
			s.counters.unexpectedFrame.Add(1)
			continue
		}
		s.state[i] = txFree
		s.txFreeList = append(s.txFreeList, i<<s.frameShift)
		done++
	}
	s.comp.release()
	s.counters.txCompleted.Add(uint64(done))
	return done
}

// Flush publishes the submitted frames to the TX ring and drives the
// kernel to send them.
//
// In copy mode (and whenever the kernel sets the TX ring's need-wakeup
// flag, or need-wakeup is off) the kernel sends only on sendto, and only a
// budget of frames per call (32 by default), so Flush kicks repeatedly
// until the kernel has consumed the whole TX ring, reaping completions in
// between so the completion ring never blocks it. It stops after a few
// kicks in a row that make no progress (device busy, link down); what is
// left stays queued and goes with the next Flush.
func (s *Socket) Flush() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.txPending > 0 {
		s.tx.publish()
		s.counters.txPackets.Add(uint64(s.txPending))
		s.txPending = 0
	}
	s.Complete()
	stalls := 0
	for kicks := 0; kicks <= len(s.tx.entries); kicks++ {
		left := s.tx.unconsumed()
		if left == 0 {
			return nil
		}
		if !s.needTxKick() {
			return nil
		}
		if err := s.kickTx(); err != nil {
			return err
		}
		s.Complete()
		if s.tx.unconsumed() == left {
			if stalls++; stalls >= maxKickStalls {
				return nil
			}
		} else {
			stalls = 0
		}
	}
	return nil
}

// needTxKick reports whether the kernel only sends on a syscall.
func (s *Socket) needTxKick() bool {
	return !s.zeroCopy || !s.needWakeup || s.tx.needWakeup()
}

// kickTx is one sendto(MSG_DONTWAIT) on the socket. The transient errors
// libbpf's xdpsock tolerates are not errors here. It never blocks, so it
// is a raw system call: entering the scheduler's syscall state would wake
// the runtime's sysmon thread (when every P was idle) for every reply.
func (s *Socket) kickTx() error {
	s.counters.txKicks.Add(1)
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	switch e {
	case 0, unix.EAGAIN, unix.EBUSY, unix.ENOBUFS, unix.ENETDOWN, unix.EINTR:
		return nil
	}
	return fmt.Errorf("afxdp kick tx ifindex %d queue %d: %w", s.ifindex, s.queue, e)
}

// Send copies frame into a TX frame, submits it and flushes: one frame,
// at least one syscall. For batches use TxBuffer, Submit and one Flush.
// It returns an error wrapping ErrNoTxFrame when every TX frame is in
// flight, counted in Stats.TxNoFrame.
func (s *Socket) Send(frame []byte) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if len(frame) == 0 || uint64(len(frame)) > s.frameSize {
		return fmt.Errorf("afxdp send %d-byte frame: must be 1..%d bytes", len(frame), s.frameSize)
	}
	buf, addr, ok := s.TxBuffer()
	if !ok {
		// Drive the kernel once and look again.
		if err := s.Flush(); err != nil {
			return err
		}
		if buf, addr, ok = s.TxBuffer(); !ok {
			s.counters.txNoFrame.Add(1)
			return fmt.Errorf("afxdp send ifindex %d queue %d: %w", s.ifindex, s.queue, ErrNoTxFrame)
		}
	}
	copy(buf, frame)
	if err := s.Submit(addr, len(frame)); err != nil {
		return err
	}
	return s.Flush()
}
