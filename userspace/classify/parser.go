package classify

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// parser is a recursive-descent parser over the token list that builds the
// closure tree directly. Each production returns a typed node: exactly one
// of b (boolean) and s (string) is set.
type parser struct {
	src  string
	toks []token
	i    int
	e    *Expr
}

type node struct {
	b   boolFn
	s   strFn
	pos int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// is reports whether the next token is the keyword or punctuation s.
func (p *parser) is(s string) bool {
	t := p.peek()
	return (t.kind == tKeyword || t.kind == tPunct) && t.text == s
}

func (p *parser) errAt(pos int, format string, args ...any) error {
	return &SyntaxError{Expr: p.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) unexpected(want string) error {
	t := p.peek()
	return p.errAt(t.pos, "syntax error, unexpected %s, expecting %s", t, want)
}

// expect consumes the keyword or punctuation s.
func (p *parser) expect(s string) error {
	if !p.is(s) {
		return p.unexpected(strconv.Quote(s))
	}
	p.next()
	return nil
}

func (p *parser) parseTest() (boolFn, error) {
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, p.unexpected("end of expression")
	}
	if n.b == nil {
		return nil, p.errAt(n.pos, "a test must be a boolean expression, found a string expression")
	}
	return n.b, nil
}

func (p *parser) wantBool(n node) (boolFn, error) {
	if n.b == nil {
		return nil, p.errAt(n.pos, "expecting a boolean expression, found a string expression")
	}
	return n.b, nil
}

func (p *parser) wantStr(n node) (strFn, error) {
	if n.s == nil {
		return nil, p.errAt(n.pos, "expecting a string expression, found a boolean expression")
	}
	return n.s, nil
}

func (p *parser) parseOr() (node, error) {
	return p.parseBinaryBool("or", p.parseAnd, func(l, r bool) bool { return l || r })
}

func (p *parser) parseAnd() (node, error) {
	return p.parseBinaryBool("and", p.parseNot, func(l, r bool) bool { return l && r })
}

// parseBinaryBool parses a left-associative chain of a boolean operator.
// Both operands are always evaluated, as in Kea 2.2.
func (p *parser) parseBinaryBool(op string, operand func() (node, error), f func(l, r bool) bool) (node, error) {
	left, err := operand()
	if err != nil {
		return node{}, err
	}
	for p.is(op) {
		p.next()
		right, err := operand()
		if err != nil {
			return node{}, err
		}
		lb, err := p.wantBool(left)
		if err != nil {
			return node{}, err
		}
		rb, err := p.wantBool(right)
		if err != nil {
			return node{}, err
		}
		left = node{pos: left.pos, b: func(c *evalCtx) (bool, error) {
			l, err := lb(c)
			if err != nil {
				return false, err
			}
			r, err := rb(c)
			if err != nil {
				return false, err
			}
			return f(l, r), nil
		}}
	}
	return left, nil
}

func (p *parser) parseNot() (node, error) {
	if !p.is("not") {
		return p.parseCmp()
	}
	pos := p.next().pos
	n, err := p.parseNot()
	if err != nil {
		return node{}, err
	}
	b, err := p.wantBool(n)
	if err != nil {
		return node{}, err
	}
	return node{pos: pos, b: func(c *evalCtx) (bool, error) {
		v, err := b(c)
		return !v, err
	}}, nil
}

func (p *parser) parseCmp() (node, error) {
	left, err := p.parseConcat()
	if err != nil {
		return node{}, err
	}
	if !p.is("==") {
		return left, nil
	}
	p.next()
	right, err := p.parseConcat()
	if err != nil {
		return node{}, err
	}
	ls, err := p.wantStr(left)
	if err != nil {
		return node{}, err
	}
	rs, err := p.wantStr(right)
	if err != nil {
		return node{}, err
	}
	return node{pos: left.pos, b: func(c *evalCtx) (bool, error) {
		l, err := ls(c)
		if err != nil {
			return false, err
		}
		r, err := rs(c)
		if err != nil {
			return false, err
		}
		return bytes.Equal(l, r), nil
	}}, nil
}

func (p *parser) parseConcat() (node, error) {
	left, err := p.parsePrimary()
	if err != nil {
		return node{}, err
	}
	for p.is("+") {
		p.next()
		right, err := p.parsePrimary()
		if err != nil {
			return node{}, err
		}
		ls, err := p.wantStr(left)
		if err != nil {
			return node{}, err
		}
		rs, err := p.wantStr(right)
		if err != nil {
			return node{}, err
		}
		left = node{pos: left.pos, s: concatFn(ls, rs)}
	}
	return left, nil
}

// parseStr parses a full string expression (a function argument).
func (p *parser) parseStr() (strFn, error) {
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	return p.wantStr(n)
}

// parseBool parses a full boolean expression (ifelse condition).
func (p *parser) parseBool() (boolFn, error) {
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	return p.wantBool(n)
}

func (p *parser) parsePrimary() (node, error) {
	t := p.peek()
	switch t.kind {
	case tString, tHex, tIP:
		p.next()
		return node{pos: t.pos, s: constFn(t.val)}, nil
	case tInt:
		p.next()
		v, ok := parseUint(t, math.MaxUint32)
		if !ok {
			return node{}, p.errAt(t.pos, "failed to convert %s to an unsigned 32-bit integer", t.text)
		}
		return node{pos: t.pos, s: constFn(be32(uint32(v)))}, nil
	case tPunct:
		if t.text == "(" {
			p.next()
			n, err := p.parseOr()
			if err != nil {
				return node{}, err
			}
			if err := p.expect(")"); err != nil {
				return node{}, err
			}
			n.pos = t.pos
			return n, nil
		}
	case tKeyword:
		n, err := p.parseKeyword()
		n.pos = t.pos
		return n, err
	}
	return node{}, p.unexpected("an expression")
}

// parseKeyword parses the productions that start with a keyword.
func (p *parser) parseKeyword() (node, error) {
	t := p.next()
	switch t.text {
	case "option":
		return p.parseOption()
	case "relay4":
		return p.parseRelay4()
	case "pkt":
		return p.parsePkt()
	case "pkt4":
		return p.parsePkt4()
	case "vendor":
		return p.parseVendor()
	case "vendor-class":
		return p.parseVendorClass()
	case "member":
		return p.parseMember()
	case "substring":
		return p.parseSubstring()
	case "split":
		return p.parseSplit()
	case "concat":
		args, err := p.parseStrArgs(2)
		if err != nil {
			return node{}, err
		}
		return node{s: concatFn(args[0], args[1])}, nil
	case "ifelse":
		return p.parseIfelse()
	case "hexstring":
		args, err := p.parseStrArgs(2)
		if err != nil {
			return node{}, err
		}
		return node{s: hexstringFn(args[0], args[1])}, nil
	case "addrtotext":
		args, err := p.parseStrArgs(1)
		if err != nil {
			return node{}, err
		}
		return node{s: addrToTextFn(args[0])}, nil
	case "int8totext", "int16totext", "int32totext", "uint8totext", "uint16totext", "uint32totext":
		args, err := p.parseStrArgs(1)
		if err != nil {
			return node{}, err
		}
		return node{s: intToTextFn(t.text, args[0])}, nil
	case "relay6", "pkt6", "peeraddr", "linkaddr":
		return node{}, p.errAt(t.pos, "%s is not supported in DHCPv4", t.text)
	}
	return node{}, p.errAt(t.pos, "syntax error, unexpected %s", t)
}

// parseStrArgs parses '(' str {',' str} ')' with n arguments.
func (p *parser) parseStrArgs(n int) ([]strFn, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	args := make([]strFn, n)
	for i := range args {
		if i > 0 {
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
		s, err := p.parseStr()
		if err != nil {
			return nil, err
		}
		args[i] = s
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	return args, nil
}

// parseIndex parses '[' INTEGER ']' with the value in [0, max].
func (p *parser) parseIndex(max uint64, what string) (uint64, error) {
	if err := p.expect("["); err != nil {
		return 0, err
	}
	t := p.peek()
	if t.kind != tInt {
		return 0, p.unexpected("integer")
	}
	p.next()
	v, ok := parseUint(t, max)
	if !ok {
		return 0, p.errAt(t.pos, "%s %s is out of range 0..%d", what, t.text, max)
	}
	if err := p.expect("]"); err != nil {
		return 0, err
	}
	return v, nil
}

// parseSignedParam parses an INTEGER parameter (substring, split). Values
// outside int32 compile but fail at run time, as in Kea.
func (p *parser) parseSignedParam() (int64, bool, error) {
	t := p.peek()
	if t.kind != tInt {
		return 0, false, p.unexpected("integer")
	}
	p.next()
	v, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		return 0, false, p.errAt(t.pos, "integer %s does not fit 64 bits", t.text)
	}
	return v, v >= math.MinInt32 && v <= math.MaxInt32, nil
}

func (p *parser) parseMember() (node, error) {
	if err := p.expect("("); err != nil {
		return node{}, err
	}
	t := p.peek()
	if t.kind != tString {
		return node{}, p.unexpected("a class name string")
	}
	p.next()
	if err := p.expect(")"); err != nil {
		return node{}, err
	}
	ref := &memberRef{name: string(t.val), id: -1}
	p.e.members = append(p.e.members, ref)
	return node{b: func(c *evalCtx) (bool, error) { return c.hasClass(ref), nil }}, nil
}

func (p *parser) parseSubstring() (node, error) {
	if err := p.expect("("); err != nil {
		return node{}, err
	}
	s, err := p.parseStr()
	if err != nil {
		return node{}, err
	}
	if err := p.expect(","); err != nil {
		return node{}, err
	}
	start, startOK, err := p.parseSignedParam()
	if err != nil {
		return node{}, err
	}
	if err := p.expect(","); err != nil {
		return node{}, err
	}
	length, lengthOK, all := int64(0), true, false
	if p.is("all") {
		p.next()
		all = true
	} else if length, lengthOK, err = p.parseSignedParam(); err != nil {
		return node{}, err
	}
	if err := p.expect(")"); err != nil {
		return node{}, err
	}
	if !startOK || !lengthOK {
		return node{s: errFn(fmt.Errorf("substring: parameter out of int32 range"))}, nil
	}
	return node{s: substringFn(s, int(start), int(length), all)}, nil
}

func (p *parser) parseSplit() (node, error) {
	if err := p.expect("("); err != nil {
		return node{}, err
	}
	s, err := p.parseStr()
	if err != nil {
		return node{}, err
	}
	if err := p.expect(","); err != nil {
		return node{}, err
	}
	delims, err := p.parseStr()
	if err != nil {
		return node{}, err
	}
	if err := p.expect(","); err != nil {
		return node{}, err
	}
	field, fieldOK, err := p.parseSignedParam()
	if err != nil {
		return node{}, err
	}
	if err := p.expect(")"); err != nil {
		return node{}, err
	}
	if !fieldOK {
		return node{s: errFn(fmt.Errorf("split: field number out of int32 range"))}, nil
	}
	return node{s: splitFn(s, delims, int(field))}, nil
}

func (p *parser) parseIfelse() (node, error) {
	if err := p.expect("("); err != nil {
		return node{}, err
	}
	cond, err := p.parseBool()
	if err != nil {
		return node{}, err
	}
	if err := p.expect(","); err != nil {
		return node{}, err
	}
	a, err := p.parseStr()
	if err != nil {
		return node{}, err
	}
	if err := p.expect(","); err != nil {
		return node{}, err
	}
	b, err := p.parseStr()
	if err != nil {
		return node{}, err
	}
	if err := p.expect(")"); err != nil {
		return node{}, err
	}
	return node{s: ifelseFn(cond, a, b)}, nil
}

// parseRepr parses '.' followed by text, hex or exists.
func (p *parser) parseRepr() (string, error) {
	if err := p.expect("."); err != nil {
		return "", err
	}
	if p.is("text") || p.is("hex") || p.is("exists") {
		return p.next().text, nil
	}
	return "", p.unexpected(`"text", "hex" or "exists"`)
}
