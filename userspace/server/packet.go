package server

import (
	"github.com/xdhcp/xdhcp/userspace/pipeline"
)

// Packet is one received DHCP datagram (the UDP payload) with what the
// receive path knows about its arrival.
type Packet struct {
	Data []byte // UDP payload; the server reads it until Release is called
	pipeline.Meta
	// Release, if set, is called exactly once with Data when the server no
	// longer needs it: after the pipeline processed it, or when the packet
	// is dropped.
	Release func(data []byte)

	probe bool // Probe's liveness marker: counted, not processed
}

func (p *Packet) release() {
	if p.Release != nil {
		p.Release(p.Data)
		p.Release = nil
	}
}

// Names of the server's own statistics cells (see the package doc); the
// pipeline names the rest.
const (
	StatQueueFull        = "pkt4-receive-drop-queue-full"
	StatIgnoredInterface = "pkt4-udp-ignored-interface"
	StatReadErrors       = "pkt4-udp-read-errors"
	StatNoSource         = "pkt4-udp-drop-no-source"
	// The admission limits' drops (admission.Verdict), named as the XDP
	// program's counters for the same reason are.
	StatRateClient  = "pkt4-udp-drop-rate-client"
	StatRateRelay   = "pkt4-udp-drop-rate-relay"
	StatRateUnknown = "pkt4-udp-drop-rate-unknown"
)
