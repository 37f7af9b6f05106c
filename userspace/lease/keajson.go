package lease

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// FormatUserContext validates a user context (it must be a JSON map) and
// returns it in Kea's serialisation (Element::str): `{ "a": 1, "b": [ 2, 3 ] }`
// with keys sorted, ", " between items and a space inside brackets. "" and
// "null" mean no context and yield "".
//
// Strings are byte strings as in Kea: "\u00XX" reads as byte XX, and bytes
// below 0x20 or from 0x7f are written as \u00XX (so UTF-8 "é" is written
// "\u00c3\u00a9", exactly as Kea 2.2 writes it).
func FormatUserContext(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" {
		return "", nil
	}
	v, err := parseKeaJSON(s)
	if err != nil {
		return "", fmt.Errorf("parse user context: %w", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return "", errors.New("user context is not a map")
	}
	var b bytes.Buffer
	writeKeaJSON(&b, v)
	return b.String(), nil
}

func writeKeaJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		writeKeaNumber(b, x)
	case string:
		writeKeaString(b, x)
	case []any:
		b.WriteString("[ ")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeKeaJSON(b, e)
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
			writeKeaString(b, k)
			b.WriteString(": ")
			writeKeaJSON(b, x[k])
		}
		b.WriteString(" }")
	}
}

// writeKeaNumber prints integers as Kea's IntElement (int64) and everything
// else as its DoubleElement (C++ ostream default: %g with 6 digits).
func writeKeaNumber(b *bytes.Buffer, n json.Number) {
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

// writeKeaString escapes like Kea's StringElement::toJSON: quote, backslash,
// the short control escapes, every other byte below 0x20 or from 0x7f as
// \u00XX.
func writeKeaString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c >= 0x7f {
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}
