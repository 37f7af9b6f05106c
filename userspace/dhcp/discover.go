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
	if !x.classifyLate() {
		return x.w.drop(dropClass)
	}
	c, ok := x.offerAddress()
	if !ok {
		x.e.allocFail(x)
		return x.w.drop(dropNoAddress)
	}
	x.recordOffer(c)
	x.sub, x.pool = c.sub, c.pool
	b := x.newReply(dhcpv4.MessageTypeOffer)
	x.fillLease(b, c, x.validLifetime(c.sub))
	return x.sealTo(b, nil)
}
