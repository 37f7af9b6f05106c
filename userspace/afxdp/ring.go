package afxdp

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ring is a single-producer single-consumer ring shared with the kernel.
// User space is the producer of the fill and TX rings and the consumer of
// the RX and completion rings; the kernel is the other side.
//
// Ordering follows libbpf's xsk.h: the index owned by the other side is
// read with an acquire load before touching entries, and our own index is
// published with a release store after writing (or reading) entries.
// sync/atomic operations are sequentially consistent, which is stronger.
type ring[T uint64 | unix.XDPDesc] struct {
	producer *uint32
	consumer *uint32
	flags    *uint32
	entries  []T
	mask     uint32
	// local is our own index (producer for fill/TX, consumer for
	// RX/completion), ahead of the shared one until published.
	local uint32
	// mem is the ring's mapping, kept for munmap.
	mem []byte
}

// initRing builds a ring view over mem using the kernel's offsets. n must be
// a power of two (the kernel checks it at setsockopt time).
func initRing[T uint64 | unix.XDPDesc](r *ring[T], mem []byte, off unix.XDPRingOffset, n uint32,
	view func([]byte, uint64, uint32) ([]T, error), producerSide bool) error {
	var err error
	if r.producer, err = u32At(mem, off.Producer); err != nil {
		return err
	}
	if r.consumer, err = u32At(mem, off.Consumer); err != nil {
		return err
	}
	if r.flags, err = u32At(mem, off.Flags); err != nil {
		return err
	}
	if r.entries, err = view(mem, off.Desc, n); err != nil {
		return err
	}
	if n == 0 || n&(n-1) != 0 {
		return fmt.Errorf("ring size %d is not a power of two", n)
	}
	r.mask = n - 1
	r.mem = mem
	if producerSide {
		r.local = atomic.LoadUint32(r.producer)
	} else {
		r.local = atomic.LoadUint32(r.consumer)
	}
	return nil
}

// --- producer side (fill, TX) ---

// free is the number of entries the producer may write now.
func (r *ring[T]) free() uint32 {
	return uint32(len(r.entries)) - (r.local - atomic.LoadUint32(r.consumer))
}

// put writes one entry at the local producer index. The caller checks free.
func (r *ring[T]) put(v T) {
	r.entries[r.local&r.mask] = v
	r.local++
}

// publish makes every put entry visible to the kernel.
func (r *ring[T]) publish() {
	atomic.StoreUint32(r.producer, r.local)
}

// unconsumed is the number of published or put entries the kernel has not
// consumed yet.
func (r *ring[T]) unconsumed() uint32 {
	return r.local - atomic.LoadUint32(r.consumer)
}

// --- consumer side (RX, completion) ---

// available is the number of entries ready to be read.
func (r *ring[T]) available() uint32 {
	return atomic.LoadUint32(r.producer) - r.local
}

// get reads the entry at the local consumer index. The caller checks
// available.
func (r *ring[T]) get() T {
	v := r.entries[r.local&r.mask]
	r.local++
	return v
}

// release hands every read entry back to the kernel.
func (r *ring[T]) release() {
	atomic.StoreUint32(r.consumer, r.local)
}

// --- both ---

// needWakeup reports whether the kernel asked to be woken for this ring
// (XDP_RING_NEED_WAKEUP, Linux 5.4).
func (r *ring[T]) needWakeup() bool {
	return atomic.LoadUint32(r.flags)&unix.XDP_RING_NEED_WAKEUP != 0
}
