package lease

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/xdhcp/xdhcp/internal/keafmt"
)

// JSON is Kea's lease4 JSON form (Lease4::toElement), as returned by the
// lease commands and, with Expire instead of CLTT, as sent by HA in
// lease4-update and lease4-del (docs/kea/control-api.md §5, docs/kea/ha-protocol.md §4.2).
type JSON struct {
	IPAddress   string          `json:"ip-address"`
	HWAddress   string          `json:"hw-address"`
	ClientID    string          `json:"client-id,omitempty"`
	SubnetID    uint32          `json:"subnet-id"`
	CLTT        *int64          `json:"cltt,omitempty"`
	Expire      *int64          `json:"expire,omitempty"`
	ValidLft    *uint32         `json:"valid-lft,omitempty"`
	FqdnFwd     bool            `json:"fqdn-fwd"`
	FqdnRev     bool            `json:"fqdn-rev"`
	Hostname    string          `json:"hostname"`
	State       uint32          `json:"state"`
	UserContext json.RawMessage `json:"user-context,omitempty"`
}

// ToJSON renders l the way lease4-get returns it (with cltt).
func ToJSON(l *Lease) JSON {
	cltt, valid := l.CLTT, l.ValidLifetime
	j := JSON{
		IPAddress: l.Addr.String(),
		HWAddress: keafmt.FormatHex(l.HWAddr),
		SubnetID:  l.SubnetID,
		CLTT:      &cltt,
		ValidLft:  &valid,
		FqdnFwd:   l.FqdnFwd,
		FqdnRev:   l.FqdnRev,
		Hostname:  l.Hostname,
		State:     uint32(l.State),
	}
	if l.ClientID != nil {
		j.ClientID = keafmt.FormatHex(l.ClientID)
	}
	if l.UserContext != "" {
		j.UserContext = json.RawMessage(l.UserContext)
	}
	return j
}

// ToHAJSON renders l the way an HA peer sends it: expire instead of cltt.
func ToHAJSON(l *Lease) JSON {
	j := ToJSON(l)
	exp := l.Expire()
	j.CLTT, j.Expire = nil, &exp
	return j
}

// FromJSON converts a received lease (lease4-add, lease4-update, HA) into a
// Lease. now is used when expire is absent; defaultValid when valid-lft is
// absent. The subnet is taken as given; the caller checks that it exists and
// contains the address.
func FromJSON(j *JSON, now int64, defaultValid uint32) (*Lease, error) {
	addr, err := netip.ParseAddr(j.IPAddress)
	if err != nil || !addr.Is4() {
		return nil, fmt.Errorf("'%s' is not a IPv4 address", j.IPAddress)
	}
	hw, err := keafmt.ClientIDFromText(j.HWAddress)
	if err != nil {
		return nil, fmt.Errorf("invalid hw-address %q: %w", j.HWAddress, err)
	}
	l := &Lease{Addr: addr, HWAddr: net.HardwareAddr(hw), SubnetID: j.SubnetID,
		FqdnFwd: j.FqdnFwd, FqdnRev: j.FqdnRev, Hostname: strings.ToLower(j.Hostname)}
	if len(hw) == 0 {
		l.HWAddr = nil
	}
	if j.ClientID != "" {
		if l.ClientID, err = keafmt.ClientIDFromText(j.ClientID); err != nil {
			return nil, fmt.Errorf("invalid client-id %q: %w", j.ClientID, err)
		}
	}
	l.ValidLifetime = defaultValid
	if j.ValidLft != nil {
		l.ValidLifetime = *j.ValidLft
	}
	switch {
	case j.Expire != nil:
		if *j.Expire <= 0 {
			return nil, errors.New("expiration time must be positive for address " + j.IPAddress)
		}
		if *j.Expire < int64(l.ValidLifetime) {
			return nil, errors.New("expiration time must be greater than valid lifetime for address " + j.IPAddress)
		}
		l.CLTT = *j.Expire - int64(l.ValidLifetime)
	case j.CLTT != nil:
		l.CLTT = *j.CLTT
	default:
		l.CLTT = now
	}
	if (l.FqdnFwd || l.FqdnRev) && l.Hostname == "" {
		return nil, errors.New("No hostname specified and either forward or reverse fqdn was set to true.")
	}
	if j.State > uint32(StateExpiredReclaimed) {
		return nil, fmt.Errorf("Invalid state value: %d, supported values are: 0, 1, 2", j.State)
	}
	l.State = State(j.State)
	if len(j.UserContext) > 0 && string(j.UserContext) != "null" {
		var m map[string]any
		if err := json.Unmarshal(j.UserContext, &m); err != nil {
			return nil, errors.New("user context is not a map")
		}
		compact, _ := json.Marshal(m)
		l.UserContext = string(compact)
	}
	return l, nil
}
