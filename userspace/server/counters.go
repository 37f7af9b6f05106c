package server

import (
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/stats"
)

// Names of the server's extra statistics cells (see the package doc).
const (
	StatQueueFull        = "pkt4-receive-drop-queue-full"
	StatHandlerPanic     = "pkt4-receive-drop-handler-panic"
	StatParseTruncated   = "pkt4-parse-failed-truncated"
	StatParseMalformed   = "pkt4-parse-failed-malformed"
	StatParseNotRequest  = "pkt4-parse-failed-not-bootrequest"
	StatSendFailed       = "pkt4-send-failed"
	StatIgnoredInterface = "pkt4-udp-ignored-interface"
	StatReadErrors       = "pkt4-udp-read-errors"
)

// cells are the server's named statistics, resolved once.
type cells struct {
	queueFull, handlerPanic                *stats.Cell
	truncated, malformed, notRequest       *stats.Cell
	sendFailed, ignoredInterface, readErrs *stats.Cell
}

func newCells(r *stats.Registry) cells {
	return cells{
		queueFull:        r.Cell(StatQueueFull),
		handlerPanic:     r.Cell(StatHandlerPanic),
		truncated:        r.Cell(StatParseTruncated),
		malformed:        r.Cell(StatParseMalformed),
		notRequest:       r.Cell(StatParseNotRequest),
		sendFailed:       r.Cell(StatSendFailed),
		ignoredInterface: r.Cell(StatIgnoredInterface),
		readErrs:         r.Cell(StatReadErrors),
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
