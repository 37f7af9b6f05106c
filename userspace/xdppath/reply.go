//go:build linux

package xdppath

import (
	"errors"
	"fmt"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/packet"
)

var broadcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// replyFrame fills out, the headers of the reply to the request frame rf,
// from reply.Dest (RFC 2131 §4.1). On error why names the fallback reason
// (a counter suffix).
func (p *Path) replyFrame(rf *packet.Frame, req *dhcp.Request, reply *dhcp.Reply, nr *resolver, out *packet.Frame) (why string, err error) {
	d := reply.Dest
	*out = packet.Frame{
		SrcMAC:   p.ifmac,
		VLANs:    rf.VLANs,
		TPIDs:    rf.TPIDs,
		NumVLANs: rf.NumVLANs,
		Src:      packet.ReplySource(req.Dst, p.ifaddr),
		Dst:      d.IP,
		SrcPort:  packet.ServerPort,
		DstPort:  d.Port,
	}
	if !out.Src.Is4() {
		return "no-source-address", fmt.Errorf("interface %s has no ipv4 address", p.ifname)
	}
	switch d.Kind {
	case packet.DestRelay, packet.DestClientIP:
		if !d.IP.Is4() {
			return "bad-destination", fmt.Errorf("%s destination %s is not ipv4", d.Kind, d.IP)
		}
		if rf.NumVLANs > 0 {
			// The next hop lives on a VLAN sub-interface the path does
			// not resolve on.
			return "vlan-routed", fmt.Errorf("routed reply to %s from a vlan-tagged request", d.IP)
		}
		mac, err := nr.lookup(d.IP)
		if err != nil {
			switch {
			case errors.Is(err, errNeighUnresolved):
				return "neigh-unresolved", err
			case errors.Is(err, errOtherInterface):
				return "other-interface", err
			}
			return "route-error", err
		}
		out.DstMAC = mac
	case packet.DestL2Unicast:
		if len(d.MAC) != 6 || !d.IP.Is4() {
			return "bad-destination", fmt.Errorf("l2 unicast to %s at %v", d.IP, d.MAC)
		}
		out.DstMAC = [6]byte(d.MAC)
	case packet.DestBroadcast:
		out.DstMAC = broadcastMAC
		out.Dst = packet.Broadcast4
	default:
		return "bad-destination", fmt.Errorf("unknown destination kind %d", d.Kind)
	}
	if out.DstPort == 0 {
		out.DstPort = packet.ClientPort
		if d.Kind == packet.DestRelay {
			out.DstPort = packet.ServerPort
		}
	}
	return "", nil
}
