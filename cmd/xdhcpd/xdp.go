package main

import (
	"context"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/metrics"
	"github.com/xdhcp/xdhcp/userspace/server"
)

// xdpRuntime is the XDP/AF_XDP path on the configured interfaces.
type xdpRuntime struct{}

// startXDP attaches the XDP path. This build has no AF_XDP path wired into
// the daemon yet: "auto" serves over UDP and says so.
func (d *daemon) startXDP(ctx context.Context, srv *server.Server) (*xdpRuntime, string) {
	return nil, "this build serves over UDP only: the AF_XDP path is not wired into xdhcpd yet"
}

func (x *xdpRuntime) mode() string                    { return "" }
func (x *xdpRuntime) stop()                           {}
func (x *xdpRuntime) addMetrics(c *metrics.Collector) {}

// xdpWorkers is how many engine workers the XDP path needs: one per RX queue.
func xdpWorkers(c *config.Dhcp4) int {
	if c.XDHCP.Datapath == config.DatapathUDP {
		return 0
	}
	n := 0
	for _, ifn := range xdpInterfaces(c) {
		n += rxQueues(ifn)
	}
	return n
}
