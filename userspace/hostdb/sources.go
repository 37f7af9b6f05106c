package hostdb

import (
	"context"
	"net/netip"

	"github.com/xdhcp/xdhcp/config"
)

// Sources are the configured host backends in order (hosts-database, then
// hosts-databases). Kea's HostMgr asks its alternate sources in order and
// takes the first that has the host (src/lib/dhcpsrv/host_mgr.cc,
// HostMgr::get4); Get4 returns every source's rows in source order and the
// caller keeps the first per (subnet, identifier type).
type Sources []*PgSQL

// OpenAll opens every configured postgresql backend (others were warned
// about by config and are skipped); on an error the ones already
// open are closed. conns bounds each pool.
func OpenAll(ctx context.Context, dbs []*config.HostsDatabase, defs *config.OptionDefs, conns int, opts Options) (Sources, error) {
	var out Sources
	for _, db := range dbs {
		if db.Type != "postgresql" {
			continue // config warned: not implemented (mysql)
		}
		p, err := Open(ctx, db, defs, conns, opts)
		if err != nil {
			out.Close()
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// SetOptionDefs is PgSQL.SetOptionDefs for every backend.
func (s Sources) SetOptionDefs(defs *config.OptionDefs) {
	for _, p := range s {
		p.SetOptionDefs(defs)
	}
}

// Close closes every backend.
func (s Sources) Close() {
	for _, p := range s {
		p.Close()
	}
}

// Get4 is PgSQL.Get4 over every source, in order.
func (s Sources) Get4(ctx context.Context, subnets []uint32, ids map[string][]byte) ([]config.SubnetReservation, error) {
	var out []config.SubnetReservation
	for _, p := range s {
		rs, err := p.Get4(ctx, subnets, ids)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// GetAll4ByAddr is HostMgr::getAll4(subnet_id, address): every source's
// reservations of addr in subnet, in source order.
func (s Sources) GetAll4ByAddr(ctx context.Context, subnet uint32, addr netip.Addr) ([]*config.Reservation, error) {
	var out []*config.Reservation
	for _, p := range s {
		rs, err := p.GetAll4ByAddr(ctx, subnet, addr)
		if err != nil {
			return nil, err // Kea: a backend's exception ends the lookup
		}
		out = append(out, rs...)
	}
	return out, nil
}
