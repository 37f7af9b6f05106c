package afxdp

import (
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// BenchmarkEcho measures the AF_XDP RX + TX echo round trip over a veth
// pair: a client UDP socket sends windows of 64 datagrams with sendmmsg and
// reads the echoes with recvmmsg, while a worker goroutine polls the
// socket, echoes each batch through the TX ring and flushes. One op is one
// datagram echoed (or lost). The client is usually the bottleneck.
func BenchmarkEcho(b *testing.B) {
	tn := newTestNet(b)
	s := tn.openServer(b, Config{})
	c := tn.dialClient(b)

	stop, done := make(chan struct{}), make(chan error, 1)
	go func() {
		descs := make([]Desc, 64)
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := s.Poll(10 * time.Millisecond); err != nil {
				done <- err
				return
			}
			if _, err := echo(s, descs, nil); err != nil {
				done <- err
				return
			}
		}
	}()
	b.Cleanup(func() { // runs before the socket's Close (cleanups are LIFO)
		close(stop)
		if err := <-done; err != nil {
			b.Errorf("echo worker: %v", err)
		}
	})

	const window = 256
	pc := ipv4.NewPacketConn(c)
	out := make([]ipv4.Message, window)
	in := make([]ipv4.Message, window)
	for i := range out {
		out[i] = ipv4.Message{Buffers: [][]byte{payload(uint32(i))}, Addr: serverEcho}
		in[i] = ipv4.Message{Buffers: [][]byte{make([]byte, 2048)}}
	}
	lost := 0
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; sent += window {
		k := min(window, b.N-sent)
		for w := 0; w < k; {
			n, err := pc.WriteBatch(out[w:k], 0)
			if err != nil {
				b.Fatalf("client send: %v", err)
			}
			w += n
		}
		if err := c.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
			b.Fatal(err)
		}
		for r := 0; r < k; {
			n, err := pc.ReadBatch(in[:k-r], 0)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				lost += k - r
				break
			}
			if err != nil {
				b.Fatalf("client receive: %v", err)
			}
			r += n
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pkts/s")
	b.ReportMetric(float64(lost)/float64(b.N), "lost/op")
	if st, err := s.Stats(); err == nil {
		b.ReportMetric(float64(st.TxKicks)/float64(max(st.TxPackets, 1)), "kicks/pkt")
		b.Logf("stats: %+v", st)
	}
}
