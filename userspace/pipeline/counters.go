package pipeline

import (
	"errors"
	"fmt"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/stats"
)

// Names of the pipeline's statistics cells, one per verdict beside Kea's
// own pkt4-* counters (which the worker shards keep).
const (
	StatHandlerPanic    = "pkt4-receive-drop-handler-panic"
	StatParseTruncated  = "pkt4-parse-failed-truncated"
	StatParseMalformed  = "pkt4-parse-failed-malformed"
	StatParseNotRequest = "pkt4-parse-failed-not-bootrequest"
	StatSendFailed      = "pkt4-send-failed"
	StatDisabled        = "pkt4-dropped-service-disabled"
	StatNoEngine        = "pkt4-dropped-no-engine"
	StatHASync          = "pkt4-dropped-ha-sync-failed"
	StatParkingFull     = "pkt4-dropped-parking-lot-full"
	StatClientBusy      = "pkt4-dropped-client-busy"
	StatPendingAtClose  = "pkt4-dropped-pending-at-close"
	StatUnreplicated    = "ha-lease-update-failed-no-reply"
)

// cells are the pipeline's named statistics, resolved once.
type cells struct {
	handlerPanic, truncated, malformed, notRequest *stats.Cell
	sendFailed, disabled, noEngine, haSync         *stats.Cell
	parkingFull, clientBusy, closedPending         *stats.Cell
	unreplicated                                   *stats.Cell
}

func newCells(r *stats.Registry) cells {
	return cells{
		handlerPanic:  r.Cell(StatHandlerPanic),
		truncated:     r.Cell(StatParseTruncated),
		malformed:     r.Cell(StatParseMalformed),
		notRequest:    r.Cell(StatParseNotRequest),
		sendFailed:    r.Cell(StatSendFailed),
		disabled:      r.Cell(StatDisabled),
		noEngine:      r.Cell(StatNoEngine),
		haSync:        r.Cell(StatHASync),
		parkingFull:   r.Cell(StatParkingFull),
		clientBusy:    r.Cell(StatClientBusy),
		closedPending: r.Cell(StatPendingAtClose),
		unreplicated:  r.Cell(StatUnreplicated),
	}
}

// minDHCPLen is the fixed BOOTP header plus the magic cookie.
const minDHCPLen = 236 + 4

// ErrTruncated marks a datagram too short for a DHCP message (or cut by a
// transport's read buffer); transports pass it to CountTruncated.
var ErrTruncated = errors.New("truncated dhcp message")

// errNotRequest marks a parsable message whose op is not BOOTREQUEST.
var errNotRequest = errors.New("not a bootrequest")

// malformedError wraps a dhcpv4.FromBytes failure.
type malformedError struct{ err error }

func (e *malformedError) Error() string { return "malformed dhcp message: " + e.err.Error() }
func (e *malformedError) Unwrap() error { return e.err }

// parse decodes a DHCPv4 BOOTREQUEST.
func parse(b []byte) (_ *dhcpv4.DHCPv4, err error) {
	// A decoder panic on hostile bytes is a malformed packet, not a
	// crash: counted and dropped like any other.
	defer func() {
		if r := recover(); r != nil {
			err = &malformedError{fmt.Errorf("decoder panicked: %v", r)}
		}
	}()
	if len(b) < minDHCPLen {
		return nil, ErrTruncated
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

// CountTruncated counts a datagram the transport found cut short (for
// instance MSG_TRUNC) as received and dropped, as Process would.
func (w *Worker) CountTruncated() {
	w.shard.Inc(stats.Pkt4Received)
	w.p.countParseFailure(w.shard, ErrTruncated)
}

// countParseFailure counts a dropped unparsable packet in sh and its cell.
func (p *Pipeline) countParseFailure(sh *stats.Shard, err error) {
	sh.Inc(stats.Pkt4ParseFailed)
	sh.Inc(stats.Pkt4ReceiveDrop)
	var m *malformedError
	switch {
	case errors.Is(err, ErrTruncated):
		p.c.truncated.Add(1)
	case errors.Is(err, errNotRequest):
		p.c.notRequest.Add(1)
	case errors.As(err, &m):
		p.c.malformed.Add(1)
	}
}

// receivedCounter maps a message type to its pkt4-*-received counter.
func receivedCounter(t dhcpv4.MessageType) stats.Counter {
	switch t {
	case dhcpv4.MessageTypeDiscover:
		return stats.Pkt4DiscoverReceived
	case dhcpv4.MessageTypeOffer:
		return stats.Pkt4OfferReceived
	case dhcpv4.MessageTypeRequest:
		return stats.Pkt4RequestReceived
	case dhcpv4.MessageTypeAck:
		return stats.Pkt4AckReceived
	case dhcpv4.MessageTypeNak:
		return stats.Pkt4NakReceived
	case dhcpv4.MessageTypeRelease:
		return stats.Pkt4ReleaseReceived
	case dhcpv4.MessageTypeDecline:
		return stats.Pkt4DeclineReceived
	case dhcpv4.MessageTypeInform:
		return stats.Pkt4InformReceived
	}
	return stats.Pkt4UnknownReceived
}

// sentCounter maps a reply type to its pkt4-*-sent counter; false for
// types Kea does not count separately.
func sentCounter(t dhcpv4.MessageType) (stats.Counter, bool) {
	switch t {
	case dhcpv4.MessageTypeOffer:
		return stats.Pkt4OfferSent, true
	case dhcpv4.MessageTypeAck:
		return stats.Pkt4AckSent, true
	case dhcpv4.MessageTypeNak:
		return stats.Pkt4NakSent, true
	}
	return 0, false
}
