package ha

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/internal/keatest"
	"github.com/xdhcp/xdhcp/internal/testenv"
)

// startModeKea starts kea-dhcp4 as server1 of interopPair in mode (server2,
// us, is the standby or the backup), holding lease 192.0.2.50.
func startModeKea(t *testing.T, bin, dir, url1, url2, mode string, extraHA map[string]any) *kea {
	t.Helper()
	pair := interopPair(dir, url1, url2, extraHA)
	pair.Mode = mode
	b, err := pair.Render()
	if err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "kea.json")
	if err := keatest.WriteConfig(confPath, b); err != nil {
		t.Fatal(err)
	}
	k := &kea{t: t, opts: keatest.Options{Bin: bin, Dir: dir, ConfigPath: confPath, Socket: pair.Socket}}
	t.Cleanup(k.kill)
	k.start()
	if res, _, err := k.control("lease4-add", map[string]any{"ip-address": "192.0.2.50",
		"hw-address": "0a:0b:0c:0d:0e:0f", "subnet-id": 1}); err != nil || res != 0 {
		t.Fatalf("lease4-add on kea: %d %v", res, err)
	}
	return k
}

// keaStatus is Kea's status-get high-availability entry.
func (k *kea) keaStatus(t *testing.T) (StatusEntry, map[string]any) {
	t.Helper()
	_, args, err := k.control("status-get", nil)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		HA []StatusEntry `json:"high-availability"`
	}
	var raw struct {
		HA []map[string]any `json:"high-availability"`
	}
	if json.Unmarshal(args, &st) != nil || json.Unmarshal(args, &raw) != nil || len(st.HA) != 1 {
		t.Fatalf("kea status-get: %s", args)
	}
	return st.HA[0], raw.HA[0]
}

// rawKeys lists the keys of m's map at path, sorted.
func rawKeys(m map[string]any, path ...string) []string {
	for _, p := range path {
		m, _ = m[p].(map[string]any)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestInteropRealKeaHotStandby pairs our Service (server2, standby) with a
// real Kea 2.2 primary over loopback: both reach hot-standby after our
// sync; each side's status-get HA section mirrors the other's with the
// same keys; ha-heartbeat answers alike; Kea killed → our standby goes
// partner-down and serves every bucket; Kea back → it syncs from us and
// both return to hot-standby, where we serve none again.
func TestInteropRealKeaHotStandby(t *testing.T) {
	bin := requireKeaHA(t)
	testenv.Short(t, "runs a real kea-dhcp4 for ~20 s")
	dir := t.TempDir()
	url1 := fmt.Sprintf("http://127.0.0.1:%d/", freePort(t))
	url2 := fmt.Sprintf("http://127.0.0.1:%d/", freePort(t))
	k := startModeKea(t, bin, dir, url1, url2, ModeHotStandby, nil)
	cfg := interopConfig(url1, url2)
	hotStandby(false)(&cfg)
	s, store, buckets, _ := startInteropService(t, cfg)
	dump := interopDump(k, s)
	both := func() bool {
		l, r := k.keaHA()
		return s.State() == "hot-standby" && l == "hot-standby" && r == "hot-standby"
	}
	waitFor(t, "both hot-standby", 20*time.Second, both, dump)
	if _, ok := store.Get(netip.MustParseAddr("192.0.2.50")); !ok {
		t.Fatalf("lease 192.0.2.50 not synced from kea")
	}
	if bk, _ := buckets.get(); countServed(bk) != 0 {
		t.Fatalf("standby serves %d buckets, want none", countServed(bk))
	}

	// status-get: Kea's local part is what our remote part says of it and
	// the other way round; the keys are Kea's.
	time.Sleep(1500 * time.Millisecond) // a heartbeat each way with the final scopes
	kst, kraw := k.keaStatus(t)
	ours := s.Status()[0]
	oraw := map[string]any{}
	b, _ := json.Marshal(ours)
	_ = json.Unmarshal(b, &oraw)
	kl, ol := kst.HAServers.Local, ours.HAServers.Local
	if kst.HAMode != "hot-standby" || ours.HAMode != "hot-standby" ||
		kl.Role != "primary" || !slices.Equal(kl.Scopes, []string{"server1"}) ||
		ol.Role != "standby" || len(ol.Scopes) != 0 ||
		kst.HAServers.Remote.Role != "standby" || ours.HAServers.Remote.Role != "primary" ||
		!slices.Equal(ours.HAServers.Remote.LastScopes, kl.Scopes) || len(kst.HAServers.Remote.LastScopes) != 0 ||
		kst.HAServers.Remote.LastState != ol.State || ours.HAServers.Remote.LastState != kl.State {
		t.Errorf("status-get HA sections do not mirror each other:\nkea  %+v %+v\nours %+v %+v", kl, *kst.HAServers.Remote, ol, *ours.HAServers.Remote)
	}
	for _, path := range [][]string{{}, {"ha-servers"}, {"ha-servers", "local"}, {"ha-servers", "remote"}} {
		if kk, ok := rawKeys(kraw, path...), rawKeys(oraw, path...); !slices.Equal(kk, ok) {
			t.Errorf("status-get %v keys: kea %v, ours %v", path, kk, ok)
		}
	}
	// ha-heartbeat: Kea's answer and ours, the same keys and text.
	_, kargs, err := k.control("ha-heartbeat", nil)
	if err != nil {
		t.Fatal(err)
	}
	var khb map[string]any
	_ = json.Unmarshal(kargs, &khb)
	ohb := map[string]any{}
	b, _ = json.Marshal(s.heartbeatReply())
	_ = json.Unmarshal(b, &ohb)
	if !slices.Equal(rawKeys(khb), rawKeys(ohb)) || khb["state"] != ohb["state"] {
		t.Errorf("ha-heartbeat: kea %v, ours %v", khb, ohb)
	}

	killed := time.Now()
	k.kill()
	waitFor(t, "partner-down", 10*time.Second, func() bool { return s.State() == "partner-down" }, dump)
	t.Logf("standby partner-down %.1f s after killing the kea primary", time.Since(killed).Seconds())
	if bk, _ := buckets.get(); countServed(bk) != 256 {
		t.Fatalf("partner-down standby serves %d buckets, want all", countServed(bk))
	}
	if got := s.Status()[0].HAServers.Local.Scopes; !slices.Equal(got, []string{"server1"}) {
		t.Fatalf("partner-down scopes %v, want [server1]", got)
	}

	k.start()
	waitFor(t, "both hot-standby after restart", 25*time.Second, both, dump)
	if bk, _ := buckets.get(); countServed(bk) != 0 {
		t.Fatalf("standby back in hot-standby serves %d buckets", countServed(bk))
	}
}

// TestInteropRealKeaPassiveBackup: a real Kea 2.2 active server of
// passive-backup (wait-backup-ack) and our Service as its backup: Kea is
// in passive-backup, we are in backup, neither status-get has a remote
// part, and we serve nothing.
func TestInteropRealKeaPassiveBackup(t *testing.T) {
	bin := requireKeaHA(t)
	testenv.Short(t, "runs a real kea-dhcp4 for a few seconds")
	dir := t.TempDir()
	url1 := fmt.Sprintf("http://127.0.0.1:%d/", freePort(t))
	url2 := fmt.Sprintf("http://127.0.0.1:%d/", freePort(t))
	k := startModeKea(t, bin, dir, url1, url2, ModePassiveBackup, map[string]any{"wait-backup-ack": true})
	cfg := interopConfig(url1, url2)
	cfg.Mode, cfg.DelayedUpdatesLimit, cfg.WaitBackupAck = ModePassiveBackup, 0, true
	cfg.Peers[1].Role = RoleBackup
	s, _, buckets, sw := startInteropService(t, cfg)
	waitFor(t, "backup", 5*time.Second, func() bool { return s.State() == "backup" }, interopDump(k, s))
	kst, kraw := k.keaStatus(t)
	ours := s.Status()[0]
	oraw := map[string]any{}
	b, _ := json.Marshal(ours)
	_ = json.Unmarshal(b, &oraw)
	if kst.HAMode != "passive-backup" || kst.HAServers.Local.State != "passive-backup" || kst.HAServers.Local.Role != "primary" ||
		!slices.Equal(kst.HAServers.Local.Scopes, []string{"server1"}) || kst.HAServers.Remote != nil {
		t.Errorf("kea: %+v", kst)
	}
	if ours.HAMode != "passive-backup" || ours.HAServers.Local.Role != "backup" || len(ours.HAServers.Local.Scopes) != 0 || ours.HAServers.Remote != nil {
		t.Errorf("ours: %+v", ours)
	}
	if kk, ok := rawKeys(kraw, "ha-servers"), rawKeys(oraw, "ha-servers"); !slices.Equal(kk, ok) {
		t.Errorf("ha-servers keys: kea %v, ours %v", kk, ok)
	}
	// DHCP is off in backup (Kea's adjustNetworkState): Scope refuses even
	// the types every server serves.
	_, discover := s.Scope(query(t, dhcpv4.MessageTypeDiscover, primaryMAC, 0))
	_, other := s.Scope(query(t, dhcpv4.MessageTypeAck, primaryMAC, 0))
	if bk, _ := buckets.get(); countServed(bk) != 0 || discover || other || !sw.Enabled() {
		t.Errorf("backup: %d buckets served, serves a DISCOVER %v, another type %v (partner switch on %v)",
			countServed(bk), discover, other, sw.Enabled())
	}
}
