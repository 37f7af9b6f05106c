package lease

import (
	"bytes"
	"math"

	"github.com/xdhcp/xdhcp/internal/keafmt"
)

// rowParser parses a current-schema row written the way Kea (and we) write
// rows straight from the read buffer into a record, without allocating.
//
// It is only a fast path: it accepts a subset of what ParseRow accepts and
// yields the same values for it. Anything else (escapes in the hostname,
// upper-case or space-separated hex, leading zeros, row errors, ...) makes
// parse return false, and the loader hands the row to parseVersioned, which
// either parses it or produces the row error message.
type rowParser struct {
	rec  record // blob unset
	host []byte // hostname, a slice of the line
	uc   string // user context in Kea's form
	cid  []byte // client id when longer than cidInline (flagCIDBlob)
	hw   []byte // scratch
}

// parse fills p from line (without "\n") and reports whether it could.
func (p *rowParser) parse(line []byte) bool {
	var f [11][]byte
	for i := range 10 {
		j := bytes.IndexByte(line, ',')
		if j < 0 {
			return false
		}
		f[i], line = line[:j], line[j+1:]
	}
	f[10] = line
	if bytes.IndexByte(line, ',') >= 0 {
		return false
	}

	r := &p.rec
	*r = record{flags: flagLive, heapIdx: -1}
	var ok bool
	if r.addr, ok = parseIPv4(f[0]); !ok {
		return false
	}
	if len(f[1]) > 0 {
		if p.hw, ok = keafmt.AppendHWAddrFromText(p.hw[:0], f[1]); !ok || len(p.hw) > maxHWAddrLen {
			return false
		}
		r.hwLen = uint8(copy(r.hw[:], p.hw))
	}
	p.cid = p.cid[:0]
	if len(f[2]) > 0 {
		if p.cid, ok = keafmt.AppendHWAddrFromText(p.cid, f[2]); !ok {
			return false
		}
		if len(p.cid) > cidInline {
			r.flags |= flagCIDBlob
		} else {
			r.cidLen = uint8(copy(r.cid[:], p.cid))
			p.cid = p.cid[:0]
		}
	}
	valid, ok1 := parseDecimal(f[3], 10, math.MaxUint32)
	expire, ok2 := parseDecimal(f[4], 19, math.MaxInt64)
	subnet, ok3 := parseDecimal(f[5], 10, math.MaxUint32)
	fwd, ok4 := parseBit(f[6])
	rev, ok5 := parseBit(f[7])
	state, ok6 := parseDecimal(f[9], 10, math.MaxUint32)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || bytes.IndexByte(f[8], '&') >= 0 {
		return false
	}
	r.valid, r.cltt, r.subnet, r.state = uint32(valid), int64(expire)-int64(valid), uint32(subnet), uint32(state)
	if fwd {
		r.flags |= flagFqdnFwd
	}
	if rev {
		r.flags |= flagFqdnRev
	}
	p.host = f[8]
	p.uc = ""
	if len(f[10]) > 0 {
		uc, err := FormatUserContext(Unescape(string(f[10])))
		if err != nil {
			return false
		}
		p.uc = uc
	}
	if r.hwLen == 0 && r.cidLen == 0 && r.flags&flagCIDBlob == 0 && State(r.state) != StateDeclined {
		return false
	}
	return true
}

// needsBlob reports whether the parsed row has variable-length fields.
func (p *rowParser) needsBlob() bool {
	return len(p.host) > 0 || p.uc != "" || p.rec.flags&flagCIDBlob != 0
}

// parseIPv4 parses a dotted quad as netip.ParseAddr does (no leading
// zeros, octets ≤ 255) into its big-endian integer.
func parseIPv4(b []byte) (uint32, bool) {
	var a uint32
	octets, i := 0, 0
	for octets < 4 {
		start, v := i, uint32(0)
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			v = v*10 + uint32(b[i]-'0')
			i++
			if i-start > 3 {
				return 0, false
			}
		}
		n := i - start
		if n == 0 || v > 255 || (n > 1 && b[start] == '0') {
			return 0, false
		}
		a = a<<8 | v
		octets++
		if octets < 4 {
			if i >= len(b) || b[i] != '.' {
				return 0, false
			}
			i++
		}
	}
	return a, i == len(b)
}

// parseDecimal parses 1 to maxDigits decimal digits with a value ≤ max
// (maxDigits ≤ 19, so the uint64 cannot overflow).
func parseDecimal(b []byte, maxDigits int, max uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > maxDigits {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, v <= max
}

func parseBit(b []byte) (bool, bool) {
	if len(b) != 1 || (b[0] != '0' && b[0] != '1') {
		return false, false
	}
	return b[0] == '1', true
}
