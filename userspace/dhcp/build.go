package dhcp

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sort"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/alloc"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// defaultHostnameCharSet is Kea's hostname-char-set default. The config
// package does not expose the key yet, so the default is always used.
const defaultHostnameCharSet = `[^A-Za-z0-9.-]`

// defaultIdentifiers is Kea's host-reservation-identifiers default.
var defaultIdentifiers = []string{config.IDHWAddress, config.IDDUID, config.IDCircuitID, config.IDClientID}

// build compiles the Dhcp4 configuration into the runtime model.
func build(d *config.Dhcp4, reg *stats.Registry) (*model, error) {
	m := &model{
		byID:     map[uint32]*subnet{},
		global:   newOptSet(d.OptionData),
		globalRs: newResIndex(d.Reservations),
		serverID: map[netip.Addr]bool{},
		echoCID:  d.EchoClientID,
		declineP: d.DeclineProbationPeriod,
		resIDs:   d.HostReservationIdentifiers,
		hostRe:   regexp.MustCompile(defaultHostnameCharSet),
		expiry: expiryCfg{
			reclaimWait: d.ExpiredLeasesProcessing.ReclaimTimerWaitTime,
			flushWait:   d.ExpiredLeasesProcessing.FlushReclaimedTimerWaitTime,
			hold:        d.ExpiredLeasesProcessing.HoldReclaimedTime,
			maxLeases:   int(d.ExpiredLeasesProcessing.MaxReclaimLeases),
			maxTimeMS:   d.ExpiredLeasesProcessing.MaxReclaimTime,
		},
	}
	if len(m.resIDs) == 0 {
		m.resIDs = defaultIdentifiers
	}
	if d.Authoritative != nil {
		m.globalAuthoritative = *d.Authoritative
	}
	classes, err := compileClasses(d.ClientClasses)
	if err != nil {
		return nil, err
	}
	m.classes = classes
	addSID(m, d.OptionData)
	for _, c := range d.ClientClasses {
		addSID(m, c.OptionData)
	}

	add := func(cs *config.Subnet4, nw *network, sn *config.SharedNetwork) error {
		s, err := buildSubnet(d, cs, nw, sn, reg)
		if err != nil {
			return err
		}
		if _, dup := m.byID[s.id]; dup {
			return fmt.Errorf("%s: duplicate subnet id %d", posString(cs.Pos), s.id)
		}
		m.byID[s.id] = s
		m.subnets = append(m.subnets, s)
		m.pools = append(m.pools, s.pools...)
		addSID(m, cs.OptionData)
		for _, p := range cs.Pools {
			addSID(m, p.OptionData)
		}
		return nil
	}
	for _, cs := range d.Subnet4 {
		if err := add(cs, nil, nil); err != nil {
			return nil, err
		}
	}
	for _, sn := range d.SharedNetworks {
		nw := &network{name: sn.Name}
		addSID(m, sn.OptionData)
		for _, cs := range sn.Subnet4 {
			if err := add(cs, nw, sn); err != nil {
				return nil, err
			}
			nw.subnets = append(nw.subnets, m.subnets[len(m.subnets)-1])
		}
		sort.Slice(nw.subnets, func(i, j int) bool { return nw.subnets[i].id < nw.subnets[j].id })
	}
	sort.Slice(m.subnets, func(i, j int) bool { return m.subnets[i].id < m.subnets[j].id })
	for _, s := range m.subnets {
		s.fam = s.computeFamily()
	}
	sort.Slice(m.pools, func(i, j int) bool { return m.pools[i].first.Less(m.pools[j].first) })
	for i := 1; i < len(m.pools); i++ {
		if !m.pools[i-1].last.Less(m.pools[i].first) {
			return nil, fmt.Errorf("pools %s-%s and %s-%s overlap", m.pools[i-1].first, m.pools[i-1].last, m.pools[i].first, m.pools[i].last)
		}
	}
	return m, nil
}

// buildSubnet resolves one subnet: inherited scope values, relay and
// interface from the shared network, pools with their ranges, reservations.
func buildSubnet(d *config.Dhcp4, cs *config.Subnet4, nw *network, sn *config.SharedNetwork, reg *stats.Registry) (*subnet, error) {
	if cs.ID == 0 {
		return nil, fmt.Errorf("%s: subnet %s has no id", posString(cs.Pos), cs.Subnet)
	}
	if !cs.Subnet.Addr().Is4() {
		return nil, fmt.Errorf("%s: subnet %s is not IPv4", posString(cs.Pos), cs.Subnet)
	}
	sc := d.Resolve(cs)
	s := &subnet{
		id:      cs.ID,
		prefix:  cs.Subnet.Masked(),
		mask:    net.CIDRMask(cs.Subnet.Bits(), 32),
		net:     nw,
		relays:  cs.Relay.Addrs,
		iface:   cs.Interface,
		class:   cs.ClientClass,
		res:     newResIndex(cs.Reservations),
		opts:    newOptSet(cs.OptionData),
		st:      newSubnetStats(reg, cs.ID),
		require: nil,
	}
	if sn != nil {
		if len(s.relays) == 0 {
			s.relays = sn.Relay.Addrs
		}
		if s.iface == "" {
			s.iface = sn.Interface
		}
		s.netCls = sn.ClientClass
		s.netOpts = newOptSet(sn.OptionData)
		s.require = append(s.require, sn.RequireClientClasses...)
	}
	s.require = append(s.require, cs.RequireClientClasses...)
	s.matchClientID = deref(sc.MatchClientID, true)
	s.authoritative = deref(sc.Authoritative, false)
	s.resInSubnet = deref(sc.ReservationsInSubnet, true)
	s.resGlobal = deref(sc.ReservationsGlobal, false)
	if sc.NextServer != nil {
		s.nextServer = *sc.NextServer
	}
	s.sname = deref(sc.ServerHostname, "")
	s.file = deref(sc.BootFileName, "")
	valid := deref(sc.ValidLifetime, 7200)
	s.lt = lifetimes{
		valid: valid, min: deref(sc.MinValidLifetime, valid), max: deref(sc.MaxValidLifetime, valid),
		calcTee: deref(sc.CalculateTeeTimes, false),
		t1pct:   deref(sc.T1Percent, 0.5), t2pct: deref(sc.T2Percent, 0.875),
	}
	s.storeExtInfo = deref(sc.StoreExtendedInfo, false)
	if sc.CacheThreshold != nil {
		s.cache.threshold, s.cache.thresholdSet = *sc.CacheThreshold, true
	}
	if sc.CacheMaxAge != nil {
		s.cache.maxAge, s.cache.maxAgeSet = *sc.CacheMaxAge, true
	}
	if sc.RenewTimer != nil {
		s.lt.renew, s.lt.renewSet = *sc.RenewTimer, true
	}
	if sc.RebindTimer != nil {
		s.lt.rebind, s.lt.rebSet = *sc.RebindTimer, true
	}
	for _, cp := range cs.Pools {
		if !cp.First.Is4() || !cp.Last.Is4() || cp.Last.Less(cp.First) ||
			!s.prefix.Contains(cp.First) || !s.prefix.Contains(cp.Last) {
			return nil, fmt.Errorf("%s: pool %q is not inside subnet %s", posString(cp.Pos), cp.Raw, s.prefix)
		}
		s.pools = append(s.pools, &pool{
			first: cp.First, last: cp.Last, rng: alloc.NewRange(cp.First, cp.Last), due: alloc.NewDeadlines(),
			class: cp.ClientClass, require: cp.RequireClientClasses,
			opts: newOptSet(cp.OptionData), sub: s,
		})
	}
	return s, nil
}

// addSID records configured server identifiers (option 54), which the
// server accepts as its own in queries.
func addSID(m *model, list []*config.OptionData) {
	for _, od := range list {
		if od != nil && od.Code == 54 && len(od.Wire) == 4 && (od.Space == "" || od.Space == "dhcp4") {
			m.serverID[netip.AddrFrom4([4]byte(od.Wire))] = true
		}
	}
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func posString(p config.Pos) string {
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}
