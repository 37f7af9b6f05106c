package lease

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestStoreModel runs random mutations against a Store and a plain map and
// compares every read method, then reloads the file (and compacts it) and
// compares again. Identifiers are drawn from small sets so that several
// leases share them; hostnames differ in case only.
func TestStoreModel(t *testing.T) {
	path := tempPath(t)
	s, _ := openT(t, Options{Path: path, Persist: true})
	r := rand.New(rand.NewPCG(3, 4))
	model := map[netip.Addr]*Lease{}
	var order []netip.Addr // addresses in the order their leases were last stored
	gen := func() *Lease {
		a := netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(3)), byte(r.IntN(256))})
		if r.IntN(10) == 0 {
			a = netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), 7, 9})
		}
		l := &Lease{Addr: a, SubnetID: uint32(1 + r.IntN(3)), CLTT: int64(r.IntN(1000)), ValidLifetime: uint32(1 + r.IntN(1000)),
			State: State(r.IntN(3))}
		if r.IntN(5) != 0 {
			l.HWAddr = make([]byte, 1+r.IntN(maxHWAddrLen))
			l.HWAddr[0] = byte(r.IntN(4))
		}
		if r.IntN(2) == 0 {
			l.ClientID = make([]byte, 1+r.IntN(3)*6) // 1, 7 (inline) or 13 (blob)
			l.ClientID[0] = byte(r.IntN(4))
		}
		if len(l.HWAddr) == 0 && len(l.ClientID) == 0 {
			l.State = StateDeclined
		}
		if r.IntN(3) == 0 {
			l.Hostname = []string{"a.example", "A.Example", "b", "ünï.example"}[r.IntN(4)]
		}
		if r.IntN(10) == 0 {
			l.UserContext = fmt.Sprintf(`{ "n": %d }`, r.IntN(5))
		}
		return l
	}
	for range 3000 {
		switch l := gen(); r.IntN(4) {
		case 0:
			if _, err := s.Delete(l.Addr); (err == nil) != (model[l.Addr] != nil) {
				t.Fatalf("delete %v: %v", l.Addr, err)
			}
			delete(model, l.Addr)
			order = slices.DeleteFunc(order, func(a netip.Addr) bool { return a == l.Addr })
		default:
			if _, err := s.Put(l); err != nil {
				t.Fatal(err)
			}
			model[l.Addr] = l.Clone()
			order = slices.DeleteFunc(order, func(a netip.Addr) bool { return a == l.Addr })
			order = append(order, l.Addr)
		}
	}
	compareModel(t, "after mutations", s, model, order)
	must(t, s.Close())

	// After a reload, identifiers list their leases in address order.
	slices.SortFunc(order, func(a, b netip.Addr) int { return a.Compare(b) })
	s2, rep := openT(t, Options{Path: path, Persist: true})
	if rep.Leases != len(model) || rep.RowErrors != 0 {
		t.Fatalf("reload: %+v", rep)
	}
	compareModel(t, "after reload", s2, model, order)
	must(t, s2.RunLFC())
	must(t, s2.Close())
	s3, _ := openT(t, Options{Path: path, Persist: true})
	compareModel(t, "after LFC and reload", s3, model, order)
}

func compareModel(t *testing.T, step string, s *Store, model map[netip.Addr]*Lease, order []netip.Addr) {
	t.Helper()
	var all []*Lease
	for _, a := range slices.SortedFunc(func(yield func(netip.Addr) bool) {
		for a := range model {
			if !yield(a) {
				return
			}
		}
	}, func(a, b netip.Addr) int { return a.Compare(b) }) {
		all = append(all, model[a])
	}
	sameLeases(t, s.All(), all)
	if s.Count() != len(all) {
		t.Fatalf("%s: Count %d, want %d", step, s.Count(), len(all))
	}
	for i := 0; i < len(all); i += 7 {
		sameLeases(t, s.Page(all[i].Addr, 5), all[i+1:min(i+6, len(all))])
		if got, ok := s.Get(all[i].Addr); !ok || !reflect.DeepEqual(got, all[i]) {
			t.Fatalf("%s: Get(%v) = %+v", step, all[i].Addr, got)
		}
	}
	for sub := uint32(1); sub <= 3; sub++ {
		var want []*Lease
		for _, l := range all {
			if l.SubnetID == sub {
				want = append(want, l)
			}
		}
		sameLeases(t, s.BySubnet(sub), want)
	}
	// Identifier lookups, in the model's insertion order.
	inOrder := func(match func(*Lease) bool) []*Lease {
		var out []*Lease
		for _, a := range order {
			if l := model[a]; match(l) {
				out = append(out, l)
			}
		}
		return out
	}
	for _, l := range all {
		hw, cid, sub := l.HWAddr, l.ClientID, l.SubnetID
		if len(hw) > 0 {
			want := inOrder(func(o *Lease) bool { return string(o.HWAddr) == string(hw) })
			sameLeases(t, s.FindByHW(hw), want)
			got, ok := s.GetByHW(hw, sub)
			if w := filterSubnet(want, sub); !ok || !reflect.DeepEqual(got, w[0]) {
				t.Fatalf("%s: GetByHW(%x, %d) = %v", step, hw, sub, got)
			}
		}
		if len(cid) > 0 {
			want := inOrder(func(o *Lease) bool { return string(o.ClientID) == string(cid) })
			sameLeases(t, s.FindByClientID(cid), want)
			got, ok := s.GetByClientID(cid, sub)
			if w := filterSubnet(want, sub); !ok || !reflect.DeepEqual(got, w[0]) {
				t.Fatalf("%s: GetByClientID(%x, %d) = %v", step, cid, sub, got)
			}
		}
		if l.Hostname != "" {
			want := inOrder(func(o *Lease) bool { return strings.ToLower(o.Hostname) == strings.ToLower(l.Hostname) })
			sameLeases(t, s.FindByHostname(strings.ToUpper(l.Hostname)), want)
		}
	}
	for _, now := range []int64{0, 300, 1000, 2000} {
		var want []*Lease
		for _, l := range all {
			if l.State != StateExpiredReclaimed && l.Expire() <= now {
				want = append(want, l)
			}
		}
		slices.SortStableFunc(want, func(a, b *Lease) int {
			if a.Expire() != b.Expire() {
				return int(a.Expire() - b.Expire())
			}
			return a.Addr.Compare(b.Addr)
		})
		sameLeases(t, s.Expired(now, 0), want)
		sameLeases(t, s.Expired(now, 3), want[:min(3, len(want))])
	}
}
