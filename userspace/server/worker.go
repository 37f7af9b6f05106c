package server

import (
	"errors"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// Packet is one received DHCP datagram (the UDP payload) with what the
// receive path knows about its arrival.
type Packet struct {
	Data    []byte // UDP payload; the server reads it until Release is called
	Iface   string
	IfIndex int
	IfAddr  netip.Addr // receiving interface's IPv4 address
	Src     netip.AddrPort
	Dst     netip.Addr // datagram destination (broadcast or ours)
	Time    time.Time  // receive time; zero if unknown
	// Cookie is opaque to the server and handed back to the SendFunc (the
	// AF_XDP path keeps the request's L2 header or its queue there).
	Cookie any
	// Release, if set, is called exactly once with Data when the server no
	// longer needs it: after DHCP parsing (before the Handler runs), or when
	// the packet is dropped.
	Release func(data []byte)
}

func (p *Packet) release() {
	if p.Release != nil {
		p.Release(p.Data)
		p.Release = nil
	}
}

// SendFunc sends a reply for p. It runs on the worker goroutine and must
// be safe for concurrent use by several workers. p.Data has been released.
type SendFunc func(p *Packet, req *dhcp.Request, reply *dhcp.Reply) error

// minDHCPLen is the fixed BOOTP header plus the magic cookie.
const minDHCPLen = 236 + 4

// errNotRequest marks a parsable message whose op is not BOOTREQUEST.
var errNotRequest = errors.New("not a bootrequest")

// Worker processes packets on one goroutine with its own statistics shard
// and a dense index for the Handler's per-worker state. Pool workers are
// created by New; NewWorker adds more for a receive path that processes
// packets on its own goroutines (e.g. one per AF_XDP queue).
type Worker struct {
	s     *Server
	index int
	shard *stats.Shard
}

// Index is the worker index passed to Handler.Handle.
func (w *Worker) Index() int { return w.index }

// Process parses p, counts it, runs the Handler and sends a non-nil reply
// with send. It must not be called concurrently on one Worker. It never
// panics because of the packet or the Handler.
func (w *Worker) Process(p *Packet, send SendFunc) {
	sh := w.shard
	sh.Inc(stats.Pkt4Received)
	n := len(p.Data)
	msg, err := parse(p.Data)
	p.release()
	if err != nil {
		w.s.countParseFailure(sh, err)
		w.s.dbg.Debug().Err(err).Str("iface", p.Iface).Stringer("src", p.Src).Msg("dropped unparsable packet")
		return
	}
	sh.Inc(receivedCounter(msg.MessageType()))
	req := &dhcp.Request{
		Msg: msg, Iface: p.Iface, IfIndex: p.IfIndex, IfAddr: p.IfAddr,
		Src: p.Src, Dst: p.Dst, Len: n, Time: p.Time,
	}
	reply, ok := w.handle(req)
	if !ok {
		sh.Inc(stats.Pkt4ReceiveDrop)
		return
	}
	if reply == nil || reply.Msg == nil {
		return
	}
	if err := send(p, req, reply); err != nil {
		w.s.cells.sendFailed.Add(1)
		w.s.dbg.Debug().Err(err).Str("xid", msg.TransactionID.String()).Stringer("dest", reply.Dest.IP).Msg("send reply")
		return
	}
	sh.Inc(stats.Pkt4Sent)
	if c, ok := sentCounter(reply.Msg.MessageType()); ok {
		sh.Inc(c)
	}
}

// handle runs the Handler, turning a panic into a counted drop (ok=false).
func (w *Worker) handle(req *dhcp.Request) (reply *dhcp.Reply, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			reply, ok = nil, false
			w.s.cells.handlerPanic.Add(1)
			if n := w.s.panics.Add(1); n%panicLogEvery == 1 {
				w.s.log.Error().Interface("panic", r).Uint64("total", n).Int("worker", w.index).
					Str("xid", req.Msg.TransactionID.String()).Msg("handler panicked; packet dropped")
			}
		}
	}()
	return w.s.h.Handle(w.index, req), true
}

// panicLogEvery: a handler panic is logged the first time and then once
// per this many.
const panicLogEvery = 1000

// parse decodes a DHCPv4 BOOTREQUEST.
func parse(b []byte) (*dhcpv4.DHCPv4, error) {
	if len(b) < minDHCPLen {
		return nil, errTruncated
	}
	msg, err := dhcpv4.FromBytes(b)
	if err != nil {
		return nil, &malformedError{err}
	}
	if msg.OpCode != dhcpv4.OpcodeBootRequest {
		return nil, errNotRequest
	}
	return msg, nil
}

// errTruncated marks a datagram too short for a DHCP message (or cut by
// the read buffer).
var errTruncated = errors.New("truncated dhcp message")

// malformedError wraps a dhcpv4.FromBytes failure.
type malformedError struct{ err error }

func (e *malformedError) Error() string { return "malformed dhcp message: " + e.err.Error() }
func (e *malformedError) Unwrap() error { return e.err }

// countParseFailure counts a dropped unparsable packet in sh and its cell.
func (s *Server) countParseFailure(sh *stats.Shard, err error) {
	sh.Inc(stats.Pkt4ParseFailed)
	sh.Inc(stats.Pkt4ReceiveDrop)
	var m *malformedError
	switch {
	case errors.Is(err, errTruncated):
		s.cells.truncated.Add(1)
	case errors.Is(err, errNotRequest):
		s.cells.notRequest.Add(1)
	case errors.As(err, &m):
		s.cells.malformed.Add(1)
	}
}
