package config

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/xdhcp/xdhcp/internal/keafmt"
)

// maxOptionLen is the largest DHCPv4 option payload.
const maxOptionLen = 255

// splitCSV splits option data at commas not escaped as "\,", trimming
// spaces around each value. An empty string gives no values.
func splitCSV(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == ',':
			cur.WriteByte(',')
			i++
		case s[i] == ',':
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}

// encodeField encodes one value of a definition's data type.
func encodeField(typ, v string) ([]byte, error) {
	switch typ {
	case "ipv4-address":
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("failed to convert string to address '%s'", v)
		}
		b := a.As4()
		return b[:], nil
	case "ipv6-address":
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is6() {
			return nil, fmt.Errorf("failed to convert string to IPv6 address '%s'", v)
		}
		b := a.As16()
		return b[:], nil
	case "ipv6-prefix":
		p, err := netip.ParsePrefix(v)
		if err != nil || !p.Addr().Is6() {
			return nil, fmt.Errorf("invalid IPv6 prefix '%s'", v)
		}
		a := p.Masked().Addr().As16()
		n := (p.Bits() + 7) / 8
		return append([]byte{byte(p.Bits())}, a[:n]...), nil
	case "uint8", "uint16", "uint32", "int8", "int16", "int32":
		return encodeInt(typ, v)
	case "psid":
		return encodePSID(v)
	case "boolean":
		switch v {
		case "true", "1":
			return []byte{1}, nil
		case "false", "0":
			return []byte{0}, nil
		}
		return nil, fmt.Errorf("unable to convert '%s' to boolean", v)
	case "string":
		if v == "" {
			return nil, fmt.Errorf("empty string value")
		}
		return []byte(v), nil
	case "tuple":
		if len(v) > 255 {
			return nil, fmt.Errorf("tuple '%s' longer than 255 bytes", v)
		}
		return append([]byte{byte(len(v))}, v...), nil
	case "fqdn":
		return encodeFQDN(v)
	case "binary":
		return keafmt.OptionDataFromText(v)
	case "empty":
		return nil, fmt.Errorf("option of type empty takes no data")
	}
	return nil, fmt.Errorf("data type %s is not supported in option data", typ)
}

func encodeInt(typ, v string) ([]byte, error) {
	var lo, hi int64
	size := 1
	switch typ {
	case "uint8":
		lo, hi = 0, math.MaxUint8
	case "uint16":
		lo, hi, size = 0, math.MaxUint16, 2
	case "uint32":
		lo, hi, size = 0, math.MaxUint32, 4
	case "int8":
		lo, hi = math.MinInt8, math.MaxInt8
	case "int16":
		lo, hi, size = math.MinInt16, math.MaxInt16, 2
	case "int32":
		lo, hi, size = math.MinInt32, math.MaxInt32, 4
	}
	i, err := strconv.ParseInt(v, 0, 64)
	if err != nil || i < lo || i > hi {
		return nil, fmt.Errorf("unable to convert '%s' to numeric type. This value is expected to be in the range of %d..%d", v, lo, hi)
	}
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, uint32(i))
	return b[4-size:], nil
}

// encodePSID encodes "PSID/PSID-len" as Kea 2.2 does
// (option_definition.cc OptionDefinition::writeToBuffer, OPT_PSID_TYPE, and
// option_data_types.cc OptionDataTypeUtil::writePsid): blanks removed, the
// value before the slash is the PSID (uint16), after it the PSID length
// (uint8, at most 16); the wire form is the length byte then the PSID
// shifted into the high bits of a 16-bit field. "3/4" is 04 30 00.
func encodePSID(v string) ([]byte, error) {
	txt := strings.NewReplacer(" ", "", "\t", "").Replace(v)
	psidText, lenText, ok := strings.Cut(txt, "/")
	if !ok {
		return nil, fmt.Errorf("provided PSID value %s is not valid", v)
	}
	pb, err := encodeInt("uint16", psidText)
	if err != nil {
		return nil, fmt.Errorf("provided PSID %s is not valid", psidText)
	}
	lb, err := encodeInt("uint8", lenText)
	if err != nil {
		return nil, fmt.Errorf("provided PSID length %s is not valid", lenText)
	}
	psid, plen := binary.BigEndian.Uint16(pb), lb[0]
	if plen > 16 {
		return nil, fmt.Errorf("invalid PSID length value %d, this value is expected to be in range of 0 to 16", plen)
	}
	if plen > 0 && uint32(psid) > 0xFFFF>>(16-uint32(plen)) {
		return nil, fmt.Errorf("invalid PSID value %d for a specified PSID length %d", psid, plen)
	}
	out := []byte{plen, 0, 0}
	binary.BigEndian.PutUint16(out[1:], uint16(uint32(psid)<<(16-uint32(plen))))
	return out, nil
}

// encodeFQDN encodes a domain name in DNS wire format (uncompressed, fully
// qualified).
func encodeFQDN(v string) ([]byte, error) {
	name := strings.TrimSuffix(v, ".")
	if name == "" {
		return nil, fmt.Errorf("invalid domain name '%s'", v)
	}
	var out []byte
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return nil, fmt.Errorf("invalid domain name '%s'", v)
		}
		out = append(out, byte(len(label)))
		out = append(out, label...)
	}
	out = append(out, 0)
	if len(out) > 255 {
		return nil, fmt.Errorf("domain name '%s' too long", v)
	}
	return out, nil
}

// encodeCSV encodes csv-format option data by definition.
func encodeCSV(def *OptionDef, data string) ([]byte, error) {
	vals := splitCSV(data)
	if def.Type == "empty" {
		if len(vals) > 0 {
			return nil, fmt.Errorf("option '%s' of type empty takes no data", def.Name)
		}
		return []byte{}, nil
	}
	if len(vals) == 0 {
		return []byte{}, nil
	}
	var out []byte
	switch {
	case def.Type == "record":
		fields := def.RecordTypes
		if len(vals) < len(fields) {
			return nil, fmt.Errorf("option '%s' needs %d values, got %d", def.Name, len(fields), len(vals))
		}
		for i, v := range vals {
			typ := fields[len(fields)-1]
			if i < len(fields) {
				typ = fields[i]
			} else if !def.Array {
				break
			}
			b, err := encodeField(typ, v)
			if err != nil {
				return nil, err
			}
			out = append(out, b...)
		}
	case def.Array:
		for _, v := range vals {
			b, err := encodeField(def.Type, v)
			if err != nil {
				return nil, err
			}
			out = append(out, b...)
		}
	default:
		b, err := encodeField(def.Type, vals[0])
		if err != nil {
			return nil, err
		}
		out = b
	}
	if len(out) > maxOptionLen {
		return nil, fmt.Errorf("option data is %d bytes, longer than %d", len(out), maxOptionLen)
	}
	return out, nil
}
