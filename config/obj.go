package config

import (
	"math"
	"net/netip"
	"strconv"
)

// decoder carries the first error and the warnings of one decoding pass.
// Getters become no-ops once an error is recorded, so decoding code can
// read straight through and check d.err at the end.
type decoder struct {
	err   error
	warns []Warning
}

func (d *decoder) fail(pos Pos, param, format string, args ...any) {
	if d.err == nil {
		d.err = errAt(pos, param, format, args...)
	}
}

func (d *decoder) warn(pos Pos, format string, args ...any) {
	w := errAt(pos, "", format, args...)
	d.warns = append(d.warns, Warning{Pos: pos, Msg: w.Msg})
}

// obj is a map node being decoded against a fixed set of keywords.
type obj struct {
	d   *decoder
	n   *Node
	ctx string // Kea's name for the map in error messages
}

// object checks that n is a map whose keys are all in allowed (plus
// user-context and comment), without duplicates, and returns a reader.
func (d *decoder) object(n *Node, param, ctx string, allowed map[string]bool) *obj {
	o := &obj{d: d, n: n, ctx: ctx}
	if d.err != nil {
		return o
	}
	if n.Kind != KindMap {
		d.fail(n.Pos, param, "expected map, got %s", n.Kind)
		o.n = &Node{Pos: n.Pos, Kind: KindMap}
		return o
	}
	seen := make(map[string]Pos, len(n.Map))
	for _, m := range n.Map {
		if !allowed[m.Key] && m.Key != "user-context" && m.Key != "comment" {
			d.fail(m.KeyPos, m.Key, "got unexpected keyword %q in %s map.", m.Key, ctx)
			return o
		}
		if prev, dup := seen[m.Key]; dup {
			d.fail(m.Val.Pos, m.Key, "duplicate %s entries in %s map (previous at %s)", m.Key, ctx, prev)
			return o
		}
		seen[m.Key] = m.Val.Pos
	}
	if uc := n.Get("user-context"); uc != nil && uc.Kind != KindMap {
		d.fail(uc.Pos, "user-context", "expected map, got %s", uc.Kind)
	}
	if c := n.Get("comment"); c != nil && c.Kind != KindString {
		d.fail(c.Pos, "comment", "expected string, got %s", c.Kind)
	}
	return o
}

func keys(ks ...string) map[string]bool {
	m := make(map[string]bool, len(ks))
	for _, k := range ks {
		m[k] = true
	}
	return m
}

// get returns the value of key, nil if absent or after an error.
func (o *obj) get(key string) *Node {
	if o.d.err != nil {
		return nil
	}
	return o.n.Get(key)
}

func (o *obj) typed(key string, k Kind) *Node {
	v := o.get(key)
	if v == nil {
		return nil
	}
	if v.Kind != k {
		o.d.fail(v.Pos, key, "expected %s, got %s", k, v.Kind)
		return nil
	}
	return v
}

func (o *obj) strp(key string) *string {
	v := o.typed(key, KindString)
	if v == nil {
		return nil
	}
	s := v.Str
	return &s
}

func (o *obj) str(key, def string) string {
	if p := o.strp(key); p != nil {
		return *p
	}
	return def
}

func (o *obj) boolp(key string) *bool {
	v := o.typed(key, KindBool)
	if v == nil {
		return nil
	}
	b := v.Bool
	return &b
}

func (o *obj) bool(key string, def bool) bool {
	if p := o.boolp(key); p != nil {
		return *p
	}
	return def
}

// intIn reads an integer in [lo, hi].
func (o *obj) intIn(key string, lo, hi int64) (int64, bool) {
	v := o.get(key)
	if v == nil {
		return 0, false
	}
	if v.Kind != KindNumber {
		o.d.fail(v.Pos, key, "expected integer, got %s", v.Kind)
		return 0, false
	}
	i, err := strconv.ParseInt(v.Str, 10, 64)
	if err != nil {
		o.d.fail(v.Pos, key, "expected integer, got %s", v.Str)
		return 0, false
	}
	if i < lo || i > hi {
		o.d.fail(v.Pos, key, "value %d is out of range [%d, %d]", i, lo, hi)
		return 0, false
	}
	return i, true
}

func (o *obj) u32p(key string) *uint32 {
	i, ok := o.intIn(key, 0, math.MaxUint32)
	if !ok {
		return nil
	}
	u := uint32(i)
	return &u
}

func (o *obj) u32(key string, def uint32) uint32 {
	if p := o.u32p(key); p != nil {
		return *p
	}
	return def
}

// wrappedU32p reads any int64 and keeps its low 32 bits, as Kea 2.2 does
// where getInteger's int64 lands in an Optional<uint32_t> (cache-max-age:
// base_network_parser.cc parseCacheParams; -1 is 4294967295).
func (o *obj) wrappedU32p(key string) *uint32 {
	i, ok := o.intIn(key, math.MinInt64, math.MaxInt64)
	if !ok {
		return nil
	}
	u := uint32(i)
	return &u
}

func (o *obj) f64p(key string) *float64 {
	v := o.get(key)
	if v == nil {
		return nil
	}
	if v.Kind != KindNumber {
		o.d.fail(v.Pos, key, "expected real number, got %s", v.Kind)
		return nil
	}
	if v.IsInt() {
		// Kea 2.2's dhcp4_parser.yy takes these (t1-percent, t2-percent,
		// cache-threshold) as FLOAT only.
		o.d.fail(v.Pos, key, "syntax error, unexpected integer, expecting floating point")
		return nil
	}
	f, err := strconv.ParseFloat(v.Str, 64)
	if err != nil {
		o.d.fail(v.Pos, key, "invalid real number %s", v.Str)
		return nil
	}
	return &f
}

// addrp reads an IPv4 address string.
func (o *obj) addrp(key string) *netip.Addr {
	v := o.typed(key, KindString)
	if v == nil {
		return nil
	}
	a, err := netip.ParseAddr(v.Str)
	if err != nil || !a.Is4() {
		o.d.fail(v.Pos, key, "%q is not a valid IPv4 address", v.Str)
		return nil
	}
	return &a
}

func (o *obj) strList(key string) []string {
	v := o.typed(key, KindList)
	if v == nil {
		return nil
	}
	out := make([]string, 0, len(v.List))
	for _, e := range v.List {
		if e.Kind != KindString {
			o.d.fail(e.Pos, key, "expected string, got %s", e.Kind)
			return nil
		}
		out = append(out, e.Str)
	}
	return out
}

// list returns the elements of a list value.
func (o *obj) list(key string) []*Node {
	v := o.typed(key, KindList)
	if v == nil {
		return nil
	}
	return v.List
}

func (o *obj) userContext() map[string]any {
	v := o.get("user-context")
	if v == nil || v.Kind != KindMap {
		return nil
	}
	m, _ := v.Any().(map[string]any)
	return m
}

func (o *obj) comment() string { return o.str("comment", "") }

func ptr[T any](v T) *T { return &v }
