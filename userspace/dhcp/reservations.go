package dhcp

import (
	"context"
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
		rv := toReservation(r)
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

// toReservation compiles a configured or database reservation.
func toReservation(r *config.Reservation) *reservation {
	return &reservation{
		addr: r.IPAddress, hostname: r.Hostname, classes: r.ClientClasses,
		opts: newOptSet(r.OptionData), nextServer: r.NextServer,
		sname: r.ServerHostname, file: r.BootFileName,
		idType: r.IdentifierType, id: r.Identifier,
	}
}

func (ix *resIndex) empty() bool {
	return ix == nil || len(ix.byHW)+len(ix.byCID)+len(ix.byCircuit) == 0
}

// findType looks the client up by one identifier type.
func (ix *resIndex) findType(t string, hw, cid, circuit []byte) *reservation {
	if ix.empty() {
		return nil
	}
	switch t {
	case config.IDHWAddress:
		if len(hw) > 0 {
			return ix.byHW[string(hw)]
		}
	case config.IDClientID:
		if len(cid) > 0 {
			return ix.byCID[string(cid)]
		}
	case config.IDCircuitID:
		if len(circuit) > 0 {
			return ix.byCircuit[string(circuit)]
		}
	}
	return nil
}

// find looks the client up in the configured identifier order: for each
// identifier type the configuration's reservation, then the host
// backends' (db, the rows Get4 returned, in source order) for subnet id
// sid. This is HostMgr::get4(subnet_id, type, id) called by
// AllocEngine::findReservation once per type (src/lib/dhcpsrv/host_mgr.cc:
// CfgHosts first, then each alternate source; docs/kea/hosts-db.md §3).
func (ix *resIndex) find(order []string, hw, cid, circuit []byte, sid uint32, db []config.SubnetReservation) *reservation {
	if ix.empty() && len(db) == 0 {
		return nil
	}
	for _, t := range order {
		if r := ix.findType(t, hw, cid, circuit); r != nil {
			return r
		}
		for _, d := range db {
			if d.SubnetID == sid && d.Reservation.IdentifierType == t {
				return toReservation(d.Reservation)
			}
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
// classes. With host backends configured it reads them once for every
// subnet it may look in; an error from them is returned (Kea drops the
// query when a host backend throws).
func (x *exchange) lookupHost() error {
	m := x.e.m
	if x.sub == nil {
		return nil
	}
	circuit := circuitID(x.req.Msg)
	var db []config.SubnetReservation
	if x.e.hosts != nil {
		var err error
		if db, err = x.dbHosts(circuit); err != nil {
			return err
		}
	}
	for _, s := range x.sub.family() {
		if !s.resInSubnet || !s.allowed(x.cls) {
			continue
		}
		if r := s.res.find(m.resIDs, x.hw, x.rawCID, circuit, s.id, db); r != nil {
			x.host, x.hostSub = r, s
			break
		}
	}
	if x.host == nil && x.sub.resGlobal {
		if r := m.globalRs.find(m.resIDs, x.hw, x.rawCID, circuit, globalSubnetID, db); r != nil {
			x.host = r
		}
	}
	return nil
}

// globalSubnetID is the subnet id of global reservations in a host
// backend (SUBNET_ID_GLOBAL, src/lib/dhcpsrv/subnet_id.h).
const globalSubnetID = 0

// dbHosts asks the host backends for every reservation lookupHost may
// use: the family's subnets that take reservations, the global id when
// the selected subnet takes global ones, every identifier type of
// host-reservation-identifiers the client presents. duid and flex-id are
// not asked: DHCPv4 DUIDs (RFC 4361 client-ids) are not derived here,
// and flex-id needs Kea's flex_id hook, which Kea 2.2's open-source
// packages do not ship.
func (x *exchange) dbHosts(circuit []byte) ([]config.SubnetReservation, error) {
	var subs [8]uint32
	ids := subs[:0]
	for _, s := range x.sub.family() {
		if s.resInSubnet && s.allowed(x.cls) {
			ids = append(ids, s.id)
		}
	}
	if x.sub.resGlobal {
		ids = append(ids, globalSubnetID)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	want := make(map[string][]byte, 3)
	for _, t := range x.e.m.resIDs {
		switch t {
		case config.IDHWAddress:
			want[t] = x.hw
		case config.IDClientID:
			want[t] = x.rawCID
		case config.IDCircuitID:
			want[t] = circuit
		}
	}
	return x.e.hosts.Get4(context.Background(), ids, want)
}

// reservedForOther reports whether a is reserved in s for a different
// client: the configuration's reservations, then the host backends, as
// Kea's addressReserved asks HostMgr::get4 / getAll4(subnet_id, address)
// (src/lib/dhcpsrv/alloc_engine.cc): only when s takes in-subnet
// reservations and, with reservations-out-of-pool, only for addresses
// outside its pools. A backend error makes every address look reserved
// and is kept in x.hostErr; the caller drops the query.
func (x *exchange) reservedForOther(s *subnet, a netip.Addr) bool {
	circuit := circuitID(x.req.Msg)
	if r := s.res.byAddr[a]; r != nil {
		return !r.ownedBy(x.hw, x.rawCID, circuit)
	}
	if x.e.hosts == nil || !s.resInSubnet {
		return false
	}
	if x.hostErr != nil {
		return true
	}
	if s.resOutOfPool && s.inPools(a) {
		return false
	}
	hosts, err := x.e.hosts.GetAll4ByAddr(context.Background(), s.id, a)
	if err != nil {
		x.hostErr = err
		return true
	}
	// addressReserved: one of them being the client's frees the address
	// for it; otherwise any reservation holds it.
	for _, r := range hosts {
		if toReservation(r).ownedBy(x.hw, x.rawCID, circuit) {
			return false
		}
	}
	return len(hosts) > 0
}

// inPools reports whether a is in one of s's pools.
func (s *subnet) inPools(a netip.Addr) bool {
	for _, p := range s.pools {
		if !a.Less(p.first) && !p.last.Less(a) {
			return true
		}
	}
	return false
}
