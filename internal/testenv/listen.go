package testenv

import (
	"bytes"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// EMFILEListener wraps ln so that its first n Accepts fail with EMFILE, as
// accept(2) does when the process is out of file descriptors: what an
// accept loop must survive.
func EMFILEListener(ln net.Listener, n int) net.Listener {
	l := &emfileListener{Listener: ln}
	l.n.Store(int32(n))
	return l
}

type emfileListener struct {
	net.Listener
	n atomic.Int32
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: l.Addr().Network(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// LogBuffer is a goroutine-safe sink for a test's log output.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *LogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *LogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
