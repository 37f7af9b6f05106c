package server

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/pipeline"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// offerHandler answers every DISCOVER with an OFFER of 198.18.0.100 and
// records the requests it saw. It panics on a request whose xid starts
// with 0xde (to test recovery).
type offerHandler struct {
	mu    sync.Mutex
	reqs  []dhcp.Request
	calls atomic.Int64
}

func (h *offerHandler) Handle(_ int, req *dhcp.Request) *dhcp.Reply {
	h.calls.Add(1)
	h.mu.Lock()
	h.reqs = append(h.reqs, *req)
	h.mu.Unlock()
	if req.Msg.TransactionID[0] == 0xde {
		panic("test panic")
	}
	if req.Msg.MessageType() != dhcpv4.MessageTypeDiscover {
		return nil
	}
	resp, err := dhcpv4.NewReplyFromRequest(req.Msg,
		dhcpv4.WithMessageType(dhcpv4.MessageTypeOffer),
		dhcpv4.WithYourIP(net.IPv4(198, 18, 0, 100)),
		dhcpv4.WithServerIP(net.IPv4(198, 18, 0, 1)),
	)
	if err != nil {
		panic(err)
	}
	return &dhcp.Reply{Msg: resp, Dest: packet.ReplyDestination(req.Msg, resp)}
}

// Handler makes offerHandler a pipeline.Engine.
func (h *offerHandler) Handler(*stats.Shard) func(*dhcp.Request) *dhcp.Reply {
	return func(r *dhcp.Request) *dhcp.Reply { return h.Handle(0, r) }
}

func (h *offerHandler) last() dhcp.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reqs[len(h.reqs)-1]
}

// discover builds a DHCPDISCOVER; giaddr and xid are optional.
func discover(t testing.TB, giaddr net.IP, xid byte, broadcast bool) []byte {
	t.Helper()
	mods := []dhcpv4.Modifier{dhcpv4.WithTransactionID(dhcpv4.TransactionID{xid, 1, 2, 3})}
	if giaddr != nil {
		mods = append(mods, dhcpv4.WithRelay(giaddr))
	}
	if broadcast {
		mods = append(mods, dhcpv4.WithBroadcast(true))
	} else {
		mods = append(mods, dhcpv4.WithBroadcast(false))
	}
	m, err := dhcpv4.NewDiscovery(net.HardwareAddr{0x02, 0, 0x5e, 0, 0, xid}, mods...)
	if err != nil {
		t.Fatalf("new discovery: %v", err)
	}
	return m.ToBytes()
}

// newTestPipeline is a pipeline over engine e.
func newTestPipeline(t testing.TB, reg *stats.Registry, e pipeline.Engine) *pipeline.Pipeline {
	t.Helper()
	pl, err := pipeline.New(pipeline.Config{Stats: reg})
	if err != nil {
		t.Fatal(err)
	}
	pl.SetEngine(e)
	return pl
}

// newTestServer builds a server with a test logger and cleans it up.
func newTestServer(t *testing.T, cfg Config, h pipeline.Engine) (*Server, *stats.Registry) {
	t.Helper()
	reg := stats.New()
	s, err := New(cfg, newTestPipeline(t, reg, h), reg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Stop)
	return s, reg
}

// waitFor polls cond (bounded) and fails the test if it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// wantStats compares named statistics (counters and cells) with want.
func wantStats(t *testing.T, reg interface{ Snapshot() map[string]int64 }, want map[string]int64) {
	t.Helper()
	snap := reg.Snapshot()
	for name, v := range want {
		if snap[name] != v {
			t.Errorf("%s = %d, want %d", name, snap[name], v)
		}
	}
}

func numCPU() int             { return runtime.NumCPU() }
func newReg() *stats.Registry { return stats.New() }
func nopLog() zerolog.Logger  { return zerolog.Nop() }

// statsOf wraps a snapshot function as a registry-like reader for wantStats.
func statsOf(snap func() map[string]int64) snapshotter { return snapshotter(snap) }

type snapshotter func() map[string]int64

func (s snapshotter) Snapshot() map[string]int64 { return s() }
