package peertest

import (
	"context"
	"net"
	"testing"
	"time"
)

// Server is what Serve runs: a peer listener server (*peer.Server).
type Server interface {
	Serve(net.Listener) error
	Shutdown(context.Context)
}

// Serve runs srv on ln until the test ends, then shuts it down (2 s at
// most) and fails the test if Serve returned an error.
func Serve(t testing.TB, srv Server, ln net.Listener) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
}
