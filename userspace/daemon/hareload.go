package daemon

import (
	"fmt"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/ha"
)

// A reload (config-set, config-reload, SIGHUP) rebuilds the HA service, as
// Kea 2.2 does: its configuration commit unloads and reloads every hook
// library (src/bin/dhcp4/json_config_parser.cc, configureDhcp4Server:
// HooksManager::unloadLibraries, loadLibraries), so libdhcp_ha.so builds a
// new HAService from the new parameters, in waiting, with heartbeats
// restarted; that is also how a server leaves terminated
// (doc/sphinx/arm/hooks-ha.rst: "restarting the HA service from the
// terminated state requires restarting the DHCP server or reloading its
// configuration"). Only adding or removing the HA hook needs a restart
// (the data path and the pipeline are built for one or the other).

// haChange refuses what a reload cannot do to HA.
func haChange(cur, next *config.Dhcp4) error {
	if (cur.HA == nil) != (next.HA == nil) {
		return fmt.Errorf("adding or removing %s requires a restart of xdhcpd", config.HookHA)
	}
	return nil
}

// prepareHA builds, unstarted, the HA service of the next configuration
// (nil without HA): every HA check runs before anything changes.
func (d *Daemon) prepareHA(next *config.Dhcp4) (*ha.Service, error) {
	if d.ha == nil || next.HA == nil {
		return nil, nil
	}
	return newHAService(next, d.haDeps(d.ha.buckets))
}

// swapHA stops the running HA service and starts next in its place (its
// listener binds this server's URL, which the old one had to release
// first). When next cannot start, the previous configuration's service is
// rebuilt and started, so that HA keeps running, and the error returned.
// Callers hold d.mu.
func (d *Daemon) swapHA(next *ha.Service, prev *config.Dhcp4) error {
	old := d.ha.svc()
	old.Stop()
	d.ha.cur.Store(next)
	next.Register(d.disp)
	if !d.ha.started.Load() {
		return nil
	}
	err := next.Start(d.ctx)
	if err == nil {
		d.log.Info().Str("state", next.State()).Msg("high availability service rebuilt by the reload")
		return nil
	}
	err = fmt.Errorf("start high availability: %w", err)
	back, berr := newHAService(prev, d.haDeps(d.ha.buckets))
	if berr == nil {
		d.ha.cur.Store(back)
		back.Register(d.disp)
		berr = back.Start(d.ctx)
	}
	if berr != nil {
		d.log.Error().Err(berr).Msg("high availability could not be restarted with the previous configuration either")
	}
	return err
}
