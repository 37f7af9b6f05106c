package main

// End-to-end hot-standby and passive-backup with real Kea 2.2 (issue 10
// items 1, 3, 4), in the load-balancing tests' lab (ha_e2e_test.go):
// server1 is the primary (hot-standby) or the active server
// (passive-backup), server2 the standby or the backup. Under perfdhcp
// load server1 is SIGKILLed; every lease whose DHCPACK was seen on the
// wire (acktap_test.go) must then be in server2's store. A hot-standby
// primary then comes back, resyncs and serves alone again.

import (
	"context"
	"encoding/json"
	"os/exec"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"
)

// modeOpts parameterises a hot-standby or passive-backup pair test.
type modeOpts struct {
	mc       modeConf
	kinds    [2]string // server1 (primary / active), server2 (standby / backup)
	datapath string
}

// normalStates are the states a healthy pair settles in.
func normalStates(mode string) [2]string {
	if mode == "passive-backup" {
		return [2]string{"passive-backup", "backup"}
	}
	return [2]string{"hot-standby", "hot-standby"}
}

// waitEach polls until nodes[i] is in want[i].
func waitEach(t *testing.T, nodes [2]*haNode, want [2]string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s0, s1 := nodes[0].status(), nodes[1].status()
		if s0.Local == want[0] && s1.Local == want[1] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s in %q (%v), %s in %q (%v); want %v", d, nodes[0], s0.Local, s0.err, nodes[1], s1.Local, s1.err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// haSection is status-get's high-availability[0] as raw JSON values.
func haSection(t *testing.T, n *haNode) map[string]any {
	t.Helper()
	r, err := haCtl(n.sock, "status-get", nil)
	if err != nil {
		t.Fatalf("%s status-get: %v", n, err)
	}
	var a struct {
		HA []map[string]any `json:"high-availability"`
	}
	if err := json.Unmarshal(r.Arguments, &a); err != nil || len(a.HA) != 1 {
		t.Fatalf("%s status-get: %s %v", n, r.Arguments, err)
	}
	return a.HA[0]
}

// checkHASection checks a server's HA status against what Kea 2.2
// reports in that role and situation (processStatusGet): the mode, the
// local role, state and scopes, and a remote part, with Kea's keys, only
// when there is a failover partner. The same function checks the Kea
// server of the pair, so that the expectation is Kea's own answer.
func checkHASection(t *testing.T, n *haNode, mode, role, state string, scopes []string) {
	t.Helper()
	h := haSection(t, n)
	servers, _ := h["ha-servers"].(map[string]any)
	local, _ := servers["local"].(map[string]any)
	var gotScopes []string
	for _, s := range local["scopes"].([]any) {
		gotScopes = append(gotScopes, s.(string))
	}
	if h["ha-mode"] != mode || local["role"] != role || local["state"] != state || !slices.Equal(gotScopes, scopes) {
		t.Errorf("%s: high-availability %v, want mode %s role %s state %s scopes %v", n, h, mode, role, state, scopes)
	}
	remote, hasRemote := servers["remote"].(map[string]any)
	if hasRemote != (mode != "passive-backup") {
		t.Errorf("%s: remote part %v, want one only outside passive-backup", n, servers["remote"])
	}
	if hasRemote {
		var keys []string
		for k := range remote {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		want := []string{"age", "analyzed-packets", "communication-interrupted", "connecting-clients", "in-touch",
			"last-scopes", "last-state", "role", "unacked-clients", "unacked-clients-left"}
		if !slices.Equal(keys, want) {
			t.Errorf("%s: remote keys %v, want Kea's %v", n, keys, want)
		}
	}
}

// checkHeartbeat checks a server's ha-heartbeat answer (processHeartbeat).
func checkHeartbeat(t *testing.T, n *haNode, state string, scopes []string) {
	t.Helper()
	r, err := haCtl(n.sock, "ha-heartbeat", nil)
	if err != nil || r.Result != 0 {
		t.Fatalf("%s ha-heartbeat: %+v %v", n, r, err)
	}
	var a struct {
		State  string   `json:"state"`
		Scopes []string `json:"scopes"`
		Date   string   `json:"date-time"`
		Unsent *int     `json:"unsent-update-count"`
	}
	if err := json.Unmarshal(r.Arguments, &a); err != nil {
		t.Fatal(err)
	}
	if a.State != state || !reflect.DeepEqual(append([]string{}, a.Scopes...), append([]string{}, scopes...)) || a.Date == "" || a.Unsent == nil ||
		r.Text != "HA peer status returned." {
		t.Errorf("%s ha-heartbeat: %q %s, want state %s scopes %v", n, r.Text, r.Arguments, state, scopes)
	}
}

// checkAcksStored: every lease ACKed on the wire is in n's store with the
// client's hardware address.
func checkAcksStored(t *testing.T, n *haNode, acks map[string]wireAck) {
	t.Helper()
	store := n.leaseMap()
	missing := 0
	for ip, a := range acks {
		l, ok := store[ip]
		if !ok || l.HW != a.MAC {
			missing++
			if missing <= 5 {
				t.Errorf("%s: lease %s ACKed to %s by %s at %s is not in the store (have %+v)", n, ip, a.MAC, a.From, a.At.Format("15:04:05.000"), l)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%s: %d of %d leases ACKed on the wire are not in its store", n, missing, len(acks))
	}
}

// runModePair: (1) the pair settles in its normal states with Kea's
// status-get and heartbeat answers; (2) under perfdhcp only server1
// answers (on the XDP path an xdhcpd standby or backup drops every query
// in the kernel as the partner's); (3) server1 is SIGKILLed under load: a
// standby goes partner-down and answers; every lease ACKed on the wire is
// in server2's store.
func runModePair(t *testing.T, o modeOpts) {
	requireHA(t)
	lab := newHALab(t)
	var nodes [2]*haNode
	for i := range nodes {
		nodes[i] = newModeNode(t, i, o.kinds[i], lab.srv[i], o.datapath, o.mc)
	}
	t0 := time.Now()
	for _, n := range nodes {
		n.start()
	}
	normal := normalStates(o.mc.mode)
	waitEach(t, nodes, normal, 40*time.Second)
	t.Logf("%s + %s: %v %.1fs after start", nodes[0], nodes[1], normal, time.Since(t0).Seconds())

	// (1) status-get and ha-heartbeat as Kea answers them.
	if o.mc.mode == "hot-standby" {
		checkHASection(t, nodes[0], o.mc.mode, "primary", "hot-standby", []string{"server1"})
		checkHASection(t, nodes[1], o.mc.mode, "standby", "hot-standby", nil)
		checkHeartbeat(t, nodes[0], "hot-standby", []string{"server1"})
		checkHeartbeat(t, nodes[1], "hot-standby", nil)
	} else {
		checkHASection(t, nodes[0], o.mc.mode, "primary", "passive-backup", []string{"server1"})
		checkHASection(t, nodes[1], o.mc.mode, "backup", "backup", nil)
		checkHeartbeat(t, nodes[0], "passive-backup", []string{"server1"})
		checkHeartbeat(t, nodes[1], "backup", nil)
	}

	tap := startAckTap(t, lab.cli, "br0")
	// (2) only server1 answers.
	var before [2]int64
	var xdpBefore [2]map[string]int64
	for i, n := range nodes {
		before[i] = n.stat("pkt4-ack-sent")
		if n.kind == "xdhcpd" && o.datapath == "xdp" {
			_, xdpBefore[i] = xdpCounters(t, n.sock)
		}
	}
	res := haPerf(t, lab, 8)
	var acks [2]int64
	for i, n := range nodes {
		acks[i] = n.stat("pkt4-ack-sent") - before[i]
	}
	t.Logf("%s: DISCOVER %d, OFFER %d, REQUEST %d, ACK %d (%.2f%% answered); ACKs sent %s %d, %s %d",
		o.mc.mode, res.DiscoverSent, res.OfferReceived, res.RequestSent, res.AckReceived, 100*answered(res),
		nodes[0], acks[0], nodes[1], acks[1])
	if answered(res) < 0.99 {
		t.Errorf("only %.2f%% of %d DORA exchanges answered (want >= 99%%)\n%s", 100*answered(res), res.DiscoverSent, res.Output)
	}
	if acks[1] != 0 || acks[0] < int64(res.AckReceived) {
		t.Errorf("ACKs: %s %d, %s %d; want all from server1, none from server2", nodes[0], acks[0], nodes[1], acks[1])
	}
	if o.mc.mode == "passive-backup" && nodes[0].kind == "xdhcpd" {
		// Every ACK carried at least one lease update to the backup, all
		// acknowledged (xdhcp_ha_backup_lease_updates_total).
		ss := parseExposition(t, scrapeIn(t, nodes[0].ns, "127.0.0.1:9547"))
		sent, _ := value(ss, "xdhcp_ha_backup_lease_updates_total", `{backup="server2",result="sent"}`)
		failed, _ := value(ss, "xdhcp_ha_backup_lease_updates_total", `{backup="server2",result="failed"}`)
		state, _ := value(ss, "xdhcp_ha_state", `{state="passive-backup"}`)
		t.Logf("%s: lease updates to the backup: %v sent, %v failed", nodes[0], sent, failed)
		if sent < float64(acks[0]) || failed != 0 || state != 1 {
			t.Errorf("%s: backup updates sent %v failed %v for %d ACKs, passive-backup state %v", nodes[0], sent, failed, acks[0], state)
		}
	}
	if o.datapath == "xdp" {
		for i, n := range nodes {
			if n.kind != "xdhcpd" {
				continue
			}
			mode, c := xdpCounters(t, n.sock)
			dropped := c["bpf_drop_partner"] - xdpBefore[i]["bpf_drop_partner"]
			ours := c["bpf_redirect_ours"] - xdpBefore[i]["bpf_redirect_ours"]
			queries := int64(res.DiscoverSent + res.RequestSent)
			t.Logf("%s on %s: %d queries dropped in the kernel as the partner's, %d redirected to AF_XDP (perfdhcp sent %d)", n, mode, dropped, ours, queries)
			if i == 1 && (dropped < queries*95/100 || ours != 0) {
				t.Errorf("%s (serving nothing) dropped %d of %d queries in the kernel, redirected %d", n, dropped, queries, ours)
			}
			if i == 0 && (dropped != 0 || ours < queries*95/100) {
				t.Errorf("%s (serving everything) dropped %d in the kernel, redirected %d of %d", n, dropped, ours, queries)
			}
		}
	}
	if t.Failed() {
		return
	}

	// (3) kill -9 of server1 under load.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	args := []string{"netns", "exec", lab.cli.Name,
		"perfdhcp", "-4", "-l", "br0", "-r", "200", "-p", "12", "-R", "2000", "-b", "mac=00:0c:01:02:13:04"}
	if o.mc.mode == "hot-standby" {
		// Unanswered clients retry with a growing secs from the kill on
		// (perfdhcp -Y/-y: secs = seconds since 3 s + 1), which the
		// standby's unacked-client detection needs (max-ack-delay 2 s).
		args = append(args, "-Y", "3", "-y", "12")
	}
	load := exec.CommandContext(ctx, "ip", args...)
	during := make(chan string, 1)
	go func() {
		out, _ := load.CombinedOutput()
		during <- string(out)
	}()
	t.Cleanup(func() { cancel(); <-during; during <- "" })
	time.Sleep(3 * time.Second)
	killed := time.Now()
	nodes[0].kill()
	if o.mc.mode == "hot-standby" {
		for {
			st := nodes[1].status()
			if st.Local == "partner-down" {
				t.Logf("%s killed: %s partner-down after %.2fs (max-response-delay %d ms); analyzed-packets %d, unacked-clients %d, scopes %v",
					nodes[0], nodes[1], time.Since(killed).Seconds(), haMaxResponseDelay, st.Analyzed, st.Unacked, st.LocalScopes)
				if !slices.Equal(st.LocalScopes, []string{"server1"}) {
					t.Errorf("partner-down standby serves %v, want [server1]", st.LocalScopes)
				}
				// shouldPartnerDown of a standby: more than
				// max-unacked-clients unacked clients, seen only if the
				// primary's queries reach it (on XDP: the bucket table
				// serves all while communication is interrupted).
				if st.Unacked <= o.mc.unacked {
					t.Errorf("%s partner-down with %d unacked clients, max-unacked-clients %d", nodes[1], st.Unacked, o.mc.unacked)
				}
				break
			}
			if time.Since(killed) > 20*time.Second {
				t.Fatalf("%s not in partner-down 20 s after %s was killed: %+v", nodes[1], nodes[0], st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	out := <-during
	during <- out
	t.Logf("perfdhcp across the kill: %s", perfSummary(out))
	wire, seen, drops := tap.stopAndGet(t)
	var by [2]int
	for _, a := range wire {
		for i, addr := range haSrvAddr {
			if a.From.String() == addr {
				by[i]++
			}
		}
	}
	t.Logf("on the wire: %d DHCPACKs for %d addresses (latest from %s: %d, from %s: %d), %d frames dropped by the capture",
		seen, len(wire), nodes[0], by[0], nodes[1], by[1], drops)
	if drops != 0 {
		t.Errorf("the capture lost %d frames: the ACK record is incomplete", drops)
	}
	if len(wire) == 0 {
		t.Fatal("no DHCPACK seen on the wire")
	}
	if o.mc.mode == "hot-standby" && by[1] == 0 {
		t.Errorf("%s never answered after partner-down", nodes[1])
	}
	checkAcksStored(t, nodes[1], wire)
	t.Logf("%s's store holds every lease ACKed on the wire (%d)", nodes[1], len(wire))
	if t.Failed() || o.mc.mode != "hot-standby" {
		return
	}

	// (4) The primary comes back: it syncs from the standby in
	// partner-down (waiting → syncing → ready), both return to
	// hot-standby, the primary holds every lease ACKed while it was down
	// and serves alone again.
	restarted := time.Now()
	nodes[0].start()
	waitEach(t, nodes, normal, 40*time.Second)
	t.Logf("%s restarted: both hot-standby %.2fs later", nodes[0], time.Since(restarted).Seconds())
	checkAcksStored(t, nodes[0], wire)
	for i, n := range nodes {
		before[i] = n.stat("pkt4-ack-sent")
	}
	res = haPerf(t, lab, 4)
	for i, n := range nodes {
		acks[i] = n.stat("pkt4-ack-sent") - before[i]
	}
	t.Logf("hot-standby again: DISCOVER %d, ACK %d (%.2f%% answered); ACKs %s %d, %s %d",
		res.DiscoverSent, res.AckReceived, 100*answered(res), nodes[0], acks[0], nodes[1], acks[1])
	if answered(res) < 0.99 || acks[1] != 0 || acks[0] < int64(res.AckReceived) {
		t.Errorf("after recovery: %.2f%% answered, ACKs %d / %d; want all from the primary", 100*answered(res), acks[0], acks[1])
	}
}

func forModeDatapaths(t *testing.T, o modeOpts) {
	for _, dp := range haDatapaths {
		t.Run(dp, func(t *testing.T) {
			o := o
			o.datapath = dp
			runModePair(t, o)
		})
	}
}

// hotStandby: the standby declares the primary down on unacked clients,
// not as soon as communication is interrupted.
var hotStandby = modeConf{mode: "hot-standby", unacked: 10}

// TestHSXdhcpdPrimaryKeaStandby: xdhcpd primary, Kea 2.2 standby.
func TestHSXdhcpdPrimaryKeaStandby(t *testing.T) {
	forModeDatapaths(t, modeOpts{mc: hotStandby, kinds: [2]string{"xdhcpd", "kea"}})
}

// TestHSKeaPrimaryXdhcpdStandby: Kea 2.2 primary, xdhcpd standby.
func TestHSKeaPrimaryXdhcpdStandby(t *testing.T) {
	forModeDatapaths(t, modeOpts{mc: hotStandby, kinds: [2]string{"kea", "xdhcpd"}})
}

// TestHSTwoXdhcpd: both xdhcpd.
func TestHSTwoXdhcpd(t *testing.T) {
	forModeDatapaths(t, modeOpts{mc: hotStandby, kinds: [2]string{"xdhcpd", "xdhcpd"}})
}

var passiveBackupWait = modeConf{mode: "passive-backup", extraHA: map[string]any{"wait-backup-ack": true}}

// TestPBXdhcpdActiveKeaBackup: xdhcpd active with wait-backup-ack, Kea
// 2.2 backup: every ACKed lease is in Kea's store after the kill.
func TestPBXdhcpdActiveKeaBackup(t *testing.T) {
	forModeDatapaths(t, modeOpts{mc: passiveBackupWait, kinds: [2]string{"xdhcpd", "kea"}})
}

// TestPBKeaActiveXdhcpdBackup: Kea 2.2 active with wait-backup-ack,
// xdhcpd backup.
func TestPBKeaActiveXdhcpdBackup(t *testing.T) {
	forModeDatapaths(t, modeOpts{mc: passiveBackupWait, kinds: [2]string{"kea", "xdhcpd"}})
}
