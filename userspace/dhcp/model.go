package dhcp

import (
	"net"
	"net/netip"
	"regexp"
	"sort"

	"github.com/xdhcp/xdhcp/userspace/alloc"

	"github.com/xdhcp/xdhcp/userspace/classify"
)

// model is a configuration compiled for the hot path: every inherited value
// resolved, every option encoded, every lookup indexed.
type model struct {
	subnets             []*subnet           // ascending id
	byID                map[uint32]*subnet  //
	pools               []*pool             // ascending first address, for addr → pool
	classes             *classBook          // client classes in config order
	global              optSet              // global option-data
	globalRs            *resIndex           // global reservations
	serverID            map[netip.Addr]bool // configured option 54 values (accepted as ours)
	echoCID             bool                //
	declineP            uint32              // decline-probation-period
	resIDs              []string            // host-reservation-identifiers order
	hostRe              *regexp.Regexp      // hostname-char-set
	hostRepl            string              // hostname-char-replacement
	expiry              expiryCfg           //
	globalAuthoritative bool
}

// expiryCfg is expired-leases-processing.
type expiryCfg struct {
	reclaimWait, flushWait, hold uint32 // seconds
	maxLeases                    int
	maxTimeMS                    uint32
}

// network is a shared network.
type network struct {
	name    string
	subnets []*subnet // ascending id
}

// subnet is one subnet4 with every inherited value resolved.
type subnet struct {
	id      uint32
	prefix  netip.Prefix
	mask    net.IPMask
	net     *network
	relays  []netip.Addr // own relay list, else the network's
	iface   string       // own interface, else the network's
	class   string       // subnet client-class
	netCls  string       // shared network client-class
	require []string     // shared network's then subnet's require-client-classes
	pools   []*pool
	res     *resIndex
	opts    optSet // subnet option-data
	netOpts optSet // shared network option-data

	matchClientID bool
	authoritative bool
	resInSubnet   bool
	resGlobal     bool
	lt            lifetimes
	storeExtInfo  bool       // store-extended-info
	cache         leaseCache // cache-threshold, cache-max-age
	nextServer    netip.Addr
	sname, file   string

	st  *subnetStats
	fam []*subnet // family(), computed once the model is built
}

// pool is one address pool with its free-address index and the expiry
// order of the leases holding its addresses.
type pool struct {
	first, last netip.Addr
	rng         *alloc.Range
	due         *alloc.Deadlines // every bit-holding lease's expiry (see holdsBit)
	class       string
	require     []string
	opts        optSet
	sub         *subnet
}

// lifetimes are the resolved lease timers of a subnet.
type lifetimes struct {
	valid, min, max  uint32
	renew, rebind    uint32 // 0 = not configured
	renewSet, rebSet bool
	calcTee          bool
	t1pct, t2pct     float64
}

// allowed reports whether a client in cls may use the subnet.
func (s *subnet) allowed(cls *classify.Set) bool {
	return (s.class == "" || cls.Has(s.class)) && (s.netCls == "" || cls.Has(s.netCls))
}

// allowed reports whether a client in cls may use the pool.
func (p *pool) allowed(cls *classify.Set) bool { return p.class == "" || cls.Has(p.class) }

// family returns the subnets the allocator may use once s is selected: s
// first, then the other subnets of its shared network in id order. The
// slice is shared: callers must not modify it.
func (s *subnet) family() []*subnet {
	if s.fam != nil {
		return s.fam
	}
	return s.computeFamily()
}

func (s *subnet) computeFamily() []*subnet {
	if s.net == nil || len(s.net.subnets) == 1 {
		return []*subnet{s}
	}
	out := make([]*subnet, 0, len(s.net.subnets))
	out = append(out, s)
	for _, o := range s.net.subnets {
		if o != s {
			out = append(out, o)
		}
	}
	return out
}

// poolFor returns the pool containing a, or nil.
func (m *model) poolFor(a netip.Addr) *pool {
	i := sort.Search(len(m.pools), func(i int) bool { return !m.pools[i].last.Less(a) })
	if i < len(m.pools) && !a.Less(m.pools[i].first) {
		return m.pools[i]
	}
	return nil
}

// subnetFor returns the first subnet (by id) whose prefix contains a.
func (m *model) subnetFor(a netip.Addr) *subnet {
	for _, s := range m.subnets {
		if s.prefix.Contains(a) {
			return s
		}
	}
	return nil
}
