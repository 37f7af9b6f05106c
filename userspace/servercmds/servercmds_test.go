package servercmds

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/netstate"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// recorder is a Daemon that records what the commands asked of it.
type recorder struct {
	set, tested json.RawMessage
	failWith    error
	exit        int
	reclaimed   *bool
	cfgFile     string
}

func (r *recorder) ConfigGet() map[string]any          { return map[string]any{"Dhcp4": map[string]any{}} }
func (r *recorder) ConfigTest(c json.RawMessage) error { r.tested = c; return r.failWith }
func (r *recorder) ConfigSet(c json.RawMessage) error  { r.set = c; return r.failWith }
func (r *recorder) ConfigReload() error                { return r.failWith }
func (r *recorder) Shutdown(v int)                     { r.exit = v }
func (r *recorder) Reclaim(remove bool) error          { r.reclaimed = &remove; return nil }
func (r *recorder) Status() map[string]any             { return map[string]any{"pid": 1} }
func (r *recorder) ConfigFile() string                 { return r.cfgFile }
func (r *recorder) ConfigRender() ([]byte, error) {
	if r.failWith != nil {
		return nil, r.failWith
	}
	return []byte(`{ "Dhcp4": { } }` + "\n"), nil
}

func setup() (*control.Dispatcher, *recorder, *stats.Registry, *netstate.State) {
	d := control.NewDispatcher()
	rec := &recorder{}
	reg := stats.New()
	sw := netstate.New()
	(&Commands{Daemon: rec, Stats: reg, State: sw}).Register(d)
	return d, rec, reg, sw
}

func TestCommands(t *testing.T) {
	d, rec, reg, sw := setup()
	reg.NewShard().Add(stats.Pkt4Received, 7)
	reg.Cell("subnet[1].total-addresses").Set(100)
	tests := []struct {
		name, cmd  string
		wantResult int
		wantText   string
		check      func(t *testing.T, r control.Response)
	}{
		{"version", `{"command":"version-get"}`, 0, "2.2.0", nil},
		{"config-test ok", `{"command":"config-test","arguments":{"Dhcp4":{}}}`, 0, "Configuration seems sane.", func(t *testing.T, _ control.Response) {
			if string(rec.tested) != `{"Dhcp4":{}}` {
				t.Errorf("tested %s", rec.tested)
			}
		}},
		{"config-test no args", `{"command":"config-test"}`, 1, "Missing mandatory 'arguments' parameter.", nil},
		{"config-test other key", `{"command":"config-test","arguments":{"Dhcp4":{},"Dhcp6":{}}}`, 1, "Unsupported 'Dhcp6' parameter.", nil},
		{"config-test missing Dhcp4", `{"command":"config-test","arguments":{}}`, 1, "Missing mandatory 'Dhcp4' parameter.", nil},
		{"config-set", `{"command":"config-set","arguments":{"Dhcp4":{"valid-lifetime":5}}}`, 0, "Configuration successful.", nil},
		{"shutdown", `{"command":"shutdown","arguments":{"exit-value":3}}`, 0, "Shutting down.", func(t *testing.T, _ control.Response) {
			if rec.exit != 3 {
				t.Errorf("exit %d", rec.exit)
			}
		}},
		{"reclaim missing", `{"command":"leases-reclaim","arguments":{}}`, 1, "Missing mandatory 'remove' parameter.", nil},
		{"reclaim", `{"command":"leases-reclaim","arguments":{"remove":true}}`, 0, "Reclamation of expired leases is complete.", func(t *testing.T, _ control.Response) {
			if rec.reclaimed == nil || !*rec.reclaimed {
				t.Error("reclaim not called with remove")
			}
		}},
		{"disable bad origin", `{"command":"dhcp-disable","arguments":{"origin":"bogus"}}`, 1, "invalid value used for 'origin' parameter: bogus", nil},
		{"disable bad period", `{"command":"dhcp-disable","arguments":{"max-period":0}}`, 1, "'max-period' must be positive integer", nil},
		{"disable real period", `{"command":"dhcp-disable","arguments":{"max-period":60.0}}`, 1, "'max-period' argument must be a number", nil},
		{"disable", `{"command":"dhcp-disable"}`, 0, "DHCPv4 service disabled", func(t *testing.T, _ control.Response) {
			if sw.Enabled() {
				t.Error("still enabled")
			}
		}},
		{"enable", `{"command":"dhcp-enable"}`, 0, "DHCP service successfully enabled", func(t *testing.T, _ control.Response) {
			if !sw.Enabled() {
				t.Error("still disabled")
			}
		}},
		{"disable with period", `{"command":"dhcp-disable","arguments":{"max-period":60,"origin":"ha-partner"}}`, 0, "DHCPv4 service disabled for 60 seconds", nil},
		{"enable ha", `{"command":"dhcp-enable","arguments":{"origin":"ha-partner"}}`, 0, "DHCP service successfully enabled", nil},
		{"stat get", `{"command":"statistic-get","arguments":{"name":"pkt4-received"}}`, 0, "", func(t *testing.T, r control.Response) {
			b, _ := json.Marshal(r.Arguments)
			if !strings.HasPrefix(string(b), `{"pkt4-received":[[7,"`) {
				t.Errorf("sample format: %s", b)
			}
		}},
		{"stat get unknown", `{"command":"statistic-get","arguments":{"name":"nope"}}`, 0, "", func(t *testing.T, r control.Response) {
			if b, _ := json.Marshal(r); string(b) != `{"result":0,"arguments":{}}` {
				t.Errorf("got %s", b)
			}
		}},
		{"stat get-all", `{"command":"statistic-get-all"}`, 0, "", func(t *testing.T, r control.Response) {
			m := r.Arguments.(map[string]any)
			if _, ok := m["subnet[1].total-addresses"]; !ok {
				t.Errorf("missing subnet stat in %v", m)
			}
		}},
		{"stat reset", `{"command":"statistic-reset","arguments":{"name":"pkt4-received"}}`, 0, "Statistic 'pkt4-received' reset.", func(t *testing.T, _ control.Response) {
			if v := reg.Get(stats.Pkt4Received); v != 0 {
				t.Errorf("after reset %d", v)
			}
		}},
		{"stat reset unknown", `{"command":"statistic-reset","arguments":{"name":"nope"}}`, 1, "No 'nope' statistic found", nil},
		{"stat reset-all", `{"command":"statistic-reset-all"}`, 0, "All statistics reset to neutral values.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := d.Dispatch(context.Background(), []byte(tt.cmd))
			if r.Result != tt.wantResult || !strings.HasPrefix(r.Text, tt.wantText) {
				t.Fatalf("got %+v, want %d %q", r, tt.wantResult, tt.wantText)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
	rec.failWith = errors.New("boom")
	if r := d.Dispatch(context.Background(), []byte(`{"command":"config-reload"}`)); r.Result != 1 || r.Text != "Config reload failed: boom" {
		t.Errorf("reload failure: %+v", r)
	}
}
