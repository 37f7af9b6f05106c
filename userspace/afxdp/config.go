package afxdp

import (
	"errors"
	"fmt"
	"os"
)

// Defaults applied by Open to zero Config fields.
const (
	DefaultNumFrames = 4096
	DefaultFrameSize = 2048
	DefaultRingSize  = 2048
)

// Config describes one AF_XDP socket. Zero fields take the defaults.
type Config struct {
	// IfIndex is the interface index (required). It is resolved in the
	// caller's network namespace; Open must run in the same one.
	IfIndex int
	// QueueID is the interface RX queue to bind to (and the XSKMAP index
	// the XDP program is expected to use for it).
	QueueID int

	// NumFrames is the number of UMEM frames (default 4096, even). Half
	// are RX frames kept in the fill ring, half are TX frames.
	NumFrames int
	// FrameSize is the UMEM chunk size: a power of two from 2048 to the
	// page size (default 2048). Received frames start 256 bytes
	// (XDP_PACKET_HEADROOM) into their chunk, so at most FrameSize-256
	// bytes are received; TX frames may use the whole chunk.
	FrameSize int

	// Ring sizes, powers of two (default 2048 each). The fill ring must
	// hold every RX frame, and the TX and completion rings every TX frame,
	// so that no put ever finds a ring full.
	FillRingSize int
	CompRingSize int
	RxRingSize   int
	TxRingSize   int

	// Copy forces copy mode (XDP_COPY). When false Open tries zero-copy
	// first and falls back to copy mode if the driver refuses it (veth
	// does, with EOPNOTSUPP).
	Copy bool
	// DisableNeedWakeup binds without XDP_USE_NEED_WAKEUP (Linux 5.4); the
	// socket then kicks the kernel on every Flush. Mostly for testing.
	DisableNeedWakeup bool
}

// withDefaults fills zero fields and checks the result.
func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.NumFrames, DefaultNumFrames)
	def(&c.FrameSize, DefaultFrameSize)
	def(&c.FillRingSize, DefaultRingSize)
	def(&c.CompRingSize, DefaultRingSize)
	def(&c.RxRingSize, DefaultRingSize)
	def(&c.TxRingSize, DefaultRingSize)

	var errs []error
	if c.IfIndex <= 0 {
		errs = append(errs, fmt.Errorf("ifindex %d: must be positive", c.IfIndex))
	}
	if c.QueueID < 0 {
		errs = append(errs, fmt.Errorf("queue %d: must not be negative", c.QueueID))
	}
	if c.NumFrames < 2 || c.NumFrames%2 != 0 || c.NumFrames > 1<<20 {
		errs = append(errs, fmt.Errorf("num frames %d: must be even, from 2 to %d", c.NumFrames, 1<<20))
	}
	if !pow2(c.FrameSize) || c.FrameSize < 2048 || c.FrameSize > os.Getpagesize() {
		errs = append(errs, fmt.Errorf("frame size %d: must be a power of two from 2048 to the page size %d", c.FrameSize, os.Getpagesize()))
	}
	for _, r := range []struct {
		name string
		v    int
	}{{"fill", c.FillRingSize}, {"completion", c.CompRingSize}, {"rx", c.RxRingSize}, {"tx", c.TxRingSize}} {
		if !pow2(r.v) || r.v > 1<<20 {
			errs = append(errs, fmt.Errorf("%s ring size %d: must be a power of two up to %d", r.name, r.v, 1<<20))
		}
	}
	if len(errs) == 0 {
		rx, tx := c.NumFrames/2, c.NumFrames/2
		if c.FillRingSize < rx {
			errs = append(errs, fmt.Errorf("fill ring size %d: smaller than the %d rx frames", c.FillRingSize, rx))
		}
		if c.TxRingSize < tx {
			errs = append(errs, fmt.Errorf("tx ring size %d: smaller than the %d tx frames", c.TxRingSize, tx))
		}
		if c.CompRingSize < tx {
			errs = append(errs, fmt.Errorf("completion ring size %d: smaller than the %d tx frames", c.CompRingSize, tx))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("afxdp config: %w", err)
	}
	return c, nil
}

func pow2(v int) bool { return v > 0 && v&(v-1) == 0 }
