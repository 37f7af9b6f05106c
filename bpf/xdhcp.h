/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdhcp.h: the only contract between the XDP program (xdhcp.c) and its Go
 * loader (datapath.go). Go types and constants are generated from it by
 * bpf2go (see gen.go); never copy them by hand. Changing this file means:
 * run `make generate`, then check datapath.go (statNames comes from BTF, so
 * new stats need no Go change) and the tests in datapath_test.go.
 *
 * userspace/admission is the Go twin of the admission policy below (client
 * key hash, relay key, token buckets and their order); the differential
 * fuzz test FuzzProgramVsModel (bpf/fuzz_test.go) holds the two together.
 */
#pragma once

/* Map and program names (the kernel keeps at most 15 characters). */
#define XDHCP_BUCKETS 256 /* RFC 3074 hash values */
#define XDHCP_MAX_QUEUES 256 /* XSKMAP size: highest rx_queue_index + 1 */
#define XDHCP_MAX_ADDRS 4096 /* xdhcp_addrs: local addresses + served subnet broadcasts */
/* Default sizes of the LRU maps; the loader sets them from config.RateLimits. */
#define XDHCP_LIMIT_ENTRIES 65536 /* xdhcp_limits: client and relay token buckets */
#define XDHCP_KNOWN_ENTRIES 262144 /* xdhcp_known: clients holding a lease */

/*
 * enum xdhcp_stat indexes the per-CPU counter map xdhcp_stats.
 *
 * Every packet increments XDHCP_STAT_RX_TOTAL and exactly one verdict
 * counter (PASS_*, REDIRECT_*, DROP_*), so the verdict counters sum to
 * RX_TOTAL. XDHCP_STAT_NO_SOCKET is not a verdict: it counts REDIRECT_*
 * packets for which no AF_XDP socket was bound on the receive queue, so
 * bpf_redirect_map fell back to XDP_PASS (kernel stack).
 */
enum xdhcp_stat {
	XDHCP_STAT_RX_TOTAL = 0,
	/* XDP_PASS: not for us, or not parseable as IPv4/UDP in the kernel. */
	XDHCP_STAT_PASS_NOT_IP, /* ethertype is not IPv4 (ARP, IPv6, ...) */
	XDHCP_STAT_PASS_VLAN, /* 802.1Q/802.1ad tagged: belongs to a VLAN sub-interface */
	XDHCP_STAT_PASS_MALFORMED, /* truncated or inconsistent Ethernet, IPv4 or UDP header */
	XDHCP_STAT_PASS_FRAGMENT, /* IPv4 MF flag or fragment offset set */
	XDHCP_STAT_PASS_IP_OPTIONS, /* IPv4 ihl > 5: left to the stack and the UDP socket */
	XDHCP_STAT_PASS_NOT_UDP, /* IPv4 but not UDP */
	XDHCP_STAT_PASS_NOT_DHCP_PORT, /* UDP, destination port != 67 */
	XDHCP_STAT_PASS_NOT_OUR_MAC, /* DHCP, destination MAC neither ours nor broadcast */
	XDHCP_STAT_PASS_NOT_OUR_IP, /* DHCP, destination IP not in xdhcp_addrs nor 255.255.255.255 */
	/* Redirect to the AF_XDP socket of the receive queue (fallback XDP_PASS). */
	XDHCP_STAT_REDIRECT_OURS, /* load-balanced type, hash bucket served here (and admitted) */
	XDHCP_STAT_REDIRECT_NOT_BALANCED, /* message type Kea does not load-balance (incl. no option 53) */
	XDHCP_STAT_REDIRECT_NO_IDENT, /* balanced, no client id and hlen 0: Kea drops it; user space decides and logs */
	XDHCP_STAT_REDIRECT_TRUNCATED, /* UDP length beyond the frame, or an option past the payload */
	XDHCP_STAT_REDIRECT_UNCERTAIN, /* parseable but not decidable for certain in the kernel, see xdhcp.c */
	/* XDP_DROP */
	XDHCP_STAT_DROP_PARTNER, /* load-balanced type, hash bucket belongs to the partner */
	XDHCP_STAT_DROP_RATE_CLIENT, /* DISCOVER/REQUEST over its client's token bucket */
	XDHCP_STAT_DROP_RATE_RELAY, /* unknown client's DISCOVER/REQUEST over its relay's bucket */
	XDHCP_STAT_DROP_RATE_UNKNOWN, /* unknown client's DISCOVER/REQUEST over the global budget */
	/* What user space would only parse to drop (pipeline's pkt4-parse-failed-*): */
	XDHCP_STAT_DROP_NOT_REQUEST, /* op != BOOTREQUEST */
	XDHCP_STAT_DROP_SHORT, /* DHCP payload shorter than the BOOTP header and cookie (240 bytes) */
	/* Not a verdict (see above). */
	XDHCP_STAT_NO_SOCKET,
	XDHCP_STAT_MAX,
};

/*
 * Admission (xdhcp.c, admit_dst and rate_limit).
 *
 * A UDP/67 frame is ours only if its destination MAC is the interface's
 * (xdhcp_config.mac) or ff:ff:ff:ff:ff:ff, and its destination IP is
 * 255.255.255.255 or a key of xdhcp_addrs. Anything else is transit DHCP
 * and goes to the kernel stack (PASS_NOT_OUR_MAC, PASS_NOT_OUR_IP).
 */

/* xdhcp_addrs value: what the destination address is to this host. */
enum xdhcp_addr_kind {
	XDHCP_ADDR_LOCAL = 1, /* an address of this host: unicast to us */
	XDHCP_ADDR_SUBNET_BCAST = 2, /* a served subnet's broadcast address */
};

/* xdhcp_addrs: IPv4 address (network byte order) -> kind. Fed by user space (netlink). */
struct xdhcp_addr {
	enum xdhcp_addr_kind kind;
};

/*
 * Client key: a 64-bit FNV-1a hash identifying a client, computed in the
 * same loop as the RFC 3074 hash, so over the same bytes in the same order:
 *
 *   h = 0xcbf29ce484222325 (FNV offset basis)
 *   for b in [kind, key[len-1], key[len-2], ..., key[0]]:
 *       h = (h ^ b) * 0x100000001b3 (FNV prime), mod 2^64
 *
 * key is option 61's data when option 61 is present and non-empty (kind
 * XDHCP_KEY_CLIENT_ID), else chaddr[0:hlen] (kind XDHCP_KEY_CHADDR): the
 * identity Kea 2.2 uses. Go twin: admission.ClientKey.
 */
enum xdhcp_key_kind {
	XDHCP_KEY_CHADDR = 1,
	XDHCP_KEY_CLIENT_ID = 2,
};

/* Token bucket keys in xdhcp_limits. */
enum xdhcp_limit_kind {
	XDHCP_LIMIT_CLIENT = 1, /* id = client key */
	/*
	 * id = giaddr as a host-order number (192.0.2.1 = 0xc0000201) when the
	 * frame's destination IP is an XDHCP_ADDR_LOCAL address and giaddr is
	 * not 0; otherwise 0 ("the local segment": direct clients, and
	 * anything broadcast that claims a giaddr).
	 */
	XDHCP_LIMIT_RELAY = 2,
};

struct xdhcp_limit_key {
	enum xdhcp_limit_kind kind;
	__u32 pad; /* zero */
	__u64 id;
};

/*
 * A token bucket. tokens is fixed point: XDHCP_TOKEN (10^9) units are one
 * message, so elapsed nanoseconds * rate (messages/s) is the refill. A
 * bucket with last_ns 0 has never been used and is full.
 *
 * take (xdhcp.c; admission.Bucket.Take in Go), cap = burst * XDHCP_TOKEN:
 *   if last_ns == 0:            tokens = cap, last_ns = now
 *   else if now > last_ns:      e = now - last_ns
 *                               tokens = e > (cap - min(tokens, cap)) / rate ? cap : tokens + e * rate
 *                               last_ns = now
 *   tokens = min(tokens, cap)
 *   admit iff tokens >= XDHCP_TOKEN, then tokens -= XDHCP_TOKEN
 */
#define XDHCP_TOKEN 1000000000ULL
struct xdhcp_tokens {
	__u64 tokens;
	__u64 last_ns;
};

/*
 * xdhcp_cfg (array map, one entry): written by user space (Datapath.SetConfig).
 *
 * Rate limits apply to DISCOVER and REQUEST (option 53 = 1 or 3) that the
 * program would redirect as REDIRECT_OURS, in this order, each consuming a
 * token only if the ones before admitted the message:
 *   1. the client's bucket (client_rate/client_burst)         DROP_RATE_CLIENT
 *   then, unless the client key is in xdhcp_known:
 *   2. the relay's bucket (relay_rate/relay_burst)            DROP_RATE_RELAY
 *   3. the global unknown-client budget (unknown_rate/_burst)  DROP_RATE_UNKNOWN
 * A rate of 0 turns that limit off; enabled 0 turns all of them off.
 */
struct xdhcp_config {
	__u64 clock_ns; /* non-zero: the clock in ns, instead of bpf_ktime_get_ns (deterministic tests) */
	__u8 mac[6]; /* the interface's MAC; all zero = only broadcast frames are ours */
	__u8 enabled; /* 1: rate limits on */
	__u8 pad;
	__u32 client_rate; /* messages per second */
	__u32 client_burst; /* bucket depth in messages */
	__u32 relay_rate;
	__u32 relay_burst;
	__u32 unknown_rate;
	__u32 unknown_burst;
};
