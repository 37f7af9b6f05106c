package ha

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/userspace/control"
)

// heartbeatsSeen counts the heartbeats the fake partner received.
func heartbeatsSeen(fp *fakePeer) int {
	n := 0
	for _, c := range fp.commands() {
		if c == "ha-heartbeat" {
			n++
		}
	}
	return n
}

// TestResetLeavesTerminated (issue 10 item 2): terminated sends no
// heartbeats (Kea 2.2 ha_service.cc, terminatedStateHandler:
// stopHeartbeat); ha-reset (processHAReset: verboseTransition(waiting),
// runModel(NOP_EVT)) resumes them and the state machine, which follows the
// partner out of waiting.
func TestResetLeavesTerminated(t *testing.T) {
	fp := newFakePeer(t, maps(syncReplies))
	env := newTestService(t, fp.srv.URL+"/", func(c *Config) { c.HeartbeatDelay = 50 * time.Millisecond })
	s := env.s
	s.now = time.Now
	fp.set("ha-heartbeat", keaHeartbeat("load-balancing", time.Now(), []string{"server1"}, 0))
	setStates(s, StateTerminated, StateTerminated)
	if err := s.Serve(context.Background(), listenLocal(t)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // six heartbeat-delays
	if n := heartbeatsSeen(fp); n != 0 {
		t.Fatalf("%d heartbeats sent in terminated", n)
	}
	res := s.cmdReset(context.Background(), &control.Request{Command: "ha-reset"})
	if res.Result != control.ResultSuccess || res.Text != "HA state machine reset." {
		t.Fatalf("ha-reset answered %+v", res)
	}
	for end := time.Now().Add(5 * time.Second); s.State() != StateLoadBalancing.String(); {
		if time.Now().After(end) {
			t.Fatalf("after ha-reset: state %s, %d heartbeats, commands %v; want load-balancing through heartbeats and a sync",
				s.State(), heartbeatsSeen(fp), fp.commands())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if heartbeatsSeen(fp) == 0 || !slices.Contains(fp.commands(), "lease4-get-page") {
		t.Fatalf("commands %v: want heartbeats and a lease sync", fp.commands())
	}
}
