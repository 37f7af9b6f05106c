//go:build linux

package xdppath

import (
	"fmt"
	"runtime"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netns"

	"github.com/xdhcp/xdhcp/internal/crash"
)

// doInNetns runs fn on an OS thread in the network namespace ns and waits
// for it. When the thread is already there (xdhcpd runs wholly inside one
// namespace) no setns(2) happens, so no CAP_SYS_ADMIN is needed; otherwise
// (tests that open a path from a thread switched into a namespace) the
// thread is switched and never switched back: it ends with its goroutine
// (LockOSThread without Unlock).
func doInNetns(log zerolog.Logger, ns netns.NsHandle, fn func() error) error {
	res := make(chan error, 1)
	go func() {
		defer crash.Recover(log, "xdp-netns")
		runtime.LockOSThread()
		cur, err := netns.Get()
		if err != nil {
			res <- fmt.Errorf("current netns: %w", err)
			return
		}
		same := cur.Equal(ns)
		cur.Close()
		if !same {
			if err := netns.Set(ns); err != nil {
				res <- fmt.Errorf("enter netns: %w", err)
				return
			}
		} else {
			defer runtime.UnlockOSThread()
		}
		res <- fn()
	}()
	return <-res
}
