package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Allowed destinations: this tool may only ever send to the benchmarking
// range, TEST-NET-1, loopback, or the limited broadcast address (which
// never leaves the link).
var allowedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("127.0.0.0/8"),
}

// limitedBroadcast is 255.255.255.255.
var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// allowedDest reports whether a may be used as a destination (or as the
// relay address replies are sent to).
func allowedDest(a netip.Addr) bool {
	for _, p := range allowedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Config is one run's parameters, from the command line.
type Config struct {
	Iface     string
	Mode      string // "afxdp" or "packet"
	XDPMode   string // "native" or "generic"
	QueueID   int
	Server    netip.Addr // unicast server address or 255.255.255.255
	ServerMAC net.HardwareAddr
	Giaddr    netip.Addr // relay address; zero = the interface's first IPv4
	Clients   int
	MACBase   net.HardwareAddr
	ClientID  bool // send option 61 (type 1 + MAC)
	Rate      float64
	Duration  time.Duration
	N         int
	Timeout   time.Duration
	Renew     bool
	Release   bool
	// Renewals is the renewal load: every client first takes a lease
	// (one DORA each, the warm-up), then each exchange started is a
	// renewing REQUEST (ciaddr) of a bound client; -duration and -n count
	// the renewal phase only, and the report's send time and rates are
	// that phase's.
	Renewals bool
	// WarmRenewals adds renewal rounds to the warm-up: each client also
	// renews this many times before the measured phase (a server that
	// learns from a first renewal, such as xdhcpd's kernel renewal cache,
	// is then measured in its steady state).
	WarmRenewals int
	PoolFirst    netip.Addr // zero = no pool check
	PoolLast     netip.Addr
	JSON         bool
	Batch        int
	// DiscoverOnly stops each exchange at the OFFER (no REQUEST, so no
	// lease is committed); an OFFER completes the exchange.
	DiscoverOnly bool
	// HAServers > 0 keeps only the MACs (or client identifiers, with
	// -client-id) whose Kea load-balancing owner (ha/lbhash) among
	// HAServers active servers is HAOwner (0 = the primary).
	HAOwner, HAServers int
	// Malformed sends malformed frames (malformed.go) instead of
	// exchanges, at Rate, bounded like any run.
	Malformed bool
	// Hostile sends the LAN attacker's frames (hostile.go) instead of
	// exchanges: broadcast, random MACs, malformed, fuzzed, VLAN-stacked,
	// fragments. It implies Malformed's bounded no-reply run.
	Hostile bool
}

// Broadcast reports whether DISCOVERs go to 255.255.255.255.
func (c *Config) Broadcast() bool { return c.Server == limitedBroadcast }

// parseFlags parses the command line into a checked Config.
func parseFlags(args []string) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("dhcpload", flag.ContinueOnError)
	var server, serverMAC, giaddr, macBase, pool, haOwner string
	fs.StringVar(&c.Iface, "i", "", "client interface (required)")
	fs.StringVar(&c.Mode, "mode", "afxdp", "packet I/O: afxdp or packet (AF_PACKET)")
	fs.StringVar(&c.XDPMode, "xdp-mode", "native", "XDP attach mode for -mode afxdp: native or generic")
	fs.IntVar(&c.QueueID, "queue", 0, "RX queue to bind the AF_XDP socket to (replies must land there)")
	fs.StringVar(&server, "server", "255.255.255.255", "server address (unicast) or 255.255.255.255 (broadcast)")
	fs.StringVar(&serverMAC, "server-mac", "", "next-hop MAC for unicast (default: neighbour table, ARP if needed)")
	fs.StringVar(&giaddr, "giaddr", "", "relay address put in giaddr and used as source (default: the interface's IPv4)")
	fs.IntVar(&c.Clients, "clients", 1000, "number of simulated clients (distinct MACs)")
	fs.StringVar(&macBase, "mac-base", "02:00:00:00:00:00", "MAC of client 0; client i is base+i")
	fs.BoolVar(&c.ClientID, "client-id", false, "send option 61 (type 1 + MAC)")
	fs.Float64Var(&c.Rate, "rate", 1000, "new exchanges (DISCOVERs) per second; 0 = as fast as possible")
	fs.DurationVar(&c.Duration, "duration", 0, "stop starting exchanges after this long")
	fs.IntVar(&c.N, "n", 0, "stop after starting this many exchanges")
	fs.DurationVar(&c.Timeout, "timeout", time.Second, "an OFFER/ACK later than this is a drop; the client retries later")
	fs.BoolVar(&c.Renew, "renew", false, "after each ACK, renew (REQUEST with ciaddr)")
	fs.BoolVar(&c.Release, "release", false, "after each ACK (or renew ACK), send RELEASE")
	fs.BoolVar(&c.Renewals, "renewals", false, "renewal load: one DORA per client first (warm-up; \"dhcpload: renewals begin\" on stderr when done), then every exchange started is a renewal (REQUEST with ciaddr) at -rate for -duration/-n")
	fs.IntVar(&c.WarmRenewals, "warm-renewals", 0, "with -renewals: each client also renews this many times in the warm-up, before the measured phase")
	fs.StringVar(&pool, "pool", "", "expected address range first-last; yiaddr outside it is a violation")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	fs.IntVar(&c.Batch, "batch", 64, "frames per receive/send batch")
	fs.BoolVar(&c.DiscoverOnly, "discover-only", false, "stop each exchange at the OFFER (no REQUEST, no lease); OFFERs count as completed")
	fs.StringVar(&haOwner, "ha-owner", "", "N/M: use only clients whose HA load-balancing hash (RFC 3074, as Kea) is owned by server N of M (0 = primary); MACs that hash elsewhere are skipped")
	fs.BoolVar(&c.Malformed, "malformed", false, "send malformed DHCP frames (truncated, bad options, bad cookie, BOOTREPLY, garbage; in turn) at -rate instead of exchanges; no reply expected")
	fs.BoolVar(&c.Hostile, "hostile", false, "send a LAN attacker's frames (broadcast from 0.0.0.0:68, random MACs; valid, malformed, fuzzed, over-long, VLAN-stacked and fragmented DHCP; in turn) at -rate instead of exchanges; no reply expected")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.Hostile {
		c.Malformed = true
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Iface == "" {
		bad("-i: interface required")
	}
	if c.Mode != "afxdp" && c.Mode != "packet" {
		bad("-mode %q: want afxdp or packet", c.Mode)
	}
	if c.XDPMode != "native" && c.XDPMode != "generic" {
		bad("-xdp-mode %q: want native or generic", c.XDPMode)
	}
	if c.Duration <= 0 && c.N <= 0 {
		bad("refusing an unbounded run: set -duration or -n")
	}
	if c.Duration < 0 || c.N < 0 {
		bad("-duration and -n must not be negative")
	}
	if c.Rate < 0 {
		bad("-rate %v: must not be negative", c.Rate)
	}
	if c.Clients < 1 || c.Clients > 1<<24 {
		bad("-clients %d: must be 1..%d", c.Clients, 1<<24)
	}
	if c.Timeout <= 0 {
		bad("-timeout must be positive")
	}
	if c.Batch < 1 || c.Batch > 1024 {
		bad("-batch %d: must be 1..1024", c.Batch)
	}
	if c.QueueID < 0 {
		bad("-queue %d: must not be negative", c.QueueID)
	}
	var err error
	if c.Server, err = netip.ParseAddr(server); err != nil || !c.Server.Is4() {
		bad("-server %q: not an IPv4 address", server)
	} else if !c.Broadcast() && !allowedDest(c.Server) {
		bad("-server %s: refusing a destination outside %v (or 255.255.255.255)", c.Server, allowedPrefixes)
	}
	if giaddr != "" {
		if c.Giaddr, err = netip.ParseAddr(giaddr); err != nil || !c.Giaddr.Is4() {
			bad("-giaddr %q: not an IPv4 address", giaddr)
		} else if !allowedDest(c.Giaddr) {
			bad("-giaddr %s: replies would go outside %v", c.Giaddr, allowedPrefixes)
		}
	}
	if serverMAC != "" {
		if c.ServerMAC, err = net.ParseMAC(serverMAC); err != nil || len(c.ServerMAC) != 6 {
			bad("-server-mac %q: not an Ethernet MAC", serverMAC)
		}
	}
	if c.MACBase, err = net.ParseMAC(macBase); err != nil || len(c.MACBase) != 6 {
		bad("-mac-base %q: not an Ethernet MAC", macBase)
	}
	if pool != "" {
		if c.PoolFirst, c.PoolLast, err = parsePool(pool); err != nil {
			bad("-pool: %w", err)
		}
	}
	if c.WarmRenewals < 0 || (c.WarmRenewals > 0 && !c.Renewals) {
		return nil, fmt.Errorf("-warm-renewals needs -renewals and a count >= 0")
	}
	if c.Renewals && (c.Renew || c.Release || c.DiscoverOnly || c.Malformed) {
		bad("-renewals: takes no -renew, -release, -discover-only, -malformed or -hostile")
	}
	if c.DiscoverOnly && (c.Renew || c.Release) {
		bad("-discover-only: no lease is taken, so -renew and -release do not apply")
	}
	if c.Malformed && (c.Rate <= 0 || c.Renew || c.Release || c.DiscoverOnly || haOwner != "") {
		bad("-malformed/-hostile: needs a positive -rate and takes no -renew, -release, -discover-only or -ha-owner")
	}
	if haOwner != "" {
		if c.HAOwner, c.HAServers, err = parseHAOwner(haOwner); err != nil {
			bad("-ha-owner: %w", err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// parseHAOwner parses "N/M": server N (0-based) of M active servers.
func parseHAOwner(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	n, err1 := strconv.Atoi(strings.TrimSpace(a))
	m, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || m < 1 || m > 255 || n < 0 || n >= m {
		return 0, 0, fmt.Errorf("%q: want N/M with 0 <= N < M <= 255", s)
	}
	return n, m, nil
}

// parsePool parses "first-last" (IPv4, first <= last).
func parsePool(s string) (netip.Addr, netip.Addr, error) {
	f, l, ok := strings.Cut(s, "-")
	if !ok {
		return netip.Addr{}, netip.Addr{}, fmt.Errorf("%q: want first-last", s)
	}
	first, err1 := netip.ParseAddr(strings.TrimSpace(f))
	last, err2 := netip.ParseAddr(strings.TrimSpace(l))
	if err1 != nil || err2 != nil || !first.Is4() || !last.Is4() || last.Less(first) {
		return netip.Addr{}, netip.Addr{}, fmt.Errorf("%q: want two IPv4 addresses, first <= last", s)
	}
	return first, last, nil
}
