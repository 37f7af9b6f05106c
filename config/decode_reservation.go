package config

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/xdhcp/xdhcp/internal/keafmt"
)

var reservationKeys = keys(IDHWAddress, IDClientID, IDDUID, IDCircuitID, IDFlexID, "ip-address",
	"hostname", "client-classes", "option-data", "next-server", "server-hostname", "boot-file-name")

var identifierTypes = []string{IDCircuitID, IDClientID, IDDUID, IDFlexID, IDHWAddress}

// parseIdentifier decodes a reservation identifier: hex ("01:02", "0x0102",
// "0102") or, except for hw-address, a single-quoted text "'abc'".
func parseIdentifier(typ, v string) ([]byte, error) {
	if typ != IDHWAddress && len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		if len(v) == 2 {
			return nil, fmt.Errorf("empty %s", typ)
		}
		return []byte(v[1 : len(v)-1]), nil
	}
	if typ == IDHWAddress {
		v = strings.ReplaceAll(v, "-", ":")
	}
	b, err := keafmt.OptionDataFromText(v)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("invalid %s '%s'", typ, v)
	}
	if typ == IDHWAddress && len(b) > 20 {
		return nil, fmt.Errorf("hw-address '%s' is too long", v)
	}
	return b, nil
}

// reservations decodes reservations of subnet s (nil for global ones) and
// checks identifier and address uniqueness.
func (d *decoder) reservations(list []*Node, s *Subnet4, defs *OptionDefs, ipUnique bool) []*Reservation {
	var out []*Reservation
	byID := map[string]bool{}
	byIP := map[netip.Addr]bool{}
	for _, n := range list {
		o := d.object(n, "reservations", "reservations", reservationKeys)
		r := &Reservation{
			Pos:            n.Pos,
			Hostname:       o.str("hostname", ""),
			ClientClasses:  o.strList("client-classes"),
			NextServer:     o.addrp("next-server"),
			ServerHostname: o.strp("server-hostname"),
			BootFileName:   o.strp("boot-file-name"),
			UserContext:    o.userContext(),
			Comment:        o.comment(),
		}
		if a := o.addrp("ip-address"); a != nil {
			r.IPAddress = *a
		}
		for _, t := range identifierTypes {
			v := o.typed(t, KindString)
			if v == nil {
				continue
			}
			if r.IdentifierType != "" {
				d.fail(v.Pos, t, "the '%s' and '%s' are mutually exclusive", r.IdentifierType, t)
				return nil
			}
			id, err := parseIdentifier(t, v.Str)
			if err != nil {
				d.fail(v.Pos, t, "%s", err.Error())
				return nil
			}
			r.IdentifierType, r.Identifier = t, id
		}
		if d.err != nil {
			return nil
		}
		if r.IdentifierType == "" {
			d.fail(n.Pos, "reservations", "one of the supported identifiers must be specified for host reservation: %s", strings.Join(identifierTypes, ", "))
			return nil
		}
		r.OptionData = d.optionData(o.list("option-data"), defs)
		if s != nil && r.IPAddress.IsValid() && !s.Subnet.Contains(r.IPAddress) {
			d.fail(n.Pos, "ip-address", "specified reservation '%s' is not within the IPv4 subnet '%s'", r.IPAddress, s.Subnet)
			return nil
		}
		key := r.IdentifierType + "=" + fmt.Sprintf("%x", r.Identifier)
		if byID[key] {
			d.fail(n.Pos, r.IdentifierType, "failed to add new host using the %s '%s' as this host has already been added", r.IdentifierType, keafmt.FormatHex(r.Identifier))
			return nil
		}
		byID[key] = true
		if r.IPAddress.IsValid() && !r.IPAddress.IsUnspecified() && ipUnique {
			if byIP[r.IPAddress] {
				d.fail(n.Pos, "ip-address", "failed to add new host using the %s '%s' for the address %s: There's already a reservation for this address", r.IdentifierType, keafmt.FormatHex(r.Identifier), r.IPAddress)
				return nil
			}
			byIP[r.IPAddress] = true
		}
		out = append(out, r)
	}
	return out
}
