// Package hostdb reads DHCPv4 host reservations from Kea 2.2's host
// backends: a hosts-database / hosts-databases of type postgresql, on the
// hosts and dhcp4_options tables that `kea-admin db-init pgsql` creates
// (src/share/database/scripts/pgsql/dhcpdb_create.pgsql of Kea-2.2.0).
// Operators add reservations with SQL, as Kea 2.2's ARM tells them
// (doc/sphinx/arm/dhcp4-srv.rst "Host Reservations in the Database").
//
// The queries are Kea's (src/lib/dhcpsrv/pgsql_host_data_source.cc,
// PgSqlHostDataSourceImpl's tagged statements GET_HOST_SUBID4_DHCPID and
// GET_HOST_SUBID_ADDR), with one difference of shape: Get4 asks for every
// identifier type the client presents and every subnet of its shared
// network (and the global subnet id 0) in one statement, where Kea's
// AllocEngine::findReservation asks HostMgr::get4 once per (subnet,
// identifier type). The rows are the same rows; the caller picks among
// them in Kea's order (docs/kea/hosts-db.md §3). Nothing is cached: every
// lookup reads the database, as Kea without the host_cache hook does, so a
// reservation inserted, changed or deleted is seen by the next query.
//
// The package knows config (for the reservation type and option
// definitions) and pgx; it does not know the engine, which defines the
// interface it consumes (dhcp.HostSource).
package hostdb
