package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/keatest"
	"github.com/xdhcp/xdhcp/internal/testenv"
)

// TestConfigsMatchGolden renders every system under test's configurations
// as bench() does and compares them, as parsed JSON, with
// testdata/configs: the output of the bench's own template before the pair
// configuration moved to keatest.HAPair. Two keys differ in spelling only,
// and both sides drop them before comparing: "persist": true (the old
// template wrote it; it is the memfile default in Kea 2.2 and xdhcpd) and
// the peers' "auto-failover": true (HAPair writes it; the default in
// both).
func TestConfigsMatchGolden(t *testing.T) {
	relays := []string{"198.18.0.1", "198.18.0.2"}
	for _, name := range []string{"kea", "xdhcpd-udp", "xdhcpd-auto", "kea-ha", "xdhcpd-ha"} {
		s := suts[name]
		p := cfgParams{Work: filepath.Join("/tmp/xdhcpbench", name), Xdhcpd: s.Kind == "xdhcpd", Datapath: s.Requested,
			HA: s.HA, Threads: 2, QueueSize: 256, Relays: relays}
		n := 1
		if s.HA {
			n = 2
		}
		for i := range n {
			p.Name = "server" + strconv.Itoa(i+1)
			golden := filepath.Join("testdata/configs", name+"."+p.Name+".json")
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			got, err := renderConfig(p)
			if err != nil {
				t.Fatalf("%s %s: %v", name, p.Name, err)
			}
			g, w := normalized(t, got), normalized(t, want)
			if !reflect.DeepEqual(g, w) {
				gb, _ := json.MarshalIndent(g, "", "  ")
				wb, _ := json.MarshalIndent(w, "", "  ")
				t.Errorf("%s %s: config differs from %s\ngot:\n%s\nwant:\n%s", name, p.Name, golden, gb, wb)
			}
		}
	}
}

// normalized parses a configuration and drops the keys that only spell
// out a default (see TestConfigsMatchGolden).
func normalized(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	d, _ := v["Dhcp4"].(map[string]any)
	if ld, ok := d["lease-database"].(map[string]any); ok && ld["persist"] == true {
		delete(ld, "persist")
	}
	hooks, _ := d["hooks-libraries"].([]any)
	for _, h := range hooks {
		params, _ := h.(map[string]any)["parameters"].(map[string]any)
		has, _ := params["high-availability"].([]any)
		for _, ha := range has {
			peers, _ := ha.(map[string]any)["peers"].([]any)
			for _, pe := range peers {
				if m := pe.(map[string]any); m["auto-failover"] == true {
					delete(m, "auto-failover")
				}
			}
		}
	}
	return v
}

// TestPoolConstants: the bench's pool bounds (load generator ranges, the
// HA drop test's half) are those of the pair template's pools.
func TestPoolConstants(t *testing.T) {
	want := []keatest.Pool{
		{Range: poolFirst + " - " + haPoolSplit, Class: "HA_server1"},
		{Range: "198.19.128.10 - " + poolLast, Class: "HA_server2"},
	}
	if !reflect.DeepEqual(keatest.DefaultPools, want) {
		t.Errorf("keatest.DefaultPools = %v, the bench assumes %v", keatest.DefaultPools, want)
	}
}

// TestStartDaemonKea runs the bench's start, command and stop path on a
// real kea-dhcp4 in a throw-away namespace, with the single-server and the
// pair configuration (server1 alone: it only has to answer status-get).
func TestStartDaemonKea(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.RequireCommand(t, "kea-dhcp4")[0]
	if _, err := keatest.Installed(keatest.HookLeaseCmds, keatest.HookHA); err != nil {
		t.Skip(err)
	}
	ns := testenv.NewNetns(t)
	// The configurations name eth0, as in the lab.
	ns.Run(t, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
	ns.Run(t, "ip", "addr", "add", labS1+"/24", "dev", "eth0")
	ns.Run(t, "ip", "link", "set", "eth0", "up")
	ns.Run(t, "ip", "link", "set", "eth0p", "up")
	for _, ha := range []bool{false, true} {
		dir, err := os.MkdirTemp("", "xb") // short: unix socket paths are limited
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		p := cfgParams{Name: "server1", Work: dir, HA: ha, Threads: 2, QueueSize: 256, Relays: []string{"198.18.0.1"}}
		d, err := startDaemon(context.Background(), bin, ns.Name, p, 20*time.Second)
		if err != nil {
			t.Fatalf("ha=%v: %v", ha, err)
		}
		if !d.alive() || d.pid() <= 0 {
			t.Errorf("ha=%v: alive %v pid %d", ha, d.alive(), d.pid())
		}
		if v, err := d.command(`{"command":"status-get"}`, time.Second); err != nil || result(v) != 0 {
			t.Errorf("ha=%v: status-get %v %v", ha, v, err)
		}
		if st := d.haState(); (st != "") != ha {
			t.Errorf("ha=%v: HA state %q", ha, st)
		}
		d.stop()
		if d.alive() {
			t.Errorf("ha=%v: alive after stop", ha)
		}
	}
}
