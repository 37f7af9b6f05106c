package ha

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/ha/peer"
	"github.com/xdhcp/xdhcp/ha/peer/peertest"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// testLease is a lease of subnet 1 (or 2 for 198.18/15) carrying tag as
// its hostname, which the test partners record.
func testLease(addr, tag string) *lease.Lease {
	a := netip.MustParseAddr(addr)
	l := &lease.Lease{Addr: a, HWAddr: []byte{0, 0xc, 1, 2, 3, 4}, ValidLifetime: 4000,
		CLTT: 1795589026, SubnetID: 1, Hostname: tag}
	if strings.HasPrefix(addr, "198.18.") {
		l.SubnetID = 2
	}
	return l
}

// newUnstartedService is newTestService for a test that does not start
// the Service (Stop then leaves the update client alone): the update
// connections are closed before the partner's cleanup waits for them.
func newUnstartedService(t *testing.T, partnerURL string, mod func(*Config)) *Service {
	t.Helper()
	s := newTestService(t, partnerURL, mod).s
	t.Cleanup(s.updates.Close)
	return s
}

// setStates puts s in state st with a partner in ps.
func setStates(s *Service, st, ps State) {
	s.mu.Lock()
	s.transitionLocked(st)
	s.partnerState = ps
	s.mu.Unlock()
}

// doneRec records the calls of one Replicate's done.
type doneRec struct {
	calls atomic.Int32
	errs  chan error
}

func newDoneRec() *doneRec { return &doneRec{errs: make(chan error, 8)} }

func (d *doneRec) done(err error) {
	d.calls.Add(1)
	d.errs <- err
}

// wait returns the first outcome, and fails the test if done is called
// again in the following settle time.
func (d *doneRec) wait(t *testing.T, settle time.Duration) error {
	t.Helper()
	var err error
	select {
	case err = <-d.errs:
	case <-time.After(5 * time.Second):
		t.Fatal("done not called")
	}
	time.Sleep(settle)
	if n := d.calls.Load(); n != 1 {
		t.Fatalf("done called %d times", n)
	}
	return err
}

// updateClient is s's update client.
func updateClient(s *Service) *peer.UpdateClient { return s.updates.(*peer.UpdateClient) }

// connOf is the update connection that the key of addr selects.
func connOf(s *Service, addr string) int {
	return updateClient(s).ConnIndex(addrKey(netip.MustParseAddr(addr)))
}

// TestReplicateDoneOncePerPolicy: in every state done is called exactly
// once, synchronously when the policy sends nothing, and the policy's
// effect (sent in order, queued, counted) is the one Sync had.
func TestReplicateDoneOncePerPolicy(t *testing.T) {
	move := []lease.Change{{Old: testLease("192.0.2.10", "old"), New: testLease("192.0.2.11", "new")}}
	for st := StateWaiting; st <= StatePassiveBackup; st++ {
		t.Run(st.String(), func(t *testing.T) {
			fp := newFakePeer(t, maps(syncReplies))
			env := newTestService(t, fp.srv.URL+"/", nil)
			s := env.s
			setStates(s, st, StateLoadBalancing)
			d := newDoneRec()
			s.Replicate(move, d.done)
			pol := updatePolicyFor(st)
			if pol != updateSend && d.calls.Load() != 1 {
				t.Fatalf("policy %d: done not called before Replicate returned", pol)
			}
			if err := d.wait(t, 50*time.Millisecond); err != nil {
				t.Fatalf("err %v", err)
			}
			s.mu.Lock()
			unsent, queued := s.unsent, len(s.backlog)
			s.mu.Unlock()
			cmds := strings.Join(fp.commands(), ",")
			var want string
			switch pol {
			case updateSend:
				want = "sent lease4-del,lease4-update unsent 0 queued 0"
			case updateQueue:
				want = "sent  unsent 0 queued 2"
			case updateUnsent:
				want = "sent  unsent 1 queued 0"
			}
			if got := fmt.Sprintf("sent %s unsent %d queued %d", cmds, unsent, queued); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
	// Nothing to send: done(nil) before Replicate returns, nothing sent.
	for _, tc := range []struct {
		name    string
		noSend  bool
		changes []lease.Change
	}{
		{name: "no changes"},
		{name: "empty change", changes: []lease.Change{{}}},
		{name: "send-lease-updates false", noSend: true, changes: move},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp := newFakePeer(t, maps(syncReplies))
			env := newTestService(t, fp.srv.URL+"/", func(c *Config) { c.SendLeaseUpdates = !tc.noSend })
			setStates(env.s, StateLoadBalancing, StateLoadBalancing)
			d := newDoneRec()
			env.s.Replicate(tc.changes, d.done)
			if d.calls.Load() != 1 {
				t.Fatal("done not called before Replicate returned")
			}
			if err := d.wait(t, 20*time.Millisecond); err != nil || len(fp.commands()) != 0 {
				t.Fatalf("err %v, sent %v", err, fp.commands())
			}
		})
	}
}

// TestReplicateStopped: after Stop, done fails before Replicate returns;
// updates pending at Stop each get done exactly once, with a failure.
func TestReplicateStopped(t *testing.T) {
	p := peertest.NewRawPeer(t, "")
	p.Hold(t)
	env := newTestService(t, p.URL(), func(c *Config) { c.HeartbeatDelay = 0 })
	s := env.s
	setStates(s, StateLoadBalancing, StateLoadBalancing)
	startListener(t, env)
	pending := make([]*doneRec, 20)
	for i := range pending {
		pending[i] = newDoneRec()
		s.Replicate([]lease.Change{{New: testLease(fmt.Sprintf("192.0.2.%d", 10+i), "x")}}, pending[i].done)
	}
	for _, d := range pending {
		if d.calls.Load() != 0 {
			t.Fatal("done called before the partner answered")
		}
	}
	s.Stop()
	for i, d := range pending {
		if err := d.wait(t, 0); !errors.Is(err, ErrUpdateFailed) {
			t.Fatalf("pending %d: err %v, want ErrUpdateFailed", i, err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	for i, d := range pending {
		if n := d.calls.Load(); n != 1 {
			t.Fatalf("pending %d: done called %d times", i, n)
		}
	}
	d := newDoneRec()
	s.Replicate([]lease.Change{{New: testLease("192.0.2.9", "x")}}, d.done)
	if d.calls.Load() != 1 {
		t.Fatal("done not called before Replicate returned on a stopped service")
	}
	if err := d.wait(t, 0); !errors.Is(err, ErrUpdateFailed) || !errors.Is(err, peer.ErrClientClosed) {
		t.Fatalf("err %v, want ErrUpdateFailed from a closed client", err)
	}
}

// TestReplicateFailureMarksPartnerUnavailable: a rejected update or an
// unreachable partner fails done once with ErrUpdateFailed and marks the
// partner unavailable; the rest of the chain, held on another connection,
// is never written.
func TestReplicateFailureMarksPartnerUnavailable(t *testing.T) {
	t.Run("rejected, rest of chain not sent", func(t *testing.T) {
		fp := newFakePeer(t, maps(syncReplies))
		fp.set("lease4-del", `[ { "result": 1, "text": "no" } ]`)
		env := newTestService(t, fp.srv.URL+"/", nil)
		s := env.s
		setStates(s, StateLoadBalancing, StateLoadBalancing)
		// The update goes to another connection than the deletion, so it
		// is held behind it.
		other := ""
		for i := 11; i < 250 && other == ""; i++ {
			if a := fmt.Sprintf("192.0.2.%d", i); connOf(s, a) != connOf(s, "192.0.2.10") {
				other = a
			}
		}
		d := newDoneRec()
		s.Replicate([]lease.Change{{Old: testLease("192.0.2.10", "old"), New: testLease(other, "new")}}, d.done)
		err := d.wait(t, 100*time.Millisecond)
		var pe *peer.ResultError
		if !errors.Is(err, ErrUpdateFailed) || !errors.As(err, &pe) || pe.Result != 1 {
			t.Fatalf("err %v, want ErrUpdateFailed from result 1", err)
		}
		if ps := s.PartnerState(); ps != "unavailable" {
			t.Fatalf("partner state %q, want unavailable", ps)
		}
		if got := strings.Join(fp.commands(), ","); got != "lease4-del" {
			t.Fatalf("partner got %s, want only the failed lease4-del", got)
		}
		if n := updateClient(s).InFlight(); n != 0 {
			t.Fatalf("%d updates still in flight", n)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		url := "http://" + ln.Addr().String() + "/"
		ln.Close()
		env := newTestService(t, url, nil)
		setStates(env.s, StatePartnerInMaintenance, StateInMaintenance)
		d := newDoneRec()
		env.s.Replicate([]lease.Change{{New: testLease("192.0.2.10", "x")}}, d.done)
		err := d.wait(t, 20*time.Millisecond)
		var ce *peer.CommError
		if !errors.Is(err, ErrUpdateFailed) || !errors.As(err, &ce) {
			t.Fatalf("err %v, want ErrUpdateFailed from a CommError", err)
		}
		if ps := env.s.PartnerState(); ps != "unavailable" {
			t.Fatalf("partner state %q, want unavailable", ps)
		}
	})
}

// TestReplicateOrderPerAddress: concurrent callers replicate changes of a
// few addresses (renewals and moves) towards a partner that answers after
// random delays over several connections. Each address's updates must
// reach the partner in commit order, and a move's deletion before its
// update.
func TestReplicateOrderPerAddress(t *testing.T) {
	for _, server := range []string{"xdhcpd", ""} {
		t.Run("server="+server, func(t *testing.T) {
			p := peertest.NewRawPeer(t, server)
			p.SetDelay(func() time.Duration { return time.Duration(rand.IntN(300)) * time.Microsecond })
			s := newUnstartedService(t, p.URL(), func(c *Config) { c.MultiThreading.HTTPClientThreads = 2 })
			setStates(s, StateLoadBalancing, StateLoadBalancing)
			if server != "" {
				s.partnerSW.Observe([]byte(peer.ServerSoftware)) // as the heartbeats would have learned
			}
			const nAddr, workers, perWorker = 12, 6, 150
			type addrState struct {
				mu  sync.Mutex
				seq int
			}
			addrs := make([]string, nAddr)
			st := make([]addrState, nAddr)
			for i := range addrs {
				addrs[i] = fmt.Sprintf("192.0.2.%d", 20+i)
			}
			var wg, pending sync.WaitGroup
			var fails, calls, moves atomic.Int32
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perWorker {
						a := rand.IntN(nAddr)
						b := a
						if i%4 == 0 {
							b = rand.IntN(nAddr) // a move from a to b
						}
						// Commit: lock the addresses, take the next
						// sequence numbers, replicate, unlock.
						lo, hi := min(a, b), max(a, b)
						st[lo].mu.Lock()
						if hi != lo {
							st[hi].mu.Lock()
						}
						call := fmt.Sprintf("w%d.%d", w, i)
						var ch lease.Change
						if a != b {
							st[a].seq++
							ch.Old = testLease(addrs[a], fmt.Sprintf("%d/%s", st[a].seq, call))
							moves.Add(1)
						}
						st[b].seq++
						ch.New = testLease(addrs[b], fmt.Sprintf("%d/%s", st[b].seq, call))
						pending.Add(1)
						var once atomic.Int32
						s.Replicate([]lease.Change{ch}, func(err error) {
							calls.Add(1)
							if err != nil || once.Add(1) != 1 {
								fails.Add(1)
							}
							pending.Done()
						})
						if hi != lo {
							st[hi].mu.Unlock()
						}
						st[lo].mu.Unlock()
					}
				}()
			}
			wg.Wait()
			pending.Wait()
			if n := calls.Load(); fails.Load() != 0 || n != workers*perWorker {
				t.Fatalf("%d failed or repeated done calls, %d calls for %d replications", fails.Load(), n, workers*perWorker)
			}
			got := p.RequestsSeen()
			if len(got) != workers*perWorker+int(moves.Load()) {
				t.Fatalf("partner got %d requests, want %d", len(got), workers*perWorker+int(moves.Load()))
			}
			last := map[string]int{}
			delAt := map[string]int{}
			updated := map[string]bool{}
			for i, r := range got {
				var seq int
				var call string
				if _, err := fmt.Sscanf(strings.Replace(r.Hostname, "/", " ", 1), "%d %s", &seq, &call); err != nil {
					t.Fatalf("request %d: hostname %q: %v", i, r.Hostname, err)
				}
				if seq != last[r.IP]+1 {
					t.Fatalf("request %d: %s %s seq %d after seq %d: out of commit order", i, r.Command, r.IP, seq, last[r.IP])
				}
				last[r.IP] = seq
				switch r.Command {
				case "lease4-del":
					if updated[call] {
						t.Fatalf("request %d: %s: the move's update reached the partner before its deletion", i, call)
					}
					delAt[call] = i
				case "lease4-update":
					updated[call] = true
				}
			}
			for i, a := range addrs {
				if last[a] != st[i].seq {
					t.Fatalf("%s: partner saw up to seq %d, committed %d", a, last[a], st[i].seq)
				}
			}
			if n := len(delAt); n != int(moves.Load()) {
				t.Fatalf("%d deletions for %d moves", n, moves.Load())
			}
		})
	}
}

// TestReplicateNoGoroutinePerUpdate: 2,000 replications pending against a
// partner that holds its answers cost no goroutine each: the count stays
// within the update connections (ours and the partner's) of the baseline.
func TestReplicateNoGoroutinePerUpdate(t *testing.T) {
	for _, server := range []string{"xdhcpd", ""} {
		t.Run("server="+server, func(t *testing.T) {
			p := peertest.NewRawPeer(t, server)
			s := newUnstartedService(t, p.URL(), func(c *Config) { c.MultiThreading.HTTPClientThreads = 2 })
			setStates(s, StateLoadBalancing, StateLoadBalancing)
			s.partnerSW.Observe([]byte(server))
			p.Hold(t)
			conns := updateClient(s).Conns()
			runtime.GC()
			base := runtime.NumGoroutine()
			const n = 2000
			var calls, fails atomic.Int32
			for i := range n {
				addr := fmt.Sprintf("198.18.%d.%d", i/250, i%250+1)
				s.Replicate([]lease.Change{{New: testLease(addr, "x")}}, func(err error) {
					if err != nil {
						fails.Add(1)
					}
					calls.Add(1)
				})
			}
			// Let every connection dial and write its first requests.
			time.Sleep(200 * time.Millisecond)
			if c := calls.Load(); c != 0 {
				t.Fatalf("%d done calls before the partner answered", c)
			}
			if in := updateClient(s).InFlight(); in != n {
				t.Fatalf("%d updates in flight, want %d", in, n)
			}
			// Our connection goroutines and the partner's, one each.
			if g := runtime.NumGoroutine(); g > base+2*conns+2 {
				t.Fatalf("%d goroutines with %d updates pending, baseline %d, %d connections", g, n, base, conns)
			}
			p.Release()
			deadline := time.Now().Add(10 * time.Second)
			for calls.Load() < n && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if c, f := calls.Load(), fails.Load(); c != n || f != 0 {
				t.Fatalf("%d done calls (%d failed), want %d successes", c, f, n)
			}
			if got := len(p.RequestsSeen()); got != n {
				t.Fatalf("partner got %d requests, want %d", got, n)
			}
		})
	}
}
