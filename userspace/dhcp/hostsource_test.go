package dhcp

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/config"
)

// memHosts is an in-memory HostSource with the backend's contract: rows
// filtered by subnet and identifier, every call counted, an error on demand.
type memHosts struct {
	mu     sync.Mutex
	rows   []config.SubnetReservation
	err    error
	get4   int
	byAddr int
}

func (m *memHosts) Get4(_ context.Context, subnets []uint32, ids map[string][]byte) ([]config.SubnetReservation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.get4++
	if m.err != nil {
		return nil, m.err
	}
	var out []config.SubnetReservation
	for _, r := range m.rows {
		for _, s := range subnets {
			if r.SubnetID == s && string(ids[r.Reservation.IdentifierType]) == string(r.Reservation.Identifier) && len(r.Reservation.Identifier) > 0 {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

func (m *memHosts) GetAll4ByAddr(_ context.Context, subnet uint32, a netip.Addr) ([]*config.Reservation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byAddr++
	if m.err != nil {
		return nil, m.err
	}
	var out []*config.Reservation
	for _, r := range m.rows {
		if r.SubnetID == subnet && r.Reservation.IPAddress == a {
			out = append(out, r.Reservation)
		}
	}
	return out, nil
}

const hostsConfig = `{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "eth0" ] },
  "valid-lifetime": 600,
  "host-reservation-identifiers": [ "hw-address", "client-id" ],
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.50 - 192.0.2.52" } ],
    "reservations": [ { "client-id": "01:aa:bb:cc:00:00:01", "ip-address": "192.0.2.10" },
                      { "hw-address": "aa:bb:cc:00:00:02", "ip-address": "192.0.2.11" } ] } ] } }`

func res(typ string, id []byte, a string) *config.Reservation {
	r := &config.Reservation{IdentifierType: typ, Identifier: id}
	if a != "" {
		r.IPAddress = netip.MustParseAddr(a)
	}
	return r
}

// TestHostSourceOrder: per identifier type, the configuration then the
// database (HostMgr::get4 called by AllocEngine::findReservation per type;
// docs/kea/hosts-db.md §3).
func TestHostSourceOrder(t *testing.T) {
	hs := &memHosts{rows: []config.SubnetReservation{
		// client 1: config has its client-id, the database its hw-address;
		// hw-address comes first in the order, so the database wins.
		{SubnetID: 1, Reservation: res(config.IDHWAddress, mac(1), "192.0.2.20")},
		// client 2: both have its hw-address; the configuration wins.
		{SubnetID: 1, Reservation: res(config.IDHWAddress, mac(2), "192.0.2.21")},
		// pool address .50 reserved for a client that never asks.
		{SubnetID: 1, Reservation: res(config.IDHWAddress, mac(9), "192.0.2.50")},
		// .51 reserved twice (ip-reservations-unique false), the second
		// for client 4: addressReserved lets it have it.
		{SubnetID: 1, Reservation: res(config.IDHWAddress, mac(8), "192.0.2.51")},
		{SubnetID: 1, Reservation: res(config.IDHWAddress, mac(4), "192.0.2.51")},
	}}
	v := newEnv(t, hostsConfig, func(d *Deps) { d.Hosts = hs })
	cid := dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{1, 0xaa, 0xbb, 0xcc, 0, 0, 1}))
	if got := addrOf(v.dora(mac(1), cid).YourIPAddr).String(); got != "192.0.2.20" {
		t.Errorf("client 1: %s, want the database's hw-address reservation 192.0.2.20", got)
	}
	if got := addrOf(v.dora(mac(2)).YourIPAddr).String(); got != "192.0.2.11" {
		t.Errorf("client 2: %s, want the configuration's 192.0.2.11", got)
	}
	before := hs.byAddr
	if got := addrOf(v.dora(mac(3)).YourIPAddr).String(); got == "192.0.2.50" {
		t.Errorf("client 3 got 192.0.2.50, reserved in the database for another client")
	}
	if hs.byAddr == before {
		t.Errorf("no address check reached the database")
	}
	if got := addrOf(v.dora(mac(4)).YourIPAddr).String(); got != "192.0.2.51" {
		t.Errorf("client 4: %s, want 192.0.2.51, reserved for it and for another", got)
	}
}

// TestHostSourceError: a backend error drops the query and is counted.
func TestHostSourceError(t *testing.T) {
	hs := &memHosts{err: errors.New("connection refused")}
	v := newEnv(t, hostsConfig, func(d *Deps) { d.Hosts = hs })
	if r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(5)))); r != nil {
		t.Fatalf("got a reply with the hosts database failing: %v", r.Msg)
	}
	if n := v.cell("pkt4-dropped-hosts-database-error"); n != 1 {
		t.Errorf("pkt4-dropped-hosts-database-error = %d, want 1", n)
	}
	hs.mu.Lock()
	hs.err = nil
	hs.mu.Unlock()
	if r := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, mac(5)))); r == nil {
		t.Errorf("no OFFER once the database answers again")
	}
}
