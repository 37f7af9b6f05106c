package keafmt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ParseElement parses JSON the way Kea's Element::fromJSON does
// (src/lib/cc/data.cc) for what a lease's user context holds: strings are
// byte strings read by ElementString. Values are nil, bool, json.Number,
// string (raw bytes), []any and map[string]any (a repeated key keeps the
// last value). Nesting deeper than 64 is refused.
func ParseElement(s string) (any, error) {
	p := &jsonParser{s: s}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("trailing data at offset %d", p.i)
	}
	return v, nil
}

const maxJSONDepth = 64

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *jsonParser) errf(format string, a ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{p.i}, a...)...)
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, p.errf("nesting too deep")
	}
	p.space()
	if p.i >= len(p.s) {
		return nil, p.errf("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	for lit, v := range map[string]any{"true": true, "false": false, "null": nil} {
		if strings.HasPrefix(p.s[p.i:], lit) {
			p.i += len(lit)
			return v, nil
		}
	}
	return nil, p.errf("unexpected %q", p.s[p.i])
}

func (p *jsonParser) object(depth int) (any, error) {
	p.i++ // {
	m := map[string]any{}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return m, nil
	}
	for {
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, p.errf("expected a key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.errf("expected ':'")
		}
		p.i++
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[k] = v
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return m, nil
		}
		return nil, p.errf("expected ',' or '}'")
	}
}

func (p *jsonParser) array(depth int) (any, error) {
	p.i++ // [
	l := []any{}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return l, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return l, nil
		}
		return nil, p.errf("expected ',' or ']'")
	}
}

func (p *jsonParser) str() (string, error) {
	v, next, err := ElementString(p.s, p.i)
	p.i = next
	return v, err
}

func (p *jsonParser) number() (any, error) {
	start := p.i
	for p.i < len(p.s) && strings.IndexByte("+-0123456789.eE", p.s[p.i]) >= 0 {
		p.i++
	}
	n := json.Number(p.s[start:p.i])
	if _, err := n.Float64(); err != nil {
		return nil, p.errf("bad number %q", string(n))
	}
	return n, nil
}

// WriteElement writes v (a value ParseElement returns) as Kea's
// Element::str does (src/lib/cc/data.cc): `{ "a": 1, "b": [ 2, 3 ] }`,
// map keys sorted, ", " between items and a space inside the brackets,
// strings escaped by AppendElementString.
func WriteElement(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		writeNumber(b, x)
	case string:
		b.Write(AppendElementString(b.AvailableBuffer(), x))
	case []any:
		b.WriteString("[ ")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			WriteElement(b, e)
		}
		b.WriteString(" ]")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("{ ")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.Write(AppendElementString(b.AvailableBuffer(), k))
			b.WriteString(": ")
			WriteElement(b, x[k])
		}
		b.WriteString(" }")
	}
}

// writeNumber prints integers as Kea's IntElement (int64) and everything
// else as its DoubleElement (C++ ostream default: %g with 6 digits).
func writeNumber(b *bytes.Buffer, n json.Number) {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			b.WriteString(strconv.FormatInt(i, 10))
			return
		}
	}
	f, err := n.Float64()
	if err != nil {
		b.WriteString(s)
		return
	}
	b.WriteString(strconv.FormatFloat(f, 'g', 6, 64))
}
