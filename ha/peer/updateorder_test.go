package peer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/ha/peer/peertest"
)

// orderBody is a lease update (or deletion) of ip whose hostname names its
// version, so the partner's record shows which version it applied.
func orderBody(cmd, ip, version string) []byte {
	return fmt.Appendf(nil, `{ "arguments": { "ip-address": %q, "hostname": %q }, "command": %q, "service": [ "dhcp4" ] }`,
		ip, version, cmd)
}

// doWithin is Do bounded by a test deadline.
func doWithin(t *testing.T, c *UpdateClient, cmd, ip, version string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := c.Do(ctx, 42, cmd, orderBody(cmd, ip, version))
	if err == nil {
		err = a.Want(cmd, 0)
	}
	return err
}

// waitFor polls cond for at most 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// appliedVersions is what the partner applied for ip, in order.
func appliedVersions(p *peertest.RawPeer, ip string) []string {
	var v []string
	for _, r := range p.AppliedSeen() {
		if r.IP == ip {
			v = append(v, r.Command+" "+r.Hostname)
		}
	}
	return v
}

// TestUpdateTimeoutNeverReorders (issue 10 item 1): the partner holds a
// written lease4-update past the client's timeout, then applies it. The
// update fails with ErrUpdateTimeout (Kea drops the parked reply when its
// lease update fails: ha_service.cc, asyncSendLeaseUpdate's callback),
// and nothing later for the same address may be applied before it: the
// next update, sent while the stale one is still held, must not be
// written (it expires), and the one after the stale answer is applied
// after it. Without the drain the second update went out on a fresh
// connection, was applied and acknowledged first, and the stale one then
// overwrote it at the partner (or resurrected the deleted lease).
func TestUpdateTimeoutNeverReorders(t *testing.T) {
	for _, server := range []string{"xdhcpd", ""} { // pipelining and Kea-like
		for _, second := range []string{"lease4-update", "lease4-del"} {
			t.Run(fmt.Sprintf("server=%q/%s", server, second), func(t *testing.T) {
				const ip = "192.0.2.10"
				p := peertest.NewRawPeer(t, server)
				var n atomic.Int32
				p.SetDelay(func() time.Duration {
					if n.Add(1) == 1 {
						return 600 * time.Millisecond // the first request, past the timeout
					}
					return 0
				})
				c, info := newTestUpdateClient(t, p.URL(), 1)
				info.Observe([]byte(server))
				c.timeout = 150 * time.Millisecond

				err := doWithin(t, c, "lease4-update", ip, "v1")
				if !errors.Is(err, ErrUpdateTimeout) {
					t.Fatalf("v1: got %v, want ErrUpdateTimeout", err)
				}
				// v2 while the partner still holds v1: it must not be
				// written, so it fails (its deadline passes while the
				// connection drains); the partner never sees it.
				err = doWithin(t, c, second, ip, "v2")
				if !errors.Is(err, ErrUpdateExpired) {
					t.Fatalf("v2: got %v, want ErrUpdateExpired", err)
				}
				waitFor(t, "the stale v1 to be applied and answered", func() bool {
					return c.Counters()["update-stale-answers"] == 1
				})
				if err := doWithin(t, c, second, ip, "v3"); err != nil {
					t.Fatalf("v3: %v", err)
				}
				want := []string{"lease4-update v1", second + " v3"}
				if got := appliedVersions(p, ip); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("partner applied %q, want %q (commit order, v2 never written)", got, want)
				}
				if got := c.Counters()["update-timeouts"]; got != 1 {
					t.Errorf("update-timeouts = %d, want 1", got)
				}
				if got := len(p.RequestsSeen()); got != 2 {
					t.Errorf("partner read %d requests, want 2 (v1, v3)", got)
				}
			})
		}
	}
}

// TestUpdateTimeoutPartnerCloses: the partner holding the timed-out update
// is killed (closes the connection without answering): it can apply
// nothing more from that connection, so the drain ends there and the next
// update goes out on a fresh connection at once.
func TestUpdateTimeoutPartnerCloses(t *testing.T) {
	const ip = "192.0.2.11"
	p := peertest.NewRawPeer(t, "")
	p.SetDelay(func() time.Duration {
		if p.CloseUnanswered.Load() {
			return 300 * time.Millisecond
		}
		return 0
	})
	p.CloseUnanswered.Store(true)
	c, _ := newTestUpdateClient(t, p.URL(), 1)
	c.timeout = 100 * time.Millisecond
	if err := doWithin(t, c, "lease4-update", ip, "v1"); !errors.Is(err, ErrUpdateTimeout) {
		t.Fatalf("v1: got %v, want ErrUpdateTimeout", err)
	}
	waitFor(t, "the drain to end", func() bool { return c.Counters()["update-drains-cut"] == 1 })
	p.CloseUnanswered.Store(false)
	if err := doWithin(t, c, "lease4-update", ip, "v2"); err != nil {
		t.Fatalf("v2: %v", err)
	}
	if got, want := appliedVersions(p, ip), []string{"lease4-update v2"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("partner applied %q, want %q", got, want)
	}
}

// TestUpdateDoCanceled: Do's caller giving up (the backlog replay stopping)
// cancels an update not yet written: it is never written later.
func TestUpdateDoCanceled(t *testing.T) {
	const ip = "192.0.2.12"
	p := peertest.NewRawPeer(t, "")
	p.Hold(t)
	c, _ := newTestUpdateClient(t, p.URL(), 1)
	first := make(chan UpdateResult, 1)
	c.Send([]Update{{Command: "lease4-update", Body: orderBody("lease4-update", ip, "v1"), Key: 42,
		Done: func(r UpdateResult) { first <- r }}})
	waitFor(t, "v1 to be written", func() bool { return len(p.RequestsSeen()) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Do(ctx, 42, "lease4-del", orderBody("lease4-del", ip, "v2")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("v2: got %v, want the context's deadline", err)
	}
	p.Release()
	select {
	case r := <-first:
		if r.Err != nil {
			t.Fatalf("v1: %v", r.Err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("v1 never answered")
	}
	if err := doWithin(t, c, "lease4-update", ip, "v3"); err != nil {
		t.Fatalf("v3: %v", err)
	}
	if got, want := appliedVersions(p, ip), []string{"lease4-update v1", "lease4-update v3"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("partner applied %q, want %q (the canceled v2 never written)", got, want)
	}
}

// TestUpdateGarbageAnswerFences ("bad input"): a partner answers a
// written lease update with garbage, then applies it anyway, and closes
// the connection a while later. The update fails (counted), and nothing
// for its address is written, neither resent nor on a fresh connection,
// until the partner closed that connection: the update sent meanwhile
// expires unwritten, the one after the close is applied last.
func TestUpdateGarbageAnswerFences(t *testing.T) {
	const ip = "192.0.2.13"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var applied []string
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	var conns atomic.Int32
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			first := conns.Add(1) == 1
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					var env struct {
						Command   string `json:"command"`
						Arguments struct {
							Hostname string `json:"hostname"`
						} `json:"arguments"`
					}
					_ = json.NewDecoder(req.Body).Decode(&env)
					if first {
						// Garbage at once, the update applied later, the
						// connection closed later still.
						_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n")
						time.Sleep(300 * time.Millisecond)
						mu.Lock()
						applied = append(applied, env.Command+" "+env.Arguments.Hostname)
						mu.Unlock()
						time.Sleep(300 * time.Millisecond)
						return
					}
					mu.Lock()
					applied = append(applied, env.Command+" "+env.Arguments.Hostname)
					mu.Unlock()
					out := fmt.Sprintf(`[ { "result": 0, "text": "%s" } ]`, env.Command)
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/json\r\n\r\n%s", len(out), out)
				}
			}()
		}
	}()
	c, _ := newTestUpdateClient(t, "http://"+ln.Addr().String()+"/", 1)
	c.timeout = 150 * time.Millisecond
	var ce *CommError
	if err := doWithin(t, c, "lease4-update", ip, "v1"); !errors.As(err, &ce) || errors.Is(err, ErrUpdateTimeout) {
		t.Fatalf("v1: got %v, want a bad-answer failure", err)
	}
	if err := doWithin(t, c, "lease4-del", ip, "v2"); !errors.Is(err, ErrUpdateExpired) {
		t.Fatalf("v2 while the partner holds v1: got %v, want ErrUpdateExpired", err)
	}
	waitFor(t, "the partner to close the first connection", func() bool {
		return c.Counters()["update-bad-answers"] == 1 && c.draining.Load() == 0
	})
	if err := doWithin(t, c, "lease4-update", ip, "v3"); err != nil {
		t.Fatalf("v3: %v", err)
	}
	mu.Lock()
	got := fmt.Sprint(applied)
	mu.Unlock()
	if want := fmt.Sprint([]string{"lease4-update v1", "lease4-update v3"}); got != want {
		t.Fatalf("partner applied %s, want %s (v2 never written, nothing resent)", got, want)
	}
}
