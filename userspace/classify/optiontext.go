package classify

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// appendOptionText appends the value of option[code].text: the string for
// string options, Kea's debug text (Option::toText and friends) for the
// others. data is the option's data; subs is the space of its sub-options
// (nil if it carries none).
func appendOptionText(dst []byte, code uint8, typ optType, data []byte, subs map[uint8]optType) []byte {
	if typ == otString {
		return append(dst, trimNUL(data)...)
	}
	dst = append(dst, "type="...)
	dst = appendPadded(dst, int(code))
	dst = append(dst, ", len="...)
	dst = appendPadded(dst, len(data))
	dst = append(dst, ':')
	switch typ {
	case otEmpty:
		dst = appendSubOptionsText(dst, data, subs)
		return dst
	case otBool:
		if len(data) == 1 {
			dst = append(dst, ' ')
			dst = strconv.AppendBool(dst, data[0] != 0)
			return append(dst, " (boolean)"...)
		}
	case otUint8, otUint16, otUint32, otInt32:
		size, name := intSize(typ)
		if len(data) == size {
			dst = append(dst, ' ')
			dst = appendInt(dst, typ, data)
			return append(dst, " ("+name+")"...)
		}
	case otIPv4:
		if len(data) == 4 {
			dst = append(dst, ' ')
			dst = netip.AddrFrom4([4]byte(data)).AppendTo(dst)
			return append(dst, " (ipv4-address)"...)
		}
	case otIPv4List:
		if len(data)%4 == 0 {
			for i := 0; i < len(data); i += 4 {
				dst = append(dst, ' ')
				dst = netip.AddrFrom4([4]byte(data[i : i+4])).AppendTo(dst)
			}
			return dst
		}
	case otUint8List, otUint16List:
		elem, name := 1, "uint8"
		if typ == otUint16List {
			elem, name = 2, "uint16"
		}
		if len(data)%elem == 0 {
			for i := 0; i < len(data); i += elem {
				dst = append(dst, ' ')
				if elem == 1 {
					dst = strconv.AppendUint(dst, uint64(data[i]), 10)
				} else {
					dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(data[i:])), 10)
				}
				dst = append(dst, "("+name+")"...)
			}
			return dst
		}
	}
	return appendBinaryText(dst, data)
}

// appendBinaryText appends " 01:0a:..." (Option::toText data part).
func appendBinaryText(dst, data []byte) []byte {
	for i, b := range data {
		if i == 0 {
			dst = append(dst, ' ')
		} else {
			dst = append(dst, ':')
		}
		dst = append(dst, hexDigits[b>>4], hexDigits[b&15])
	}
	return dst
}

// appendSubOptionsText appends Kea's ",\noptions:\n  type=..." list.
func appendSubOptionsText(dst, data []byte, subs map[uint8]optType) []byte {
	if len(data) == 0 {
		return dst
	}
	dst = append(dst, ",\noptions:"...)
	for i := 0; i+1 < len(data); {
		c, n := data[i], int(data[i+1])
		if i+2+n > len(data) {
			break
		}
		dst = append(dst, "\n  "...)
		dst = appendOptionText(dst, c, subs[c], data[i+2:i+2+n], nil)
		i += 2 + n
	}
	return dst
}

func appendPadded(dst []byte, v int) []byte {
	if v < 100 {
		dst = append(dst, '0')
	}
	if v < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(v), 10)
}

func intSize(t optType) (int, string) {
	switch t {
	case otUint8:
		return 1, "uint8"
	case otUint16:
		return 2, "uint16"
	case otInt32:
		return 4, "int32"
	}
	return 4, "uint32"
}

func appendInt(dst []byte, t optType, data []byte) []byte {
	switch t {
	case otUint8:
		return strconv.AppendUint(dst, uint64(data[0]), 10)
	case otUint16:
		return strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(data)), 10)
	case otInt32:
		return strconv.AppendInt(dst, int64(int32(binary.BigEndian.Uint32(data))), 10)
	}
	return strconv.AppendUint(dst, uint64(binary.BigEndian.Uint32(data)), 10)
}

const hexDigits = "0123456789abcdef"
