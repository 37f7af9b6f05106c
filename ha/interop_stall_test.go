package ha

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/ha/peer"
	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// TestInteropRealKeaStalledUpdate (issue 10 item 1) against a real Kea
// 2.2: Kea is stopped (SIGSTOP) with our lease update already written to
// it, so the update times out (its reply dropped) while Kea still holds
// it. The next update of the address, sent while Kea is stopped, is never
// written; after SIGCONT Kea answers the stale update on the same
// connection (the drain reads it) and the update after that lands last.
func TestInteropRealKeaStalledUpdate(t *testing.T) {
	bin := requireKeaHA(t)
	testenv.Short(t, "runs a real kea-dhcp4 for a few seconds")
	dir := t.TempDir()
	p1, p2 := freePort(t), freePort(t)
	url1, url2 := fmt.Sprintf("http://127.0.0.1:%d/", p1), fmt.Sprintf("http://127.0.0.1:%d/", p2)
	k := startInteropKea(t, bin, dir, url1, url2, nil)
	s, store, _, _ := startInteropService(t, interopConfig(url1, url2))
	updateClient(s).SetTimeout(300 * time.Millisecond) // before the first lease update
	dump := interopDump(k, s)
	waitFor(t, "both load-balancing", 20*time.Second, func() bool { return bothLoadBalancing(k, s) }, dump)

	const ip = "192.0.2.70"
	version := func(tag string) *lease.Lease {
		return &lease.Lease{Addr: netip.MustParseAddr(ip), HWAddr: []byte{0, 1, 2, 3, 4, 7},
			ValidLifetime: 4000, CLTT: time.Now().Unix(), SubnetID: 1, Hostname: tag}
	}
	commit := func(l *lease.Lease) error {
		if _, err := store.Put(l); err != nil {
			t.Fatal(err)
		}
		return s.Sync(t.Context(), []lease.Change{{New: l}})
	}
	pid := k.proc.Pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)
	if err := commit(version("v1")); !errors.Is(err, peer.ErrUpdateTimeout) {
		t.Fatalf("v1 to a stopped kea: %v, want a timeout", err)
	}
	// v2: with the default delayed-updates-limit (100, as Kea) the failed
	// v1 already took us to communication-recovery, so v2 is queued and
	// acknowledged; without it, it would be sent and expire unwritten.
	err := commit(version("v2"))
	queued := err == nil && s.State() == StateCommunicationRecovery.String()
	if !queued && !errors.Is(err, peer.ErrUpdateExpired) {
		t.Fatalf("v2 while kea holds v1: %v in %s, want it queued or expired unwritten", err, s.State())
	}
	resume()
	waitFor(t, "kea's stale answer", 10*time.Second, func() bool { return s.Counters()["update-stale-answers"] == 1 }, dump)
	holds := func() string {
		_, args, err := k.control("lease4-get", map[string]any{"ip-address": ip})
		if err != nil {
			return err.Error()
		}
		var l struct {
			Hostname string `json:"hostname"`
		}
		_ = json.Unmarshal(args, &l)
		return l.Hostname
	}
	waitFor(t, "load-balancing again (after the backlog replay, if any)", 20*time.Second, func() bool { return s.State() == "load-balancing" }, dump)
	if queued {
		// The replay sent v2 on v1's connection, after Kea's answer to
		// v1: Kea must hold v2, not the stale v1.
		if got := holds(); got != "v2" {
			t.Fatalf("after the replay kea holds %q, want v2\n%s", got, dump())
		}
	}
	if err := commit(version("v3")); err != nil {
		t.Fatalf("v3: %v\n%s", err, dump())
	}
	// Sent, or (had the pair flapped again) queued and replayed.
	waitFor(t, "kea to hold v3", 20*time.Second, func() bool { return holds() == "v3" }, dump)
	if c := s.Counters(); c["update-timeouts"] != 1 || c["update-drains-cut"] != 0 {
		t.Errorf("counters %v: want one timeout, no cut drain", c)
	}
}
