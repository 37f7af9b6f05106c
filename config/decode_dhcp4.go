package config

var dhcp4Keys = keys(append(append([]string{
	"echo-client-id", "decline-probation-period", "ip-reservations-unique",
	"early-global-reservations-lookup", "host-reservation-identifiers", "sanity-checks",
	"interfaces-config", "lease-database", "expired-leases-processing", "multi-threading",
	"control-socket", "hooks-libraries", "client-classes", "option-def", "option-data",
	"shared-networks", "subnet4", "reservations", "loggers", "parked-packet-limit",
}, scopeKeys...), unimplKeys(scopeUnimpl, globalUnimpl)...)...)

// decodeDhcp4 fills a Dhcp4 from its map node.
func (d *decoder) decodeDhcp4(n *Node) *Dhcp4 {
	o := d.object(n, "Dhcp4", "Dhcp4", dhcp4Keys)
	dh := &Dhcp4{
		Pos:                           n.Pos,
		Scope:                         d.scope(o),
		EchoClientID:                  o.bool("echo-client-id", true),
		DeclineProbationPeriod:        o.u32("decline-probation-period", 86400),
		ParkedPacketLimit:             o.u32("parked-packet-limit", 256),
		ServerTag:                     o.str("server-tag", ""),
		IPReservationsUnique:          o.bool("ip-reservations-unique", true),
		EarlyGlobalReservationsLookup: o.bool("early-global-reservations-lookup", false),
		HostReservationIdentifiers:    o.strList("host-reservation-identifiers"),
		UserContext:                   o.userContext(),
		Comment:                       o.comment(),
	}
	if d.err != nil {
		return nil
	}
	applyScopeDefaults(&dh.Scope)
	d.checkUnimpl(o, "Dhcp4", scopeUnimpl, globalUnimpl)
	if o.get("host-reservation-identifiers") == nil {
		dh.HostReservationIdentifiers = []string{IDHWAddress, IDDUID, IDCircuitID, IDClientID}
	}
	for i, id := range dh.HostReservationIdentifiers {
		switch id {
		case IDHWAddress, IDDUID, IDCircuitID, IDClientID, IDFlexID:
		default:
			d.fail(o.get("host-reservation-identifiers").List[i].Pos, "host-reservation-identifiers", "invalid host reservation identifier '%s'", id)
			return nil
		}
	}
	dh.SanityChecks = d.sanityChecks(o.get("sanity-checks"))
	dh.InterfacesConfig = d.interfacesConfig(o.get("interfaces-config"))
	dh.LeaseDatabase = d.leaseDatabase(o.get("lease-database"))
	dh.ExpiredLeasesProcessing = d.expiredLeases(o.get("expired-leases-processing"))
	dh.MultiThreading = d.multiThreading(o.get("multi-threading"))
	dh.ControlSocket = d.controlSocket(o.get("control-socket"))
	dh.Loggers = d.loggers(o.list("loggers"))
	dh.XDHCP = d.xdhcp(o.get("user-context"))
	d.hooks(o.list("hooks-libraries"), dh)
	if d.err != nil {
		return nil
	}

	dh.Defs = newStdDefs()
	dh.OptionDef = d.optionDefs(o.list("option-def"), dh.Defs)
	dh.ClientClasses = d.clientClasses(o.list("client-classes"), dh.Defs)
	dh.OptionData = d.optionData(o.list("option-data"), dh.Defs)
	dh.Reservations = d.reservations(o.list("reservations"), nil, dh.Defs, dh.IPReservationsUnique)
	dh.SharedNetworks = d.sharedNetworks(o.list("shared-networks"), dh.Defs, dh)
	dh.Subnet4 = d.subnets(o.list("subnet4"), dh.Defs, nil, dh)
	if d.err != nil {
		return nil
	}
	d.assignSubnetIDs(dh)
	d.checkTeePercents(dh)
	d.checkCacheThreshold(dh)
	if d.err != nil {
		return nil
	}
	return dh
}

// AllSubnets returns every subnet (shared networks first, then top-level
// subnet4, each in file order), the order in which Kea numbers them.
func (c *Dhcp4) AllSubnets() []*Subnet4 {
	var out []*Subnet4
	for _, sn := range c.SharedNetworks {
		out = append(out, sn.Subnet4...)
	}
	return append(out, c.Subnet4...)
}

// assignSubnetIDs numbers subnets without an id from 1 in Kea's order and
// refuses clashes.
func (d *decoder) assignSubnetIDs(dh *Dhcp4) {
	used := map[uint32]bool{}
	next := uint32(1)
	for _, s := range dh.AllSubnets() {
		if s.ID == 0 {
			s.ID = next
			next++
		}
		if used[s.ID] {
			d.fail(s.Pos, "id", "ID of the new IPv4 subnet '%d' is already in use", s.ID)
			return
		}
		used[s.ID] = true
	}
}

// checkCacheThreshold refuses a cache-threshold outside (0, 1) that a
// shared network or subnet uses: Kea 2.2 checks it in the network parsers
// (base_network_parser.cc parseCacheParams), a global value only once it
// is copied into a network or subnet that does not set its own.
func (d *decoder) checkCacheThreshold(dh *Dhcp4) {
	bad := func(v *float64) bool { return v != nil && (*v <= 0 || *v >= 1) }
	fail := func(pos Pos, v float64) {
		d.fail(pos, "cache-threshold", "cache-threshold: %g is invalid, it must be greater than 0.0 and less than 1.0", v)
	}
	for _, sn := range dh.SharedNetworks {
		v := sn.CacheThreshold
		if v == nil {
			v = dh.CacheThreshold
		}
		if bad(v) {
			fail(sn.Pos, *v)
			return
		}
	}
	for _, s := range dh.AllSubnets() {
		if r := dh.Resolve(s); bad(r.CacheThreshold) {
			fail(s.Pos, *r.CacheThreshold)
			return
		}
	}
}

// checkTeePercents is Kea 2.2's BaseNetworkParser::parseTeePercents
// (base_network_parser.cc), run, as Kea runs it, on each shared network and
// subnet with the values it inherits copied in, Kea's global defaults
// included (a global value is checked only once a network or subnet
// inherits it): when calculate-tee-times is true there, t2-percent and
// t1-percent must be in (0, 1) and t1-percent below t2-percent
// (docs/kea/config-surface.md §13; observed with kea-dhcp4 -t).
func (d *decoder) checkTeePercents(dh *Dhcp4) {
	check := func(pos Pos, levels ...*Scope) bool {
		var calc *bool
		var t1, t2 *float64
		for _, l := range levels {
			pick(&calc, l.CalculateTeeTimes)
			pick(&t1, l.T1Percent)
			pick(&t2, l.T2Percent)
		}
		if calc == nil || !*calc {
			return true
		}
		switch {
		case t2 != nil && (*t2 <= 0 || *t2 >= 1):
			d.fail(pos, "t2-percent", "t2-percent: %g is invalid, it must be greater than 0.0 and less than 1.0", *t2)
		case t1 != nil && (*t1 <= 0 || *t1 >= 1):
			d.fail(pos, "t1-percent", "t1-percent: %g is invalid, it must be greater than 0.0 and less than 1.0", *t1)
		case t1 != nil && t2 != nil && *t1 >= *t2:
			d.fail(pos, "t1-percent", "t1-percent: %g is invalid, it must be less than t2-percent: %g", *t1, *t2)
		default:
			return true
		}
		return false
	}
	for _, sn := range dh.SharedNetworks {
		if !check(sn.Pos, &sn.Scope, &dh.Scope) {
			return
		}
	}
	for _, s := range dh.AllSubnets() {
		levels := []*Scope{&s.Scope}
		if s.Network != nil {
			levels = append(levels, &s.Network.Scope)
		}
		if !check(s.Pos, append(levels, &dh.Scope)...) {
			return
		}
	}
}
