package daemon

import (
	"context"
	"fmt"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"

	"github.com/xdhcp/xdhcp/internal/crash"
)

// The service manager protocol (sd_notify, systemd's Type=notify). Without
// NOTIFY_SOCKET in the environment every call is a no-op.
//
//   - READY=1 once the data path is attached and HA has started (Run), not
//     once HA serves: with the partner down that can take longer than any
//     start timeout.
//   - RELOADING=1 ... READY=1 around a SIGHUP reload. Debian 12's systemd
//     252 has no Type=notify-reload, so the unit's ExecReload sends SIGHUP
//     and the daemon reports the reload itself.
//   - STOPPING=1 when it shuts down.
//   - WATCHDOG=1 at half of WatchdogSec, but only while every packet path
//     worker shows progress (livenessProbe): a stuck worker stops the pings
//     and the service manager restarts xdhcpd.

// notify sends one notification; a failure is logged, never fatal.
func (d *Daemon) notify(state string) {
	if _, err := sd.SdNotify(false, state); err != nil {
		d.log.Warn().Err(err).Str("state", state).Msg("sd_notify")
	}
}

// startWatchdog feeds the service manager's watchdog while the packet
// path is live, until ctx ends. It does nothing when the service manager
// asked for no watchdog (WATCHDOG_USEC unset, or for another pid).
func (d *Daemon) startWatchdog(ctx context.Context) {
	every, err := sd.SdWatchdogEnabled(false)
	if err != nil {
		d.log.Warn().Err(err).Msg("sd_notify watchdog settings")
		return
	}
	if every <= 0 {
		return
	}
	every /= 2
	log := d.log
	probe := d.data.liveness()
	crash.Go(d.log, "watchdog", func() {
		t := time.NewTicker(every)
		defer t.Stop()
		// The first probe only records where each worker stands.
		probe.check()
		var stuckLogged bool
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := probe.check(); err != nil {
				if !stuckLogged {
					log.Error().Err(err).Msg("packet path not live: watchdog not fed; the service manager will restart xdhcpd")
					stuckLogged = true
				}
				continue
			}
			if stuckLogged {
				log.Info().Msg("packet path live again: watchdog fed")
				stuckLogged = false
			}
			d.notify(sd.SdNotifyWatchdog)
		}
	})
}

// livenessProbe compares each packet path worker's progress counter with
// the previous check's.
type livenessProbe struct {
	read func() []uint64 // one counter per worker group, in a fixed order
	name func(i int) string
	last []uint64
}

// check reports an error naming the workers whose counters stood still
// since the previous check (nil on the first check).
func (p *livenessProbe) check() error {
	now := p.read()
	prev := p.last
	p.last = now
	if prev == nil || len(prev) != len(now) {
		return nil
	}
	var stuck []string
	for i := range now {
		if now[i] == prev[i] {
			stuck = append(stuck, p.name(i))
		}
	}
	if len(stuck) > 0 {
		return fmt.Errorf("no progress since the last check: %v", stuck)
	}
	return nil
}

// liveness is the data path's probe: the UDP worker pool (server.Probe
// queues a no-op packet when the queue is idle) and every AF_XDP queue
// goroutine (they turn at least every 50 ms, traffic or not).
func (p *dataPath) liveness() *livenessProbe {
	type src struct {
		name string
		n    func() []uint64
	}
	var srcs []src
	srcs = append(srcs, src{"udp workers", func() []uint64 { return []uint64{p.srv.Probe()} }})
	if p.xdp != nil {
		for _, x := range p.xdp.paths {
			srcs = append(srcs, src{"xdp " + x.Interface() + " queue", x.Progress})
		}
	}
	var names []string
	return &livenessProbe{
		read: func() []uint64 {
			var out []uint64
			names = names[:0]
			for _, s := range srcs {
				for i, v := range s.n() {
					out = append(out, v)
					if s.name == "udp workers" {
						names = append(names, s.name)
					} else {
						names = append(names, fmt.Sprintf("%s %d", s.name, i))
					}
				}
			}
			return out
		},
		name: func(i int) string { return names[i] },
	}
}

// oneLine keeps a STATUS= value on one line (the protocol is
// newline-separated).
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
