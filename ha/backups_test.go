package ha

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/ha/peer/peertest"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// passiveBackup makes the test service the primary (server1) of a
// passive-backup relationship with the backups at urls (server3, ...).
func passiveBackup(wait bool, urls ...string) func(*Config) {
	return func(c *Config) {
		c.Mode = ModePassiveBackup
		c.DelayedUpdatesLimit = 0
		c.WaitBackupAck = wait
		c.ThisServerName = "server1"
		c.Peers = []Peer{{Name: "server1", URL: "http://127.0.0.1:0/", Role: RolePrimary, AutoFailover: true}}
		for i, u := range urls {
			c.Peers = append(c.Peers, Peer{Name: "server" + string(rune('3'+i)), URL: u, Role: RoleBackup, AutoFailover: true})
		}
	}
}

// closeBackups closes s's backup update clients when the test ends, before
// the test backups wait for their connections (Stop does nothing on a
// Service that was not started).
func closeBackups(t *testing.T, s *Service) {
	t.Cleanup(func() {
		for _, b := range s.backups {
			b.updates.Close()
		}
	})
}

// deadURL is a peer URL nobody listens on.
func deadURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String() + "/"
	ln.Close()
	return u
}

// TestPassiveBackupPrimary: the active server of passive-backup goes from
// waiting to passive-backup (waitingStateHandler), serves its scope, sends
// no heartbeat and has no remote part in status-get (processStatusGet);
// every lease change goes to every backup; without wait-backup-ack the
// reply does not wait for them (asyncSendLeaseUpdates counts only
// non-backup peers as pending) and a backup's failure is only counted.
func TestPassiveBackupPrimary(t *testing.T) {
	b1 := peertest.NewRawPeer(t, "")
	b1.Hold(t)
	env := newTestService(t, "unused", passiveBackup(false, b1.URL(), deadURL(t)))
	s := env.s
	closeBackups(t, s)
	s.runModel(context.Background())
	if s.State() != "passive-backup" {
		t.Fatalf("state %s, want passive-backup", s.State())
	}
	st := s.Status()[0]
	if st.HAMode != "passive-backup" || st.HAServers.Remote != nil || strings.Join(st.HAServers.Local.Scopes, ",") != "server1" {
		t.Fatalf("status %+v, want passive-backup, scopes [server1], no remote", st)
	}
	if b, _ := env.buckets.get(); countServed(b) != 256 {
		t.Fatalf("%d buckets served, want all", countServed(b))
	}
	if s.interrupted() {
		t.Fatal("no partner, no heartbeats: never interrupted")
	}
	d := newDoneRec()
	s.Replicate([]lease.Change{{New: testLease("192.0.2.10", "x")}}, d.done)
	if err := d.wait(t, 0); err != nil { // b1 holds its answer: done did not wait
		t.Fatalf("done %v, want nil without wait-backup-ack", err)
	}
	b1.Release()
	waitCounters(t, s, map[string][2]int64{"server3": {1, 0}, "server4": {0, 1}})
	if got := b1.RequestsSeen(); len(got) != 1 || got[0].Command != "lease4-update" || got[0].IP != "192.0.2.10" {
		t.Fatalf("backup got %+v", got)
	}
}

// TestPassiveBackupWaitBackupAck: with wait-backup-ack the reply waits for
// every backup and is dropped when one fails (asyncSendLeaseUpdate:
// parking_lot->drop), which marks no partner unavailable.
func TestPassiveBackupWaitBackupAck(t *testing.T) {
	b1 := peertest.NewRawPeer(t, "")
	b1.Hold(t)
	b2 := peertest.NewRawPeer(t, "")
	env := newTestService(t, "unused", passiveBackup(true, b1.URL(), b2.URL()))
	s := env.s
	closeBackups(t, s)
	s.runModel(context.Background())
	d := newDoneRec()
	s.Replicate([]lease.Change{{Old: testLease("192.0.2.10", "old"), New: testLease("192.0.2.11", "new")}}, d.done)
	select {
	case err := <-d.errs:
		t.Fatalf("done (%v) before the held backup answered", err)
	case <-time.After(200 * time.Millisecond):
	}
	b1.Release()
	if err := d.wait(t, 20*time.Millisecond); err != nil {
		t.Fatalf("both backups answered: %v", err)
	}
	for _, b := range []*peertest.RawPeer{b1, b2} {
		got := b.RequestsSeen()
		if len(got) != 2 || got[0].Command != "lease4-del" || got[1].Command != "lease4-update" {
			t.Fatalf("backup got %+v, want lease4-del then lease4-update", got)
		}
	}

	env2 := newTestService(t, "unused", passiveBackup(true, b2.URL(), deadURL(t)))
	closeBackups(t, env2.s)
	env2.s.runModel(context.Background())
	d = newDoneRec()
	env2.s.Replicate([]lease.Change{{New: testLease("192.0.2.12", "x")}}, d.done)
	err := d.wait(t, 20*time.Millisecond)
	if !errors.Is(err, ErrUpdateFailed) || !strings.Contains(err.Error(), "backup server4") {
		t.Fatalf("a backup failed: %v, want ErrUpdateFailed naming server4", err)
	}
	if env2.s.State() != "passive-backup" {
		t.Fatalf("state %s after a backup failure", env2.s.State())
	}
	waitCounters(t, env2.s, map[string][2]int64{"server3": {1, 0}, "server4": {0, 1}})
}

// TestBackupsInEveryState: an active server of load-balancing or
// hot-standby sends to its backups in every state, also where the partner
// gets nothing (partner-down: counted as unsent for the partner only,
// shouldSendLeaseUpdates "Always send updates to the backup server").
func TestBackupsInEveryState(t *testing.T) {
	b := peertest.NewRawPeer(t, "")
	fp := newFakePeer(t, maps(syncReplies))
	env := newTestService(t, fp.srv.URL+"/", func(c *Config) {
		hotStandby(false)(c)
		c.Peers = append(c.Peers, Peer{Name: "server3", URL: b.URL(), Role: RoleBackup})
	})
	s := env.s
	closeBackups(t, s)
	t.Cleanup(s.updates.Close)
	for i, st := range []State{StateWaiting, StatePartnerDown, StateHotStandby} {
		setStates(s, st, StateUnavailable)
		d := newDoneRec()
		s.Replicate([]lease.Change{{New: testLease("192.0.2.10", st.String())}}, d.done)
		if err := d.wait(t, 0); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
		waitCounters(t, s, map[string][2]int64{"server3": {int64(i + 1), 0}})
	}
	if s.unsent != 2 {
		t.Fatalf("unsent-update-count %d, want 2 (waiting and partner-down; backups do not count)", s.unsent)
	}
	if got := fp.commands(); len(got) != 1 || got[0] != "lease4-update" {
		t.Fatalf("partner got %v, want the hot-standby state's update only", got)
	}
}

// TestBackupServer: a backup server goes to the backup state
// (waitingStateHandler), serves nothing with DHCP off (adjustNetworkState),
// sends no heartbeat and no lease update, and status-get has no remote.
func TestBackupServer(t *testing.T) {
	fp := newFakePeer(t, maps(syncReplies))
	env := newTestService(t, fp.srv.URL+"/", func(c *Config) {
		c.ThisServerName = "server3"
		c.Peers = append(c.Peers, Peer{Name: "server3", URL: "http://127.0.0.1:0/", Role: RoleBackup})
	})
	s := env.s
	if err := s.Serve(context.Background(), mustListen(t)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * s.cfg.HeartbeatDelay)
	s.kickModel()
	deadline := time.Now().Add(2 * time.Second)
	for s.State() != "backup" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s.State() != "backup" {
		t.Fatalf("state %s, want backup", s.State())
	}
	if b, _ := env.buckets.get(); countServed(b) != 0 || serviceEnabled(StateBackup) {
		t.Fatalf("backup serves %d buckets", countServed(b))
	}
	d := newDoneRec()
	s.Replicate([]lease.Change{{New: testLease("192.0.2.10", "x")}}, d.done)
	if err := d.wait(t, 0); err != nil {
		t.Fatal(err)
	}
	if got := fp.commands(); len(got) != 0 {
		t.Fatalf("a backup server sent %v", got)
	}
	if st := s.Status()[0]; st.HAServers.Remote != nil || st.HAServers.Local.Role != "backup" || len(st.HAServers.Local.Scopes) != 0 {
		t.Fatalf("status %+v", st)
	}
}

func mustListen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// waitCounters waits until BackupCounters has the wanted values.
func waitCounters(t *testing.T, s *Service, want map[string][2]int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := s.BackupCounters()
		ok := true
		for k, v := range want {
			if got[k] != v {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backup counters %v, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
