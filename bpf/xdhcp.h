/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdhcp.h: the only contract between the XDP program (xdhcp.c) and its Go
 * loader (datapath.go). Go types and constants are generated from it by
 * bpf2go (see gen.go); never copy them by hand. Changing this file means:
 * run `make generate`, then check datapath.go (counter names come from the
 * BTF of struct xdhcp_counters, so new counters need no Go change) and the
 * tests in datapath_test.go. A map whose layout changes (key or value
 * size, entries, type) replaces its stale pin at the next start.
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
 * Counters: struct xdhcp_counters is the value of xdhcp_stats, a per-CPU array
 * with one entry (key 0), so `bpftool map dump name xdhcp_stats` prints
 * every counter by name, per CPU. The program looks the entry up once per
 * packet and increments fields by their enum xdhcp_stat index (field i is
 * the u64 at offset i * 8; the _Static_asserts below hold the two
 * together). Go reads the struct through the bpf2go type and names the
 * counters from this struct's BTF member names.
 *
 * Every packet increments rx_total and exactly one verdict counter
 * (pass_*, redirect_*, drop_*, tx_*), so the verdict counters sum to rx_total.
 * no_socket is not a verdict: it counts redirect_* packets for which no
 * AF_XDP socket was bound on the receive queue, so bpf_redirect_map fell
 * back to XDP_PASS (kernel stack).
 */
struct xdhcp_counters {
	__u64 rx_total;
	/* XDP_PASS: not for us, or not parseable as IPv4/UDP in the kernel. */
	__u64 pass_not_ip; /* ethertype is not IPv4 (ARP, IPv6, ...) */
	__u64 pass_vlan; /* 802.1Q/802.1ad tagged: belongs to a VLAN sub-interface */
	__u64 pass_malformed; /* truncated or inconsistent Ethernet, IPv4 or UDP header */
	__u64 pass_fragment; /* IPv4 MF flag or fragment offset set */
	__u64 pass_ip_options; /* IPv4 ihl > 5: left to the stack and the UDP socket */
	__u64 pass_not_udp; /* IPv4 but not UDP */
	__u64 pass_not_dhcp_port; /* UDP, destination port != 67 */
	__u64 pass_not_our_mac; /* DHCP, destination MAC neither ours nor broadcast */
	__u64 pass_not_our_ip; /* DHCP, destination IP not in xdhcp_addrs nor 255.255.255.255 */
	/* Redirect to the AF_XDP socket of the receive queue (fallback XDP_PASS). */
	__u64 redirect_ours; /* load-balanced type, hash bucket served here (and admitted) */
	__u64 redirect_not_balanced; /* message type Kea does not load-balance (incl. no option 53) */
	__u64 redirect_no_ident; /* balanced, no client id and hlen 0: Kea drops it; user space decides and logs */
	__u64 redirect_truncated; /* UDP length beyond the frame, or an option past the payload */
	__u64 redirect_uncertain; /* parseable but not decidable for certain in the kernel, see xdhcp.c */
	/* XDP_DROP */
	__u64 drop_partner; /* load-balanced type, hash bucket belongs to the partner */
	__u64 drop_rate_client; /* DISCOVER/REQUEST over its client's token bucket */
	__u64 drop_rate_relay; /* unknown client's DISCOVER/REQUEST over its relay's bucket */
	__u64 drop_rate_unknown; /* unknown client's DISCOVER/REQUEST over the global budget */
	/* What user space would only parse to drop (pipeline's pkt4-parse-failed-*): */
	__u64 drop_not_request; /* op != BOOTREQUEST */
	__u64 drop_short; /* DHCP payload shorter than the BOOTP header and cookie (240 bytes) */
	__u64 drop_renew_build; /* a kernel renewal reply failed half-built (cannot happen; counted) */
	/* XDP_TX: a renewal answered from xdhcp_renew (see "Kernel renewals" below). */
	__u64 tx_renew;
	/* Not a verdict (see above). */
	__u64 no_socket;
	/*
	 * Not verdicts: why a REQUEST with ciaddr set, admitted and ours, was
	 * not answered in the kernel (it then goes on as redirect_ours).
	 */
	__u64 renew_miss; /* no xdhcp_renew entry for (client key, giaddr, ifindex), or no profile */
	__u64 renew_mismatch; /* entry found; the request differs from the cached one */
	__u64 renew_stale; /* entry found and matching; the lease is past its reuse limit */
	__u64 renew_layout; /* T1/T2 presence differs from the profile's at this remaining lifetime */
	__u64 renew_route; /* bpf_fib_lookup: no route/neighbour, or the reply leaves by another port */
	__u64 renew_room; /* bpf_xdp_adjust_tail could not resize the frame */
};

/* enum xdhcp_stat: the index of each struct xdhcp_counters field, in order. */
enum xdhcp_stat {
	XDHCP_STAT_RX_TOTAL = 0,
	XDHCP_STAT_PASS_NOT_IP,
	XDHCP_STAT_PASS_VLAN,
	XDHCP_STAT_PASS_MALFORMED,
	XDHCP_STAT_PASS_FRAGMENT,
	XDHCP_STAT_PASS_IP_OPTIONS,
	XDHCP_STAT_PASS_NOT_UDP,
	XDHCP_STAT_PASS_NOT_DHCP_PORT,
	XDHCP_STAT_PASS_NOT_OUR_MAC,
	XDHCP_STAT_PASS_NOT_OUR_IP,
	XDHCP_STAT_REDIRECT_OURS,
	XDHCP_STAT_REDIRECT_NOT_BALANCED,
	XDHCP_STAT_REDIRECT_NO_IDENT,
	XDHCP_STAT_REDIRECT_TRUNCATED,
	XDHCP_STAT_REDIRECT_UNCERTAIN,
	XDHCP_STAT_DROP_PARTNER,
	XDHCP_STAT_DROP_RATE_CLIENT,
	XDHCP_STAT_DROP_RATE_RELAY,
	XDHCP_STAT_DROP_RATE_UNKNOWN,
	XDHCP_STAT_DROP_NOT_REQUEST,
	XDHCP_STAT_DROP_SHORT,
	XDHCP_STAT_DROP_RENEW_BUILD,
	XDHCP_STAT_TX_RENEW,
	XDHCP_STAT_NO_SOCKET,
	XDHCP_STAT_RENEW_MISS,
	XDHCP_STAT_RENEW_MISMATCH,
	XDHCP_STAT_RENEW_STALE,
	XDHCP_STAT_RENEW_LAYOUT,
	XDHCP_STAT_RENEW_ROUTE,
	XDHCP_STAT_RENEW_ROOM,
	XDHCP_STAT_MAX,
};

#define XDHCP_STAT_AT(field, idx) \
	_Static_assert(__builtin_offsetof(struct xdhcp_counters, field) == (idx) * sizeof(__u64), #field " is not at " #idx)
XDHCP_STAT_AT(rx_total, XDHCP_STAT_RX_TOTAL);
XDHCP_STAT_AT(pass_not_ip, XDHCP_STAT_PASS_NOT_IP);
XDHCP_STAT_AT(pass_vlan, XDHCP_STAT_PASS_VLAN);
XDHCP_STAT_AT(pass_malformed, XDHCP_STAT_PASS_MALFORMED);
XDHCP_STAT_AT(pass_fragment, XDHCP_STAT_PASS_FRAGMENT);
XDHCP_STAT_AT(pass_ip_options, XDHCP_STAT_PASS_IP_OPTIONS);
XDHCP_STAT_AT(pass_not_udp, XDHCP_STAT_PASS_NOT_UDP);
XDHCP_STAT_AT(pass_not_dhcp_port, XDHCP_STAT_PASS_NOT_DHCP_PORT);
XDHCP_STAT_AT(pass_not_our_mac, XDHCP_STAT_PASS_NOT_OUR_MAC);
XDHCP_STAT_AT(pass_not_our_ip, XDHCP_STAT_PASS_NOT_OUR_IP);
XDHCP_STAT_AT(redirect_ours, XDHCP_STAT_REDIRECT_OURS);
XDHCP_STAT_AT(redirect_not_balanced, XDHCP_STAT_REDIRECT_NOT_BALANCED);
XDHCP_STAT_AT(redirect_no_ident, XDHCP_STAT_REDIRECT_NO_IDENT);
XDHCP_STAT_AT(redirect_truncated, XDHCP_STAT_REDIRECT_TRUNCATED);
XDHCP_STAT_AT(redirect_uncertain, XDHCP_STAT_REDIRECT_UNCERTAIN);
XDHCP_STAT_AT(drop_partner, XDHCP_STAT_DROP_PARTNER);
XDHCP_STAT_AT(drop_rate_client, XDHCP_STAT_DROP_RATE_CLIENT);
XDHCP_STAT_AT(drop_rate_relay, XDHCP_STAT_DROP_RATE_RELAY);
XDHCP_STAT_AT(drop_rate_unknown, XDHCP_STAT_DROP_RATE_UNKNOWN);
XDHCP_STAT_AT(drop_not_request, XDHCP_STAT_DROP_NOT_REQUEST);
XDHCP_STAT_AT(drop_short, XDHCP_STAT_DROP_SHORT);
XDHCP_STAT_AT(drop_renew_build, XDHCP_STAT_DROP_RENEW_BUILD);
XDHCP_STAT_AT(tx_renew, XDHCP_STAT_TX_RENEW);
XDHCP_STAT_AT(no_socket, XDHCP_STAT_NO_SOCKET);
XDHCP_STAT_AT(renew_miss, XDHCP_STAT_RENEW_MISS);
XDHCP_STAT_AT(renew_mismatch, XDHCP_STAT_RENEW_MISMATCH);
XDHCP_STAT_AT(renew_stale, XDHCP_STAT_RENEW_STALE);
XDHCP_STAT_AT(renew_layout, XDHCP_STAT_RENEW_LAYOUT);
XDHCP_STAT_AT(renew_route, XDHCP_STAT_RENEW_ROUTE);
XDHCP_STAT_AT(renew_room, XDHCP_STAT_RENEW_ROOM);
_Static_assert(sizeof(struct xdhcp_counters) == XDHCP_STAT_MAX * sizeof(__u64), "struct xdhcp_counters and enum xdhcp_stat differ");

/*
 * xdhcp_buckets value: who serves an RFC 3074 hash bucket, so bpftool
 * prints XDHCP_BUCKET_OURS / XDHCP_BUCKET_PARTNER per bucket. Written by
 * HA (Datapath.SetBuckets).
 */
enum xdhcp_bucket_owner {
	XDHCP_BUCKET_PARTNER = 0, /* load-balanced queries hashing here are dropped */
	XDHCP_BUCKET_OURS = 1, /* served here */
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
	__u8 renew; /* 1: answer cached renewals (xdhcp_renew); user space clears it when the network state is off */
	__u8 pad2[7];
};

/*
 * Kernel renewals (issue 16; docs/kea/kernel-renew.md).
 *
 * User space writes an xdhcp_renew entry after it ACKed a REQUEST with
 * ciaddr set (RENEWING/REBINDING; direct or relayed), whose lease Kea 2.2's lease
 * caching would reuse on an identical renewal (userspace/dhcp/cache.go).
 * The program answers a later REQUEST with XDP_TX when all of these hold:
 *   cfg.renew; the frame untagged, no IP options (as for every redirect);
 *   option 53 = REQUEST, ours (bucket), admitted by the rate limits;
 *   ciaddr != 0;
 *   an entry for (client key, giaddr, ingress ifindex);
 *   the IPv4 header checksum is valid and its total length is the UDP
 *   datagram's (what user space's decoder requires);
 *   the UDP payload has the cached length, and its digest (below) equals
 *   the entry's: every byte the engine reads (options 54, 55, 82, 61,
 *   chaddr, flags, ...) is the cached request's;
 *   IP source and destination are the cached request's, ciaddr = yiaddr;
 *   age = (now - cltt_ns) / 10^9 <= max_age (Kea's reuse condition,
 *   folded by user space: min(cache limit, valid - 1));
 *   the T1/T2 presence at the remaining lifetime is the profile's;
 *   bpf_fib_lookup(yiaddr) resolves a neighbour on the ingress port, or,
 *   where it cannot answer because IPv4 forwarding is off on the port
 *   (BPF_FIB_LKUP_RET_FWD_DISABLED, the usual case on a server), the
 *   next hop user space resolved when it wrote the entry is still fresh
 *   (mac_until_ns, which user space extends while its own resolver agrees).
 * Anything else is counted (renew_*) and goes on to user space.
 *
 * Digest: FNV-1a 64 steps (basis and prime as the client key) over the
 * UDP payload's little-endian 64-bit words, h = (h ^ w) * prime, with
 * bytes 4..9 (xid, secs) zeroed and the last word zero-padded; the length
 * is compared on its own. Go twin: renewcache.Digest.
 *
 * The ACK is the user-space ACK's bytes (userspace/dhcp ToBytes layout):
 *   hdr[0:44] from the entry (op..chaddr; xid from the request),
 *   file (sname+file, 192 bytes) from the profile, the cookie,
 *   options: pre (codes < 61), cid (option 61 as echoed, or nothing),
 *   post (codes > 61 but 82), rai (option 82 as echoed, or nothing), the
 *   end option, zeros up to 300 bytes. The reply goes to reply_dst:
 *   reply_port (ciaddr:68, or giaddr:67 for a relayed renewal).
 * Options 51, 58 and 59 sit in pre at off51/off58/off59 (offsets of the
 * 4-byte value); the program writes there rem = valid - age and T1/T2 as
 * Dhcpv4Srv::setTeeTimes derives them from rem (fixed timers, or the
 * percentages, which user space accepts only as exact k/65536 so that
 * (pct * rem + 32768) >> 16 is C's round(pct * rem)).
 */
#define XDHCP_RENEW_ENTRIES 65536 /* xdhcp_renew default size; the loader may change it */
#define XDHCP_PROFILES 4096 /* xdhcp_profiles: reply profiles */
#define XDHCP_HDR_LEN 44 /* reply bytes op..chaddr */
#define XDHCP_FILE_LEN 192 /* reply bytes sname..file */
#define XDHCP_PRE_MAX 256
#define XDHCP_POST_MAX 256
#define XDHCP_CID_MAX 64 /* option 61 as echoed: code, length, up to 62 bytes */
#define XDHCP_RAI_MAX 64 /* option 82 as echoed: code, length, up to 62 bytes */
#define XDHCP_NO_OFF 0xffff /* profile: option absent */
#define XDHCP_MIN_REPLY 300 /* BOOTP minimum the user-space encoder pads to */

struct xdhcp_renew_key {
	__u64 client; /* client key (xdhcp.h, client key) */
	__be32 giaddr; /* the request's giaddr (0: direct) */
	__u32 ifindex; /* ingress interface */
};

struct xdhcp_renew {
	__u64 digest; /* of the cached request (above) */
	__u64 cltt_ns; /* the lease's CLTT second on the monotonic clock (bpf_ktime_get_ns) */
	__u64 mac_until_ns; /* dmac/smac may be used until then when bpf_fib_lookup cannot answer */
	__u32 max_age; /* the last age in whole seconds that is still reused */
	__u32 valid; /* the stored lease's valid lifetime, seconds */
	__be32 req_src; /* request IP source */
	__be32 req_dst; /* request IP destination */
	__be32 reply_src; /* reply IP source */
	__be32 reply_dst; /* reply IP destination: yiaddr, or giaddr for a relayed renewal */
	__u16 reply_port; /* reply UDP destination port: 68, or 67 to a relay */
	__u8 rai_len; /* bytes of rai used */
	__u8 pad2;
	__be32 yiaddr; /* the leased address (= ciaddr of a matching request) */
	__u32 profile; /* index in xdhcp_profiles */
	__u16 dhcp_len; /* the cached request's UDP payload length */
	__u8 cid_len; /* bytes of cid used */
	__u8 pad;
	__u8 dmac[6]; /* the next hop user space sent the reply to */
	__u8 smac[6]; /* the port's MAC */
	__u8 hdr[XDHCP_HDR_LEN]; /* reply bytes 0..43, xid and secs zero */
	__u8 cid[XDHCP_CID_MAX]; /* option 61 as the reply carries it */
	__u8 rai[XDHCP_RAI_MAX]; /* option 82 as the reply echoes it (last, RFC 3046) */
};

struct xdhcp_profile {
	__u32 t1_fixed; /* renew-timer (0: not set) */
	__u32 t2_fixed; /* rebind-timer (0: not set) */
	__u32 t1_pct; /* calculate-tee-times: t1-percent * 65536, exact (0: none) */
	__u32 t2_pct;
	__u16 pre_len; /* 1..XDHCP_PRE_MAX */
	__u16 post_len; /* 0..XDHCP_POST_MAX */
	__u16 off51; /* offset in pre of option 51's value */
	__u16 off58; /* ... of option 58's, or XDHCP_NO_OFF */
	__u16 off59; /* ... of option 59's, or XDHCP_NO_OFF */
	__u16 set; /* 1: in use */
	__u8 file[XDHCP_FILE_LEN];
	__u8 pre[XDHCP_PRE_MAX];
	__u8 post[XDHCP_POST_MAX];
};
