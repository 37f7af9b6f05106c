package keafmt

import (
	"bytes"
	"strings"
	"testing"
)

func TestElementRoundTrip(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"b":[2,3],"a":1}`, `{ "a": 1, "b": [ 2, 3 ] }`},
		{` { "a" : true , "b" : null , "c" : false } `, `{ "a": true, "b": null, "c": false }`},
		{`{"a":1,"a":2}`, `{ "a": 2 }`},
		{`{}`, `{  }`},
		{`[]`, `[  ]`},
		{`{"x":1.5e0,"y":1.0,"z":0.1234567,"w":-7}`, `{ "w": -7, "x": 1.5, "y": 1, "z": 0.123457 }`},
		{`{"big":99999999999999999999}`, `{ "big": 1e+20 }`},
		{`{"s":"\u00e9","t":"é"}`, `{ "s": "\u00e9", "t": "\u00c3\u00a9" }`},
		{`{"k\n":[{"n":[]}]}`, `{ "k\n": [ { "n": [  ] } ] }`},
	} {
		v, err := ParseElement(tt.in)
		if err != nil {
			t.Errorf("ParseElement(%s): %v", tt.in, err)
			continue
		}
		var b bytes.Buffer
		WriteElement(&b, v)
		if b.String() != tt.want {
			t.Errorf("WriteElement(ParseElement(%s)) = %s, want %s", tt.in, b.String(), tt.want)
		}
	}
}

func TestParseElementRefuses(t *testing.T) {
	for _, tt := range []struct{ in, err string }{
		{``, "offset 0: unexpected end"},
		{`{"a":1} x`, "trailing data at offset 8"},
		{`{"a" 1}`, "offset 5: expected ':'"},
		{`{"a":1,}`, "offset 7: expected a key"},
		{`{"a":1 "b":2}`, "offset 7: expected ',' or '}'"},
		{`[1 2]`, "offset 3: expected ',' or ']'"},
		{`tru`, `offset 0: unexpected 't'`},
		{`{"a":1.2.3}`, `offset 10: bad number "1.2.3"`},
		{`{"a":"\u00zz"}`, `offset 8: bad \u escape`},
		{strings.Repeat("[", 66) + strings.Repeat("]", 66), "offset 65: nesting too deep"},
	} {
		if _, err := ParseElement(tt.in); err == nil || err.Error() != tt.err {
			t.Errorf("ParseElement(%.20s) err = %v, want %q", tt.in, err, tt.err)
		}
	}
}
