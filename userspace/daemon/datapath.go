package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/logging"
	"github.com/xdhcp/xdhcp/userspace/metrics"
	"github.com/xdhcp/xdhcp/userspace/server"
)

// dataPath is how packets reach the engine: the UDP listener always (it
// serves what XDP passes to the kernel and sends replies XDP cannot), plus
// the XDP/AF_XDP path when it attaches.
type dataPath struct {
	srv  *server.Server
	xdp  *xdpRuntime
	desc string
}

func numCPU() int { return runtime.NumCPU() }

// startDataPath opens the UDP listener and, unless the configuration says
// "udp", tries the XDP path on every configured interface.
func (d *Daemon) startDataPath(ctx context.Context) (*dataPath, error) {
	c := d.cfg.Dhcp4
	mt := c.MultiThreading
	srv, err := server.New(server.Config{
		Interfaces:      c.InterfacesConfig.Interfaces,
		MultiThreading:  mt.EnableMultiThreading,
		ThreadPoolSize:  workerCount(c),
		PacketQueueSize: int(mt.PacketQueueSize),
		Port:            uint16(d.opt.ServerPort),
		ClientPort:      uint16(d.opt.ClientPort),
		Limiter:         d.adm.limiter,
	}, d.pl, d.reg, d.logs.Get(logging.Packets))
	if err != nil {
		return nil, fmt.Errorf("udp data path: %w", err)
	}
	if err := srv.Start(ctx); err != nil {
		if errors.Is(err, syscall.EACCES) && d.opt.ServerPort < 1024 {
			return nil, fmt.Errorf("udp data path: binding port %d needs CAP_NET_BIND_SERVICE, which this process lacks (%v); %s",
				d.opt.ServerPort, err, `grant it (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE; setpriv: --ambient-caps +net_bind_service)`)
		}
		return nil, fmt.Errorf("udp data path: %w", err)
	}
	dp := &dataPath{srv: srv, desc: "udp"}
	xr, why, err := d.startXDP(ctx, srv)
	if err != nil {
		srv.Stop()
		return nil, err
	}
	if xr != nil {
		dp.xdp = xr
		dp.desc = xr.mode()
	}
	xlog := d.logs.For(logging.XDP, "daemon")
	xlog.Info().Str("datapath", dp.desc).Str("why", why).Msg("data path selected")
	return dp, nil
}

// mode names the data path in use.
func (p *dataPath) mode() string { return p.desc }

// stop stops receiving on every path and finishes in-flight packets.
func (p *dataPath) stop() {
	if p.xdp != nil {
		p.xdp.stop()
	}
	p.srv.Stop()
}

// queueStats is status-get's packet-queue-statistics.
func (p *dataPath) queueStats() []float64 { return []float64{0, 0, 0} }

// addMetrics exports the data path's counters.
func (p *dataPath) addMetrics(c *metrics.Collector) {
	if p.xdp != nil {
		p.xdp.addMetrics(c)
	}
}

// xdpInterfaces lists the interfaces the XDP path should attach to: the
// configured ones minus loopback, "*" meaning every non-loopback interface.
func xdpInterfaces(c *config.Dhcp4) []string {
	var out []string
	for _, spec := range c.InterfacesConfig.Interfaces {
		name, _, _ := strings.Cut(spec, "/")
		if name == "*" {
			ents, _ := os.ReadDir("/sys/class/net")
			for _, e := range ents {
				if e.Name() != "lo" {
					out = append(out, e.Name())
				}
			}
			continue
		}
		if name != "lo" {
			out = append(out, name)
		}
	}
	return out
}

// rxQueues counts an interface's RX queues (1 when unknown).
func rxQueues(ifname string) int {
	m, _ := filepath.Glob(filepath.Join("/sys/class/net", ifname, "queues", "rx-*"))
	if len(m) == 0 {
		return 1
	}
	return len(m)
}
