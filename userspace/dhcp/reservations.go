package dhcp

import (
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/config"
)

// reservation is one host reservation.
type reservation struct {
	addr        netip.Addr // invalid: no address reserved
	hostname    string
	classes     []string
	opts        optSet
	nextServer  *netip.Addr
	sname, file *string
	idType      string
	id          []byte
}

// resIndex indexes the reservations of one subnet (or the global ones).
type resIndex struct {
	byHW, byCID, byCircuit map[string]*reservation
	byAddr                 map[netip.Addr]*reservation
}

func newResIndex(list []*config.Reservation) *resIndex {
	ix := &resIndex{
		byHW: map[string]*reservation{}, byCID: map[string]*reservation{},
		byCircuit: map[string]*reservation{}, byAddr: map[netip.Addr]*reservation{},
	}
	for _, r := range list {
		if r == nil {
			continue
		}
		rv := &reservation{
			addr: r.IPAddress, hostname: r.Hostname, classes: r.ClientClasses,
			opts: newOptSet(r.OptionData), nextServer: r.NextServer,
			sname: r.ServerHostname, file: r.BootFileName,
			idType: r.IdentifierType, id: r.Identifier,
		}
		key := string(r.Identifier)
		switch r.IdentifierType {
		case config.IDHWAddress:
			ix.byHW[key] = rv
		case config.IDClientID:
			ix.byCID[key] = rv
		case config.IDCircuitID:
			ix.byCircuit[key] = rv
		default:
			continue // duid / flex-id: not supported for DHCPv4 lookups here
		}
		if rv.addr.IsValid() {
			ix.byAddr[rv.addr] = rv
		}
	}
	return ix
}

func (ix *resIndex) empty() bool {
	return ix == nil || len(ix.byHW)+len(ix.byCID)+len(ix.byCircuit) == 0
}

// find looks the client up in the configured identifier order.
func (ix *resIndex) find(order []string, hw, cid, circuit []byte) *reservation {
	if ix.empty() {
		return nil
	}
	for _, t := range order {
		var r *reservation
		switch t {
		case config.IDHWAddress:
			if len(hw) > 0 {
				r = ix.byHW[string(hw)]
			}
		case config.IDClientID:
			if len(cid) > 0 {
				r = ix.byCID[string(cid)]
			}
		case config.IDCircuitID:
			if len(circuit) > 0 {
				r = ix.byCircuit[string(circuit)]
			}
		}
		if r != nil {
			return r
		}
	}
	return nil
}

// ownedBy reports whether r matches the client's identifiers.
func (r *reservation) ownedBy(hw, cid, circuit []byte) bool {
	switch r.idType {
	case config.IDHWAddress:
		return string(r.id) == string(hw)
	case config.IDClientID:
		return len(cid) > 0 && string(r.id) == string(cid)
	case config.IDCircuitID:
		return len(circuit) > 0 && string(r.id) == string(circuit)
	}
	return false
}

// circuitID returns option 82 sub-option 1, or nil.
func circuitID(msg *dhcpv4.DHCPv4) []byte {
	rai := msg.RelayAgentInfo()
	if rai == nil {
		return nil
	}
	return rai.Get(dhcpv4.AgentCircuitIDSubOption)
}

// lookupHost finds the client's reservation in the selected subnet's shared
// network (selected subnet first) and, when enabled, the global ones. It
// sets x.host and x.hostSub and adds KNOWN or UNKNOWN plus the reserved
// classes.
func (x *exchange) lookupHost() {
	m := x.e.m
	circuit := circuitID(x.req.Msg)
	if x.sub != nil {
		for _, s := range x.sub.family() {
			if !s.resInSubnet || !s.allowed(x.cls) {
				continue
			}
			if r := s.res.find(m.resIDs, x.hw, x.rawCID, circuit); r != nil {
				x.host, x.hostSub = r, s
				break
			}
		}
		if x.host == nil && x.sub.resGlobal {
			if r := m.globalRs.find(m.resIDs, x.hw, x.rawCID, circuit); r != nil {
				x.host = r
			}
		}
	}
}

// reservedForOther reports whether a is reserved in s for a different client.
func (x *exchange) reservedForOther(s *subnet, a netip.Addr) bool {
	r := s.res.byAddr[a]
	return r != nil && !r.ownedBy(x.hw, x.rawCID, circuitID(x.req.Msg))
}
