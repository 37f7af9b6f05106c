package afxdp_test

import (
	"log"
	"time"

	"github.com/xdhcp/xdhcp/userspace/afxdp"
)

// A per-queue worker: receive a batch, build replies in TX frames, release
// the batch, flush once. Registering s.FD() in the XDP program's XSKMAP at
// index QueueID is the loader's job.
func Example() {
	s, err := afxdp.Open(afxdp.Config{IfIndex: 2, QueueID: 0})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	descs := make([]afxdp.Desc, 64)
	for {
		if _, err := s.Poll(100 * time.Millisecond); err != nil {
			log.Fatal(err)
		}
		n, err := s.Receive(descs)
		if err != nil {
			log.Fatal(err)
		}
		for _, d := range descs[:n] {
			req := s.Frame(d) // valid until Release
			buf, addr, ok := s.TxBuffer()
			if !ok {
				continue // every TX frame in flight: drop this reply
			}
			m := copy(buf, req) // build the reply here instead
			if err := s.Submit(addr, m); err != nil {
				log.Fatal(err)
			}
		}
		s.Release(descs[:n])
		if err := s.Flush(); err != nil {
			log.Print(err)
		}
	}
}
