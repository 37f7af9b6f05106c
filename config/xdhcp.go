package config

import (
	"net"
	"os/user"
	"strconv"
)

var xdhcpKeys = keys("datapath", "bpf-pin-path", "prometheus", "control-socket-mode", "control-socket-group",
	"afxdp",
	"offer-lifetime", "rate-limits", "kernel-renew")

var rateLimitKeys = keys("enabled", "client-rate", "client-burst", "relay-rate", "relay-burst",
	"unknown-client-rate", "unknown-client-burst", "table-size", "known-clients")

// xdhcp decodes Dhcp4.user-context.xdhcp; other user-context content is free.
func (d *decoder) xdhcp(uc *Node) XDHCP {
	x := XDHCP{Datapath: DatapathAuto, ControlSocketMode: 0o600, ControlSocketGID: -1, RateLimits: DefaultRateLimits(), KernelRenew: true}
	n := uc.Get("xdhcp")
	if n == nil || d.err != nil {
		return x
	}
	o := d.object(n, "xdhcp", "user-context xdhcp", xdhcpKeys)
	x.Pos = n.Pos
	x.Datapath = o.str("datapath", DatapathAuto)
	x.BPFPinPath = o.str("bpf-pin-path", "")
	if d.err != nil {
		return x
	}
	switch x.Datapath {
	case DatapathAuto, DatapathXDP, DatapathXDPNative, DatapathXDPGeneric, DatapathUDP:
	default:
		d.fail(n.Get("datapath").Pos, "datapath", "datapath must be one of auto, xdp, xdp-native, xdp-generic, udp, got %q", x.Datapath)
		return x
	}
	if m := o.typed("control-socket-mode", KindString); m != nil {
		v, err := strconv.ParseUint(m.Str, 8, 32)
		if err != nil || v > 0o777 {
			d.fail(m.Pos, "control-socket-mode", "control-socket-mode must be an octal file mode like \"0600\", got %q", m.Str)
			return x
		}
		x.ControlSocketMode = uint32(v)
	}
	if g := o.typed("control-socket-group", KindString); g != nil {
		gid, err := lookupGroup(g.Str)
		if err != nil {
			d.fail(g.Pos, "control-socket-group", "control-socket-group %q: %v (name a group in /etc/group, e.g. the control agent's, or a numeric gid)", g.Str, err)
			return x
		}
		x.ControlSocketGroup = g.Str
		x.ControlSocketGID = gid
	}
	if p := o.get("prometheus"); p != nil {
		po := d.object(p, "prometheus", "user-context xdhcp prometheus", keys("listen", "pprof"))
		x.Prometheus.Listen = po.str("listen", "")
		x.Prometheus.Pprof = po.bool("pprof", false)
		if d.err == nil && x.Prometheus.Listen != "" {
			if _, _, err := net.SplitHostPort(x.Prometheus.Listen); err != nil {
				d.fail(p.Get("listen").Pos, "listen", "prometheus listen must be host:port: %v", err)
			}
		}
	}
	if a := o.get("afxdp"); a != nil {
		ao := d.object(a, "afxdp", "user-context xdhcp afxdp", keys("frame-count", "frame-size", "queues"))
		if v, ok := ao.intIn("frame-count", 0, 1<<24); ok {
			x.AFXDP.FrameCount = int(v)
		}
		if v, ok := ao.intIn("frame-size", 0, 65536); ok {
			x.AFXDP.FrameSize = int(v)
		}
		if v, ok := ao.intIn("queues", 0, 4096); ok {
			x.AFXDP.Queues = int(v)
		}
	}
	if v, ok := o.intIn("offer-lifetime", 0, 3600); ok {
		x.OfferLifetime = uint32(v)
	}
	if r := o.get("rate-limits"); r != nil {
		x.RateLimits = d.rateLimits(r)
	}
	x.KernelRenew = o.bool("kernel-renew", true)
	return x
}

// lookupGroup resolves a group name, or a numeric gid, to a gid. A numeric
// gid need not exist in the group database (as with chgrp).
func lookupGroup(s string) (int, error) {
	if s == "" {
		return 0, errEmptyGroup
	}
	if v, err := strconv.ParseUint(s, 10, 32); err == nil {
		return int(v), nil
	}
	g, err := user.LookupGroup(s)
	if err != nil {
		if _, ok := err.(user.UnknownGroupError); ok {
			return 0, errUnknownGroup
		}
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}

type groupError string

func (e groupError) Error() string { return string(e) }

const (
	errEmptyGroup   = groupError("empty group name")
	errUnknownGroup = groupError("no such group")
)

// rateLimits decodes user-context.xdhcp.rate-limits over DefaultRateLimits.
func (d *decoder) rateLimits(n *Node) RateLimits {
	rl := DefaultRateLimits()
	o := d.object(n, "rate-limits", "user-context xdhcp rate-limits", rateLimitKeys)
	rl.Enabled = o.bool("enabled", rl.Enabled)
	u := func(key string, dst *uint32, lo int64) {
		if v, ok := o.intIn(key, lo, 1<<30); ok {
			*dst = uint32(v)
		}
	}
	u("client-rate", &rl.ClientRate, 0)
	u("client-burst", &rl.ClientBurst, 1)
	u("relay-rate", &rl.RelayRate, 0)
	u("relay-burst", &rl.RelayBurst, 1)
	u("unknown-client-rate", &rl.UnknownRate, 0)
	u("unknown-client-burst", &rl.UnknownBurst, 1)
	u("table-size", &rl.TableSize, 1024)
	u("known-clients", &rl.KnownClients, 1024)
	return rl
}
