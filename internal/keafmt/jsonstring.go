package keafmt

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// JSON strings, read two ways because Kea reads them two ways: its
// configuration files through the flex lexer of each daemon
// (src/bin/dhcp4/dhcp4_lexer.ll, the {JSONString} rule), and everything
// else (lease user contexts, commands) through Element::fromJSON
// (src/lib/cc/data.cc, strFromStringstream). Both accept only
// \u0000-\u00ff in Kea and make it one byte; ours differ from Kea and from
// each other in what they do with the rest, as each function says, and the
// difference is kept because configurations and lease files already
// written depend on it.

// LexerString decodes the JSON string whose opening quote is at data[off],
// as our configuration lexer reads Kea configuration files (Kea:
// dhcp4_lexer.ll's {JSONString} rule). It returns the value and the offset
// just past the closing quote. Rules: the escapes \" \\ \/ \b \f \n \r \t
// and \uXXXX (four hex digits of either case); \uXXXX is the code point
// written as UTF-8 (Kea: only \u00XX, as the single byte XX), and a
// surrogate followed by another \uXXXX is joined with it into one code
// point (an unpaired one becomes U+FFFD); a raw newline or the end of the
// data ends the string unterminated; any other byte below 0x20 is refused;
// other bytes are copied as they are. An error is a *LexerStringError.
func LexerString(data []byte, off int) (string, int, error) {
	start := off
	i := off + 1
	peek := func(k int) byte {
		if i+k < len(data) {
			return data[i+k]
		}
		return 0
	}
	fail := func(at int, msg string) (string, int, error) {
		return "", i, &LexerStringError{Off: at, Msg: msg}
	}
	hex4 := func() (rune, bool) {
		if i+4 > len(data) {
			return 0, false
		}
		v, err := strconv.ParseUint(string(data[i:i+4]), 16, 16)
		if err != nil {
			return 0, false
		}
		i += 4
		return rune(v), true
	}
	var b strings.Builder
	for {
		if i >= len(data) || data[i] == '\n' {
			return fail(start, "syntax error, string not terminated")
		}
		c := data[i]
		switch {
		case c == '"':
			return b.String(), i + 1, nil
		case c == '\\':
			e := peek(1)
			i = min(i+2, len(data))
			if c, ok := shortEscape(e); ok {
				b.WriteByte(c)
				continue
			}
			switch e {
			case 'u':
				r, ok := hex4()
				if !ok {
					return fail(start, "syntax error, bad \\u escape in string")
				}
				if utf16.IsSurrogate(r) && peek(0) == '\\' && peek(1) == 'u' {
					i += 2
					r2, ok := hex4()
					if !ok {
						return fail(start, "syntax error, bad \\u escape in string")
					}
					r = utf16.DecodeRune(r, r2)
				}
				b.WriteRune(r)
			default:
				return fail(start, fmt.Sprintf("syntax error, bad escape \\%c in string", e))
			}
		case c < 0x20:
			return fail(i, "syntax error, control character in string")
		default:
			b.WriteByte(c)
			i++
		}
	}
}

// shortEscape is the byte a JSON short escape (\" \\ \/ \b \f \n \r \t)
// stands for, in Kea's lexer and Element::fromJSON alike.
func shortEscape(e byte) (byte, bool) {
	switch e {
	case '"', '\\', '/':
		return e, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// LexerStringError is why LexerString refused a string and the offset in
// the data it points at: the opening quote, or the control character.
type LexerStringError struct {
	Off int
	Msg string
}

func (e *LexerStringError) Error() string { return e.Msg }

// ElementString decodes the JSON string whose opening quote is at s[off]
// as Kea's Element::fromJSON does (src/lib/cc/data.cc,
// strFromStringstream): strings are byte strings. It returns the value and
// the offset just past the closing quote. Rules: the escapes \" \\ \/ \b
// \f \n \r \t and \uXXXX (four hex digits of either case); \u00XX is the
// single byte XX, as in Kea, and a larger \uXXXX is written as UTF-8
// (Kea refuses it); every other byte, control characters and newlines
// included, is copied as it is. Errors name the offset they stopped at.
func ElementString(s string, off int) (string, int, error) {
	i := off + 1 // "
	errf := func(format string, a ...any) (string, int, error) {
		return "", i, fmt.Errorf("offset %d: "+format, append([]any{i}, a...)...)
	}
	var b strings.Builder
	for i < len(s) {
		c := s[i]
		i++
		switch {
		case c == '"':
			return b.String(), i, nil
		case c == '\\':
			if i >= len(s) {
				return errf("unterminated escape")
			}
			e := s[i]
			i++
			if c, ok := shortEscape(e); ok {
				b.WriteByte(c)
				continue
			}
			switch e {
			case 'u':
				if i+4 > len(s) {
					return errf("short \\u escape")
				}
				var r rune
				for _, h := range []byte(s[i : i+4]) {
					d, ok := HexDigit(h)
					if !ok {
						return errf("bad \\u escape")
					}
					r = r<<4 | rune(d)
				}
				i += 4
				if r <= 0xff {
					b.WriteByte(byte(r))
				} else {
					b.WriteString(string(utf8.AppendRune(nil, r)))
				}
			default:
				return errf("bad escape \\%c", e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", i, errors.New("unterminated string")
}

// AppendElementString appends s as a JSON string the way Kea's
// StringElement::toJSON writes it (src/lib/cc/data.cc): \" and \\, the
// short escapes \b \f \n \r \t, every other byte below 0x20 or from 0x7f
// as \u00XX (lower-case hex), the rest as it is. So UTF-8 "é" is written
// "\u00c3\u00a9", exactly as Kea 2.2 writes it, and ElementString reads it
// back to the same bytes.
func AppendElementString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			if c < 0x20 || c >= 0x7f {
				b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xf])
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}
