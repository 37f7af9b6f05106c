//go:build linux

package bpf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// ifindexIn resolves name in ns.
func ifindexIn(t *testing.T, ns *testenv.Netns, name string) int {
	t.Helper()
	var idx int
	if err := ns.Do(func() error {
		ifc, err := net.InterfaceByName(name)
		if err == nil {
			idx = ifc.Index
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return idx
}

// xdpLinkID returns the id of the bpf_link attaching XDP to ifindex, or 0.
func xdpLinkID(t *testing.T, ifindex int) link.ID {
	t.Helper()
	it := new(link.Iterator)
	defer it.Close()
	for it.Next() {
		li, err := it.Link.Info()
		if err != nil || li.Type != link.XDPType {
			continue
		}
		if xi := li.XDP(); xi != nil && xi.Ifindex == uint32(ifindex) {
			return it.ID
		}
	}
	return 0
}

// TestAttachSecondInstanceFails: a link held by a live Datapath (this
// process) or by another process is not taken over; the error names the
// holder.
func TestAttachSecondInstanceFails(t *testing.T) {
	testenv.RequireBPF(t)
	srv, cli := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srv, "xs0", "", cli, "xc0", "")
	ifindex := ifindexIn(t, srv, "xs0")

	first := loadTest(t)
	if err := srv.Do(func() error { return first.Attach(ifindex, ModeNative) }); err != nil {
		t.Fatal(err)
	}
	second := loadTest(t)
	err := srv.Do(func() error { return second.Attach(ifindex, ModeNative) })
	comm, _ := os.ReadFile("/proc/self/comm")
	want := fmt.Sprintf("held by pid %d (%s)", os.Getpid(), strings.TrimSpace(string(comm)))
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), want) {
		t.Fatalf("second attach: %v; want ErrInUse naming %q", err, want)
	}
	t.Logf("second attach: %v", err)
	if id, _ := xdpProgID(t, srv, "xs0"); id != progID(t, first.Program()) {
		t.Fatalf("first instance's program replaced (now id %d)", id)
	}
	// Generic mode is refused the same way.
	if err := srv.Do(func() error { return second.Attach(ifindex, ModeGeneric) }); !errors.Is(err, ErrInUse) {
		t.Fatalf("second attach, generic: %v", err)
	}
	if err := first.Detach(); err != nil {
		t.Fatal(err)
	}

	// Another process.
	cmd, pid := holdInChild(t, srv, "xs0")
	err = srv.Do(func() error { return second.Attach(ifindex, ModeNative) })
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), fmt.Sprintf("held by pid %d (", pid)) {
		t.Fatalf("attach beside another process: %v; want ErrInUse naming pid %d", err, pid)
	}
	t.Logf("attach beside another process: %v", err)
	// Once it exits, its link is gone and the attach succeeds.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err := srv.Do(func() error { return second.Attach(ifindex, ModeNative) }); err != nil {
		t.Fatalf("attach after the holder exited: %v", err)
	}
	if id, _ := xdpProgID(t, srv, "xs0"); id != progID(t, second.Program()) {
		t.Fatalf("attached id %d, want ours", id)
	}
}

// holdInChild starts this test binary as a helper that attaches the
// program to ifname in ns and waits; it returns once attached.
func holdInChild(t *testing.T, ns *testenv.Netns, ifname string) (*exec.Cmd, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldXDP$", "-test.v")
	cmd.Env = append(os.Environ(), "XDHCP_HELPER_HOLD_NETNS="+ns.Name, "XDHCP_HELPER_HOLD_IF="+ifname)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "helper: attached" {
				ready <- nil
				_, _ = io.Copy(io.Discard, out)
				return
			}
		}
		ready <- fmt.Errorf("helper exited before attaching (%v)", sc.Err())
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("helper did not attach within 30 s")
	}
	return cmd, cmd.Process.Pid
}

// TestHelperHoldXDP is the child of holdInChild, not a test of its own.
func TestHelperHoldXDP(t *testing.T) {
	nsName, ifname := os.Getenv("XDHCP_HELPER_HOLD_NETNS"), os.Getenv("XDHCP_HELPER_HOLD_IF")
	if nsName == "" {
		t.Skip("helper process for TestAttachSecondInstanceFails")
	}
	d, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	h, err := netns.GetFromName(nsName)
	if err != nil {
		t.Fatal(err)
	}
	if err := netns.Set(h); err != nil {
		t.Fatal(err)
	}
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Attach(l.Attrs().Index, ModeNative); err != nil {
		t.Fatal(err)
	}
	fmt.Println("helper: attached")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin or kills us
	_ = d.Close()
}

// TestAttachReusesStalePinnedLink: a run with a pin path that crashed
// leaves its link pinned; the next run updates the program on that link
// (same mode) or replaces it (other mode), and a clean Detach unpins.
func TestAttachReusesStalePinnedLink(t *testing.T) {
	testenv.RequireBPF(t)
	pins := filepath.Join(mountBPFFS(t), "xdhcp")
	srv, cli := testenv.NewNetns(t), testenv.NewNetns(t)
	testenv.Veth(t, srv, "xs0", "", cli, "xc0", "")
	ifindex := ifindexIn(t, srv, "xs0")
	pin := filepath.Join(pins, fmt.Sprintf("xdhcp_link_%d", ifindex))

	crash := func(d *Datapath) {
		t.Helper()
		for _, l := range d.links {
			if err := l.Close(); err != nil { // fd closed, pin kept
				t.Fatal(err)
			}
		}
		d.links = map[int]link.Link{}
		_ = d.objs.Close()
	}
	load := func() *Datapath {
		t.Helper()
		d, err := Load(Options{PinPath: pins})
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		t.Cleanup(func() { _ = d.Close() })
		return d
	}

	old := load()
	if err := srv.Do(func() error { return old.Attach(ifindex, ModeNative) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pin); err != nil {
		t.Fatalf("link not pinned: %v", err)
	}
	oldLink := xdpLinkID(t, ifindex)
	crash(old)
	if hs, err := steadyHolders(oldLink); err != nil || len(hs) != 0 {
		t.Fatalf("holders of the crashed link: %v %v", hs, err)
	}

	// Same mode: the pinned link is kept, its program replaced.
	d := load()
	if err := srv.Do(func() error { return d.Attach(ifindex, ModeNative) }); err != nil {
		t.Fatalf("attach over the stale pinned link: %v", err)
	}
	if id, _ := xdpProgID(t, srv, "xs0"); id != progID(t, d.Program()) {
		t.Fatalf("program id %d, want ours", id)
	}
	if got := xdpLinkID(t, ifindex); got != oldLink {
		t.Fatalf("link %d, want the pinned link %d updated in place", got, oldLink)
	}
	crash(d)

	// Other mode: the stale link is detached and a new one pinned.
	d2 := load()
	if err := srv.Do(func() error { return d2.Attach(ifindex, ModeGeneric) }); err != nil {
		t.Fatalf("attach generic over the stale native link: %v", err)
	}
	id, m := xdpProgID(t, srv, "xs0")
	if id != progID(t, d2.Program()) || m != nl.XDP_ATTACHED_SKB {
		t.Fatalf("program %d mode %d, want ours in generic mode", id, m)
	}
	newLink := xdpLinkID(t, ifindex)
	if newLink == oldLink || newLink == 0 {
		t.Fatalf("link %d, want a new one", newLink)
	}
	pl, err := link.LoadPinnedLink(pin, nil)
	if err != nil {
		t.Fatalf("load pin: %v", err)
	}
	li, err := pl.Info()
	pl.Close()
	if err != nil || li.ID != newLink {
		t.Fatalf("pin holds link %v (%v), want %d", li, err, newLink)
	}

	// A clean Detach unpins: nothing stays attached.
	if err := d2.Detach(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pin); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pin after Detach: %v", err)
	}
	if id, _ := xdpProgID(t, srv, "xs0"); id != 0 {
		t.Fatalf("program %d attached after Detach", id)
	}
}
