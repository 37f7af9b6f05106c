package main

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
)

// dropCounter attaches to ifindex an XDP program that counts every frame
// in a one-slot array and drops it, and returns the counter.
func dropCounter(b *testing.B, tn *testNet, ifname string) func() uint64 {
	b.Helper()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		b.Fatalf("create counter map: %v", err)
	}
	b.Cleanup(func() { m.Close() })
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "dhcpload_sink", Type: ebpf.XDP, License: "GPL",
		Instructions: asm.Instructions{
			asm.StoreImm(asm.R10, -4, 0, asm.Word),
			asm.Mov.Reg(asm.R2, asm.R10),
			asm.Add.Imm(asm.R2, -4),
			asm.LoadMapPtr(asm.R1, m.FD()),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "drop"),
			asm.Mov.Imm(asm.R1, 1),
			asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
			asm.Mov.Imm(asm.R0, 1).WithSymbol("drop"), // XDP_DROP
			asm.Return(),
		}})
	if err != nil {
		b.Fatalf("load sink program: %v", err)
	}
	b.Cleanup(func() { prog.Close() })
	if err := tn.server.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifi.Index})
		if err != nil {
			return fmt.Errorf("attach sink: %w", err)
		}
		b.Cleanup(func() { l.Close() })
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return func() uint64 {
		var v uint64
		if err := m.Lookup(uint32(0), &v); err != nil {
			b.Fatalf("read sink counter: %v", err)
		}
		return v
	}
}

// BenchmarkSendRate measures the raw DISCOVER send rate of one engine
// goroutine, unlimited rate, to a server veth whose XDP program counts
// and drops everything (nothing is answered; a 50 ms timeout recycles the
// 64k clients). One op is one DISCOVER; "sent/s" is frames handed to the
// transport per second, "arrived/op" the fraction the sink counted.
//
//	sudo go test -run '^$' -bench SendRate -benchtime 2000000x ./cmd/dhcpload/
func BenchmarkSendRate(b *testing.B) {
	for _, mode := range []string{"afxdp", "packet"} {
		b.Run(mode, func(b *testing.B) {
			tn := newTestNet(b)
			count := dropCounter(b, tn, tn.srvIf)
			cfg, err := parseFlags([]string{"-i", tn.cliIf, "-mode", mode, "-server", serverAddr, "-server-mac", "02:00:00:00:00:01",
				"-clients", "65536", "-rate", "0", "-n", fmt.Sprint(b.N), "-duration", "60s", "-timeout", "50ms"})
			if err != nil {
				b.Fatal(err)
			}
			var e *engine
			if err := tn.client.Do(func() error {
				ep, err := resolve(cfg)
				if err != nil {
					return err
				}
				var tr transport
				if mode == "afxdp" {
					tr, err = openXDP(ep.ifindex, 0, false, cfg.Batch)
				} else {
					tr, err = openPacket(ep.ifindex, u32(ep.giaddr))
				}
				if err != nil {
					return err
				}
				b.Cleanup(func() { tr.close() })
				g := newGen(genOptions{Clients: cfg.Clients, MACBase: [6]byte(cfg.MACBase), Giaddr: u32(ep.giaddr), TimeoutNs: int64(cfg.Timeout)})
				e = newEngine(cfg, ep, tr, g)
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			if err := e.run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			time.Sleep(50 * time.Millisecond)
			b.ReportMetric(float64(e.sentFrames)/e.sendElapsed.Seconds(), "sent/s")
			b.ReportMetric(float64(count())/float64(max(e.sentFrames, 1)), "arrived/op")
			b.Logf("transport %v", e.tr.counters())
		})
	}
}
