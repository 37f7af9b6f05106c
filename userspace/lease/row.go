package lease

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/xdhcp/xdhcp/internal/keafmt"
)

// Columns is Kea 2.2's lease4 memfile schema (version 2.1), in file order.
var Columns = []string{
	"address", "hwaddr", "client_id", "valid_lifetime", "expire", "subnet_id",
	"fqdn_fwd", "fqdn_rev", "hostname", "state", "user_context",
}

// Header is the first line Kea 2.2 writes in a lease4 memfile (without "\n").
var Header = strings.Join(Columns, ",")

const (
	minColumns   = 9  // an old file must have at least up to "hostname" (docs/kea/memfile.md §5)
	maxHWAddrLen = 20 // Kea's HWAddr::MAX_HWADDR_LEN
)

// validate applies the row-level rules Kea enforces when writing and loading:
// an IPv4 address, at most 20 hardware address bytes, and an identifier
// unless the lease is declined (docs/kea/memfile.md §2).
func validate(l *Lease) error {
	if !l.Addr.Is4() {
		return fmt.Errorf("%w: %v is not an ipv4 address", ErrInvalid, l.Addr)
	}
	if len(l.HWAddr) > maxHWAddrLen {
		return fmt.Errorf("%w: hwaddr of %d bytes exceeds %d", ErrInvalid, len(l.HWAddr), maxHWAddrLen)
	}
	if len(l.HWAddr) == 0 && len(l.ClientID) == 0 && l.State != StateDeclined {
		return fmt.Errorf("%w: lease %v has neither hardware address nor client id", ErrInvalid, l.Addr)
	}
	return nil
}

// AppendRow appends l's memfile row (Kea 2.2 schema, with the trailing "\n")
// to dst. The user context is written as stored; the Store keeps it in
// Kea's serialisation (see FormatUserContext).
func AppendRow(dst []byte, l *Lease) []byte {
	dst = l.Addr.AppendTo(dst)
	dst = append(dst, ',')
	dst = keafmt.AppendHex(dst, l.HWAddr)
	dst = append(dst, ',')
	dst = keafmt.AppendHex(dst, l.ClientID)
	dst = append(dst, ',')
	dst = strconv.AppendUint(dst, uint64(l.ValidLifetime), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, l.Expire(), 10)
	dst = append(dst, ',')
	dst = strconv.AppendUint(dst, uint64(l.SubnetID), 10)
	dst = append(dst, ',')
	dst = appendBool(dst, l.FqdnFwd)
	dst = append(dst, ',')
	dst = appendBool(dst, l.FqdnRev)
	dst = append(dst, ',')
	dst = appendEscaped(dst, l.Hostname)
	dst = append(dst, ',')
	dst = strconv.AppendUint(dst, uint64(l.State), 10)
	dst = append(dst, ',')
	dst = appendEscaped(dst, l.UserContext)
	return append(dst, '\n')
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, '1')
	}
	return append(dst, '0')
}

const hexDigits = "0123456789abcdef"

// Escape applies Kea's CSV escaping: ',' and '&' become "&#x2c" and "&#x26"
// (docs/kea/memfile.md §3). Nothing else is escaped.
func Escape(s string) string { return string(appendEscaped(nil, s)) }

func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ',', '&':
			dst = append(dst, '&', '#', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// Unescape reverses Escape: every "&#x" followed by two hex digits (either
// case) becomes that byte; any other "&#x" is kept literally.
func Unescape(s string) string {
	if !strings.Contains(s, "&#x") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '&' && i+4 < len(s) && strings.HasPrefix(s[i:], "&#x") {
			hi, ok1 := keafmt.HexDigit(s[i+3])
			lo, ok2 := keafmt.HexDigit(s[i+4])
			if ok1 && ok2 {
				b.WriteByte(hi<<4 | lo)
				i += 4
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ParseRow parses one data row already split into the current schema's
// columns (len(cols) == len(Columns)). The returned lease has ValidLifetime 0
// for deletion rows.
func ParseRow(cols []string) (*Lease, error) {
	if len(cols) != len(Columns) {
		return nil, fmt.Errorf("expected %d columns, got %d", len(Columns), len(cols))
	}
	l := &Lease{}
	var err error
	if l.Addr, err = netip.ParseAddr(cols[0]); err != nil || !l.Addr.Is4() {
		return nil, fmt.Errorf("invalid address %q", cols[0])
	}
	if cols[1] != "" {
		hw, err := keafmt.HWAddrFromText(cols[1])
		if err != nil {
			return nil, fmt.Errorf("invalid hwaddr %q: %w", cols[1], err)
		}
		if len(hw) > 0 {
			l.HWAddr = net.HardwareAddr(hw)
		}
	}
	if cols[2] != "" {
		cid, err := keafmt.ClientIDFromText(cols[2])
		if err != nil {
			return nil, fmt.Errorf("invalid client_id %q: %w", cols[2], err)
		}
		if len(cid) > 0 {
			l.ClientID = cid
		}
	}
	valid, err := strconv.ParseUint(cols[3], 10, 32)
	if err != nil {
		return nil, fmt.Errorf("invalid valid_lifetime %q", cols[3])
	}
	l.ValidLifetime = uint32(valid)
	expire, err := strconv.ParseUint(cols[4], 10, 63)
	if err != nil {
		return nil, fmt.Errorf("invalid expire %q", cols[4])
	}
	l.CLTT = int64(expire) - int64(valid)
	sub, err := strconv.ParseUint(cols[5], 10, 32)
	if err != nil {
		return nil, fmt.Errorf("invalid subnet_id %q", cols[5])
	}
	l.SubnetID = uint32(sub)
	if l.FqdnFwd, err = parseBool(cols[6]); err != nil {
		return nil, fmt.Errorf("invalid fqdn_fwd: %w", err)
	}
	if l.FqdnRev, err = parseBool(cols[7]); err != nil {
		return nil, fmt.Errorf("invalid fqdn_rev: %w", err)
	}
	l.Hostname = strings.Clone(Unescape(cols[8]))
	state, err := strconv.ParseUint(cols[9], 10, 32)
	if err != nil {
		return nil, fmt.Errorf("invalid state %q", cols[9])
	}
	l.State = State(state)
	if cols[10] != "" {
		if l.UserContext, err = FormatUserContext(Unescape(cols[10])); err != nil {
			return nil, fmt.Errorf("invalid user_context: %w", err)
		}
	}
	if len(l.HWAddr) > maxHWAddrLen {
		return nil, fmt.Errorf("hwaddr of %d bytes exceeds %d", len(l.HWAddr), maxHWAddrLen)
	}
	if len(l.HWAddr) == 0 && len(l.ClientID) == 0 && l.State != StateDeclined {
		return nil, errors.New("neither hwaddr nor client_id, and state is not declined")
	}
	return l, nil
}

func parseBool(s string) (bool, error) {
	switch s {
	case "1":
		return true, nil
	case "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not 0 or 1", s)
}
