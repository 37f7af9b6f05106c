package dhcp

import (
	"testing"
)

// TestReuseWindow: the window an ACK to a renewal reports says exactly
// until which age an identical renewal is reused (checked against the
// engine itself one second either side of the deadline), and is absent
// where there is no caching or T1/T2 cannot be derived in integers.
func TestReuseWindow(t *testing.T) {
	cases := []struct {
		name, global string
		want         bool
		maxAge       uint32
	}{
		{"threshold", `"cache-threshold": 0.25,`, true, 1000}, // 0.25 × 4000
		{"max-age", `"cache-max-age": 500,`, true, 500},
		{"both", `"cache-threshold": 0.5, "cache-max-age": 100,`, true, 100},
		{"no caching", ``, false, 0},
		{"inexact percent", `"cache-threshold": 0.25, "t1-percent": 0.3,`, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newEnv(t, cacheConfig(c.global, ""))
			hw := mac(11)
			a := addrOf(v.dora(hw).YourIPAddr)
			v.advance(5e9)
			r := v.renew(hw, a)
			if (r.Reuse != nil) != c.want {
				t.Fatalf("window %+v, want one: %v", r.Reuse, c.want)
			}
			if !c.want {
				return
			}
			w := *r.Reuse
			if w.MaxAge != c.maxAge || w.Addr != a || w.Valid != 4000 || w.T1Pct != 32768 || w.T2Pct != 57344 || w.Engine != v.e {
				t.Fatalf("window %+v", w)
			}
			cur, _ := v.store.Get(a)
			if cur.CLTT != w.CLTT {
				t.Fatalf("window CLTT %d, lease %d", w.CLTT, cur.CLTT)
			}
			v.now.Store(w.CLTT + int64(w.MaxAge))
			if r := v.renew(hw, a); len(r.Changes) != 0 {
				t.Fatalf("age %d (the deadline) not reused", w.MaxAge)
			}
			v.now.Store(w.CLTT + int64(w.MaxAge) + 1)
			if r := v.renew(hw, a); len(r.Changes) == 0 {
				t.Fatalf("age %d (past the deadline) reused", w.MaxAge+1)
			}
		})
	}
}
