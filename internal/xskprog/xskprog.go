// Package xskprog builds the minimal XDP program that test rigs and the
// load generator attach in front of an AF_XDP socket: matching UDP frames
// go to the XSKMAP slot of their RX queue, everything else to the kernel.
// (The server's own program is bpf/xdhcp.c.)
package xskprog

import (
	"encoding/binary"

	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// xdpPass is XDP_PASS, also the redirect's fallback when no socket is bound.
const xdpPass = 2

// be16 is a network-order u16 as a native 16-bit load sees it.
func be16(v uint16) int32 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return int32(binary.NativeEndian.Uint16(b[:]))
}

// RedirectUDP returns an XDP program that redirects Ethernet/IPv4 (no
// options, not a fragment)/UDP frames with the given source and destination
// ports (0 = any) to xsks[rx_queue_index], falling back to XDP_PASS; every
// other frame (ARP included) is passed to the stack.
func RedirectUDP(xsksFD int, srcPort, dstPort uint16) asm.Instructions {
	insns := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word), // data
		asm.LoadMem(asm.R3, asm.R1, 4, asm.Word), // data_end
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.Add.Imm(asm.R4, 14+20+8),
		asm.JGT.Reg(asm.R4, asm.R3, "pass"),
		asm.LoadMem(asm.R5, asm.R2, 12, asm.Half), // ethertype
		asm.JNE.Imm(asm.R5, be16(0x0800), "pass"),
		asm.LoadMem(asm.R5, asm.R2, 14, asm.Byte), // version, IHL
		asm.JNE.Imm(asm.R5, 0x45, "pass"),
		asm.LoadMem(asm.R5, asm.R2, 20, asm.Half), // flags, fragment offset
		asm.And.Imm(asm.R5, be16(0x3fff)),
		asm.JNE.Imm(asm.R5, 0, "pass"),
		asm.LoadMem(asm.R5, asm.R2, 23, asm.Byte), // protocol
		asm.JNE.Imm(asm.R5, unix.IPPROTO_UDP, "pass"),
	}
	if srcPort != 0 {
		insns = append(insns,
			asm.LoadMem(asm.R5, asm.R2, 34, asm.Half), // UDP source port
			asm.JNE.Imm(asm.R5, be16(srcPort), "pass"))
	}
	if dstPort != 0 {
		insns = append(insns,
			asm.LoadMem(asm.R5, asm.R2, 36, asm.Half), // UDP destination port
			asm.JNE.Imm(asm.R5, be16(dstPort), "pass"))
	}
	return append(insns,
		asm.LoadMem(asm.R2, asm.R6, 16, asm.Word), // rx_queue_index
		asm.LoadMapPtr(asm.R1, xsksFD),
		asm.Mov.Imm(asm.R3, xdpPass),
		asm.FnRedirectMap.Call(),
		asm.Return(),
		asm.Mov.Imm(asm.R0, xdpPass).WithSymbol("pass"),
		asm.Return(),
	)
}
