package main

import "time"

// transport moves whole Ethernet frames on the client interface.
type transport interface {
	// txBuf returns a buffer to build the next outgoing frame in, or nil
	// when every buffer is in flight. Until submit, repeated calls return
	// the same buffer.
	txBuf() []byte
	// submit queues the first n bytes of the buffer from txBuf.
	submit(n int) error
	// flush sends what submit queued.
	flush() error
	// receive hands up to max received frames to fn (each valid only
	// during the call) without blocking and returns how many.
	receive(max int, fn func([]byte)) (int, error)
	// wait blocks until a frame may be ready or d passes.
	wait(d time.Duration) error
	// counters returns transport-level statistics for the report.
	counters() map[string]uint64
	close() error
}
