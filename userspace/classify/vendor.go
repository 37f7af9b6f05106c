package classify

import (
	"encoding/binary"
	"math"
)

// vivso parses option 125 (V-I vendor-specific information) the way Kea's
// OptionVendor does: the first enterprise-id, then (after the data-len
// byte) its sub-options. ok is false if absent or malformed.
func (c *evalCtx) vivso() (ent uint32, subs []byte, ok bool) {
	v, ok := c.opt(125)
	if !ok || len(v) < 5 {
		return 0, nil, false
	}
	return binary.BigEndian.Uint32(v), v[5:], true
}

// vivco parses option 124 (V-I vendor class) the way Kea's
// OptionVendorClass does: enterprise-id, then tuples of a length byte and
// data, each tuple after the first preceded by the same enterprise-id.
// It returns the data of tuple index (nil if there are fewer).
func (c *evalCtx) vivco(index int) (ent uint32, tuple []byte, ok bool) {
	v, ok := c.opt(124)
	if !ok || len(v) < 5 {
		return 0, nil, false
	}
	ent = binary.BigEndian.Uint32(v)
	rest := v[4:]
	for i := 0; len(rest) > 0; i++ {
		if i > 0 {
			if len(rest) < 4 || binary.BigEndian.Uint32(rest) != ent {
				return 0, nil, false
			}
			rest = rest[4:]
		}
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return 0, nil, false
		}
		data := rest[1 : 1+int(rest[0])]
		if i == index {
			tuple = data
		}
		rest = rest[1+int(rest[0]):]
	}
	return ent, tuple, true
}

// parseEnterprise parses '[' (INTEGER | '*') ']'; '*' (any) is 0.
func (p *parser) parseEnterprise() (uint32, error) {
	if err := p.expect("["); err != nil {
		return 0, err
	}
	var ent uint32
	t := p.peek()
	switch {
	case t.kind == tPunct && t.text == "*":
	case t.kind == tInt:
		v, ok := parseUint(t, math.MaxUint32)
		if !ok {
			return 0, p.errAt(t.pos, "enterprise-id %s is out of range 0..4294967295", t.text)
		}
		ent = uint32(v)
	default:
		return 0, p.unexpected(`enterprise-id or "*"`)
	}
	p.next()
	if err := p.expect("]"); err != nil {
		return 0, err
	}
	return ent, nil
}

// parseVendor parses vendor.enterprise, vendor[E].exists and
// vendor[E].option[C].repr (option 125).
func (p *parser) parseVendor() (node, error) {
	if p.is(".") {
		p.next()
		if err := p.expect("enterprise"); err != nil {
			return node{}, err
		}
		return node{s: func(c *evalCtx) ([]byte, error) {
			ent, _, ok := c.vivso()
			if !ok {
				return nil, nil
			}
			return c.appendU32(ent), nil
		}}, nil
	}
	want, err := p.parseEnterprise()
	if err != nil {
		return node{}, err
	}
	if err := p.expect("."); err != nil {
		return node{}, err
	}
	if p.is("exists") {
		p.next()
		return node{b: func(c *evalCtx) (bool, error) {
			ent, _, ok := c.vivso()
			return ok && (want == 0 || ent == want), nil
		}}, nil
	}
	if err := p.expect("option"); err != nil {
		return node{}, err
	}
	code, err := p.parseIndex(255, "sub-option code")
	if err != nil {
		return node{}, err
	}
	repr, err := p.parseRepr()
	if err != nil {
		return node{}, err
	}
	get := func(c *evalCtx) ([]byte, bool) {
		ent, subs, ok := c.vivso()
		if !ok || (want != 0 && ent != want) {
			return nil, false
		}
		return findTLV(subs, uint8(code))
	}
	return optionNode(get, uint8(code), otBinary, nil, repr), nil
}

// parseVendorClass parses vendor-class.enterprise, vendor-class[E].exists
// and vendor-class[E].data[i] (option 124).
func (p *parser) parseVendorClass() (node, error) {
	if p.is(".") {
		p.next()
		if err := p.expect("enterprise"); err != nil {
			return node{}, err
		}
		return node{s: func(c *evalCtx) ([]byte, error) {
			ent, _, ok := c.vivco(0)
			if !ok {
				return nil, nil
			}
			return c.appendU32(ent), nil
		}}, nil
	}
	want, err := p.parseEnterprise()
	if err != nil {
		return node{}, err
	}
	if err := p.expect("."); err != nil {
		return node{}, err
	}
	if p.is("exists") {
		p.next()
		return node{b: func(c *evalCtx) (bool, error) {
			ent, _, ok := c.vivco(0)
			return ok && (want == 0 || ent == want), nil
		}}, nil
	}
	if err := p.expect("data"); err != nil {
		return node{}, err
	}
	index := 0
	if p.is("[") {
		v, err := p.parseIndex(255, "data index")
		if err != nil {
			return node{}, err
		}
		index = int(v)
	}
	return node{s: func(c *evalCtx) ([]byte, error) {
		ent, tuple, ok := c.vivco(index)
		if !ok || (want != 0 && ent != want) {
			return nil, nil
		}
		return tuple, nil
	}}, nil
}
