// Package servercmds implements kea-dhcp4's own control commands
// (docs/kea/control-api.md §3): status, version, configuration (get, test, set,
// reload, write), shutdown, leases-reclaim, statistics and
// dhcp-disable/dhcp-enable. What the commands act on is behind the Daemon
// interface, implemented by the daemon's wiring.
package servercmds

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/netstate"
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
	// ConfigFile is the configuration file the server was started with.
	ConfigFile() string
	// ConfigRender returns the running configuration as config-write
	// writes it (Kea 2.2's syntax); config-write decides where and how.
	ConfigRender() ([]byte, error)
	// Shutdown asks the daemon to stop with the given exit value.
	Shutdown(exitValue int)
	// Reclaim reclaims all expired leases now (remove: delete them).
	Reclaim(remove bool) error
	// Status returns status-get's arguments.
	Status() map[string]any
}

// NetworkState is the part of the network state (userspace/netstate) that
// dhcp-disable and dhcp-enable change.
type NetworkState interface {
	// DisableFor disables the service for origin, with Kea's max-period
	// when d > 0.
	DisableFor(o netstate.Origin, d time.Duration) error
	// EnableAll clears origin's flag and cancels its max-period timer.
	EnableAll(o netstate.Origin)
}

// Commands holds the dependencies of the server commands.
type Commands struct {
	Daemon Daemon
	Stats  *stats.Registry
	State  NetworkState
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

// argMap returns a request's arguments as raw values by key. present is
// false without arguments; isMap is false when they are not a map.
func argMap(req *control.Request) (m map[string]json.RawMessage, present, isMap bool) {
	if !req.HasArguments() {
		return nil, false, false
	}
	if err := json.Unmarshal(req.Arguments, &m); err != nil {
		return nil, true, false
	}
	return m, true, true
}

// kind names a raw JSON value's type as Kea's Element does: "string",
// "integer", "real", "boolean", "map", "list" or "null".
func kind(raw json.RawMessage) string {
	t := strings.TrimSpace(string(raw))
	switch {
	case t == "" || t == "null":
		return "null"
	case t[0] == '"':
		return "string"
	case t[0] == '{':
		return "map"
	case t[0] == '[':
		return "list"
	case t == "true" || t == "false":
		return "boolean"
	case strings.ContainsAny(t, ".eE"):
		return "real"
	}
	return "integer"
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
	// Kea checks Dhcp4 first, then the other keys.
	d4, ok := m["Dhcp4"]
	if !ok {
		r := control.Error("Missing mandatory 'Dhcp4' parameter.")
		return nil, &r
	}
	if kind(d4) != "map" {
		r := control.Error("'Dhcp4' parameter expected to be a map.")
		return nil, &r
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "Dhcp4" {
			r := control.Error("Unsupported '%s' parameter.", k)
			return nil, &r
		}
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

// configWrite writes the running configuration, only into the directory
// of the configuration file the server was started with (see
// configWritePath), never through a symbolic link, atomically and with
// mode 0600 (writeConfigFile).
func (c *Commands) configWrite(_ context.Context, req *control.Request) control.Response {
	var filename string
	if m, present, isMap := argMap(req); present {
		if !isMap {
			return control.Error("arguments must be a map")
		}
		if f, ok := m["filename"]; ok {
			if kind(f) != "string" {
				return control.Error("passed parameter 'filename' is not a string")
			}
			_ = json.Unmarshal(f, &filename)
		}
	}
	cfgFile := c.Daemon.ConfigFile()
	if filename == "" && cfgFile == "" {
		return control.Error("Unable to determine filename.Please specify filename explicitly.") // sic, Kea 2.2
	}
	path, err := configWritePath(cfgFile, filename)
	if err != nil {
		name := filename
		if name == "" {
			name = cfgFile
		}
		return control.Error("not allowed to write config into %s: %v", name, err)
	}
	data, err := c.Daemon.ConfigRender()
	if err != nil {
		return control.Error("Error during config-write: %v", err)
	}
	if err := writeConfigFile(path, data); err != nil {
		return control.Error("Unable to write configuration file '%s', error: %v", path, err)
	}
	return control.OK(fmt.Sprintf("Configuration written to %s successful", path),
		map[string]any{"filename": path, "size": int64(len(data))})
}

func (c *Commands) shutdown(_ context.Context, req *control.Request) control.Response {
	code := 0
	if m, present, isMap := argMap(req); present {
		if !isMap {
			return control.Error("Argument must be a map")
		}
		if v, ok := m["exit-value"]; ok {
			if kind(v) != "integer" || json.Unmarshal(v, &code) != nil {
				return control.Error("parameter 'exit-value' is not an integer")
			}
		}
	}
	c.Daemon.Shutdown(code)
	return control.OK("Shutting down.", nil)
}

func (c *Commands) leasesReclaim(_ context.Context, req *control.Request) control.Response {
	m, _, _ := argMap(req)
	v, ok := m["remove"]
	if !ok {
		return control.Error("Missing mandatory 'remove' parameter.")
	}
	var remove bool
	if kind(v) != "boolean" || json.Unmarshal(v, &remove) != nil {
		return control.Error("'remove' parameter expected to be a boolean.")
	}
	if err := c.Daemon.Reclaim(remove); err != nil {
		return control.Error("Reclamation of expired leases failed: %v", err)
	}
	return control.OK("Reclamation of expired leases is complete.", nil)
}

func (c *Commands) dhcpDisable(_ context.Context, req *control.Request) control.Response {
	m, present, isMap := argMap(req)
	if present && !isMap {
		return control.Error("arguments for the 'dhcp-disable' command must be a map")
	}
	var period int64
	if v, ok := m["max-period"]; ok {
		if kind(v) != "integer" {
			// Kea 2.2 says "number" but takes integers only (60.0 is refused).
			return control.Error("'max-period' argument must be a number")
		}
		if json.Unmarshal(v, &period) != nil || period <= 0 {
			return control.Error("'max-period' must be positive integer")
		}
	}
	origin, r := originArg(m)
	if r != nil {
		return *r
	}
	if err := c.State.DisableFor(origin, time.Duration(period)*time.Second); err != nil {
		return control.Error("%v", err)
	}
	if period > 0 {
		return control.OK(fmt.Sprintf("DHCPv4 service disabled for %d seconds", period), nil)
	}
	return control.OK("DHCPv4 service disabled", nil)
}

func (c *Commands) dhcpEnable(_ context.Context, req *control.Request) control.Response {
	m, present, isMap := argMap(req)
	if present && !isMap {
		return control.Error("arguments for the 'dhcp-enable' command must be a map")
	}
	origin, r := originArg(m)
	if r != nil {
		return *r
	}
	c.State.EnableAll(origin)
	return control.OK("DHCP service successfully enabled", nil)
}

// originArg reads dhcp-disable/dhcp-enable's optional origin.
func originArg(m map[string]json.RawMessage) (netstate.Origin, *control.Response) {
	name := "user"
	if v, ok := m["origin"]; ok {
		if kind(v) != "string" {
			r := control.Error("'origin' argument must be a string")
			return 0, &r
		}
		_ = json.Unmarshal(v, &name)
	}
	origin, err := netstate.ParseOrigin(name)
	if err != nil {
		r := control.Error("%v", err)
		return 0, &r
	}
	return origin, nil
}

// nameArg reads statistic-get/statistic-reset's mandatory name.
func nameArg(req *control.Request) (string, *control.Response) {
	m, _, _ := argMap(req)
	v, ok := m["name"]
	if !ok {
		r := control.Error("Missing mandatory 'name' parameter.")
		return "", &r
	}
	var name string
	if kind(v) != "string" || json.Unmarshal(v, &name) != nil {
		r := control.Error("'name' parameter expected to be a string.")
		return "", &r
	}
	return name, nil
}

// sample renders one statistic in Kea's format: a list of
// [value, "YYYY-MM-DD HH:MM:SS.ffffff"] samples, newest first. xdhcp keeps
// the current value only, stamped with the time of the read.
func sample(v int64, at time.Time) [][]any {
	return [][]any{{v, at.Format("2006-01-02 15:04:05.000000")}}
}

func (c *Commands) statisticGet(_ context.Context, req *control.Request) control.Response {
	name, r := nameArg(req)
	if r != nil {
		return *r
	}
	snap := c.Stats.Snapshot()
	v, ok := snap[name]
	if !ok {
		return control.OK("", map[string]any{})
	}
	return control.OK("", map[string]any{name: sample(v, time.Now())})
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
	name, r := nameArg(req)
	if r != nil {
		return *r
	}
	if !c.Stats.Reset(name) {
		return control.Error("No '%s' statistic found", name)
	}
	return control.OK(fmt.Sprintf("Statistic '%s' reset.", name), nil)
}

func (c *Commands) statisticResetAll(context.Context, *control.Request) control.Response {
	c.Stats.ResetAll()
	return control.OK("All statistics reset to neutral values.", nil)
}
