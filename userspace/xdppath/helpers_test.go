//go:build linux

package xdppath

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/pipeline"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// Test topology: the server end of the veth is 198.18.0.2/24, the client
// (perfdhcp, acting as a relay) 198.18.0.1/24; the subnet is selected by
// relay address 198.18.0.1 and leases come from 198.19.0.0/16.
const (
	srvCIDR = "198.18.0.2/24"
	cliCIDR = "198.18.0.1/24"
	srvAddr = "198.18.0.2"

	testConfig = `{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ ] },
  "lease-database": { "type": "memfile", "persist": false },
  "valid-lifetime": 4000,
  "subnet4": [ {
    "id": 1, "subnet": "198.19.0.0/16", "relay": { "ip-addresses": [ "198.18.0.1" ] },
    "pools": [ { "pool": "198.19.0.10 - 198.19.255.200" } ]
  } ]
} }`
)

// engineHandler is a pipeline.Engine over a real engine that records the
// requests that reached it.
type engineHandler struct {
	e *dhcp.Engine

	mu        sync.Mutex
	seen      []*dhcpv4.DHCPv4 // every request (a copy of the fields we check)
	discovers atomic.Int64
}

func (h *engineHandler) Handler(sh *stats.Shard) func(*dhcp.Request) *dhcp.Reply {
	w := h.e.WorkerFor(sh)
	return func(req *dhcp.Request) *dhcp.Reply {
		if req.Msg.MessageType() == dhcpv4.MessageTypeDiscover {
			h.discovers.Add(1)
		}
		h.mu.Lock()
		h.seen = append(h.seen, req.Msg)
		h.mu.Unlock()
		return w.Handle(req)
	}
}

func (h *engineHandler) requests() []*dhcpv4.DHCPv4 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*dhcpv4.DHCPv4(nil), h.seen...)
}

// newEnginePipeline builds the engine over a memory-only store and a
// pipeline over it; rep (optional) replicates committed leases.
func newEnginePipeline(t *testing.T, rep pipeline.Replicator) (*pipeline.Pipeline, *engineHandler, *stats.Registry) {
	t.Helper()
	cfg, _, err := config.Parse("xdppath-test.json", []byte(testConfig))
	if err != nil {
		t.Fatalf("parse config: %v", err)
	}
	reg := stats.New()
	var eng atomic.Pointer[dhcp.Engine]
	st, _, err := lease.Open(lease.Options{Persist: false, OnChange: func(c lease.Change) {
		if e := eng.Load(); e != nil {
			e.LeaseChanged(c)
		}
	}})
	if err != nil {
		t.Fatalf("open lease store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := dhcp.New(cfg, dhcp.Deps{Store: st, Stats: reg, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	eng.Store(e)
	h := &engineHandler{e: e}
	pc := pipeline.Config{Stats: reg, Logger: zerolog.Nop()}
	if rep != nil {
		pc.Replicator = rep
	}
	pl, err := pipeline.New(pc)
	if err != nil {
		t.Fatalf("new pipeline: %v", err)
	}
	pl.SetEngine(h)
	return pl, h, reg
}

// serving is the server side of a lab: an engine pipeline, the UDP
// fallback and a started Path on the lab's server veth.
type serving struct {
	p   *Path
	pl  *pipeline.Pipeline
	h   *engineHandler
	reg *stats.Registry
	fb  *udpFallback
}

// startServing opens and starts a Path on l, its pipeline replicating to
// rep when it is not nil; tweak, when set, adjusts the Path's Config.
func startServing(t *testing.T, l *lab, rep pipeline.Replicator, tweak func(*Config)) *serving {
	t.Helper()
	s := &serving{}
	s.pl, s.h, s.reg = newEnginePipeline(t, rep)
	s.fb = newUDPFallback(t, l.srv, l.srvIf)
	cfg := Config{Pipeline: s.pl, Stats: s.reg, Fallback: s.fb, Logger: zerolog.Nop()}
	if tweak != nil {
		tweak(&cfg)
	}
	s.p = openPath(t, l, cfg)
	if err := s.p.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	return s
}

// lab is two namespaces joined by a veth with two RX/TX queues.
type lab struct {
	srv, cli       *testenv.Netns
	srvIf, cliIf   string
	srvIdx, cliIdx int
}

func newLab(t *testing.T) *lab {
	t.Helper()
	testenv.RequireBPF(t)
	testenv.RequireCommand(t, "ip", "ethtool")
	l := &lab{srv: testenv.NewNetns(t), cli: testenv.NewNetns(t), srvIf: testenv.Name("xs"), cliIf: testenv.Name("xc")}
	testenv.Veth(t, l.srv, l.srvIf, srvCIDR, l.cli, l.cliIf, cliCIDR,
		"numrxqueues", "2", "numtxqueues", "2")
	// The client's kernel sockets would send partial checksums (offload).
	l.cli.Run(t, "ethtool", "-K", l.cliIf, "tx", "off")
	return l
}

// udpFallback is the test's stand-in for the UDP path's sender: a plain
// UDP socket in the server namespace bound to port 67.
type udpFallback struct {
	conn *net.UDPConn
	sent atomic.Int64
}

func newUDPFallback(t *testing.T, ns *testenv.Netns, ifname string) *udpFallback {
	t.Helper()
	f := &udpFallback{}
	err := ns.Do(func() error {
		lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
				if serr == nil {
					serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifname)
				}
			})
			if err != nil {
				return err
			}
			return serr
		}}
		c, err := lc.ListenPacket(context.Background(), "udp4", srvAddr+":67")
		if err != nil {
			return err
		}
		f.conn = c.(*net.UDPConn)
		return nil
	})
	if err != nil {
		t.Fatalf("fallback socket: %v", err)
	}
	t.Cleanup(func() { f.conn.Close() })
	return f
}

// Send implements pipeline.Transport.
func (f *udpFallback) Send(_ *pipeline.Meta, _ *dhcp.Request, reply *dhcp.Reply) error {
	to := netip.AddrPortFrom(reply.Dest.IP, reply.Dest.Port)
	if reply.Dest.Kind == packet.DestL2Unicast || reply.Dest.Kind == packet.DestBroadcast {
		to = netip.AddrPortFrom(packet.Broadcast4, packet.ClientPort)
	}
	// Counted before the write: the peer may read the reply before
	// WriteTo returns.
	f.sent.Add(1)
	if _, err := f.conn.WriteToUDPAddrPort(reply.Msg.ToBytes(), to); err != nil {
		f.sent.Add(-1)
		return fmt.Errorf("fallback send to %s: %w", to, err)
	}
	return nil
}

// openPath opens a Path on the lab's server interface, in its namespace,
// and stops it when the test ends.
func openPath(t *testing.T, l *lab, cfg Config) *Path {
	t.Helper()
	cfg.Interface = l.srvIf
	var p *Path
	err := l.srv.Do(func() error {
		var err error
		p, err = Open(cfg)
		return err
	})
	if err != nil {
		t.Fatalf("open xdp path: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stop xdp path: %v", err)
		}
	})
	return p
}

// perfResult is one perfdhcp exchange block.
type perfResult struct{ sent, received int64 }

var (
	perfBlockRE = regexp.MustCompile(`\*\*\*Statistics for: (\S+)\*\*\*`)
	perfSentRE  = regexp.MustCompile(`sent packets: (\d+)`)
	perfRecvRE  = regexp.MustCompile(`received packets: (\d+)`)
)

// parsePerfdhcp returns the DISCOVER-OFFER and REQUEST-ACK blocks.
func parsePerfdhcp(out string) map[string]perfResult {
	res := map[string]perfResult{}
	locs := perfBlockRE.FindAllStringSubmatchIndex(out, -1)
	for i, loc := range locs {
		end := len(out)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		block := out[loc[1]:end]
		name := out[loc[2]:loc[3]]
		var r perfResult
		if m := perfSentRE.FindStringSubmatch(block); m != nil {
			r.sent, _ = strconv.ParseInt(m[1], 10, 64)
		}
		if m := perfRecvRE.FindStringSubmatch(block); m != nil {
			r.received, _ = strconv.ParseInt(m[1], 10, 64)
		}
		res[name] = r
	}
	return res
}

// runPerfdhcp runs perfdhcp in the client namespace, bounded in time, and
// returns its output (exit status 3, "some exchange incomplete", is not an
// error: the caller judges by the numbers).
func runPerfdhcp(t *testing.T, l *lab, args ...string) string {
	t.Helper()
	testenv.RequireCommand(t, "perfdhcp")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	full := append([]string{"netns", "exec", l.cli.Name, "perfdhcp", "-4", "-l", l.cliIf}, args...)
	full = append(full, srvAddr)
	cmd := exec.CommandContext(ctx, "ip", full...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Fatalf("perfdhcp %v: %v\n%s", args, err, out)
		}
	}
	t.Logf("perfdhcp %v:\n%s", args, out)
	return string(out)
}

// mustAddr returns the address of a CIDR string.
func mustAddr(cidr string) netip.Addr { return netip.MustParsePrefix(cidr).Addr() }
