package dhcp

import (
	"bytes"
	"sort"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/internal/keafmt"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// infiniteLft is Kea's Lease::INFINITY_LFT.
const infiniteLft = 0xffffffff

// leaseCache is a subnet's resolved cache-threshold and cache-max-age
// (inherited from the shared network or the global level; Kea's
// Network::getCacheThreshold / getCacheMaxAge). Both unset: no caching.
type leaseCache struct {
	threshold    float64
	thresholdSet bool
	maxAge       uint32
	maxAgeSet    bool
}

// reusableLft is Kea 2.2's lease caching decision (docs/kea/config-surface.md §14) for a renewal
// (alloc_engine.cc AllocEngine::renewLease4, which calls setLeaseReusable
// only when updateLease4Information reports no significant change): cur is
// the stored lease, nl what the renewal would store. It returns the
// remaining lifetime of cur to report (the lease is reused: not written,
// not replicated), or 0 (the renewal is written as usual).
//
// setLeaseReusable (Lease4): only a lease in the default state; an
// infinite valid lifetime is always reused; time must not go backwards;
// age = now - cur's CLTT must be below cur's valid lifetime; with
// cache-max-age set, 0 < age <= cache-max-age is needed; with
// cache-threshold set (in (0, 1]), age <= uint32(new valid lifetime ×
// threshold), which then replaces cache-max-age as the limit; a limit of 0
// (neither set) means no caching. The reported lifetime is cur's valid
// lifetime minus age (Dhcpv4Srv::assignLease sets valid_lft_ to
// reuseable_valid_lft_, and setTeeTimes derives T1/T2 from it).
func (s *subnet) reusableLft(cur, nl *lease.Lease, now int64) uint32 {
	c := &s.cache
	if cur.State != lease.StateDefault {
		return 0
	}
	if !c.thresholdSet && !c.maxAgeSet && nl.ValidLifetime != infiniteLft {
		return 0
	}
	if leaseChanged(cur, nl) {
		return 0
	}
	if nl.ValidLifetime == infiniteLft {
		return infiniteLft
	}
	if now < cur.CLTT {
		return 0
	}
	age := uint32(now - cur.CLTT)
	if now-cur.CLTT >= int64(cur.ValidLifetime) {
		return 0
	}
	var maxAge uint32
	if c.maxAgeSet {
		maxAge = c.maxAge
		if maxAge == 0 || age > maxAge {
			return 0
		}
	}
	if c.thresholdSet {
		if c.threshold <= 0 || c.threshold > 1 {
			return 0
		}
		maxAge = uint32(float64(nl.ValidLifetime) * c.threshold)
		if age > maxAge {
			return 0
		}
	}
	if maxAge == 0 {
		return 0
	}
	return cur.ValidLifetime - age
}

// leaseChanged is Kea 2.2's AllocEngine::updateLease4Information verdict:
// a renewal changes the lease significantly when the subnet, hardware
// address, client id, FQDN flags, hostname or user context (extended info)
// differ, or the valid lifetime shrinks.
func leaseChanged(cur, nl *lease.Lease) bool {
	return cur.SubnetID != nl.SubnetID ||
		!bytes.Equal(cur.HWAddr, nl.HWAddr) ||
		!bytes.Equal(cur.ClientID, nl.ClientID) ||
		nl.ValidLifetime < cur.ValidLifetime ||
		cur.FqdnFwd != nl.FqdnFwd || cur.FqdnRev != nl.FqdnRev ||
		cur.Hostname != nl.Hostname ||
		cur.UserContext != nl.UserContext
}

// extendedInfo (docs/kea/config-surface.md §14) returns the lease user context after Kea 2.2's
// AllocEngine::updateLease4ExtendedInfo (alloc_engine.cc, tag Kea-2.2.0):
// with store-extended-info and a relay agent information option (82) in
// the query, the context (a copy of the stored lease's, else a new map)
// gets "ISC": {"relay-agent-info": "0x<hex>"} — the option's data as
// Option::toHexString writes it, upper-case hex of the sub-options as Kea
// repacks them (in sub-option code order, LibDHCP's option multimap).
// Kea 2.2 stores exactly this string; the sub-option map ("sub-options",
// "circuit-id", "remote-id") is Kea 2.4's. Otherwise ctx is returned
// unchanged.
func (x *exchange) extendedInfo(s *subnet, ctx string) string {
	if !s.storeExtInfo {
		return ctx
	}
	rai := x.req.Msg.Options.Get(dhcpv4.OptionRelayAgentInformation)
	if len(rai) == 0 {
		return ctx
	}
	m := map[string]any{}
	if ctx != "" {
		if v, err := keafmt.ParseElement(ctx); err == nil {
			if cm, ok := v.(map[string]any); ok {
				m = cm
			}
		}
	}
	hex := append([]byte("0x"), make([]byte, 0, 2*len(rai))...)
	const digits = "0123456789ABCDEF"
	for _, b := range repackRAI(rai) {
		hex = append(hex, digits[b>>4], digits[b&0xf])
	}
	m["ISC"] = map[string]any{"relay-agent-info": string(hex)}
	var b bytes.Buffer
	keafmt.WriteElement(&b, m)
	return b.String()
}

// repackRAI returns option 82's data as Kea 2.2 packs it again after
// parsing: the sub-options in ascending code order (equal codes keep their
// order). Data that does not parse as sub-options is returned as is.
func repackRAI(rai []byte) []byte {
	type sub struct{ b []byte }
	var subs []sub
	for i := 0; i < len(rai); {
		if i+2 > len(rai) || i+2+int(rai[i+1]) > len(rai) {
			return rai
		}
		n := 2 + int(rai[i+1])
		subs = append(subs, sub{rai[i : i+n]})
		i += n
	}
	if sort.SliceIsSorted(subs, func(a, b int) bool { return subs[a].b[0] < subs[b].b[0] }) {
		return rai
	}
	sort.SliceStable(subs, func(a, b int) bool { return subs[a].b[0] < subs[b].b[0] })
	out := make([]byte, 0, len(rai))
	for _, s := range subs {
		out = append(out, s.b...)
	}
	return out
}
