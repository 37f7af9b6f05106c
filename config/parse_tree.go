package config

import "fmt"

// maxDepth bounds nesting of maps and lists.
const maxDepth = 200

// treeParser builds a Node tree from lexer tokens.
type treeParser struct {
	lx    *lexer
	tok   token
	warns []Warning
}

// ParseTree parses Kea JSON (comments, includes, trailing commas) into a
// position-annotated tree. Includes are resolved relative to filename's
// directory.
func ParseTree(filename string, data []byte) (*Node, []Warning, error) {
	p := &treeParser{lx: newLexer(filename, data)}
	if err := p.advance(); err != nil {
		return nil, nil, err
	}
	n, err := p.value(0)
	if err != nil {
		return nil, p.warns, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.warns, errAt(p.tok.pos, "", "syntax error, unexpected %s, expecting end of file", p.tok.kind)
	}
	return n, p.warns, nil
}

func (p *treeParser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *treeParser) unexpected(expecting string) error {
	return errAt(p.tok.pos, "", "syntax error, unexpected %s, expecting %s", p.tok.kind, expecting)
}

func (p *treeParser) value(depth int) (*Node, error) {
	if depth > maxDepth {
		return nil, errAt(p.tok.pos, "", "nesting deeper than %d", maxDepth)
	}
	t := p.tok
	switch t.kind {
	case tokString:
		return &Node{Pos: t.pos, Kind: KindString, Str: t.text}, p.advance()
	case tokNumber:
		return &Node{Pos: t.pos, Kind: KindNumber, Str: t.text}, p.advance()
	case tokTrue, tokFalse:
		return &Node{Pos: t.pos, Kind: KindBool, Bool: t.kind == tokTrue}, p.advance()
	case tokNull:
		return &Node{Pos: t.pos, Kind: KindNull}, p.advance()
	case tokLBrace:
		return p.mapValue(depth)
	case tokLBrack:
		return p.listValue(depth)
	}
	return nil, p.unexpected("a value")
}

func (p *treeParser) mapValue(depth int) (*Node, error) {
	n := &Node{Pos: p.tok.pos, Kind: KindMap}
	if err := p.advance(); err != nil {
		return nil, err
	}
	for p.tok.kind != tokRBrace {
		if p.tok.kind != tokString {
			return nil, p.unexpected("a map key or \"}\"")
		}
		key := p.tok
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokColon {
			return nil, p.unexpected("\":\"")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.Map = append(n.Map, Member{Key: key.text, KeyPos: key.pos, Val: v})
		if err := p.comma(tokRBrace); err != nil {
			return nil, err
		}
	}
	return n, p.advance()
}

func (p *treeParser) listValue(depth int) (*Node, error) {
	n := &Node{Pos: p.tok.pos, Kind: KindList}
	if err := p.advance(); err != nil {
		return nil, err
	}
	for p.tok.kind != tokRBrack {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.List = append(n.List, v)
		if err := p.comma(tokRBrack); err != nil {
			return nil, err
		}
	}
	return n, p.advance()
}

// comma consumes the separator after an element: a comma (warning when it
// is followed directly by the closing token) or the closing token itself,
// which is left for the caller.
func (p *treeParser) comma(closing tokKind) error {
	switch p.tok.kind {
	case closing:
		return nil
	case tokComma:
		pos := p.tok.pos
		if err := p.advance(); err != nil {
			return err
		}
		if p.tok.kind == closing {
			p.warns = append(p.warns, Warning{Pos: pos, Msg: "Extraneous comma. A piece of configuration may have been omitted."})
		} else if p.tok.kind == tokRBrace || p.tok.kind == tokRBrack || p.tok.kind == tokEOF {
			return p.unexpected(fmt.Sprintf("a value or %s", closing))
		}
		return nil
	}
	return p.unexpected(fmt.Sprintf("\",\" or %s", closing))
}
