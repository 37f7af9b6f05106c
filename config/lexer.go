package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xdhcp/xdhcp/internal/keafmt"
)

// maxIncludeDepth bounds nested <?include?> directives.
const maxIncludeDepth = 32

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokLBrace
	tokRBrace
	tokLBrack
	tokRBrack
	tokColon
	tokComma
	tokString
	tokNumber
	tokTrue
	tokFalse
	tokNull
)

func (k tokKind) String() string {
	return [...]string{"end of file", "\"{\"", "\"}\"", "\"[\"", "\"]\"", "\":\"", "\",\"",
		"string", "number", "true", "false", "null"}[k]
}

type token struct {
	kind tokKind
	pos  Pos
	text string // string value or number literal
}

// source is one file being scanned.
type source struct {
	file string // name used in positions
	abs  string // absolute path, for cycle detection
	data []byte
	off  int
	line int
	col  int
}

// lexer turns Kea JSON (with comments and includes) into tokens.
type lexer struct {
	stack []*source
	// readFile reads an included file; readRegular by default.
	readFile func(string) ([]byte, error)
}

func newLexer(file string, data []byte) *lexer {
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	return &lexer{
		stack:    []*source{{file: file, abs: abs, data: data, line: 1, col: 1}},
		readFile: readRegular,
	}
}

// readRegular reads a regular file; devices, pipes and directories are
// refused so that an include can never block.
func readRegular(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	return os.ReadFile(path)
}

func (s *source) pos() Pos { return Pos{File: s.file, Line: s.line, Col: s.col} }

func (s *source) peek(k int) byte {
	if s.off+k < len(s.data) {
		return s.data[s.off+k]
	}
	return 0
}

func (s *source) advance() {
	if s.off >= len(s.data) {
		return
	}
	if s.data[s.off] == '\n' {
		s.line++
		s.col = 1
	} else {
		s.col++
	}
	s.off++
}

// skipSpace skips whitespace and comments in the current source.
func (s *source) skipSpace() error {
	for s.off < len(s.data) {
		c := s.data[s.off]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s.advance()
		case c == '#' || (c == '/' && s.peek(1) == '/'):
			for s.off < len(s.data) && s.data[s.off] != '\n' {
				s.advance()
			}
		case c == '/' && s.peek(1) == '*':
			start := s.pos()
			s.advance()
			s.advance()
			for {
				if s.off >= len(s.data) {
					return errAt(start, "", "comment not closed")
				}
				if s.data[s.off] == '*' && s.peek(1) == '/' {
					s.advance()
					s.advance()
					break
				}
				s.advance()
			}
		default:
			return nil
		}
	}
	return nil
}

// next returns the next token, following includes.
func (l *lexer) next() (token, error) {
	for {
		s := l.stack[len(l.stack)-1]
		if err := s.skipSpace(); err != nil {
			return token{}, err
		}
		if s.off >= len(s.data) {
			if len(l.stack) == 1 {
				return token{kind: tokEOF, pos: s.pos()}, nil
			}
			l.stack = l.stack[:len(l.stack)-1]
			continue
		}
		if s.data[s.off] == '<' && s.peek(1) == '?' {
			if err := l.include(s); err != nil {
				return token{}, err
			}
			continue
		}
		return s.token()
	}
}

// include handles <?include "file"?> at the current position of s.
func (l *lexer) include(s *source) error {
	start := s.pos()
	s.advance()
	s.advance()
	for s.off < len(s.data) && (s.data[s.off] == ' ' || s.data[s.off] == '\t') {
		s.advance()
	}
	if !strings.HasPrefix(string(s.data[s.off:]), "include") {
		return errAt(start, "", "syntax error, unexpected \"<?\", expecting include")
	}
	for range len("include") {
		s.advance()
	}
	for s.off < len(s.data) && (s.data[s.off] == ' ' || s.data[s.off] == '\t') {
		s.advance()
	}
	if s.off >= len(s.data) || s.data[s.off] != '"' {
		return errAt(s.pos(), "", "include: file name must be a quoted string")
	}
	name, err := s.str()
	if err != nil {
		return err
	}
	for s.off < len(s.data) && (s.data[s.off] == ' ' || s.data[s.off] == '\t') {
		s.advance()
	}
	if !strings.HasPrefix(string(s.data[s.off:]), "?>") {
		return errAt(s.pos(), "", "include: expected \"?>\"")
	}
	s.advance()
	s.advance()

	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(s.abs), path)
	}
	path = filepath.Clean(path)
	for _, o := range l.stack {
		if o.abs == path {
			return errAt(start, "", "include cycle: %q is already being read", name)
		}
	}
	if len(l.stack) >= maxIncludeDepth {
		return errAt(start, "", "includes nested deeper than %d", maxIncludeDepth)
	}
	data, err := l.readFile(path)
	if err != nil {
		return errAt(start, "", "include %q: %v", name, err)
	}
	shown := name
	if !filepath.IsAbs(name) {
		shown = filepath.Join(filepath.Dir(s.file), name)
	}
	l.stack = append(l.stack, &source{file: shown, abs: path, data: data, line: 1, col: 1})
	return nil
}

var punct = map[byte]tokKind{'{': tokLBrace, '}': tokRBrace, '[': tokLBrack, ']': tokRBrack, ':': tokColon, ',': tokComma}

// token scans one token at a non-space position.
func (s *source) token() (token, error) {
	p := s.pos()
	c := s.data[s.off]
	if k, ok := punct[c]; ok {
		s.advance()
		return token{kind: k, pos: p}, nil
	}
	switch {
	case c == '"':
		v, err := s.str()
		return token{kind: tokString, pos: p, text: v}, err
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		return s.number(p)
	case c >= 'a' && c <= 'z':
		start := s.off
		for s.off < len(s.data) && s.data[s.off] >= 'a' && s.data[s.off] <= 'z' {
			s.advance()
		}
		switch w := string(s.data[start:s.off]); w {
		case "true":
			return token{kind: tokTrue, pos: p}, nil
		case "false":
			return token{kind: tokFalse, pos: p}, nil
		case "null":
			return token{kind: tokNull, pos: p}, nil
		default:
			return token{}, errAt(p, "", "syntax error, invalid word %q", w)
		}
	}
	r, _ := utf8.DecodeRune(s.data[s.off:])
	return token{}, errAt(p, "", "syntax error, invalid character %q", r)
}

// number scans a number (docs/kea/config-surface.md §13) the way Kea 2.2's dhcp4_lexer.ll does: two flex
// rules compete, {int} = -?[0-9]+ and the floating point rule
// [-+]?[0-9]*\.?[0-9]*([eE][-+]?[0-9]+)?; flex takes the longer match and,
// on a tie, the earlier rule (the integer). So ".5", "5.", "+.5", "+5" and
// "1e2" are floating point numbers; "." "+" "-" and ".e1" match the float
// rule but boost::lexical_cast<double> refuses them ("Failed to convert X
// to a floating point."), and an integer beyond int64 is refused the same
// way ("Failed to convert X to an integer."). A float's Str is normalised
// to Go's shortest form with a '.' or an exponent, so an integer parameter
// given a float is refused as Kea's grammar refuses it (unexpected floating
// point, expecting integer), and Str stays valid JSON for config-write.
func (s *source) number(p Pos) (token, error) {
	d := s.data[s.off:]
	intLen, floatLen := numberMatch(d)
	if intLen == 0 && floatLen == 0 {
		r, _ := utf8.DecodeRune(d)
		return token{}, errAt(p, "", "syntax error, invalid character %q", r)
	}
	n := floatLen
	if intLen >= floatLen {
		n = intLen
	}
	text := string(d[:n])
	for i := 0; i < n; i++ {
		s.advance()
	}
	if intLen >= floatLen {
		if _, err := strconv.ParseInt(text, 10, 64); err != nil {
			return token{}, errAt(p, "", "Failed to convert %s to an integer.", text)
		}
		return token{kind: tokNumber, pos: p, text: text}, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return token{}, errAt(p, "", "Failed to convert %s to a floating point.", text)
	}
	return token{kind: tokNumber, pos: p, text: floatText(f)}, nil
}

// numberMatch returns the lengths of the longest prefixes of d that Kea's
// {int} and floating point lexer rules match.
func numberMatch(d []byte) (intLen, floatLen int) {
	digits := func(i int) int {
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i
	}
	i := 0
	if i < len(d) && d[i] == '-' {
		i++
	}
	if j := digits(i); j > i {
		intLen = j
	}
	i = 0
	if i < len(d) && (d[i] == '-' || d[i] == '+') {
		i++
	}
	i = digits(i)
	if i < len(d) && d[i] == '.' {
		i++
	}
	i = digits(i)
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		j := i + 1
		if j < len(d) && (d[j] == '-' || d[j] == '+') {
			j++
		}
		if k := digits(j); k > j {
			i = k
		}
	}
	return intLen, i
}

// floatText is f as a JSON number that does not read as an integer.
func floatText(f float64) string {
	t := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(t, ".eE") {
		t += ".0"
	}
	return t
}

// str scans a JSON string starting at the opening quote, by
// keafmt.LexerString's rules (Kea's dhcp4_lexer.ll {JSONString}).
func (s *source) str() (string, error) {
	p := s.pos()
	v, end, err := keafmt.LexerString(s.data, s.off)
	if err != nil {
		var le *keafmt.LexerStringError
		if !errors.As(err, &le) {
			return "", err
		}
		// A string never spans a line, so the column moves with the offset.
		p.Col += le.Off - s.off
		return "", errAt(p, "", "%s", le.Msg)
	}
	for s.off < end {
		s.advance()
	}
	return v, nil
}
