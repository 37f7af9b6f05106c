package keafmt

import (
	"errors"
	"strings"
	"testing"
)

func TestLexerString(t *testing.T) {
	for _, tt := range []struct {
		name, data string
		off        int
		want       string
		end        int
		errMsg     string
		errOff     int
	}{
		{name: "plain", data: `"abc"x`, want: "abc", end: 5},
		{name: "at an offset", data: `xx"ab"`, off: 2, want: "ab", end: 6},
		{name: "short escapes", data: `"a\"b\\c\/d\b\f\n\r\t"`, want: "a\"b\\c/d\b\f\n\r\t", end: 22},
		{name: "u00XX is UTF-8, not one byte", data: `"\u00e9"`, want: "é", end: 8},
		{name: "u either case", data: `"\u00C9\u0041"`, want: "ÉA", end: 14},
		{name: "surrogate pair", data: `"\ud83d\ude00"`, want: "😀", end: 14},
		{name: "lone surrogate", data: `"\ud83d"`, want: "\uFFFD", end: 8},
		{name: "raw bytes copied", data: "\"é\x7f\"", want: "é\x7f", end: 5},
		{name: "short u", data: `"\u12"`, errMsg: `syntax error, bad \u escape in string`},
		{name: "bad u digit", data: `"\u12g4"`, errMsg: `syntax error, bad \u escape in string`},
		{name: "bad second half", data: `"\ud83d\uzzzz"`, errMsg: `syntax error, bad \u escape in string`},
		{name: "bad escape", data: `"\x"`, errMsg: `syntax error, bad escape \x in string`},
		{name: "backslash at end", data: `"\`, errMsg: "syntax error, bad escape \\\x00 in string"},
		{name: "unterminated", data: `"ab`, errMsg: "syntax error, string not terminated"},
		{name: "newline ends it", data: "\"a\nb\"", errMsg: "syntax error, string not terminated"},
		{name: "control character", data: "xx\"a\x01b\"", off: 2, errMsg: "syntax error, control character in string", errOff: 4},
		{name: "tab refused raw", data: "\"a\tb\"", errMsg: "syntax error, control character in string", errOff: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, end, err := LexerString([]byte(tt.data), tt.off)
			if tt.errMsg != "" {
				var le *LexerStringError
				if !errors.As(err, &le) {
					t.Fatalf("err = %v, want a *LexerStringError %q", err, tt.errMsg)
				}
				wantOff := tt.errOff
				if wantOff == 0 {
					wantOff = tt.off // the opening quote
				}
				if le.Msg != tt.errMsg || le.Off != wantOff {
					t.Fatalf("err = %q at %d, want %q at %d", le.Msg, le.Off, tt.errMsg, wantOff)
				}
				return
			}
			if err != nil || got != tt.want || end != tt.end {
				t.Fatalf("= %q, %d, %v; want %q, %d", got, end, err, tt.want, tt.end)
			}
		})
	}
}

func TestElementString(t *testing.T) {
	for _, tt := range []struct {
		name, data string
		off        int
		want       string
		end        int
		err        string
	}{
		{name: "plain", data: `"abc",`, want: "abc", end: 5},
		{name: "at an offset", data: `{"ab"`, off: 1, want: "ab", end: 5},
		{name: "short escapes", data: `"a\"b\\c\/d\b\f\n\r\t"`, want: "a\"b\\c/d\b\f\n\r\t", end: 22},
		{name: "u00XX is one byte", data: `"\u00e9\u00C9"`, want: "\xe9\xc9", end: 14},
		{name: "larger u is UTF-8", data: `"\u0100"`, want: "Ā", end: 8},
		{name: "surrogates not joined", data: `"\ud83d"`, want: "\uFFFD", end: 8},
		{name: "control bytes copied", data: "\"a\nb\x01\"", want: "a\nb\x01", end: 6},
		{name: "bad u digit", data: `"\u00zz"`, err: `offset 3: bad \u escape`},
		{name: "short u", data: `"\u00"`, err: `offset 3: short \u escape`},
		{name: "bad escape", data: `"\q"`, err: `offset 3: bad escape \q`},
		{name: "unterminated escape", data: `"ab\`, err: "offset 4: unterminated escape"},
		{name: "unterminated", data: `"ab`, err: "unterminated string"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, end, err := ElementString(tt.data, tt.off)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want || end != tt.end {
				t.Fatalf("= %q, %d, %v; want %q, %d", got, end, err, tt.want, tt.end)
			}
		})
	}
}

func TestAppendElementString(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", `""`},
		{`a"b\c/d`, `"a\"b\\c/d"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"\x00\x1f\x7f", `"\u0000\u001f\u007f"`},
		{"é", `"\u00c3\u00a9"`},
		{"~ ok", `"~ ok"`},
	} {
		if got := string(AppendElementString([]byte("x"), tt.in)); got != "x"+tt.want {
			t.Errorf("AppendElementString(%q) = %s, want x%s", tt.in, got, tt.want)
		}
	}
	// Every byte Kea writes, ElementString reads back as the same byte.
	var all strings.Builder
	for c := 0; c < 256; c++ {
		all.WriteByte(byte(c))
	}
	w := string(AppendElementString(nil, all.String()))
	if got, end, err := ElementString(w, 0); err != nil || got != all.String() || end != len(w) {
		t.Errorf("round trip of all bytes: %q, %d, %v", got, end, err)
	}
}
