package dhcp

import (
	"encoding/binary"
	"math"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// validLifetime is Kea's AllocEngine::getValidLft: the first class (in the
// order added) with a valid-lifetime supplies the triplet, else the subnet;
// a client-requested lifetime (option 51) is clamped to [min, max].
func (x *exchange) validLifetime(s *subnet) uint32 {
	valid, lo, hi := s.lt.valid, s.lt.min, s.lt.max
	for name := range x.cls.All() {
		d := x.e.m.classes.byName[name]
		if d == nil || d.valid == nil {
			continue
		}
		valid, lo, hi = *d.valid, *d.valid, *d.valid
		if d.min != nil {
			lo = *d.min
		}
		if d.max != nil {
			hi = *d.max
		}
		break
	}
	if b := x.req.Msg.Options.Get(dhcpv4.OptionIPAddressLeaseTime); len(b) == 4 {
		if req := binary.BigEndian.Uint32(b); req > 0 {
			switch {
			case req < lo:
				return lo
			case req > hi:
				return hi
			default:
				return req
			}
		}
	}
	return valid
}

// teeTimes is Kea's Dhcpv4Srv::setTeeTimes: configured renew/rebind timers,
// else (calculate-tee-times) round(percent × valid), rounding half away
// from zero as C's round does (0.875 × 18 is 16, see
// docs/kea/config-surface.md §14); T2 is sent only if
// 0 < T2 < valid, T1 only if 0 < T1 < (T2 if sent, else valid). A zero
// result means "do not send".
func teeTimes(lt *lifetimes, valid uint32) (t1, t2 uint32) {
	switch {
	case lt.rebSet:
		t2 = lt.rebind
	case lt.calcTee:
		t2 = uint32(math.Round(lt.t2pct * float64(valid)))
	}
	ceiling := valid
	if t2 > 0 && t2 < ceiling {
		ceiling = t2
	} else {
		t2 = 0
	}
	switch {
	case lt.renewSet:
		t1 = lt.renew
	case lt.calcTee:
		t1 = uint32(math.Round(lt.t1pct * float64(valid)))
	}
	if !(t1 > 0 && t1 < ceiling) {
		t1 = 0
	}
	return t1, t2
}

// putU32 encodes v into b and returns it as option data.
func putU32(b *[4]byte, v uint32) []byte {
	binary.BigEndian.PutUint32(b[:], v)
	return b[:]
}
