package accept

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// TestGate: accept errors are counted, backed off and warned about once;
// a full gate makes the next connection wait until a slot is released;
// closing done ends Next with no error.
func TestGate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var waits, errs atomic.Int64
	var warned []int
	done := make(chan struct{})
	g := New(1, done, &waits, &errs, func(err error, suppressed int, _ time.Duration) { warned = append(warned, suppressed) })

	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String()) // waits in the backlog
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	c1, err := g.Next(testenv.EMFILEListener(ln, 3))
	if err != nil || c1 == nil {
		t.Fatalf("Next after accept errors: %v %v", c1, err)
	}
	if errs.Load() != 3 || len(warned) != 1 || warned[0] != 0 {
		t.Fatalf("errors %d, warnings %v: want 3 counted, one warning", errs.Load(), warned)
	}
	got := make(chan net.Conn)
	go func() { c, _ := g.Next(ln); got <- c }()
	select {
	case <-got:
		t.Fatal("a second connection was accepted with the only slot taken")
	case <-time.After(100 * time.Millisecond):
	}
	g.Release()
	if c2 := <-got; c2 == nil {
		t.Fatal("no connection after the slot was released")
	}
	if waits.Load() != 1 {
		t.Errorf("waits %d, want 1", waits.Load())
	}
	close(done)
	if c, err := g.Next(ln); c != nil || err != nil {
		t.Errorf("Next after done: %v %v, want nil, nil", c, err)
	}
}
