package admission

import (
	"hash/fnv"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/xdhcp/xdhcp/config"
)

// fnvRef computes the client key with the standard library's FNV-1a.
func fnvRef(kind byte, b []byte) uint64 {
	h := fnv.New64a()
	r := slices.Clone(b)
	slices.Reverse(r)
	h.Write(append([]byte{kind}, r...))
	return h.Sum64()
}

func TestClientKey(t *testing.T) {
	mac := []byte{0x08, 0, 0x27, 0x12, 0x34, 0x56}
	cid := []byte{1, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}
	for _, tc := range []struct {
		name      string
		cid, hw   []byte
		wantKind  byte
		wantBytes []byte
		ok        bool
	}{
		{"chaddr", nil, mac, KindChaddr, mac, true},
		{"client id wins", cid, mac, KindClientID, cid, true},
		{"empty client id falls back to chaddr", []byte{}, mac, KindChaddr, mac, true},
		{"one byte", nil, []byte{7}, KindChaddr, []byte{7}, true},
		{"nothing", nil, nil, 0, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ClientKey(tc.cid, tc.hw)
			if ok != tc.ok {
				t.Fatalf("ok %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if want := fnvRef(tc.wantKind, tc.wantBytes); got != want {
				t.Fatalf("key %#x, want %#x", got, want)
			}
		})
	}
	// Same bytes as chaddr and as client id are different clients; the
	// byte order matters.
	a, _ := ClientKey(nil, mac)
	b, _ := ClientKey(mac, nil)
	c, _ := ClientKey(nil, []byte{0x56, 0x34, 0x12, 0x27, 0, 0x08})
	if a == b || a == c {
		t.Fatalf("keys collide: chaddr %#x, client id %#x, reversed %#x", a, b, c)
	}
}

func TestRelayKey(t *testing.T) {
	gi := netip.MustParseAddr("192.0.2.1")
	for _, tc := range []struct {
		gi      netip.Addr
		unicast bool
		want    uint64
	}{
		{gi, true, 0xc0000201},
		{gi, false, 0},
		{netip.Addr{}, true, 0},
		{netip.IPv4Unspecified(), true, 0},
		{netip.MustParseAddr("2001:db8::1"), true, 0},
	} {
		if got := RelayKey(tc.gi, tc.unicast); got != tc.want {
			t.Errorf("RelayKey(%v, %v) = %#x, want %#x", tc.gi, tc.unicast, got, tc.want)
		}
	}
}

func TestBucket(t *testing.T) {
	const s = uint64(1e9)
	var b Bucket
	now := uint64(1)
	// burst 3: three at once, then empty.
	for i := range 3 {
		if !b.Take(2, 3, now) {
			t.Fatalf("take %d of burst 3 refused", i)
		}
	}
	if b.Take(2, 3, now) {
		t.Fatal("fourth take at the same instant admitted")
	}
	// 2/s: half a second later exactly one token.
	now += s / 2
	if !b.Take(2, 3, now) || b.Take(2, 3, now) {
		t.Fatal("after 0.5 s at 2/s: want exactly one token")
	}
	// 0.25 s gives half a token: refused, but the half is kept.
	now += s / 4
	if b.Take(2, 3, now) {
		t.Fatal("half a token admitted")
	}
	now += s / 4
	if !b.Take(2, 3, now) {
		t.Fatal("two halves did not make a token")
	}
	// A long pause refills to the burst only.
	now += 1000 * s
	n := 0
	for b.Take(2, 3, now) {
		n++
	}
	if n != 3 {
		t.Fatalf("after a long pause %d tokens, want burst 3", n)
	}
	// The clock going back neither refills nor breaks the bucket.
	if b.Take(2, 3, now-s) {
		t.Fatal("clock going back refilled")
	}
	if b.LastNs != now {
		t.Fatalf("last %d, want %d kept", b.LastNs, now)
	}
	// A lower burst caps tokens on the next use.
	b = Bucket{Tokens: 100 * Token, LastNs: now}
	n = 0
	for b.Take(2, 5, now) {
		n++
	}
	if n != 5 {
		t.Fatalf("burst lowered to 5: %d taken", n)
	}
	// Huge rate and burst do not overflow.
	b = Bucket{}
	if !b.Take(1<<30, 1<<30, 1) || !b.Take(1<<30, 1<<30, 1<<62) {
		t.Fatal("large rate/burst refused")
	}
	if b.Tokens != uint64(1<<30)*Token-Token {
		t.Fatalf("tokens %d after refill to burst and one take", b.Tokens)
	}
}

type clock struct{ ns uint64 }

func (c *clock) now() uint64 { return c.ns }

type keys map[uint64]bool

func (k keys) Known(key uint64) bool { return k[key] }

func discover(mac byte, gi string, unicast bool) *Message {
	m := &Message{Type: 1, Chaddr: []byte{2, 0, 0, 0, 0, mac}, UnicastToUs: unicast}
	if gi != "" {
		m.Giaddr = netip.MustParseAddr(gi)
	}
	return m
}

func TestLimiter(t *testing.T) {
	lim := Limits{Enabled: true, ClientRate: 1, ClientBurst: 2, RelayRate: 1, RelayBurst: 4, UnknownRate: 1, UnknownBurst: 6, TableSize: 1024}
	t.Run("client bucket", func(t *testing.T) {
		c := &clock{1}
		l := NewLimiter(lim, Options{Now: c.now})
		m := discover(1, "", false)
		got := []Verdict{l.Admit(m), l.Admit(m), l.Admit(m)}
		if !slices.Equal(got, []Verdict{Admit, Admit, DropRateClient}) {
			t.Fatalf("verdicts %v", got)
		}
		// Other message types are not limited.
		m.Type = 4
		if v := l.Admit(m); v != Admit {
			t.Fatalf("decline: %v", v)
		}
		m.Type = 3
		c.ns += 1e9
		if v := l.Admit(m); v != Admit {
			t.Fatalf("request after 1 s: %v", v)
		}
	})
	t.Run("order: a client over its bucket does not drain the shared ones", func(t *testing.T) {
		c := &clock{1}
		l := NewLimiter(lim, Options{Now: c.now})
		flooder := discover(1, "", false)
		for range 100 {
			l.Admit(flooder)
		}
		// The flooder took 2 relay and 2 global tokens (its burst); 2 of
		// the local segment's 4 remain for others.
		if v := l.Admit(discover(2, "", false)); v != Admit {
			t.Fatalf("second client: %v", v)
		}
		if v := l.Admit(discover(3, "", false)); v != Admit {
			t.Fatalf("third client: %v", v)
		}
		if v := l.Admit(discover(4, "", false)); v != DropRateRelay {
			t.Fatalf("fourth client: %v, want the local segment's relay bucket empty", v)
		}
	})
	t.Run("relays have their own buckets, global budget shared", func(t *testing.T) {
		c := &clock{1}
		l := NewLimiter(lim, Options{Now: c.now})
		var got []Verdict
		for i := range 8 {
			gi := "192.0.2.1"
			if i >= 4 {
				gi = "192.0.2.2"
			}
			got = append(got, l.Admit(discover(byte(i), gi, true)))
		}
		// Each relay admits 4, but the global budget holds 6.
		want := []Verdict{Admit, Admit, Admit, Admit, Admit, Admit, DropRateUnknown, DropRateUnknown}
		if !slices.Equal(got, want) {
			t.Fatalf("verdicts %v, want %v", got, want)
		}
		// Broadcast with a giaddr shares the local segment's bucket, which
		// is still full, but the global budget is empty.
		if v := l.Admit(discover(20, "192.0.2.1", false)); v != DropRateUnknown {
			t.Fatalf("broadcast with giaddr: %v", v)
		}
	})
	t.Run("known clients skip relay and global", func(t *testing.T) {
		c := &clock{1}
		k := keys{}
		l := NewLimiter(lim, Options{Now: c.now, Known: k})
		for i := range 10 {
			l.Admit(discover(byte(100+i), "", false)) // drain
		}
		m := discover(7, "", false)
		key, _ := ClientKey(nil, m.Chaddr)
		if v := l.Admit(m); v == Admit {
			t.Fatalf("unknown client admitted with drained budgets")
		}
		k[key] = true
		if v := l.Admit(m); v != Admit {
			t.Fatalf("known client: %v", v)
		}
		// ... but not its own bucket (burst 2: one taken above, one now).
		if v := l.Admit(m); v != DropRateClient {
			t.Fatalf("known client over its own bucket: %v", v)
		}
	})
	t.Run("off", func(t *testing.T) {
		c := &clock{1}
		off := lim
		off.Enabled = false
		l := NewLimiter(off, Options{Now: c.now})
		for range 50 {
			if v := l.Admit(discover(1, "", false)); v != Admit {
				t.Fatalf("disabled: %v", v)
			}
		}
		zero := Limits{Enabled: true, TableSize: 1024}
		l.SetLimits(zero)
		for range 50 {
			if v := l.Admit(discover(1, "", false)); v != Admit {
				t.Fatalf("all rates 0: %v", v)
			}
		}
		// No identity: not limited.
		l.SetLimits(lim)
		for range 50 {
			if v := l.Admit(&Message{Type: 1}); v != Admit {
				t.Fatalf("no identity: %v", v)
			}
		}
	})
}

func TestLimiterTableBounded(t *testing.T) {
	c := &clock{1}
	l := NewLimiter(Limits{Enabled: true, ClientRate: 1, ClientBurst: 1, TableSize: 128}, Options{Now: c.now})
	for i := range 10000 {
		l.Admit(&Message{Type: 1, Chaddr: []byte{byte(i >> 8), byte(i)}})
	}
	n := 0
	for i := range l.shards {
		n += len(l.shards[i].m)
	}
	if n > 128 {
		t.Fatalf("%d buckets kept, table size 128", n)
	}
}

func TestAdmitDoesNotAllocate(t *testing.T) {
	c := &clock{1}
	k := NewKnownSet(1024)
	l := NewLimiter(Limits(config.DefaultRateLimits()), Options{Now: c.now, Known: k})
	m := discover(1, "192.0.2.1", true)
	l.Admit(m)
	if n := testing.AllocsPerRun(1000, func() { c.ns += 1e6; l.Admit(m) }); n != 0 {
		t.Fatalf("Admit allocates %.1f times per call", n)
	}
}

func TestLimitsConvertFromConfig(t *testing.T) {
	rl := config.DefaultRateLimits()
	l := Limits(rl)
	if l.ClientRate != rl.ClientRate || l.UnknownBurst != rl.UnknownBurst || l.TableSize != rl.TableSize || !l.Enabled {
		t.Fatalf("conversion %+v from %+v", l, rl)
	}
}

func TestConcurrent(t *testing.T) {
	c := &clock{1}
	k := NewKnownSet(256)
	l := NewLimiter(Limits{Enabled: true, ClientRate: 1, ClientBurst: 3, RelayRate: 1, RelayBurst: 1000, UnknownRate: 1, UnknownBurst: 500, TableSize: 4096}, Options{Now: c.now, Known: k})
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for i := range 400 {
				m := discover(byte(i%50), "", false)
				m.Chaddr[4] = byte(g)
				if i%100 == 0 {
					key, _ := ClientKey(nil, m.Chaddr)
					k.Update([]uint64{key}, nil)
				}
				if l.Admit(m) == Admit {
					n++
				}
			}
			mu.Lock()
			admitted += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	// 400 clients, 3 each at most, unknown ones bounded by the budget of
	// 500; the clock does not move.
	if admitted == 0 || admitted > 400*3 {
		t.Fatalf("%d admitted", admitted)
	}
}

func TestKnownSet(t *testing.T) {
	k := NewKnownSet(shards * 2)
	k.Update([]uint64{1, 2, 3}, nil)
	if !k.Known(1) || !k.Known(3) || k.Known(4) {
		t.Fatal("membership")
	}
	k.Update(nil, []uint64{1, 99})
	if k.Known(1) || k.Len() != 2 {
		t.Fatalf("after delete: known(1) %v len %d", k.Known(1), k.Len())
	}
	for i := range uint64(10000) {
		k.Update([]uint64{i}, nil)
	}
	if n := k.Len(); n > shards*2 {
		t.Fatalf("len %d over the bound %d", n, shards*2)
	}
}

func TestVerdictNames(t *testing.T) {
	for v, want := range map[Verdict]string{Admit: "admit", DropRateClient: "drop_rate_client", DropRateRelay: "drop_rate_relay", DropRateUnknown: "drop_rate_unknown", 9: "verdict(9)"} {
		if v.String() != want {
			t.Errorf("%d: %q, want %q", v, v.String(), want)
		}
	}
}
