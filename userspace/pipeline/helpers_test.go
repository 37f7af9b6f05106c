package pipeline

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// offerEngine answers a DISCOVER with an OFFER and a REQUEST with an ACK
// that carries one committed change, as the real engine does. It panics
// on a request whose xid starts with 0xde.
type offerEngine struct {
	calls atomic.Int64
	made  atomic.Int64 // Handler calls: engine workers built
}

func (e *offerEngine) Handler(*stats.Shard) func(*dhcp.Request) *dhcp.Reply {
	e.made.Add(1)
	return e.handle
}

func (e *offerEngine) handle(req *dhcp.Request) *dhcp.Reply {
	e.calls.Add(1)
	if req.Msg.TransactionID[0] == 0xde {
		panic("test panic")
	}
	mt := dhcpv4.MessageTypeOffer
	var changes []lease.Change
	switch req.Msg.MessageType() {
	case dhcpv4.MessageTypeDiscover:
	case dhcpv4.MessageTypeRequest:
		mt = dhcpv4.MessageTypeAck
		if req.Msg.TransactionID[1] == 0xac { // marks an ACK that commits
			changes = []lease.Change{{New: &lease.Lease{HWAddr: req.Msg.ClientHWAddr}}}
		} else {
			return nil
		}
	default:
		return nil
	}
	resp, err := dhcpv4.NewReplyFromRequest(req.Msg, dhcpv4.WithMessageType(mt),
		dhcpv4.WithYourIP(net.IPv4(198, 18, 0, 100)), dhcpv4.WithServerIP(net.IPv4(198, 18, 0, 1)))
	if err != nil {
		panic(err)
	}
	return &dhcp.Reply{Msg: resp, Dest: packet.ReplyDestination(req.Msg, resp), Changes: changes}
}

// sendFunc is a Transport.
type sendFunc func(m *Meta, req *dhcp.Request, reply *dhcp.Reply) error

func (f sendFunc) Send(m *Meta, req *dhcp.Request, reply *dhcp.Reply) error { return f(m, req, reply) }

// sink records what was sent.
type sink struct {
	mu   sync.Mutex
	xids []byte // first xid byte of each reply sent
}

func (s *sink) Send(_ *Meta, _ *dhcp.Request, r *dhcp.Reply) error {
	s.mu.Lock()
	s.xids = append(s.xids, r.Msg.TransactionID[0])
	s.mu.Unlock()
	return nil
}

func (s *sink) sent() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.xids...)
}

// heldReplicator keeps every done callback until the test settles it.
type heldReplicator struct {
	mu    sync.Mutex
	dones []func(error)
	calls int
}

func (r *heldReplicator) Replicate(_ []lease.Change, done func(error)) {
	r.mu.Lock()
	r.calls++
	r.dones = append(r.dones, done)
	r.mu.Unlock()
}

// settle answers the oldest n held updates with err.
func (r *heldReplicator) settle(n int, err error) {
	r.mu.Lock()
	ds := r.dones[:n]
	r.dones = append([]func(error){}, r.dones[n:]...)
	r.mu.Unlock()
	for _, d := range ds {
		d(err)
	}
}

func (r *heldReplicator) held() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.dones)
}

func newPipeline(t testing.TB, cfg Config, e Engine) *Pipeline {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.SetEngine(e)
	return p
}

// msg builds a query of type mt from client hw with xid {x0, x1, 0, 0}.
func msg(t testing.TB, mt dhcpv4.MessageType, hw byte, x0, x1 byte) []byte {
	t.Helper()
	m, err := dhcpv4.New(dhcpv4.WithMessageType(mt), dhcpv4.WithHwAddr(net.HardwareAddr{2, 0, 0, 0, 0, hw}),
		dhcpv4.WithTransactionID(dhcpv4.TransactionID{x0, x1, 0, 0}))
	if err != nil {
		t.Fatal(err)
	}
	return m.ToBytes()
}

// discover builds a DHCPDISCOVER; giaddr is optional.
func discover(t testing.TB, giaddr net.IP, xid byte, broadcast bool) []byte {
	t.Helper()
	mods := []dhcpv4.Modifier{dhcpv4.WithTransactionID(dhcpv4.TransactionID{xid, 1, 2, 3}), dhcpv4.WithBroadcast(broadcast)}
	if giaddr != nil {
		mods = append(mods, dhcpv4.WithRelay(giaddr))
	}
	m, err := dhcpv4.NewDiscovery(net.HardwareAddr{0x02, 0, 0x5e, 0, 0, xid}, mods...)
	if err != nil {
		t.Fatalf("new discovery: %v", err)
	}
	return m.ToBytes()
}

// wantStats compares named statistics (counters and cells) with want.
func wantStats(t *testing.T, reg *stats.Registry, want map[string]int64) {
	t.Helper()
	snap := reg.Snapshot()
	for name, v := range want {
		if snap[name] != v {
			t.Errorf("%s = %d, want %d", name, snap[name], v)
		}
	}
}
