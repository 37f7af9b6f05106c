package ha

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/leasecmds"
	"github.com/xdhcp/xdhcp/userspace/netstate"
	"github.com/xdhcp/xdhcp/userspace/servercmds"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// mapStore is a LeaseStore backed by a map.
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

func (r *recDHCP) Enabled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, off := range r.disabled {
		if off {
			return false
		}
	}
	return true
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
func newTestService(t testing.TB, partnerURL string, mod func(*Config)) *testEnv {
	t.Helper()
	return newTestServiceDeps(t, partnerURL, mod, nil)
}

// newTestServiceDeps is newTestService whose dependencies dmod may replace.
func newTestServiceDeps(t testing.TB, partnerURL string, mod func(*Config), dmod func(*Deps)) *testEnv {
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
	deps := Deps{Leases: env.store, DHCP: env.dhcp, Buckets: env.buckets, Logger: zerolog.Nop(), Now: env.clock.Now}
	if dmod != nil {
		dmod(&deps)
	}
	s, err := New(cfg, deps)
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

// switchDHCP is the daemon's DHCPService: the network state that the
// dhcp-disable/dhcp-enable commands act on too.
type switchDHCP struct{ sw *netstate.State }

func (s switchDHCP) DisableDHCP(p time.Duration, origin string) {
	o, _ := netstate.ParseOrigin(origin)
	_ = s.sw.DisableFor(o, p)
}

func (s switchDHCP) EnableDHCP(origin string) {
	o, _ := netstate.ParseOrigin(origin)
	s.sw.EnableAll(o)
}

func (s switchDHCP) Enabled() bool { return s.sw.Enabled() }

// statusDaemon is the servercmds.Daemon of the tests: status-get as the
// daemon builds it (core keys plus the HA section), the rest unused.
type statusDaemon struct{ svc *Service }

func (statusDaemon) ConfigGet() map[string]any        { return map[string]any{} }
func (statusDaemon) ConfigTest(json.RawMessage) error { return errors.New("not in tests") }
func (statusDaemon) ConfigSet(json.RawMessage) error  { return errors.New("not in tests") }
func (statusDaemon) ConfigReload() error              { return errors.New("not in tests") }
func (statusDaemon) ConfigFile() string               { return "" }
func (statusDaemon) ConfigRender() ([]byte, error)    { return nil, errors.New("not in tests") }
func (statusDaemon) Shutdown(int)                     {}
func (statusDaemon) Reclaim(bool) error               { return nil }
func (d *statusDaemon) Status() map[string]any {
	return map[string]any{
		"pid": os.Getpid(), "uptime": 33, "reload": 33,
		"multi-threading-enabled": true, "thread-pool-size": 2, "packet-queue-size": 64,
		"packet-queue-statistics": []float64{0, 0, 0},
		"sockets":                 map[string]any{"status": "ready"},
		"high-availability":       d.svc.Status(),
	}
}

// daemonEnv is a Service wired as the daemon wires it: one control
// dispatcher with the lease commands (over a real memory-only lease store),
// the server commands (over a netstate.State) and the HA commands, which
// the peer listener serves.
type daemonEnv struct {
	*testEnv
	leases *lease.Store
	sw     *netstate.State
	disp   *control.Dispatcher
}

func newDaemonEnv(t testing.TB, partnerURL string, subnets leasecmds.Subnets, mod func(*Config)) *daemonEnv {
	t.Helper()
	store, _, err := lease.Open(lease.Options{Persist: false})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	e := &daemonEnv{leases: store, sw: netstate.New(), disp: control.NewDispatcher()}
	t.Cleanup(e.sw.Stop)
	e.testEnv = newTestServiceDeps(t, partnerURL, mod, func(d *Deps) {
		d.Leases, d.DHCP, d.Commands = store, switchDHCP{e.sw}, e.disp
	})
	registerDaemonCommands(e.disp, e.s, store, subnets, e.sw)
	return e
}

// registerDaemonCommands registers what cmd/xdhcpd registers.
func registerDaemonCommands(d *control.Dispatcher, s *Service, store *lease.Store, subnets leasecmds.Subnets, sw *netstate.State) {
	(&servercmds.Commands{Daemon: &statusDaemon{svc: s}, Stats: stats.New(), State: sw}).Register(d)
	(&leasecmds.Commands{Store: store, Subnets: subnets, Now: s.now}).Register(d)
	s.Register(d)
}
