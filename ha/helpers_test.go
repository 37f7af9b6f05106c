package ha

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// mapStore is a LeaseStore backed by a map (the real lease.Store is another
// package's work in progress).
type mapStore struct {
	mu sync.Mutex
	m  map[netip.Addr]*lease.Lease
}

func newMapStore() *mapStore { return &mapStore{m: map[netip.Addr]*lease.Lease{}} }

func (s *mapStore) Get(a netip.Addr) (*lease.Lease, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.m[a]
	if !ok {
		return nil, false
	}
	return l.Clone(), true
}

func (s *mapStore) Put(l *lease.Lease) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[l.Addr]
	s.m[l.Addr] = l.Clone()
	return !ok, nil
}

func (s *mapStore) Delete(a netip.Addr) (*lease.Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.m[a]
	if !ok {
		return nil, errors.New("not found")
	}
	delete(s.m, a)
	return l, nil
}

func (s *mapStore) sorted() []*lease.Lease {
	out := make([]*lease.Lease, 0, len(s.m))
	for _, l := range s.m {
		out = append(out, l.Clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Less(out[j].Addr) })
	return out
}

func (s *mapStore) Page(after netip.Addr, limit int) []*lease.Lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*lease.Lease
	for _, l := range s.sorted() {
		if after.IsValid() && !after.Less(l.Addr) {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, l)
	}
	return out
}

func (s *mapStore) All() []*lease.Lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sorted()
}

// testSubnets knows subnet 1 = 192.0.2.0/24 and 2 = 198.18.0.0/15.
type testSubnets struct{}

func (testSubnets) Subnet(id uint32) (netip.Prefix, uint32, bool) {
	switch id {
	case 1:
		return netip.MustParsePrefix("192.0.2.0/24"), 4000, true
	case 2:
		return netip.MustParsePrefix("198.18.0.0/15"), 4000, true
	}
	return netip.Prefix{}, 0, false
}

func (t testSubnets) SubnetFor(a netip.Addr) (uint32, bool) {
	for _, id := range []uint32{1, 2} {
		if p, _, _ := t.Subnet(id); p.Contains(a) {
			return id, true
		}
	}
	return 0, false
}

// recDHCP records DHCP service switching per origin.
type recDHCP struct {
	mu       sync.Mutex
	disabled map[string]bool
	calls    []string
}

func (r *recDHCP) DisableDHCP(p time.Duration, origin string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.disabled == nil {
		r.disabled = map[string]bool{}
	}
	r.disabled[origin] = true
	r.calls = append(r.calls, "disable:"+origin+":"+p.String())
}

func (r *recDHCP) EnableDHCP(origin string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.disabled == nil {
		r.disabled = map[string]bool{}
	}
	r.disabled[origin] = false
	r.calls = append(r.calls, "enable:"+origin)
}

func (r *recDHCP) isDisabled(origin string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.disabled[origin]
}

// recBuckets records the last bucket table pushed.
type recBuckets struct {
	mu   sync.Mutex
	last [256]bool
	n    int
}

func (r *recBuckets) SetBuckets(b [256]bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last, r.n = b, r.n+1
	return nil
}

func (r *recBuckets) get() ([256]bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.n
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakePeer is an httptest partner answering by command from a table of
// canned replies (raw bodies) and recording the requests it got.
type fakePeer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	replies map[string]string
	reqs    []recordedReq
}

type recordedReq struct {
	Command string
	Args    json.RawMessage
	Header  http.Header
	Host    string
	Path    string
}

func newFakePeer(t *testing.T, replies map[string]string) *fakePeer {
	t.Helper()
	fp := &fakePeer{replies: replies}
	fp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			Command   string          `json:"command"`
			Arguments json.RawMessage `json:"arguments"`
		}
		_ = json.Unmarshal(body, &env)
		fp.mu.Lock()
		fp.reqs = append(fp.reqs, recordedReq{env.Command, env.Arguments, r.Header.Clone(), r.Host, r.URL.Path})
		rep, ok := fp.replies[env.Command]
		fp.mu.Unlock()
		if !ok {
			rep = `[ { "result": 2, "text": "'` + env.Command + `' command not supported." } ]`
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, rep)
	}))
	t.Cleanup(fp.srv.Close)
	return fp
}

func (fp *fakePeer) set(cmd, body string) {
	fp.mu.Lock()
	fp.replies[cmd] = body
	fp.mu.Unlock()
}

func (fp *fakePeer) commands() []string {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	out := make([]string, len(fp.reqs))
	for i, r := range fp.reqs {
		out[i] = r.Command
	}
	return out
}

func (fp *fakePeer) requests() []recordedReq {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return append([]recordedReq(nil), fp.reqs...)
}

// testEnv is a Service (not started unless the test does) with recorded deps.
type testEnv struct {
	s       *Service
	store   *mapStore
	dhcp    *recDHCP
	buckets *recBuckets
	clock   *fakeClock
}

// newTestService builds server2 (secondary) by default whose partner
// server1 lives at partnerURL. mod may adjust the config.
func newTestService(t *testing.T, partnerURL string, mod func(*Config)) *testEnv {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ThisServerName = "server2"
	cfg.HeartbeatDelay = 100 * time.Millisecond
	cfg.MaxResponseDelay = 500 * time.Millisecond
	cfg.MaxAckDelay = 1 * time.Second
	cfg.MaxUnackedClients = 2
	cfg.SyncTimeout = 2 * time.Second
	cfg.Peers = []Peer{
		{Name: "server1", URL: partnerURL, Role: RolePrimary, AutoFailover: true},
		{Name: "server2", URL: "http://127.0.0.1:0/", Role: RoleSecondary, AutoFailover: true},
	}
	if mod != nil {
		mod(&cfg)
	}
	env := &testEnv{store: newMapStore(), dhcp: &recDHCP{}, buckets: &recBuckets{},
		clock: &fakeClock{t: time.Date(2026, 11, 25, 6, 43, 30, 0, time.UTC)}}
	s, err := New(cfg, Deps{Leases: env.store, Subnets: testSubnets{}, DHCP: env.dhcp,
		Buckets: env.buckets, Logger: zerolog.Nop(), Now: env.clock.Now})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	env.s = s
	t.Cleanup(s.Stop)
	return env
}

// keaHeartbeat is a heartbeat reply body as Kea sends it.
func keaHeartbeat(state string, at time.Time, scopes []string, unsent uint64) string {
	b, _ := json.Marshal([]any{map[string]any{"arguments": map[string]any{
		"date-time": at.UTC().Format(http.TimeFormat), "scopes": scopes, "state": state,
		"unsent-update-count": unsent}, "result": 0, "text": "HA peer status returned."}})
	return string(b)
}
