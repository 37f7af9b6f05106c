package config

// scopeKeys are the inheritable keywords shared by Dhcp4, shared networks
// and subnets.
var scopeKeys = []string{
	"valid-lifetime", "min-valid-lifetime", "max-valid-lifetime", "renew-timer", "rebind-timer",
	"calculate-tee-times", "t1-percent", "t2-percent", "match-client-id", "authoritative",
	"next-server", "server-hostname", "boot-file-name", "reservation-mode",
	"reservations-global", "reservations-in-subnet", "reservations-out-of-pool",
	"store-extended-info", "cache-threshold", "cache-max-age",
}

// networkKeys are the keywords shared by shared networks and subnets.
var networkKeys = []string{
	"interface", "relay", "client-class", "require-client-classes", "option-data",
}

// scope decodes the inheritable parameters of o.
func (d *decoder) scope(o *obj) Scope {
	s := Scope{
		ValidLifetime:         o.u32p("valid-lifetime"),
		MinValidLifetime:      o.u32p("min-valid-lifetime"),
		MaxValidLifetime:      o.u32p("max-valid-lifetime"),
		RenewTimer:            o.u32p("renew-timer"),
		RebindTimer:           o.u32p("rebind-timer"),
		CalculateTeeTimes:     o.boolp("calculate-tee-times"),
		T1Percent:             o.f64p("t1-percent"),
		T2Percent:             o.f64p("t2-percent"),
		MatchClientID:         o.boolp("match-client-id"),
		Authoritative:         o.boolp("authoritative"),
		NextServer:            o.addrp("next-server"),
		ServerHostname:        o.strp("server-hostname"),
		BootFileName:          o.strp("boot-file-name"),
		ReservationsGlobal:    o.boolp("reservations-global"),
		ReservationsInSubnet:  o.boolp("reservations-in-subnet"),
		ReservationsOutOfPool: o.boolp("reservations-out-of-pool"),
		StoreExtendedInfo:     o.boolp("store-extended-info"),
		CacheThreshold:        o.f64p("cache-threshold"),
		CacheMaxAge:           o.wrappedU32p("cache-max-age"),
	}
	if mode := o.get("reservation-mode"); mode != nil {
		if s.ReservationsGlobal != nil || s.ReservationsInSubnet != nil || s.ReservationsOutOfPool != nil {
			d.fail(mode.Pos, "reservation-mode", "invalid use of both 'reservation-mode' and one of 'reservations-global', 'reservations-in-subnet' or 'reservations-out-of-pool' parameters")
			return s
		}
		var g, in, oop bool
		switch o.str("reservation-mode", "") {
		case "all":
			in = true
		case "out-of-pool":
			in, oop = true, true
		case "global":
			g = true
		case "disabled":
		default:
			d.fail(mode.Pos, "reservation-mode", "invalid reservation-mode parameter: '%s'", mode.Str)
			return s
		}
		s.ReservationsGlobal, s.ReservationsInSubnet, s.ReservationsOutOfPool = &g, &in, &oop
	}
	d.lifetimeTriplet(o, &s)
	// t1-percent and t2-percent are checked once every level is known
	// (checkTeePercents), as Kea checks them.
	return s
}

// lifetimeTriplet completes valid/min/max the way Kea's parseIntTriplet
// does: when any of them is set at a level, all three are set there.
func (d *decoder) lifetimeTriplet(o *obj, s *Scope) {
	v, lo, hi := s.ValidLifetime, s.MinValidLifetime, s.MaxValidLifetime
	if v == nil && lo == nil && hi == nil {
		return
	}
	if v == nil {
		if lo != nil {
			v = ptr(*lo)
		} else {
			v = ptr(*hi)
		}
	}
	if lo == nil {
		lo = ptr(*v)
	}
	if hi == nil {
		hi = ptr(*v)
	}
	pos := o.n.Pos
	if n := o.get("valid-lifetime"); n != nil {
		pos = n.Pos
	}
	switch {
	case *lo > *v:
		d.fail(pos, "min-valid-lifetime", "the value of min-valid-lifetime (%d) is not less than valid-lifetime (%d)", *lo, *v)
	case *hi < *v:
		d.fail(pos, "max-valid-lifetime", "the value of max-valid-lifetime (%d) is not greater than valid-lifetime (%d)", *hi, *v)
	}
	s.ValidLifetime, s.MinValidLifetime, s.MaxValidLifetime = v, lo, hi
}

// applyScopeDefaults fills every unset global parameter with Kea 2.2's
// default. RenewTimer and RebindTimer stay nil (unset).
func applyScopeDefaults(s *Scope) {
	if s.ValidLifetime == nil {
		s.ValidLifetime, s.MinValidLifetime, s.MaxValidLifetime = ptr(uint32(7200)), ptr(uint32(7200)), ptr(uint32(7200))
	}
	set := func(p **bool, v bool) {
		if *p == nil {
			*p = ptr(v)
		}
	}
	set(&s.CalculateTeeTimes, false)
	set(&s.MatchClientID, true)
	set(&s.Authoritative, false)
	set(&s.ReservationsGlobal, false)
	set(&s.ReservationsInSubnet, true)
	set(&s.ReservationsOutOfPool, false)
	set(&s.StoreExtendedInfo, false)
	if s.T1Percent == nil {
		s.T1Percent = ptr(0.5)
	}
	if s.T2Percent == nil {
		s.T2Percent = ptr(0.875)
	}
	if s.NextServer == nil {
		s.NextServer = ptr(u32Addr(0))
	}
	if s.ServerHostname == nil {
		s.ServerHostname = ptr("")
	}
	if s.BootFileName == nil {
		s.BootFileName = ptr("")
	}
}

// Resolve returns the effective parameters of subnet s: each value comes
// from the subnet, else its shared network, else the global level. The
// lifetime triplet (valid/min/max) is taken as a unit from the first level
// that sets it. Every pointer is non-nil except RenewTimer/RebindTimer.
func (c *Dhcp4) Resolve(s *Subnet4) Scope {
	levels := []*Scope{&s.Scope}
	if s.Network != nil {
		levels = append(levels, &s.Network.Scope)
	}
	levels = append(levels, &c.Scope)
	var r Scope
	for _, l := range levels {
		if r.ValidLifetime == nil && l.ValidLifetime != nil {
			r.ValidLifetime, r.MinValidLifetime, r.MaxValidLifetime = l.ValidLifetime, l.MinValidLifetime, l.MaxValidLifetime
		}
		pick(&r.RenewTimer, l.RenewTimer)
		pick(&r.RebindTimer, l.RebindTimer)
		pick(&r.CalculateTeeTimes, l.CalculateTeeTimes)
		pick(&r.T1Percent, l.T1Percent)
		pick(&r.T2Percent, l.T2Percent)
		pick(&r.MatchClientID, l.MatchClientID)
		pick(&r.Authoritative, l.Authoritative)
		pick(&r.NextServer, l.NextServer)
		pick(&r.ServerHostname, l.ServerHostname)
		pick(&r.BootFileName, l.BootFileName)
		pick(&r.ReservationsGlobal, l.ReservationsGlobal)
		pick(&r.ReservationsInSubnet, l.ReservationsInSubnet)
		pick(&r.ReservationsOutOfPool, l.ReservationsOutOfPool)
		pick(&r.StoreExtendedInfo, l.StoreExtendedInfo)
		pick(&r.CacheThreshold, l.CacheThreshold)
		pick(&r.CacheMaxAge, l.CacheMaxAge)
	}
	applyScopeDefaults(&r) // only matters for a Dhcp4 built by hand
	return r
}

func pick[T any](dst **T, v *T) {
	if *dst == nil && v != nil {
		*dst = v
	}
}
