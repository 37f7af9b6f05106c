package classify

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
)

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// constFn returns a literal. The bytes are shared and never modified.
func constFn(v []byte) strFn {
	v = bytes.Clone(v)
	v = v[:len(v):len(v)]
	return func(*evalCtx) ([]byte, error) { return v, nil }
}

// errFn always fails (a parameter Kea only rejects at run time).
func errFn(err error) strFn {
	return func(*evalCtx) ([]byte, error) { return nil, err }
}

func concatFn(a, b strFn) strFn {
	return func(c *evalCtx) ([]byte, error) {
		x, err := a(c)
		if err != nil {
			return nil, err
		}
		y, err := b(c)
		if err != nil {
			return nil, err
		}
		m := c.mark()
		c.buf = append(append(c.buf, x...), y...)
		return c.since(m), nil
	}
}

// substringFn implements Kea's TokenSubstring: negative start counts from
// the end; a negative length takes |length| bytes ending before start.
func substringFn(s strFn, start, length int, all bool) strFn {
	return func(c *evalCtx) ([]byte, error) {
		v, err := s(c)
		if err != nil || len(v) == 0 {
			return nil, err
		}
		n, pos, l := len(v), start, length
		if all {
			l = n
		}
		if pos < -n || pos >= n {
			return nil, nil
		}
		if pos < 0 {
			pos += n
		}
		if l < 0 {
			l = -l
			if l <= pos {
				pos -= l
			} else {
				l, pos = pos, 0
			}
		}
		end := pos + min(l, n-pos)
		return v[pos:end:end], nil
	}
}

// splitFn implements split(s, delims, field): fields separated by any of
// the delimiter bytes, empty fields kept, 1-based.
func splitFn(s, delims strFn, field int) strFn {
	return func(c *evalCtx) ([]byte, error) {
		v, err := s(c)
		if err != nil {
			return nil, err
		}
		d, err := delims(c)
		if err != nil {
			return nil, err
		}
		if len(v) == 0 || field < 1 {
			return nil, nil
		}
		if len(d) == 0 {
			return v, nil
		}
		for f := 1; ; f++ {
			i := indexAnyByte(v, d)
			if f == field {
				if i < 0 {
					return v, nil
				}
				return v[:i:i], nil
			}
			if i < 0 {
				return nil, nil
			}
			v = v[i+1:]
		}
	}
}

func ifelseFn(cond boolFn, a, b strFn) strFn {
	return func(c *evalCtx) ([]byte, error) {
		ok, err := cond(c)
		if err != nil {
			return nil, err
		}
		x, err := a(c)
		if err != nil {
			return nil, err
		}
		y, err := b(c)
		if err != nil {
			return nil, err
		}
		if ok {
			return x, nil
		}
		return y, nil
	}
}

// hexstringFn renders bytes as lower-case hex pairs joined by sep.
func hexstringFn(bin, sep strFn) strFn {
	return func(c *evalCtx) ([]byte, error) {
		v, err := bin(c)
		if err != nil {
			return nil, err
		}
		s, err := sep(c)
		if err != nil {
			return nil, err
		}
		m := c.mark()
		for i, b := range v {
			if i > 0 {
				c.buf = append(c.buf, s...)
			}
			c.buf = append(c.buf, hexDigits[b>>4], hexDigits[b&15])
		}
		return c.since(m), nil
	}
}

// addrToTextFn renders 4 or 16 bytes as an IP address.
func addrToTextFn(s strFn) strFn {
	return func(c *evalCtx) ([]byte, error) {
		v, err := s(c)
		if err != nil || len(v) == 0 {
			return nil, err
		}
		a, ok := netip.AddrFromSlice(v)
		if !ok {
			return nil, fmt.Errorf("addrtotext: %d bytes is not an ip address", len(v))
		}
		m := c.mark()
		c.buf = a.AppendTo(c.buf)
		return c.since(m), nil
	}
}

// intToTextFn renders a 1/2/4-byte big-endian integer as decimal text.
func intToTextFn(name string, s strFn) strFn {
	var size int
	signed := name[0] == 'i'
	switch name {
	case "int8totext", "uint8totext":
		size = 1
	case "int16totext", "uint16totext":
		size = 2
	default:
		size = 4
	}
	return func(c *evalCtx) ([]byte, error) {
		v, err := s(c)
		if err != nil || len(v) == 0 {
			return nil, err
		}
		if len(v) != size {
			return nil, fmt.Errorf("%s: input is %d bytes, want %d", name, len(v), size)
		}
		var u uint64
		var i int64
		switch size {
		case 1:
			u, i = uint64(v[0]), int64(int8(v[0]))
		case 2:
			x := binary.BigEndian.Uint16(v)
			u, i = uint64(x), int64(int16(x))
		default:
			x := binary.BigEndian.Uint32(v)
			u, i = uint64(x), int64(int32(x))
		}
		m := c.mark()
		if signed {
			c.buf = strconv.AppendInt(c.buf, i, 10)
		} else {
			c.buf = strconv.AppendUint(c.buf, u, 10)
		}
		return c.since(m), nil
	}
}

// indexAnyByte returns the index of the first byte of v that is in set,
// or -1 (bytes.IndexAny would need a string, hence an allocation).
func indexAnyByte(v, set []byte) int {
	for i, b := range v {
		if bytes.IndexByte(set, b) >= 0 {
			return i
		}
	}
	return -1
}
