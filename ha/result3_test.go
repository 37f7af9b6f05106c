package ha

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// TestResultEmptyAccepted (issue 10 item 2): Kea 2.2 takes result 3
// ("empty") as success in the answer to every command it sends a partner
// (ha_service.cc, verifyAsyncResponse), and so do we: lease updates, the
// sync's dhcp-disable / lease4-get-page / ha-sync-complete-notify /
// dhcp-enable, ha-reset, heartbeats. ha-maintenance-start refuses on 3 as
// processMaintenanceStart does (neither error nor success), with its text.
func TestResultEmptyAccepted(t *testing.T) {
	empty := func(text string) string { return `[ { "result": 3, "text": "` + text + `" } ]` }
	fp := newFakePeer(t, map[string]string{
		"dhcp-disable":            empty("nothing"),
		"lease4-get-page":         `[ { "arguments": { "count": 0, "leases": [ ] }, "result": 3, "text": "0 IPv4 lease(s) found." } ]`,
		"ha-sync-complete-notify": empty("nothing"),
		"dhcp-enable":             empty("nothing"),
		"ha-reset":                empty("nothing"),
		"lease4-update":           empty("nothing"),
		"lease4-del":              empty("IPv4 lease not found."),
		"ha-maintenance-notify":   empty("nothing"),
	})
	s := newUnstartedService(t, fp.srv.URL+"/", nil)
	ctx := context.Background()
	if err := s.synchronize(ctx, time.Second); err != nil {
		t.Errorf("sync with result 3 answers: %v", err)
	}
	if err := s.sendReset(ctx); err != nil {
		t.Errorf("ha-reset answered 3: %v", err)
	}
	setStates(s, StateLoadBalancing, StateLoadBalancing)
	d := newDoneRec()
	s.Replicate([]lease.Change{{Old: testLease("192.0.2.20", "old"), New: testLease("192.0.2.21", "new")}}, d.done)
	if err := d.wait(t, 0); err != nil {
		t.Errorf("lease updates answered 3: %v", err)
	}
	hb := strings.Replace(keaHeartbeat("load-balancing", s.now(), []string{"server1"}, 0), `"result":0`, `"result":3`, 1)
	fp.set("ha-heartbeat", hb)
	s.heartbeat(ctx)
	if got := s.PartnerState(); got != "load-balancing" {
		t.Errorf("heartbeat answered 3: partner state %s", got)
	}
	res := s.cmdMaintenanceStart(ctx, &control.Request{Command: "ha-maintenance-start"})
	want := "Unable to transition to the partner-in-maintenance state. The partner server responded with the following message to the ha-maintenance-notify command: ."
	if res.Result != control.ResultError || res.Text != want {
		t.Errorf("ha-maintenance-start with a 3: %+v, want %q", res, want)
	}
	fp.set("ha-maintenance-notify", `[ { "result": 1001, "text": "Unable to transition the server from the terminated to in-maintenance state." } ]`)
	res = s.cmdMaintenanceStart(ctx, &control.Request{Command: "ha-maintenance-start"})
	want = "Unable to transition to the partner-in-maintenance state. The partner server responded with the following message to the ha-maintenance-notify command: Unable to transition the server from the terminated to in-maintenance state., error code 1001."
	if res.Result != control.ResultError || res.Text != want {
		t.Errorf("ha-maintenance-start with 1001: %+v, want %q", res, want)
	}
}
