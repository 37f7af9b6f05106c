package server

import (
	"testing"

	"github.com/xdhcp/xdhcp/userspace/stats"
)

// BenchmarkQueue measures one push and one pop through the shared queue.
func BenchmarkQueue(b *testing.B) {
	reg := stats.New()
	q := newQueue(1024, reg.NewShard(), reg.Cell(StatQueueFull))
	b.ReportAllocs()
	for b.Loop() {
		q.push(Packet{})
		q.pop()
	}
}
