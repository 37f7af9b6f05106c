package classify

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
)

// tokKind is the kind of a lexical token.
type tokKind int

const (
	tEOF tokKind = iota
	tString
	tHex
	tInt
	tIP
	tOptionName
	tKeyword
	tPunct
)

// token is one lexical token. text is the keyword or punctuation spelling,
// the integer digits, or the option name; val is the byte value of string,
// hex and IP literals. pos is the 1-based column of its first character.
type token struct {
	kind tokKind
	text string
	val  []byte
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return fmt.Sprintf("string '%s'", t.val)
	case tHex:
		return "hex constant " + t.text
	case tInt:
		return "integer " + t.text
	case tIP:
		return "ip address " + t.text
	case tOptionName:
		return "option name " + t.text
	}
	return fmt.Sprintf("%q", t.text)
}

// keywords are Kea 2.2's reserved words (lower case only).
var keywords = []string{
	"option", "relay4", "relay6", "peeraddr", "linkaddr", "text", "hex", "exists",
	"pkt", "iface", "src", "dst", "len", "pkt4", "mac", "hlen", "htype", "ciaddr",
	"giaddr", "yiaddr", "siaddr", "pkt6", "msgtype", "transid", "vendor",
	"vendor-class", "data", "enterprise", "substring", "split", "all", "concat",
	"ifelse", "hexstring", "addrtotext", "int8totext", "int16totext",
	"int32totext", "uint8totext", "uint16totext", "uint32totext", "not", "and",
	"or", "member",
}

// SyntaxError reports why and where an expression was refused.
type SyntaxError struct {
	Expr string // the whole expression
	Pos  int    // 1-based column of the offending token
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("expression %q, column %d: %s", e.Expr, e.Pos, e.Msg)
}

// lex splits an expression into tokens. Like Kea's flex scanner it takes
// the longest match at each position, ties going to the earlier rule
// (string, hex, integer, option name, ip address, punctuation, keyword).
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		t, n, err := lexOne(src, i)
		if err != nil {
			return nil, err
		}
		t.pos = i + 1
		toks = append(toks, t)
		i += n
	}
	toks = append(toks, token{kind: tEOF, pos: len(src) + 1})
	return toks, nil
}

func lexOne(src string, i int) (token, int, error) {
	fail := func(format string, args ...any) (token, int, error) {
		return token{}, 0, &SyntaxError{Expr: src, Pos: i + 1, Msg: fmt.Sprintf(format, args...)}
	}
	rest := src[i:]
	if rest[0] == '\'' {
		for j := 1; j < len(rest); j++ {
			switch rest[j] {
			case '\'':
				return token{kind: tString, val: []byte(rest[1:j])}, j + 1, nil
			case '\n':
				return fail("string constant not terminated on its line")
			}
		}
		return fail("unterminated string constant")
	}

	best, bestKind := 0, tEOF
	try := func(n int, k tokKind) {
		if n > best {
			best, bestKind = n, k
		}
	}
	try(matchHex(rest), tHex)
	try(matchInt(rest), tInt)
	try(matchOptionName(rest), tOptionName)
	try(matchIP4(rest), tIP)
	try(matchIP6(rest), tIP)
	try(matchPunct(rest), tPunct)
	try(matchKeyword(rest), tKeyword)
	if best == 0 {
		return fail("invalid character %q", rest[0])
	}
	text := rest[:best]
	switch bestKind {
	case tHex:
		digits := text[2:]
		if len(digits)%2 == 1 {
			digits = "0" + digits
		}
		v, err := hex.DecodeString(digits)
		if err != nil {
			return fail("bad hex constant %s: %v", text, err)
		}
		return token{kind: tHex, text: text, val: v}, best, nil
	case tIP:
		a, err := netip.ParseAddr(text)
		if err != nil {
			return fail("failed to convert %s to an ip address", text)
		}
		return token{kind: tIP, text: text, val: a.AsSlice()}, best, nil
	case tOptionName:
		// The match includes blanks and the closing bracket (flex trailing
		// context); the token is the name alone.
		n := 1
		for n < len(text) && isNameChar(text[n]) {
			n++
		}
		return token{kind: tOptionName, text: text[:n]}, n, nil
	}
	return token{kind: bestKind, text: text}, best, nil
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
func isNameChar(c byte) bool { return isLetter(c) || isDigit(c) || c == '-' || c == '_' }

func countDigits(s string, ok func(byte) bool) int {
	n := 0
	for n < len(s) && ok(s[n]) {
		n++
	}
	return n
}

// matchHex matches 0[xX][0-9a-fA-F]+.
func matchHex(s string) int {
	if len(s) < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return 0
	}
	n := countDigits(s[2:], isHexDigit)
	if n == 0 {
		return 0
	}
	return 2 + n
}

// matchInt matches -?[0-9]+.
func matchInt(s string) int {
	neg := 0
	if len(s) > 0 && s[0] == '-' {
		neg = 1
	}
	n := countDigits(s[neg:], isDigit)
	if n == 0 {
		return 0
	}
	return neg + n
}

// matchOptionName matches [A-Za-z]([-_A-Za-z0-9]*[A-Za-z0-9])? followed by
// blanks and ']', returning the length including the bracket.
func matchOptionName(s string) int {
	if len(s) == 0 || !isLetter(s[0]) {
		return 0
	}
	n := countDigits(s, isNameChar)
	for n > 1 && (s[n-1] == '-' || s[n-1] == '_') {
		n-- // the name must end with a letter or digit; flex backs off
	}
	j := n
	for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r') {
		j++
	}
	if j < len(s) && s[j] == ']' {
		return j + 1
	}
	return 0
}

// matchIP4 matches [0-9]+\.[0-9]+\.[0-9]+\.[0-9]+.
func matchIP4(s string) int {
	n := 0
	for part := range 4 {
		d := countDigits(s[n:], isDigit)
		if d == 0 {
			return 0
		}
		n += d
		if part < 3 {
			if n >= len(s) || s[n] != '.' {
				return 0
			}
			n++
		}
	}
	return n
}

// matchIP6 matches [0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F:.]*.
func matchIP6(s string) int {
	n := countDigits(s, isHexDigit)
	if n >= len(s) || s[n] != ':' {
		return 0
	}
	n++
	n += countDigits(s[n:], isHexDigit)
	if n >= len(s) || s[n] != ':' {
		return 0
	}
	n++
	n += countDigits(s[n:], func(c byte) bool { return isHexDigit(c) || c == ':' || c == '.' })
	return n
}

func matchPunct(s string) int {
	if len(s) >= 2 && s[:2] == "==" {
		return 2
	}
	switch s[0] {
	case '.', '(', ')', '[', ']', ',', '*', '+':
		return 1
	}
	return 0
}

func matchKeyword(s string) int {
	best := 0
	for _, k := range keywords {
		if len(k) > best && len(s) >= len(k) && s[:len(k)] == k {
			best = len(k)
		}
	}
	return best
}

// parseUint parses a decimal integer token within [0, max].
func parseUint(t token, max uint64) (uint64, bool) {
	v, err := strconv.ParseUint(t.text, 10, 64)
	return v, err == nil && v <= max
}
