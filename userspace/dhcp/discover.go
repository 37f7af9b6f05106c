package dhcp

import (
	"github.com/insomniacslk/dhcp/dhcpv4"
)

// discover answers a DHCPDISCOVER with an OFFER. No lease is written (Kea
// 2.2); the address is held for the REQUEST only with offer-lifetime > 0
// (see offers.go).
func (x *exchange) discover() *Reply {
	x.sub = x.selectSubnet()
	if x.sub == nil {
		return x.w.drop(dropNoSubnet)
	}
	if c, ok := x.classifyLate(); !ok {
		return x.w.drop(c)
	}
	x.prefetchDiscover()
	c, ok := x.offerAddress()
	x.unpickSpec()
	if x.hostsFailed() {
		return x.w.drop(dropHostsDB)
	}
	if !ok {
		x.e.allocFail(x)
		return x.w.drop(dropNoAddress)
	}
	x.recordOffer(c)
	x.sub, x.pool = c.sub, c.pool
	b := x.newReply(dhcpv4.MessageTypeOffer)
	x.fillLease(b, c, x.offerLifetime(c))
	return x.sealTo(b, nil)
}

// offerLifetime is the lifetime an OFFER reports: the configured one, or,
// when the offered address is the client's lease and Kea 2.2's lease
// caching would reuse it, its remaining lifetime (AllocEngine::renewLease4
// runs for a DISCOVER too, as a fake allocation, and Dhcpv4Srv::assignLease
// reports reuseable_valid_lft_).
func (x *exchange) offerLifetime(c candidate) uint32 {
	valid := x.validLifetime(c.sub)
	if !c.sub.cache.thresholdSet && !c.sub.cache.maxAgeSet && valid != infiniteLft {
		return valid
	}
	cur, ok := x.e.store.Get(c.addr)
	if !ok || !belongsTo(cur, x.hw, x.cidFor(c.sub)) {
		return valid
	}
	var lb leaseBlock
	nl := x.buildLease(c, valid, &lb)
	nl.UserContext = x.extendedInfo(c.sub, cur.UserContext)
	if r := c.sub.reusableLft(cur, nl, x.now.Unix()); r > 0 {
		return r
	}
	return valid
}
