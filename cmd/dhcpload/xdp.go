package main

import (
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/xdhcp/xdhcp/internal/xskprog"
	"github.com/xdhcp/xdhcp/userspace/afxdp"
)

// replyProgram redirects DHCP replies to a relay (UDP 67 → 67) into the
// XSKMAP slot of their RX queue; everything else goes to the kernel.
func replyProgram(xsksFD int) asm.Instructions { return xskprog.RedirectUDP(xsksFD, 67, 67) }

// xdpTransport sends and receives through an AF_XDP socket on one RX
// queue, fed by replyProgram attached to the interface.
type xdpTransport struct {
	sock  *afxdp.Socket
	xsks  *ebpf.Map
	prog  *ebpf.Program
	link  link.Link
	descs []afxdp.Desc

	held    []byte // buffer from txBuf not yet submitted
	heldAdr uint64
	noBuf   uint64
}

// openXDP loads and attaches the redirect program to ifindex (native or
// generic mode) and binds an AF_XDP socket to queue. It must run in the
// interface's network namespace.
func openXDP(ifindex, queue int, generic bool, batch int) (_ *xdpTransport, err error) {
	t := &xdpTransport{descs: make([]afxdp.Desc, batch)}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	t.xsks, err = ebpf.NewMap(&ebpf.MapSpec{Name: "dhcpload_xsks", Type: ebpf.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: uint32(queue + 1)})
	if err != nil {
		return nil, fmt.Errorf("create xskmap: %w", err)
	}
	t.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{Name: "dhcpload_redir", Type: ebpf.XDP, License: "GPL",
		Instructions: replyProgram(t.xsks.FD())})
	if err != nil {
		return nil, fmt.Errorf("load xdp program: %w", err)
	}
	t.sock, err = afxdp.Open(afxdp.Config{IfIndex: ifindex, QueueID: queue})
	if err != nil {
		return nil, fmt.Errorf("open af_xdp socket: %w", err)
	}
	if err := t.xsks.Put(uint32(queue), uint32(t.sock.FD())); err != nil {
		return nil, fmt.Errorf("register af_xdp socket in xskmap slot %d: %w", queue, err)
	}
	flags := link.XDPDriverMode
	if generic {
		flags = link.XDPGenericMode
	}
	t.link, err = link.AttachXDP(link.XDPOptions{Program: t.prog, Interface: ifindex, Flags: flags})
	if err != nil {
		return nil, fmt.Errorf("attach xdp to ifindex %d (is another program attached?): %w", ifindex, err)
	}
	return t, nil
}

func (t *xdpTransport) txBuf() []byte {
	if t.held != nil {
		return t.held
	}
	buf, addr, ok := t.sock.TxBuffer()
	if !ok {
		t.noBuf++
		return nil
	}
	t.held, t.heldAdr = buf, addr
	return buf
}

func (t *xdpTransport) submit(n int) error {
	t.held = nil
	return t.sock.Submit(t.heldAdr, n)
}

func (t *xdpTransport) flush() error { return t.sock.Flush() }

func (t *xdpTransport) receive(max int, fn func([]byte)) (int, error) {
	d := t.descs[:min(max, len(t.descs))]
	n, err := t.sock.Receive(d)
	if err != nil || n == 0 {
		return n, err
	}
	for _, x := range d[:n] {
		fn(t.sock.Frame(x))
	}
	t.sock.Release(d[:n])
	return n, nil
}

func (t *xdpTransport) wait(d time.Duration) error {
	_, err := t.sock.Poll(d)
	return err
}

func (t *xdpTransport) counters() map[string]uint64 {
	m := map[string]uint64{"tx_no_buffer": t.noBuf}
	if st, err := t.sock.Stats(); err == nil {
		m["rx_packets"], m["tx_packets"], m["tx_completed"], m["tx_kicks"] = st.RxPackets, st.TxPackets, st.TxCompleted, st.TxKicks
		m["rx_dropped"], m["rx_ring_full"], m["rx_fill_ring_empty"] = st.RxDropped, st.RxRingFull, st.RxFillRingEmptyDescs
		m["tx_invalid_descs"], m["tx_ring_empty"] = st.TxInvalidDescs, st.TxRingEmptyDescs
	}
	return m
}

func (t *xdpTransport) close() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if t.held != nil && t.sock != nil {
		keep(t.sock.FreeTxBuffer(t.heldAdr))
		t.held = nil
	}
	if t.link != nil {
		keep(t.link.Close())
	}
	if t.sock != nil {
		keep(t.sock.Close())
	}
	if t.prog != nil {
		keep(t.prog.Close())
	}
	if t.xsks != nil {
		keep(t.xsks.Close())
	}
	return first
}
