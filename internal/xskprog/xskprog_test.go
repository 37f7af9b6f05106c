package xskprog

import (
	"testing"

	"github.com/cilium/ebpf"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// TestVerifierAccepts loads every port-filter variant into the kernel.
// What the program redirects is exercised by its users' end-to-end tests
// (userspace/afxdp, cmd/dhcpload).
func TestVerifierAccepts(t *testing.T) {
	testenv.RequireBPF(t)
	xsks, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer xsks.Close()
	for _, ports := range [][2]uint16{{0, 0}, {67, 67}, {0, 9}, {68, 0}} {
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.XDP, License: "GPL",
			Instructions: RedirectUDP(xsks.FD(), ports[0], ports[1])})
		if err != nil {
			t.Fatalf("ports %v: %v", ports, err)
		}
		prog.Close()
	}
}
