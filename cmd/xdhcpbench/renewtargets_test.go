package main

import (
	"strings"
	"testing"
)

func renewServer(name string, rows ...RenewRow) *Server {
	return &Server{Name: name, Renewals: &Renewals{Rows: rows}}
}

func TestTargetsRenew(t *testing.T) {
	kea := renewServer("kea",
		RenewRow{Cached: true, Offered: 10000, Sent: 30000, Acked: 30000, PerSec: 10000, Per1k: 0.09},
		RenewRow{Cached: true, Offered: 0, Sent: 60000, Acked: 45000, PerSec: 15000, Loss: 0.25, Per1k: 0.09})
	off := RenewRow{Cached: true, Kernel: "off", Offered: 10000, Sent: 30000, Acked: 30000, PerSec: 10000, Per1k: 0.020}
	on := RenewRow{Cached: true, Kernel: "on", Offered: 10000, Sent: 30000, Acked: 30000, PerSec: 10000, Per1k: 0.0008, KernelAcked: 30000}
	for _, tc := range []struct {
		name       string
		x          *Server
		rate, cpu  string
		rateDetail string
	}{
		{"met", renewServer("xdhcpd-auto", off, on, RenewRow{Cached: true, Kernel: "on", Offered: 0, Sent: 300000, Acked: 300000, PerSec: 300000, Per1k: 0.0001}),
			Met, Met, "300000/s"},
		{"lab limit", renewServer("xdhcpd-auto", off, on, RenewRow{Cached: true, Kernel: "on", Offered: 0, Sent: 120000, Acked: 108000, PerSec: 36000, Loss: 0.1, HostBusy: 0.99}),
			NA, Met, "lab limit"},
		{"server limit", renewServer("xdhcpd-auto", off, on, RenewRow{Cached: true, Kernel: "on", Offered: 0, Sent: 120000, Acked: 108000, PerSec: 36000, Loss: 0.1, HostBusy: 0.6}),
			Missed, Met, "Kea cached 10000/s"},
		{"user space still pays", renewServer("xdhcpd-auto", off, RenewRow{Cached: true, Kernel: "on", Offered: 10000, Sent: 30000, Acked: 30000, PerSec: 10000, Per1k: 0.008, KernelAcked: 25000}),
			Missed, Missed, ""},
		{"replies lost after the server", renewServer("xdhcpd-auto", off, on, RenewRow{Cached: true, Kernel: "on", Offered: 0, Sent: 120000, Acked: 108000, ServerAcks: 119990, PerSec: 36000, Loss: 0.1, HostBusy: 0.5}),
			NA, Met, "its receive is the limit"},
		{"net of background", renewServer("xdhcpd-auto", off, RenewRow{Cached: true, Kernel: "on", Offered: 10000, Sent: 30000, Acked: 30000, PerSec: 10000, Per1k: 0.0016, NetPer1k: 0.0002, IdleCPUPerSec: 0.01, KernelAcked: 30000}),
			Missed, Met, ""},
		{"load tool's top", renewServer("xdhcpd-auto", off, on, RenewRow{Cached: true, Kernel: "on", Offered: 0, Sent: 120000, Acked: 120000, ServerAcks: 120000, PerSec: 40000, HostBusy: 0.5}),
			NA, Met, "could not offer more"},
		{"8b at the highest common rate", renewServer("xdhcpd-auto",
			RenewRow{Cached: true, Kernel: "off", Offered: 2500, Sent: 7500, Acked: 7500, PerSec: 2500, Per1k: 0.040},
			off,
			RenewRow{Cached: true, Kernel: "on", Offered: 2500, Sent: 7500, Acked: 7500, PerSec: 2500, Per1k: 0.005, KernelAcked: 7500},
			on),
			Missed, Met, ""},
		{"not run", nil, NA, NA, "not run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := targetsRenew(tc.x, kea)
			if len(ts) != 2 {
				t.Fatalf("%d targets", len(ts))
			}
			if ts[0].Status != tc.rate || ts[1].Status != tc.cpu {
				t.Errorf("statuses %s/%s, want %s/%s: %+v", ts[0].Status, ts[1].Status, tc.rate, tc.cpu, ts)
			}
			if !strings.Contains(ts[0].Detail, tc.rateDetail) {
				t.Errorf("8a detail %q lacks %q", ts[0].Detail, tc.rateDetail)
			}
		})
	}
}
