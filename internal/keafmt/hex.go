package keafmt

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// The hex forms, one function per Kea routine, side by side. Kea's own
// building blocks (src/lib/util/strutil.cc) are decodeSeparatedHexString
// (groups of one or two hex digits between separators; two separators in a
// row are refused; an empty string is an empty result) and
// decodeFormattedHexString (colon-separated if the string holds a ':', else
// space-separated if it holds a ' ', else contiguous digits with an
// optional lower-case "0x" and a leading zero added to an odd count,
// decoded by util::encode::decodeHex in src/lib/util/encode/hex.cc).

// FormatHex renders bytes as Kea's HWAddr::toText(false)
// (src/lib/dhcp/hwaddr.cc) and ClientId::toText (src/lib/dhcp/duid.cc)
// do: lower-case pairs of hex digits joined by ':'. No bytes give "".
func FormatHex(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return string(AppendHex(make([]byte, 0, len(b)*3-1), b))
}

// AppendHex appends FormatHex(b) to dst without a string in between (the
// memfile writer's form).
func AppendHex(dst, b []byte) []byte {
	for i, c := range b {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, lowerHex[c>>4], lowerHex[c&0x0f])
	}
	return dst
}

// lowerHex is the digits Kea writes hex with.
const lowerHex = "0123456789abcdef"

// HWAddrFromText mirrors HWAddr::fromText (src/lib/dhcp/hwaddr.cc), which
// is decodeColonSeparatedHexString: colon-separated groups of one or two
// hex digits of either case. Refused: an empty group ("::", a leading or
// trailing ':', and unlike Kea the empty string, which callers never pass),
// a group of three or more digits, any other character (spaces, "0x",
// '-'). The memfile loader reads the hwaddr column with it.
func HWAddrFromText(s string) ([]byte, error) {
	return decodeSeparatedHex(s, ":", func(g string, _ byte) error {
		return fmt.Errorf("invalid hex digit in %q", g)
	})
}

// AppendHWAddrFromText is HWAddrFromText for the memfile loader's fast
// path: the same rules on a byte slice, the bytes appended to dst, false
// instead of an error (dst then holds a partial result). s must not be
// empty. The loader also tries it on the client_id column, where it
// accepts exactly the colon form that ClientIDFromText accepts; other
// forms fail here and are read again by the slow path.
func AppendHWAddrFromText(dst, s []byte) ([]byte, bool) {
	for i := 0; ; {
		if i >= len(s) {
			return dst, false // empty group
		}
		v, ok := HexDigit(s[i])
		if !ok {
			return dst, false
		}
		i++
		if i < len(s) && s[i] != ':' {
			d, ok := HexDigit(s[i])
			if !ok {
				return dst, false
			}
			v = v<<4 | d
			i++
		}
		dst = append(dst, v)
		if i == len(s) {
			return dst, true
		}
		if s[i] != ':' {
			return dst, false // a group of three or more digits
		}
		i++
	}
}

// ClientIDFromText mirrors ClientId::fromText (src/lib/dhcp/duid.cc), which
// is decodeFormattedHexString. Rules: surrounding white space is trimmed
// and "" gives nil; a string with a ':' is colon-separated groups of one
// or two hex digits (a space inside is then an invalid digit); else one
// with a ' ' is space-separated groups, two spaces in a row being an empty
// group and refused; else contiguous hex digits with an optional "0x" or
// "0X" (Kea: "0x" only, and only before more digits), an odd count getting
// a leading zero. The memfile client_id column, the lease JSON's
// hw-address and client-id, and the lease commands' identifiers use it.
func ClientIDFromText(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	sep := ""
	switch {
	case strings.Contains(s, ":"):
		sep = ":"
	case strings.Contains(s, " "):
		sep = " "
	}
	if sep == "" {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
		if len(s)%2 == 1 {
			s = "0" + s
		}
		return hex.DecodeString(s)
	}
	return decodeSeparatedHex(s, sep, func(_ string, c byte) error {
		return hex.InvalidByteError(c) // as hex.DecodeString reports it
	})
}

// decodeSeparatedHex is Kea's decodeSeparatedHexString (strutil.cc) as
// HWAddrFromText and ClientIDFromText use it: groups of one or two hex
// digits between seps; an empty group (also the empty string) or a longer
// one is refused, and a group with any other character is refused with
// badDigit's error (group, character).
func decodeSeparatedHex(s, sep string, badDigit func(g string, c byte) error) ([]byte, error) {
	out := make([]byte, 0, strings.Count(s, sep)+1)
	for g := range strings.SplitSeq(s, sep) {
		if len(g) == 0 || len(g) > 2 {
			return nil, fmt.Errorf("invalid hex group %q", g)
		}
		var v byte
		for i := 0; i < len(g); i++ {
			d, ok := HexDigit(g[i])
			if !ok {
				return nil, badDigit(g, g[i])
			}
			v = v<<4 | d
		}
		out = append(out, v)
	}
	return out, nil
}

// OptionDataFromText mirrors how Kea's configuration parsers read hex
// text: OptionDataParser::createOption (src/lib/dhcpsrv/parsers/
// option_data_parser.cc) for option data with csv-format false, and
// Host::setIdentifier (src/lib/dhcpsrv/host.cc) for reservation
// identifiers, both through decodeFormattedHexString; the configuration
// also uses it for fields of type binary. Rules, more lenient than Kea's:
// surrounding white space is trimmed; a leading "0x" or "0X" is dropped
// whatever follows; "" (or "0x" alone) gives an empty, non-nil slice; a
// string with both ':' and ' ' is refused; colon-separated groups of one
// or two hex digits, an empty group refused; space-separated groups, runs
// of spaces allowed (Kea refuses them); contiguous digits, an odd count
// getting a leading zero.
func OptionDataFromText(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s = s[2:]
	}
	if s == "" {
		return []byte{}, nil
	}
	sep := ""
	switch {
	case strings.Contains(s, ":") && strings.Contains(s, " "):
		return nil, fmt.Errorf("mixed separators in hex string %q", s)
	case strings.Contains(s, ":"):
		sep = ":"
	case strings.Contains(s, " "):
		sep = " "
	}
	if sep == "" {
		if len(s)%2 == 1 {
			s = "0" + s
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("invalid hex string %q", s)
		}
		return b, nil
	}
	var out []byte
	for _, part := range strings.Split(s, sep) {
		if sep == " " && part == "" {
			continue
		}
		if len(part) == 0 || len(part) > 2 {
			return nil, fmt.Errorf("invalid hex string %q", s)
		}
		v, err := strconv.ParseUint(part, 16, 8)
		if err != nil {
			return nil, fmt.Errorf("invalid hex string %q", s)
		}
		out = append(out, byte(v))
	}
	return out, nil
}

// HexDigit is the value of one hex digit of either case.
func HexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
