package lease

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

func TestStoreMutations(t *testing.T) {
	s, _ := openT(t, Options{})
	a := mk("192.0.2.10", "02:00:00:00:00:0a", 1, 1000, 600)
	if err := s.Add(a); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"add existing", func() error { return s.Add(a) }, ErrExists},
		{"update missing", func() error { return s.Update(mk("192.0.2.11", "02:00:00:00:00:0b", 1, 1000, 600)) }, ErrNotFound},
		{"delete missing", func() error { _, err := s.Delete(netip.MustParseAddr("192.0.2.11")); return err }, ErrNotFound},
		{"no identifiers", func() error { return s.Add(mk("192.0.2.12", "", 1, 1000, 600)) }, ErrInvalid},
		{"ipv6", func() error { return s.Add(mk("2001:db8::1", "02:00:00:00:00:0b", 1, 1000, 600)) }, ErrInvalid},
		{"valid 0", func() error { return s.Add(mk("192.0.2.13", "02:00:00:00:00:0b", 1, 1000, 0)) }, ErrInvalid},
		{"context not a map", func() error {
			l := mk("192.0.2.14", "02:00:00:00:00:0b", 1, 1000, 60)
			l.UserContext = "[1]"
			return s.Add(l)
		}, ErrInvalid},
		{"newline in hostname", func() error {
			l := mk("192.0.2.15", "02:00:00:00:00:0b", 1, 1000, 60)
			l.Hostname = "a\nb"
			return s.Add(l)
		}, ErrInvalid},
	}
	for _, tt := range tests {
		if err := tt.op(); !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
		}
	}
	if s.Count() != 1 {
		t.Fatalf("count %d after failed operations", s.Count())
	}
	declined := mk("192.0.2.16", "", 1, 1000, 86400)
	declined.State = StateDeclined
	if err := s.Add(declined); err != nil {
		t.Fatalf("declined lease without identifiers: %v", err)
	}
	got, ok := s.Get(a.Addr)
	if !ok || !reflect.DeepEqual(got, a) {
		t.Fatalf("Get = %+v, %v", got, ok)
	}
	got.Hostname = "mutated"
	if again, _ := s.Get(a.Addr); again.Hostname != "" {
		t.Fatal("Get returned shared memory")
	}
	added, err := s.Put(mk("192.0.2.10", "02:00:00:00:00:0a", 1, 2000, 600))
	if err != nil || added {
		t.Fatalf("Put existing = %v, %v", added, err)
	}
	added, err = s.Put(mk("192.0.2.20", "02:00:00:00:00:14", 1, 2000, 600))
	if err != nil || !added {
		t.Fatalf("Put new = %v, %v", added, err)
	}
	old, err := s.Delete(a.Addr)
	if err != nil || old.CLTT != 2000 {
		t.Fatalf("Delete = %+v, %v", old, err)
	}
	if _, ok := s.Get(a.Addr); ok || s.Count() != 2 {
		t.Fatal("deleted lease still present")
	}
}

func TestStoreIndexes(t *testing.T) {
	s, _ := openT(t, Options{})
	l := mk("192.0.2.10", "02:00:00:00:00:0a", 1, 1000, 600)
	l.ClientID = []byte{1, 2, 0, 0, 0, 0, 0xa}
	l.Hostname = "host.example"
	if err := s.Add(l); err != nil {
		t.Fatal(err)
	}
	other := mk("198.51.100.1", "02:00:00:00:00:0a", 2, 1000, 600)
	if err := s.Add(other); err != nil {
		t.Fatal(err)
	}
	check := func(step string, hw []byte, cid []byte, subnet uint32, host string, want string) {
		t.Helper()
		for name, got := range map[string][]*Lease{
			"hw":       one(s.GetByHW(hw, subnet)),
			"cid":      one(s.GetByClientID(cid, subnet)),
			"hostname": filterSubnet(s.FindByHostname(host), subnet),
		} {
			if fmt.Sprint(addrs(got)) != want {
				t.Errorf("%s: by %s = %v, want %s", step, name, addrs(got), want)
			}
		}
	}
	check("initial", l.HWAddr, l.ClientID, 1, "HOST.example", "[192.0.2.10]")
	if got := addrs(s.FindByHW(l.HWAddr)); fmt.Sprint(got) != "[192.0.2.10 198.51.100.1]" {
		t.Errorf("FindByHW = %v", got)
	}
	// Change every identifier and the subnet: old keys must be gone.
	n := l.Clone()
	n.HWAddr = []byte{2, 0, 0, 0, 0, 0xb}
	n.ClientID = []byte{1, 9}
	n.SubnetID = 3
	n.Hostname = "new.example"
	if err := s.Update(n); err != nil {
		t.Fatal(err)
	}
	check("old keys", l.HWAddr, l.ClientID, 1, "host.example", "[]")
	check("new keys", n.HWAddr, n.ClientID, 3, "new.example", "[192.0.2.10]")
	if got := addrs(s.FindByClientID(l.ClientID)); len(got) != 0 {
		t.Errorf("FindByClientID(old) = %v", got)
	}
	if got := addrs(s.BySubnet(3)); fmt.Sprint(got) != "[192.0.2.10]" {
		t.Errorf("BySubnet(3) = %v", got)
	}
	if _, err := s.Delete(n.Addr); err != nil {
		t.Fatal(err)
	}
	check("deleted", n.HWAddr, n.ClientID, 3, "new.example", "[]")
	if got := addrs(s.FindByHW(l.HWAddr)); fmt.Sprint(got) != "[198.51.100.1]" {
		t.Errorf("FindByHW after delete = %v", got)
	}
}

func one(l *Lease, ok bool) []*Lease {
	if !ok {
		return nil
	}
	return []*Lease{l}
}

func filterSubnet(ls []*Lease, id uint32) []*Lease {
	var out []*Lease
	for _, l := range ls {
		if l.SubnetID == id {
			out = append(out, l)
		}
	}
	return out
}

func TestPage(t *testing.T) {
	s, _ := openT(t, Options{})
	// Spread over several /24s, inserted out of order.
	all := []string{"10.0.1.255", "10.0.0.1", "10.0.0.0", "10.0.0.64", "10.0.0.63", "10.0.2.5", "10.1.0.0", "9.255.255.255", "255.255.255.255"}
	for i, a := range all {
		if err := s.Add(mk(a, fmt.Sprintf("02:00:00:00:00:%02x", i), 1, 1000, 600)); err != nil {
			t.Fatal(err)
		}
	}
	sorted := []string{"9.255.255.255", "10.0.0.0", "10.0.0.1", "10.0.0.63", "10.0.0.64", "10.0.1.255", "10.0.2.5", "10.1.0.0", "255.255.255.255"}
	if got := addrs(s.All()); fmt.Sprint(got) != fmt.Sprint(sorted) {
		t.Fatalf("All = %v", got)
	}
	tests := []struct {
		after string
		limit int
		want  []string
	}{
		{"", 3, sorted[:3]},
		{"", 0, sorted},
		{"10.0.0.0", 2, []string{"10.0.0.1", "10.0.0.63"}},
		{"10.0.0.2", 2, []string{"10.0.0.63", "10.0.0.64"}},
		{"10.0.0.63", 1, []string{"10.0.0.64"}},
		{"10.0.0.64", 10, sorted[5:]},
		{"10.0.1.0", 1, []string{"10.0.1.255"}},
		{"10.0.1.255", 1, []string{"10.0.2.5"}},
		{"0.0.0.0", 1, []string{"9.255.255.255"}},
		{"10.1.0.0", 5, []string{"255.255.255.255"}},
		{"255.255.255.255", 5, nil},
	}
	for _, tt := range tests {
		var after netip.Addr
		if tt.after != "" {
			after = netip.MustParseAddr(tt.after)
		}
		if got := addrs(s.Page(after, tt.limit)); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Page(%q, %d) = %v, want %v", tt.after, tt.limit, got, tt.want)
		}
	}
	// Paging through everything after deletions visits each lease once.
	for _, a := range []string{"10.0.0.63", "10.0.1.255"} {
		if _, err := s.Delete(netip.MustParseAddr(a)); err != nil {
			t.Fatal(err)
		}
	}
	var walked []string
	var after netip.Addr
	for range 20 {
		p := s.Page(after, 2)
		if len(p) == 0 {
			break
		}
		walked = append(walked, addrs(p)...)
		after = p[len(p)-1].Addr
	}
	want := []string{"9.255.255.255", "10.0.0.0", "10.0.0.1", "10.0.0.64", "10.0.2.5", "10.1.0.0", "255.255.255.255"}
	if fmt.Sprint(walked) != fmt.Sprint(want) {
		t.Fatalf("paged walk = %v, want %v", walked, want)
	}
}

func TestExpired(t *testing.T) {
	s, _ := openT(t, Options{})
	type row struct {
		addr  string
		cltt  int64
		valid uint32
		state State
	}
	for i, r := range []row{
		{"192.0.2.1", 100, 100, StateDefault},       // expires 200
		{"192.0.2.2", 0, 50, StateDefault},          // 50
		{"192.0.2.3", 100, 50, StateDeclined},       // 150
		{"192.0.2.4", 0, 10, StateExpiredReclaimed}, // 10 but reclaimed: never listed
		{"192.0.2.5", 500, 500, StateDefault},       // 1000
		{"192.0.2.0", 100, 100, StateDefault},       // 200, ties by address
		{"192.0.2.6", 0, 150, StateDefault},         // 150
		{"192.0.2.7", 0, 1, StateDefault},           // 1, then updated below
	} {
		l := mk(r.addr, fmt.Sprintf("02:00:00:00:00:%02x", i), 1, r.cltt, r.valid)
		l.State = r.state
		if err := s.Add(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(mk("192.0.2.7", "02:00:00:00:00:07", 1, 5000, 1)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		now   int64
		limit int
		want  string
	}{
		{9, 0, "[]"},
		{50, 0, "[192.0.2.2]"},
		{200, 0, "[192.0.2.2 192.0.2.3 192.0.2.6 192.0.2.0 192.0.2.1]"},
		{200, 2, "[192.0.2.2 192.0.2.3]"},
		{1000, 0, "[192.0.2.2 192.0.2.3 192.0.2.6 192.0.2.0 192.0.2.1 192.0.2.5]"},
		{6000, 0, "[192.0.2.2 192.0.2.3 192.0.2.6 192.0.2.0 192.0.2.1 192.0.2.5 192.0.2.7]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(addrs(s.Expired(tt.now, tt.limit))); got != tt.want {
			t.Errorf("Expired(%d, %d) = %s, want %s", tt.now, tt.limit, got, tt.want)
		}
	}
	// Reclaiming (state 2) and deleting take leases out of the ordering.
	r := mk("192.0.2.2", "02:00:00:00:00:01", 1, 0, 50)
	r.State = StateExpiredReclaimed
	if err := s.Update(r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(netip.MustParseAddr("192.0.2.3")); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(addrs(s.Expired(200, 0))); got != "[192.0.2.6 192.0.2.0 192.0.2.1]" {
		t.Errorf("after reclaim/delete: %s", got)
	}
}

func TestOnChange(t *testing.T) {
	type ev struct{ old, new string }
	var evs []ev
	name := func(l *Lease) string {
		if l == nil {
			return "-"
		}
		return fmt.Sprintf("%v/%d", l.Addr, l.CLTT)
	}
	var s *Store
	s, _ = openT(t, Options{OnChange: func(c Change) {
		s.Count() // reads are allowed from the callback
		evs = append(evs, ev{name(c.Old), name(c.New)})
	}})
	_ = s.Add(mk("192.0.2.1", "02:00:00:00:00:01", 1, 1, 60))
	_ = s.Add(mk("192.0.2.1", "02:00:00:00:00:01", 1, 2, 60)) // fails: no event
	_ = s.Update(mk("192.0.2.1", "02:00:00:00:00:01", 1, 3, 60))
	_, _ = s.Put(mk("192.0.2.2", "02:00:00:00:00:02", 1, 4, 60))
	_, _ = s.Delete(netip.MustParseAddr("192.0.2.1"))
	want := []ev{{"-", "192.0.2.1/1"}, {"192.0.2.1/1", "192.0.2.1/3"}, {"-", "192.0.2.2/4"}, {"192.0.2.1/3", "-"}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("events %v, want %v", evs, want)
	}
}

func TestPersistence(t *testing.T) {
	p := tempPath(t)
	s, _ := openT(t, Options{Path: p, Persist: true})
	l := mk("192.0.2.1", "0a:0b:0c:0d:0e:0f", 1, 1795587998, 600)
	l.ClientID = []byte{1, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf}
	l.Hostname = "host-a.example.org"
	must(t, s.Add(l))
	u := l.Clone()
	u.ClientID = nil
	u.Hostname = "h"
	u.UserContext = `{"a":"x,y&z"}`
	must(t, s.Update(u))
	d := mk("192.0.2.3", "", 1, 1795588121, 86400)
	d.State = StateDeclined
	must(t, s.Add(d))
	must(t, s.Add(mk("192.0.2.2", "52:54:00:00:00:03", 2, 1795588121, 600)))
	_, err := s.Delete(netip.MustParseAddr("192.0.2.1"))
	must(t, err)
	want := Header + "\n" +
		"192.0.2.1,0a:0b:0c:0d:0e:0f,01:0a:0b:0c:0d:0e:0f,600,1795588598,1,0,0,host-a.example.org,0,\n" +
		"192.0.2.1,0a:0b:0c:0d:0e:0f,,600,1795588598,1,0,0,h,0,{ \"a\": \"x&#x2cy&#x26z\" }\n" +
		"192.0.2.3,,,86400,1795674521,1,0,0,,1,\n" +
		"192.0.2.2,52:54:00:00:00:03,,600,1795588721,2,0,0,,0,\n" +
		"192.0.2.1,0a:0b:0c:0d:0e:0f,,0,1795587998,1,0,0,h,0,{ \"a\": \"x&#x2cy&#x26z\" }\n"
	if got := readFile(t, p); got != want {
		t.Fatalf("file\n%s\nwant\n%s", got, want)
	}
	before := s.All()
	s.Close()
	if err := s.Add(mk("192.0.2.9", "02:00:00:00:00:09", 1, 1, 60)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close = %v", err)
	}
	s2, rep := openT(t, Options{Path: p, Persist: true})
	sameLeases(t, s2.All(), before)
	if rep.Rows != 5 || rep.Leases != 2 || rep.RowErrors != 0 {
		t.Fatalf("report %+v", rep)
	}
}

func TestFailedWriteLeavesMemoryUnchanged(t *testing.T) {
	p := tempPath(t)
	s, _ := openT(t, Options{Path: p, Persist: true})
	must(t, s.Add(mk("192.0.2.1", "02:00:00:00:00:01", 1, 1, 60)))
	// Break the file descriptor underneath the store.
	s.wmu.Lock()
	s.file.f.Close()
	s.wmu.Unlock()
	if err := s.Add(mk("192.0.2.2", "02:00:00:00:00:02", 1, 1, 60)); err == nil {
		t.Fatal("Add succeeded with a closed file")
	}
	if _, err := s.Delete(netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Fatal("Delete succeeded with a closed file")
	}
	if s.Count() != 1 {
		t.Fatalf("memory changed after failed writes: %d leases", s.Count())
	}
}

func TestNoPersistWritesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "leases.csv")
	s, _ := openT(t, Options{Path: p, Persist: false, LFCInterval: 1})
	must(t, s.Add(mk("192.0.2.1", "02:00:00:00:00:01", 1, 1, 60)))
	must(t, s.RunLFC())
	s.Close()
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 0 {
		t.Fatalf("files written without persistence: %v %v", ents, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	p := tempPath(t)
	s, _ := openT(t, Options{Path: p, Persist: true})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				l := mk(fmt.Sprintf("10.%d.%d.%d", w, i/250, i%250), "02:00:00:00:00:01", uint32(w), int64(i), 60)
				if _, err := s.Put(l); err != nil {
					t.Error(err)
					return
				}
				s.Get(l.Addr)
				s.Page(l.Addr, 5)
				s.Expired(100, 3)
				s.FindByHW(l.HWAddr)
				if i%3 == 0 {
					if _, err := s.Delete(l.Addr); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	before := s.All()
	s.Close()
	s2, _ := openT(t, Options{Path: p, Persist: true})
	sameLeases(t, s2.All(), before)
	if len(before) != 8*(200-67) {
		t.Fatalf("%d leases", len(before))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
