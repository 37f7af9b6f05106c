package classify

import (
	"encoding/binary"
	"math"
	"net"
)

// opt returns the data of top-level option code of the packet.
func (c *evalCtx) opt(code uint8) ([]byte, bool) {
	if c.p == nil || c.p.Msg == nil {
		return nil, false
	}
	v, ok := c.p.Msg.Options[code]
	return v, ok
}

// parseOptionCode parses '[' (INTEGER | OPTION_NAME) ']'.
func (p *parser) parseOptionCode() (uint8, error) {
	if err := p.expect("["); err != nil {
		return 0, err
	}
	t := p.peek()
	var code uint8
	switch t.kind {
	case tInt:
		v, ok := parseUint(t, 255)
		if !ok {
			return 0, p.errAt(t.pos, "option code %s is out of range 0..255", t.text)
		}
		code = uint8(v)
	case tOptionName:
		v, ok := stdOptionCodes[t.text]
		if !ok {
			return 0, p.errAt(t.pos, "option %q is not defined", t.text)
		}
		code = v
	default:
		return 0, p.unexpected("option code or name")
	}
	p.next()
	if err := p.expect("]"); err != nil {
		return 0, err
	}
	return code, nil
}

// parseOption parses what follows 'option': [code].repr or
// [code].option[sub].repr.
func (p *parser) parseOption() (node, error) {
	code, err := p.parseOptionCode()
	if err != nil {
		return node{}, err
	}
	if err := p.expect("."); err != nil {
		return node{}, err
	}
	if p.is("option") {
		p.next()
		sub, err := p.parseIndex(255, "sub-option code")
		if err != nil {
			return node{}, err
		}
		repr, err := p.parseRepr()
		if err != nil {
			return node{}, err
		}
		return subOptionNode(code, uint8(sub), repr), nil
	}
	if !(p.is("text") || p.is("hex") || p.is("exists")) {
		return node{}, p.unexpected(`"text", "hex", "exists" or "option"`)
	}
	repr := p.next().text
	def, known := stdOptions[code]
	typ := def.typ
	if !known {
		typ = otBinary
	}
	get := func(c *evalCtx) ([]byte, bool) { return c.opt(code) }
	var subs map[uint8]optType
	if code == 82 {
		subs = agentSubOptions
	}
	return optionNode(get, code, typ, subs, repr), nil
}

// parseRelay4 parses relay4[sub].repr: sub-option of option 82.
func (p *parser) parseRelay4() (node, error) {
	sub, err := p.parseIndex(255, "sub-option code")
	if err != nil {
		return node{}, err
	}
	repr, err := p.parseRepr()
	if err != nil {
		return node{}, err
	}
	return subOptionNode(82, uint8(sub), repr), nil
}

// subOptionNode builds option[code].option[sub].repr.
func subOptionNode(code, sub uint8, repr string) node {
	typ := otBinary
	if code == 82 {
		typ = agentSubOptions[sub]
	}
	get := func(c *evalCtx) ([]byte, bool) {
		parent, ok := c.opt(code)
		if !ok {
			return nil, false
		}
		space, ok := subOptionSpace(code, parent)
		if !ok {
			return nil, false
		}
		return findTLV(space, sub)
	}
	return optionNode(get, sub, typ, nil, repr)
}

// subOptionSpace returns the bytes holding the sub-options of an option,
// for the options Kea 2.2 parses with sub-options.
func subOptionSpace(code uint8, data []byte) ([]byte, bool) {
	switch code {
	case 43, 82:
		return data, true
	case 125:
		if len(data) >= 5 {
			return data[5:], true
		}
	}
	return nil, false
}

// optionNode builds .exists/.hex/.text over an option getter.
func optionNode(get func(*evalCtx) ([]byte, bool), code uint8, typ optType, subs map[uint8]optType, repr string) node {
	switch repr {
	case "exists":
		return node{b: func(c *evalCtx) (bool, error) {
			_, ok := get(c)
			return ok, nil
		}}
	case "hex":
		return node{s: func(c *evalCtx) ([]byte, error) {
			v, _ := get(c)
			if typ == otString {
				v = trimNUL(v)
			}
			return v, nil
		}}
	}
	return node{s: func(c *evalCtx) ([]byte, error) {
		v, ok := get(c)
		if !ok {
			return nil, nil
		}
		m := c.mark()
		c.buf = appendOptionText(c.buf, code, typ, v, subs)
		return c.since(m), nil
	}}
}

func (p *parser) parsePkt() (node, error) {
	if err := p.expect("."); err != nil {
		return node{}, err
	}
	t := p.peek()
	if t.kind != tKeyword {
		return node{}, p.unexpected(`"iface", "src", "dst" or "len"`)
	}
	var f strFn
	switch t.text {
	case "iface":
		f = func(c *evalCtx) ([]byte, error) {
			if c.p == nil {
				return nil, nil
			}
			m := c.mark()
			c.buf = append(c.buf, c.p.Iface...)
			return c.since(m), nil
		}
	case "src", "dst":
		dst := t.text == "dst"
		f = func(c *evalCtx) ([]byte, error) {
			if c.p == nil {
				return nil, nil
			}
			a := c.p.Src
			if dst {
				a = c.p.Dst
			}
			if !a.IsValid() {
				return nil, nil
			}
			m := c.mark()
			c.buf = append(c.buf, a.Unmap().AsSlice()...)
			return c.since(m), nil
		}
	case "len":
		f = func(c *evalCtx) ([]byte, error) {
			if c.p == nil {
				return c.appendU32(0), nil
			}
			return c.appendU32(uint32(min(uint64(max(c.p.Len, 0)), math.MaxUint32))), nil
		}
	default:
		return node{}, p.unexpected(`"iface", "src", "dst" or "len"`)
	}
	p.next()
	return node{s: f}, nil
}

func (p *parser) parsePkt4() (node, error) {
	if err := p.expect("."); err != nil {
		return node{}, err
	}
	t := p.peek()
	want := `"mac", "hlen", "htype", "ciaddr", "giaddr", "yiaddr", "siaddr", "msgtype" or "transid"`
	if t.kind != tKeyword {
		return node{}, p.unexpected(want)
	}
	var f strFn
	switch t.text {
	case "mac":
		f = func(c *evalCtx) ([]byte, error) {
			if c.p == nil || c.p.Msg == nil {
				return nil, nil
			}
			return c.p.Msg.ClientHWAddr, nil
		}
	case "hlen":
		f = func(c *evalCtx) ([]byte, error) {
			if c.p == nil || c.p.Msg == nil {
				return c.appendU32(0), nil
			}
			return c.appendU32(uint32(len(c.p.Msg.ClientHWAddr))), nil
		}
	case "htype":
		f = func(c *evalCtx) ([]byte, error) {
			if c.p == nil || c.p.Msg == nil {
				return c.appendU32(0), nil
			}
			return c.appendU32(uint32(c.p.Msg.HWType)), nil
		}
	case "ciaddr", "giaddr", "yiaddr", "siaddr":
		field := t.text
		f = func(c *evalCtx) ([]byte, error) {
			var ip net.IP
			if c.p != nil && c.p.Msg != nil {
				switch field {
				case "ciaddr":
					ip = c.p.Msg.ClientIPAddr
				case "giaddr":
					ip = c.p.Msg.GatewayIPAddr
				case "yiaddr":
					ip = c.p.Msg.YourIPAddr
				default:
					ip = c.p.Msg.ServerIPAddr
				}
			}
			m := c.mark()
			if v4 := ip.To4(); v4 != nil {
				c.buf = append(c.buf, v4...)
			} else {
				c.buf = append(c.buf, 0, 0, 0, 0)
			}
			return c.since(m), nil
		}
	case "msgtype":
		f = func(c *evalCtx) ([]byte, error) {
			v, ok := c.opt(53)
			if !ok || len(v) == 0 {
				return c.appendU32(0), nil
			}
			return c.appendU32(uint32(v[0])), nil
		}
	case "transid":
		f = func(c *evalCtx) ([]byte, error) {
			if c.p == nil || c.p.Msg == nil {
				return c.appendU32(0), nil
			}
			x := c.p.Msg.TransactionID
			m := c.mark()
			c.buf = append(c.buf, x[:]...)
			return c.since(m), nil
		}
	default:
		return node{}, p.unexpected(want)
	}
	p.next()
	return node{s: f}, nil
}

// appendU32 appends v as 4 big-endian bytes and returns them.
func (c *evalCtx) appendU32(v uint32) []byte {
	m := c.mark()
	c.buf = binary.BigEndian.AppendUint32(c.buf, v)
	return c.since(m)
}
