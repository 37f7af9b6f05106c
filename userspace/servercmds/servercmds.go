// Package servercmds implements kea-dhcp4's own control commands
// (control-api.md §3): status, version, configuration (get, test, set,
// reload, write), shutdown, leases-reclaim, statistics and
// dhcp-disable/dhcp-enable. What the commands act on is behind the Daemon
// interface, implemented by the daemon's wiring.
package servercmds

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// Version is what version-get reports; the Kea version we are compatible
// with comes first so that tooling which parses it keeps working.
var Version = "2.2.0"

// Extended is version-get's extended text.
var Extended = "2.2.0\nxdhcp (Kea 2.2 compatible DHCPv4 server)"

// Daemon is what the configuration and lifecycle commands act on.
type Daemon interface {
	// ConfigGet returns the running configuration ({"Dhcp4": {...}}).
	ConfigGet() map[string]any
	// ConfigTest checks a configuration ({"Dhcp4": {...}}) without applying it.
	ConfigTest(cfg json.RawMessage) error
	// ConfigSet applies a configuration; on error the running one stays.
	ConfigSet(cfg json.RawMessage) error
	// ConfigReload re-reads the startup configuration file.
	ConfigReload() error
	// ConfigWrite writes the running configuration; "" = the startup file.
	ConfigWrite(filename string) (written string, size int64, err error)
	// Shutdown asks the daemon to stop with the given exit value.
	Shutdown(exitValue int)
	// Reclaim reclaims all expired leases now (remove: delete them).
	Reclaim(remove bool) error
	// Status returns status-get's arguments.
	Status() map[string]any
}

// Commands holds the dependencies of the server commands.
type Commands struct {
	Daemon Daemon
	Stats  *stats.Registry
	Switch *Switch
}

// Register adds the commands to d.
func (c *Commands) Register(d *control.Dispatcher) {
	for name, h := range map[string]control.Handler{
		"build-report":        c.buildReport,
		"version-get":         c.versionGet,
		"status-get":          c.statusGet,
		"config-get":          c.configGet,
		"config-test":         c.configTest,
		"config-set":          c.configSet,
		"config-reload":       c.configReload,
		"config-write":        c.configWrite,
		"shutdown":            c.shutdown,
		"leases-reclaim":      c.leasesReclaim,
		"dhcp-disable":        c.dhcpDisable,
		"dhcp-enable":         c.dhcpEnable,
		"server-tag-get":      c.serverTagGet,
		"statistic-get":       c.statisticGet,
		"statistic-get-all":   c.statisticGetAll,
		"statistic-reset":     c.statisticReset,
		"statistic-reset-all": c.statisticResetAll,
	} {
		d.Register(name, h)
	}
}

func (c *Commands) buildReport(context.Context, *control.Request) control.Response {
	return control.OK("xdhcp build report\ncompatible with: Kea 2.2.0\nlease backend: memfile\ndata paths: AF_XDP (XDP), UDP", nil)
}

func (c *Commands) versionGet(context.Context, *control.Request) control.Response {
	return control.OK(Version, map[string]any{"extended": Extended})
}

func (c *Commands) statusGet(context.Context, *control.Request) control.Response {
	return control.OK("", c.Daemon.Status())
}

func (c *Commands) serverTagGet(context.Context, *control.Request) control.Response {
	return control.OK("", map[string]any{"server-tag": ""})
}

func (c *Commands) configGet(context.Context, *control.Request) control.Response {
	return control.OK("", c.Daemon.ConfigGet())
}

// configArg extracts the {"Dhcp4": ...} argument of config-test/config-set.
func configArg(req *control.Request) (json.RawMessage, *control.Response) {
	if !req.HasArguments() {
		r := control.Error("Missing mandatory 'arguments' parameter.")
		return nil, &r
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(req.Arguments, &m); err != nil {
		r := control.Error("'arguments' parameter expected to be a map")
		return nil, &r
	}
	for k := range m {
		if k != "Dhcp4" {
			r := control.Error("Unsupported '%s' parameter.", k)
			return nil, &r
		}
	}
	if _, ok := m["Dhcp4"]; !ok {
		r := control.Error("Missing mandatory 'Dhcp4' parameter.")
		return nil, &r
	}
	return req.Arguments, nil
}

func (c *Commands) configTest(_ context.Context, req *control.Request) control.Response {
	cfg, r := configArg(req)
	if r != nil {
		return *r
	}
	if err := c.Daemon.ConfigTest(cfg); err != nil {
		return control.Error("%v", err)
	}
	return control.OK("Configuration seems sane. Control-socket, hook-libraries, and D2 configuration were sanity checked, but not applied.", nil)
}

func (c *Commands) configSet(_ context.Context, req *control.Request) control.Response {
	cfg, r := configArg(req)
	if r != nil {
		return *r
	}
	if err := c.Daemon.ConfigSet(cfg); err != nil {
		return control.Error("%v", err)
	}
	return control.OK("Configuration successful.", nil)
}

func (c *Commands) configReload(context.Context, *control.Request) control.Response {
	if err := c.Daemon.ConfigReload(); err != nil {
		return control.Error("Config reload failed: %v", err)
	}
	return control.OK("Configuration successful.", nil)
}

func (c *Commands) configWrite(_ context.Context, req *control.Request) control.Response {
	var a struct {
		Filename string `json:"filename"`
	}
	if req.HasArguments() {
		if r := control.DecodeArgs(req, &a); r != nil {
			return *r
		}
	}
	name, size, err := c.Daemon.ConfigWrite(a.Filename)
	if err != nil {
		return control.Error("Unable to write configuration file '%s', error: %v", a.Filename, err)
	}
	return control.OK(fmt.Sprintf("Configuration written to %s successful", name),
		map[string]any{"filename": name, "size": size})
}

func (c *Commands) shutdown(_ context.Context, req *control.Request) control.Response {
	var a struct {
		ExitValue *int `json:"exit-value"`
	}
	if req.HasArguments() {
		if r := control.DecodeArgs(req, &a); r != nil {
			return *r
		}
	}
	code := 0
	if a.ExitValue != nil {
		code = *a.ExitValue
	}
	c.Daemon.Shutdown(code)
	return control.OK("Shutting down.", nil)
}

func (c *Commands) leasesReclaim(_ context.Context, req *control.Request) control.Response {
	var a struct {
		Remove *bool `json:"remove"`
	}
	if r := control.DecodeArgs(req, &a); r != nil {
		return *r
	}
	if a.Remove == nil {
		return control.Error("Missing mandatory 'remove' parameter.")
	}
	if err := c.Daemon.Reclaim(*a.Remove); err != nil {
		return control.Error("Reclamation of expired leases failed: %v", err)
	}
	return control.OK("Reclamation of expired leases is complete.", nil)
}

func (c *Commands) dhcpDisable(_ context.Context, req *control.Request) control.Response {
	var a struct {
		MaxPeriod *json.Number `json:"max-period"`
		Origin    *string      `json:"origin"`
	}
	if req.HasArguments() {
		if r := control.DecodeArgs(req, &a); r != nil {
			return *r
		}
	}
	origin := OriginUser
	if a.Origin != nil {
		origin = *a.Origin
	}
	if err := ValidOrigin(origin); err != nil {
		return control.Error("%v", err)
	}
	var period int64
	if a.MaxPeriod != nil {
		p, err := a.MaxPeriod.Int64()
		if err != nil || p <= 0 {
			return control.Error("'max-period' must be positive integer")
		}
		period = p
	}
	c.Switch.Disable(origin, time.Duration(period)*time.Second)
	if period > 0 {
		return control.OK(fmt.Sprintf("DHCPv4 service disabled for %d seconds", period), nil)
	}
	return control.OK("DHCPv4 service disabled", nil)
}

func (c *Commands) dhcpEnable(_ context.Context, req *control.Request) control.Response {
	var a struct {
		Origin *string `json:"origin"`
	}
	if req.HasArguments() {
		if r := control.DecodeArgs(req, &a); r != nil {
			return *r
		}
	}
	origin := OriginUser
	if a.Origin != nil {
		origin = *a.Origin
	}
	if err := ValidOrigin(origin); err != nil {
		return control.Error("%v", err)
	}
	c.Switch.Enable(origin)
	return control.OK("DHCP service successfully enabled", nil)
}

// sample renders one statistic in Kea's format: a list of
// [value, "YYYY-MM-DD HH:MM:SS.ffffff"] samples, newest first. xdhcp keeps
// the current value only, stamped with the time of the read.
func sample(v int64, at time.Time) [][]any {
	return [][]any{{v, at.Format("2006-01-02 15:04:05.000000")}}
}

func (c *Commands) statisticGet(_ context.Context, req *control.Request) control.Response {
	var a struct {
		Name *string `json:"name"`
	}
	if r := control.DecodeArgs(req, &a); r != nil {
		return *r
	}
	if a.Name == nil {
		return control.Error("Missing mandatory 'name' parameter.")
	}
	snap := c.Stats.Snapshot()
	v, ok := snap[*a.Name]
	if !ok {
		return control.OK("", map[string]any{})
	}
	return control.OK("", map[string]any{*a.Name: sample(v, time.Now())})
}

func (c *Commands) statisticGetAll(context.Context, *control.Request) control.Response {
	now := time.Now()
	out := map[string]any{}
	for name, v := range c.Stats.Snapshot() {
		out[name] = sample(v, now)
	}
	return control.OK("", out)
}

func (c *Commands) statisticReset(_ context.Context, req *control.Request) control.Response {
	var a struct {
		Name *string `json:"name"`
	}
	if r := control.DecodeArgs(req, &a); r != nil {
		return *r
	}
	if a.Name == nil {
		return control.Error("Missing mandatory 'name' parameter.")
	}
	if !c.Stats.Reset(*a.Name) {
		return control.Error("No '%s' statistic found", *a.Name)
	}
	return control.OK(fmt.Sprintf("Statistic '%s' reset.", *a.Name), nil)
}

func (c *Commands) statisticResetAll(context.Context, *control.Request) control.Response {
	c.Stats.ResetAll()
	return control.OK("All statistics reset to neutral values.", nil)
}
