package main

import (
	"fmt"
	"net"
	"runtime"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netns"
)

// passXDP attaches a one-instruction XDP_PASS program to each named
// interface of namespace ns and returns a function that detaches them.
// A frame a server's XDP program sends back with XDP_TX (kernel-answered
// renewals) crosses its veth pair only if the peer runs an XDP program;
// on a NIC nothing is needed. The renewal rows with the kernel cache on
// attach it to the servers' bridge ports for their run only.
func passXDP(ns string, ifaces ...string) (func(), error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "xbench_pass", Type: ebpf.XDP, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()}, // XDP_PASS
	})
	if err != nil {
		return nil, fmt.Errorf("xdp pass program: %w", err)
	}
	var links []link.Link
	undo := func() {
		for _, l := range links {
			_ = l.Close()
		}
		_ = prog.Close()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		undo()
		return nil, err
	}
	defer orig.Close()
	h, err := netns.GetFromName(ns)
	if err != nil {
		undo()
		return nil, fmt.Errorf("netns %s: %w", ns, err)
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		undo()
		return nil, fmt.Errorf("enter netns %s: %w", ns, err)
	}
	defer func() { _ = netns.Set(orig) }()
	for _, name := range ifaces {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			undo()
			return nil, fmt.Errorf("xdp pass on %s: %w", name, err)
		}
		l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifi.Index})
		if err != nil {
			undo()
			return nil, fmt.Errorf("xdp pass on %s: %w", name, err)
		}
		links = append(links, l)
	}
	return undo, nil
}
