package afxdp

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWaitHot: the raw wait reports a frame, an eventfd write (drained, so
// the next wait times out) and a timeout, each for what it is.
func TestWaitHot(t *testing.T) {
	tn := newTestNetMode(t, 0)
	s := tn.openServer(t, Config{})
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)

	// Nothing to report: a timeout (or a signal, which returns early).
	rx, ev, err := s.WaitHot(efd, 20*time.Millisecond)
	if err != nil || rx || ev {
		t.Fatalf("idle wait: rx %v event %v err %v", rx, ev, err)
	}

	if _, err := unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if rx, ev, err = s.WaitHot(efd, time.Second); err != nil || rx || !ev {
		t.Fatalf("after an eventfd write: rx %v event %v err %v", rx, ev, err)
	}
	if rx, ev, err = s.WaitHot(efd, 0); err != nil || ev {
		t.Fatalf("eventfd not drained: rx %v event %v err %v", rx, ev, err)
	}

	c := tn.dialClient(t)
	if _, err := c.WriteToUDP(payload(1), serverEcho); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !rx {
		if time.Now().After(deadline) {
			t.Fatal("no frame reported within 5s")
		}
		if rx, _, err = s.WaitHot(-1, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	descs := make([]Desc, 4)
	if n, err := s.Receive(descs); err != nil || n != 1 {
		t.Fatalf("receive after WaitHot: %d frames, %v", n, err)
	}
	s.Release(descs[:1])

	s.Close()
	if _, _, err := s.WaitHot(efd, 0); err != ErrClosed {
		t.Errorf("closed socket: %v, want ErrClosed", err)
	}
}
