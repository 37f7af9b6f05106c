package server

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// BenchmarkWorkerProcess measures parse + count + handler + send callback
// for one DISCOVER; the handler answers nothing, so this is the server's
// share (dhcpv4.FromBytes dominates).
func BenchmarkWorkerProcess(b *testing.B) {
	s, err := New(Config{}, &nopHandler{}, stats.New(), zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	w := s.NewWorker()
	data := discover(b, nil, 1, false)
	send := func(*Packet, *dhcp.Request, *dhcp.Reply) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		p := Packet{Data: data}
		w.Process(&p, send)
	}
}

// BenchmarkQueue measures one push and one pop through the shared queue.
func BenchmarkQueue(b *testing.B) {
	reg := stats.New()
	q := newQueue(1024, reg.NewShard(), reg.Cell(StatQueueFull))
	b.ReportAllocs()
	for b.Loop() {
		q.push(job{})
		q.pop()
	}
}

// nopHandler answers nothing, so the benchmark measures the server's part.
type nopHandler struct{}

func (nopHandler) Handle(int, *dhcp.Request) *dhcp.Reply { return nil }
