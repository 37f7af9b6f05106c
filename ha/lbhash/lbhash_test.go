package lbhash

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"net"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	if s == "" {
		return nil
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestTableSanity(t *testing.T) {
	var seen [256]bool
	for i, v := range Table {
		if seen[v] {
			t.Fatalf("value %d appears twice (again at index %d)", v, i)
		}
		seen[v] = true
	}
	for _, c := range []struct{ idx, want int }{
		{0, 251}, {1, 175}, {14, 0}, {131, 255}, {254, 234}, {255, 151},
	} {
		if got := int(Table[c.idx]); got != c.want {
			t.Errorf("Table[%d] = %d, want %d", c.idx, got, c.want)
		}
	}
}

// TestWorkedExample replays docs/kea/lb-hash.md §5 step by step.
func TestWorkedExample(t *testing.T) {
	key := unhex(t, "08:00:27:12:34:56")
	steps := []struct {
		b, xor, out uint8
	}{
		{0x56, 80, 207}, {0x34, 251, 68}, {0x12, 86, 126},
		{0x27, 89, 116}, {0x00, 116, 177}, {0x08, 185, 52},
	}
	h := uint8(len(key))
	if h != 6 {
		t.Fatalf("start = %d, want 6", h)
	}
	for i, s := range steps {
		b := key[len(key)-1-i]
		if b != s.b {
			t.Fatalf("step %d byte = %#x, want %#x", i, b, s.b)
		}
		if h^b != s.xor {
			t.Fatalf("step %d xor = %d, want %d", i, h^b, s.xor)
		}
		h = Table[h^b]
		if h != s.out {
			t.Fatalf("step %d T = %d, want %d", i, h, s.out)
		}
	}
	if got := Hash(key); got != 52 || Owner(got, 2) != 0 {
		t.Fatalf("Hash = %d owner %d, want 52 owner 0 (primary)", got, Owner(got, 2))
	}
}

// vector is one row of docs/kea/lb-hash.md §6 (and the extra vectors).
type vector struct {
	name   string
	opt61  string // hex, "" = absent
	chaddr string // hex, the bytes written into the 16-byte chaddr field
	hlen   int
	htype  uint8
	hash   uint8
	owner  int // 0 primary, 1 secondary
}

var vectors = []vector{
	{"1", "", "00:00:00:00:00:00", 6, 1, 254, 0},
	{"2", "", "00:01:02:03:04:05", 6, 1, 161, 1},
	{"3", "", "0a:0b:0c:0d:0e:0f", 6, 1, 31, 1},
	{"4", "", "08:00:27:12:34:56", 6, 1, 52, 0},
	{"5", "", "aa:bb:cc:dd:ee:ff", 6, 1, 57, 1},
	{"6", "", "11:22:33:44:55:66", 6, 1, 66, 0},
	{"7", "", "52:54:00:00:00:01", 6, 1, 149, 1},
	{"8", "", "52:54:00:00:00:02", 6, 1, 101, 1},
	{"9", "", "52:54:00:00:00:03", 6, 1, 108, 0},
	{"10", "", "52:54:00:00:00:04", 6, 1, 240, 0},
	{"11", "01:0a:0b:0c:0d:0e:0f", "0a:0b:0c:0d:0e:0f", 6, 1, 34, 0},
	{"12", "01:00:01:02:03:04:05", "00:00:00:00:00:00", 6, 1, 107, 1},
	{"13", "01:00:01:02:03:04:05", "00:01:02:03:04:05", 6, 1, 107, 1},
	{"14", "", "0a:0b:0c:0d:0e:0f:10:00", 8, 1, 90, 0},
	{"15", "", "0a:0b:0c:0d:0e:0f:10:00", 6, 1, 31, 1},
	{"16", "", "00:00:00:00:00:00:10:00", 8, 1, 195, 1},
	{"17", "", "00:00:00:00:00:00:10:00", 6, 1, 254, 0},
	{"18", "", "00:00:00:00:00:00:10:00", 6, 6, 254, 0},
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			opt61, chaddr := unhex(t, v.opt61), unhex(t, v.chaddr)

			// Raw payload path.
			p := payload(t, v.htype, uint8(v.hlen), chaddr, opt61)
			key, ok := KeyFromPayload(p)
			if !ok {
				t.Fatal("KeyFromPayload: no key")
			}
			wantKey := opt61
			if wantKey == nil {
				wantKey = chaddr[:v.hlen]
			}
			if !bytes.Equal(key, wantKey) {
				t.Fatalf("KeyFromPayload = %x, want %x", key, wantKey)
			}
			if h := Hash(key); h != v.hash {
				t.Fatalf("Hash(%x) = %d, want %d", key, h, v.hash)
			}
			if o := Owner(Hash(key), 2); o != v.owner {
				t.Fatalf("Owner = %d, want %d", o, v.owner)
			}

			// Decoded path.
			msg, err := dhcpv4.FromBytes(p)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			key2, ok := Key(msg)
			if !ok || !bytes.Equal(key2, wantKey) {
				t.Fatalf("Key = %x, %v; want %x", key2, ok, wantKey)
			}
		})
	}
}

func TestExtraVectors(t *testing.T) {
	for _, c := range []struct {
		key  string
		hash uint8
	}{
		{"00", 175}, {"ff", 234}, {"01:00:00:00:00:00:00", 217}, {"01:02", 170},
		{"", 0}, // empty key: start value 0, no mixing
	} {
		if got := Hash(unhex(t, c.key)); got != c.hash {
			t.Errorf("Hash(%s) = %d, want %d", c.key, got, c.hash)
		}
	}
}

// payload builds a raw BOOTREQUEST with the given chaddr field, hlen and an
// optional option 61 (nil = absent), plus option 53 DISCOVER.
func payload(t testing.TB, htype, hlen uint8, chaddr, opt61 []byte) []byte {
	t.Helper()
	p := make([]byte, offOptions, 300)
	p[0], p[1], p[offHlen] = 1, htype, hlen
	copy(p[offChaddr:offChaddr+chaddrLen], chaddr)
	copy(p[offCookie:], magicCookie)
	p = append(p, 53, 1, 1)
	if opt61 != nil {
		p = append(p, optClientID, byte(len(opt61)))
		p = append(p, opt61...)
	}
	return append(p, optEnd)
}

func TestKeyFromPayload(t *testing.T) {
	mac := []byte{0x52, 0x54, 0, 1, 2, 3}
	base := func() []byte { return payload(t, 1, 6, mac, nil) }
	withOpts := func(opts ...byte) []byte {
		p := base()[:offOptions]
		return append(p, opts...)
	}
	long := make([]byte, 20)
	copy(long, bytes.Repeat([]byte{0xab}, 16))
	tests := []struct {
		name   string
		p      []byte
		want   []byte
		wantOK bool
	}{
		{"chaddr", base(), mac, true},
		{"short header", base()[:239], nil, false},
		{"header only, no options", base()[:offOptions], mac, true},
		{"client id wins", withOpts(61, 3, 1, 2, 3, 255), []byte{1, 2, 3}, true},
		{"client id after pads", withOpts(0, 0, 0, 61, 1, 9, 255), []byte{9}, true},
		{"empty client id falls back to chaddr", withOpts(61, 0, 255), mac, true},
		{"first client id wins", withOpts(61, 1, 7, 61, 1, 8, 255), []byte{7}, true},
		{"client id after end ignored", withOpts(255, 61, 1, 7), mac, true},
		{"truncated client id ignored", withOpts(61, 5, 1, 2), mac, true},
		{"truncated length byte", withOpts(61), mac, true},
		{"skips other options", withOpts(12, 3, 'a', 'b', 'c', 61, 2, 4, 5, 255), []byte{4, 5}, true},
		{"hlen 0 no client id", func() []byte { p := base(); p[offHlen] = 0; return p }(), nil, false},
		{"hlen 0 with client id", func() []byte { p := withOpts(61, 1, 1, 255); p[offHlen] = 0; return p }(), []byte{1}, true},
		{"hlen 16", func() []byte { p := payload(t, 1, 16, long[:16], nil); return p }(), long[:16], true},
		{"hlen 20 pads zeros", func() []byte { p := payload(t, 1, 20, long[:16], nil); return p }(),
			append(bytes.Repeat([]byte{0xab}, 16), 0, 0, 0, 0), true},
		{"no cookie: bootp, options ignored", func() []byte { p := withOpts(61, 1, 1, 255); p[offCookie] = 0; return p }(), mac, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := KeyFromPayload(tc.p)
			if ok != tc.wantOK || !bytes.Equal(got, tc.want) {
				t.Fatalf("KeyFromPayload = %x, %v; want %x, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestKey(t *testing.T) {
	mac := net.HardwareAddr{0x08, 0, 0x27, 0x12, 0x34, 0x56}
	mk := func(hw net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
		m, err := dhcpv4.NewDiscovery(hw, mods...)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name   string
		msg    *dhcpv4.DHCPv4
		want   []byte
		wantOK bool
	}{
		{"nil", nil, nil, false},
		{"chaddr", mk(mac), mac, true},
		{"client id", mk(mac, dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{1, 2}))), []byte{1, 2}, true},
		{"empty client id", mk(mac, dhcpv4.WithOption(dhcpv4.OptClientIdentifier(nil))), mac, true},
		{"no identifier", mk(net.HardwareAddr{}), nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Key(tc.msg)
			if ok != tc.wantOK || !bytes.Equal(got, tc.want) {
				t.Fatalf("Key = %x, %v; want %x, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestKeyAgreesWithPayload checks Key and KeyFromPayload on random messages
// built and serialised by dhcpv4.
func TestKeyAgreesWithPayload(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		hw := make(net.HardwareAddr, r.IntN(17))
		for j := range hw {
			hw[j] = byte(r.Uint32())
		}
		var mods []dhcpv4.Modifier
		if r.IntN(2) == 0 {
			cid := make([]byte, r.IntN(40))
			for j := range cid {
				cid[j] = byte(r.Uint32())
			}
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClientIdentifier(cid)))
		}
		m, err := dhcpv4.NewDiscovery(hw, mods...)
		if err != nil {
			t.Fatal(err)
		}
		k1, ok1 := Key(m)
		k2, ok2 := KeyFromPayload(m.ToBytes())
		if ok1 != ok2 || !bytes.Equal(k1, k2) {
			t.Fatalf("case %d: Key = %x,%v KeyFromPayload = %x,%v", i, k1, ok1, k2, ok2)
		}
	}
}

func TestBalanced(t *testing.T) {
	want := map[dhcpv4.MessageType]bool{1: true, 3: true, 4: true, 7: true, 8: true}
	for mt := range 256 {
		if got := Balanced(dhcpv4.MessageType(mt)); got != want[dhcpv4.MessageType(mt)] {
			t.Errorf("Balanced(%d) = %v, want %v", mt, got, want[dhcpv4.MessageType(mt)])
		}
	}
}

func TestOwner(t *testing.T) {
	for _, c := range []struct {
		hash   uint8
		active int
		want   int
	}{
		{52, 2, 0}, {161, 2, 1}, {255, 2, 1}, {0, 2, 0},
		{161, 1, 0}, {200, 3, 2}, {7, 0, 0}, {7, -1, 0},
	} {
		if got := Owner(c.hash, c.active); got != c.want {
			t.Errorf("Owner(%d, %d) = %d, want %d", c.hash, c.active, got, c.want)
		}
	}
}
