package config

import (
	"errors"
	"os"
	"path/filepath"
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
	case c == '-' || (c >= '0' && c <= '9'):
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

func (s *source) number(p Pos) (token, error) {
	start := s.off
	if s.peek(0) == '-' {
		s.advance()
	}
	digits := func() int {
		n := 0
		for s.off < len(s.data) && s.data[s.off] >= '0' && s.data[s.off] <= '9' {
			s.advance()
			n++
		}
		return n
	}
	if digits() == 0 {
		return token{}, errAt(p, "", "syntax error, invalid number")
	}
	if s.peek(0) == '.' {
		s.advance()
		if digits() == 0 {
			return token{}, errAt(p, "", "syntax error, invalid number")
		}
	}
	if c := s.peek(0); c == 'e' || c == 'E' {
		s.advance()
		if c := s.peek(0); c == '+' || c == '-' {
			s.advance()
		}
		if digits() == 0 {
			return token{}, errAt(p, "", "syntax error, invalid number")
		}
	}
	return token{kind: tokNumber, pos: p, text: string(s.data[start:s.off])}, nil
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
