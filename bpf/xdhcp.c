//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdhcp_xdp: the XDP half of xdhcp's DHCPv4 fast path.
 *
 *   not IPv4/UDP:67, fragments, IP options, bad L2-L4 headers -> XDP_PASS
 *   VLAN-tagged (a VLAN sub-interface's traffic)               -> XDP_PASS
 *   DHCP not addressed to this host (MAC or IP, see xdhcp.h)   -> XDP_PASS
 *   DHCP the kernel cannot decide for certain                  -> AF_XDP
 *   Kea-load-balanced type (1,3,4,7,8), partner's hash bucket  -> XDP_DROP
 *   DISCOVER/REQUEST over a rate limit (xdhcp.h, admission)    -> XDP_DROP
 *   everything else                                            -> AF_XDP
 *
 * "AF_XDP" is bpf_redirect_map(&xdhcp_xsks, rx_queue_index, XDP_PASS): with
 * no socket bound on the queue the packet goes to the kernel stack (and the
 * UDP fallback socket) instead. The kernel only drops what it can prove is
 * the partner's: the key and hash are exactly Kea 2.2's (see
 * docs/kea/lb-hash.md and ha/lbhash, the Go twin). Every packet is
 * counted once at the single exit in xdhcp_xdp (see xdhcp.h).
 *
 * Kernel: needs the open-coded iterator kfuncs bpf_iter_num_* (Linux 6.4)
 * and BTF. Parsing the options with a plain bounded loop over 32+ options
 * exceeds the verifier's 1M-instruction budget. Here the loops use
 * bpf_iter_num and keep their loop-carried state in a per-CPU map
 * (xdhcp_scratch), which the verifier does not track, so it checks each
 * loop body once (~3.6k instructions processed in all on Linux 6.18).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdhcp.h"

char __license[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP 0x0800
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define ETH_P_QINQ1 0x9100 /* pre-standard QinQ TPID */
#define IP_MF_OFFSET 0x3fff /* MF flag | fragment offset */
#define DHCP_SERVER_PORT 67

/* BOOTP/DHCP layout (RFC 2131 §2), offsets from the start of the UDP payload. */
#define BOOTP_OP 0
#define BOOTP_HLEN 2
#define BOOTP_GIADDR 24
#define BOOTP_CHADDR 28
#define BOOTP_CHADDR_LEN 16
#define BOOTP_COOKIE 236
#define DHCP_OPTIONS 240
#define BOOTREQUEST 1

#define BOOTP_CIADDR 12
#define BOOTP_XID 4
#define NSEC 1000000000ULL
#define OPT_PAD 0
#define OPT_OVERLOAD 52
#define OPT_MSG_TYPE 53
#define OPT_CLIENT_ID 61
#define OPT_END 255

#define DHCPDISCOVER 1
#define DHCPREQUEST 3

/* FNV-1a 64 (client key, xdhcp.h) */
#define FNV64_BASIS 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x100000001b3ULL

/*
 * Option walk limits. OPT_ITER_MAX option headers (pads count one each) and
 * an options area of at most OPT_AREA_MAX bytes: a normal client message has
 * well under 64 options in under 1500 bytes. Anything beyond is redirected
 * as uncertain, never dropped. The masks keep offsets provably bounded for
 * the verifier (barrier_var stops clang 14 from dropping them).
 */
#define OPT_ITER_MAX 512
#define OPT_AREA_MAX 2048
#define OPT_OFF_MASK (OPT_AREA_MAX - 1)
#define PKT_OFF_MASK 0xfff /* every absolute offset used below is < 4096 */

/* Open-coded iterator kfuncs (Linux 6.4); bpftool 7.1's vmlinux.h lacks the prototypes. */
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

/*
 * Loop-carried state of the option walk, in the per-CPU map xdhcp_scratch.
 * Every access is volatile (SCAN_GET/SCAN_SET) so clang cannot keep a field
 * in a register across iterations, where the verifier would track it.
 */
struct xdhcp_scan {
	__u32 busy; /* set while a walk runs on this CPU: a nested run (e.g. a
		     * BPF_PROG_TEST_RUN interrupted by a softirq) sees it and
		     * redirects as uncertain instead of sharing the state */
	__u32 off; /* next option, from the start of the options area */
	__u32 cid_off; /* option 61 data, from the start of the options area */
	__u32 cid_len;
	__u32 type; /* option 53 value */
	__u32 has_type; /* option 53 seen */
	__u32 has_cid; /* option 61 seen */
	/* a repeated option 53 or 61 (RFC 3396 concatenation, parser-dependent),
	 * option 52 overload (53/61 may sit in sname/file), or an option 53 of
	 * the wrong length */
	__u32 uncertain;
	__u32 end; /* enum xdhcp_scan_end */
};

#define SCAN_GET(s, f) (*(volatile __u32 *)&(s)->f)
#define SCAN_SET(s, f, v) (*(volatile __u32 *)&(s)->f = (v))

/*
 * xdhcp_stats: the packet counters, one struct xdhcp_counters per CPU in its
 * single entry (key 0), so bpftool prints them by name (xdhcp.h).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdhcp_counters);
} xdhcp_stats SEC(".maps");

/* xdhcp_buckets: RFC 3074 hash -> who serves that bucket (enum xdhcp_bucket_owner). Written by HA. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDHCP_BUCKETS);
	__type(key, __u32);
	__type(value, enum xdhcp_bucket_owner);
} xdhcp_buckets SEC(".maps");

/* xdhcp_xsks: rx_queue_index -> AF_XDP socket. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XDHCP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xdhcp_xsks SEC(".maps");

/* xdhcp_cfg: limits, MAC and clock (struct xdhcp_config, one entry). Written by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdhcp_config);
} xdhcp_cfg SEC(".maps");

/* xdhcp_addrs: destination IPv4 addresses that are ours (xdhcp.h). Written by user space from netlink. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDHCP_MAX_ADDRS);
	__type(key, __be32);
	__type(value, struct xdhcp_addr);
} xdhcp_addrs SEC(".maps");

/* xdhcp_limits: per-client and per-relay token buckets (LRU; size set by the loader). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDHCP_LIMIT_ENTRIES);
	__type(key, struct xdhcp_limit_key);
	__type(value, struct xdhcp_tokens);
} xdhcp_limits SEC(".maps");

/* xdhcp_global: the unknown-client budget (one bucket). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdhcp_tokens);
} xdhcp_global SEC(".maps");

/* xdhcp_known: client key -> 1 for clients holding a lease (LRU; written by user space on lease changes). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XDHCP_KNOWN_ENTRIES);
	__type(key, __u64);
	__type(value, __u8);
} xdhcp_known SEC(".maps");

/*
 * xdhcp_scratch: the option walk's loop-carried state (one per CPU). Kept
 * in a map, not on the stack, so the verifier cannot track the option
 * offset: it then verifies the loop body once instead of once per
 * iteration (a stack offset is marked precise by the packet pointer
 * arithmetic and never converges). See struct xdhcp_scan.busy for nesting.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdhcp_scan);
} xdhcp_scratch SEC(".maps");

/* xdhcp_renews: cached renewals (xdhcp.h, kernel renewals). Written by user space (renewcache). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory follows the entries, not max_entries */
	__uint(max_entries, XDHCP_RENEW_ENTRIES);
	__type(key, struct xdhcp_renew_key);
	__type(value, struct xdhcp_renew);
} xdhcp_renews SEC(".maps");

/* xdhcp_profiles: shared reply option blocks, indexed by xdhcp_renew.profile. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDHCP_PROFILES);
	__type(key, __u32);
	__type(value, struct xdhcp_profile);
} xdhcp_profiles SEC(".maps");

/* RFC 3074 §6 mixing table (docs/kea/lb-hash.md §2; ha/lbhash.Table). */
static const __u8 lb_table[256] = {
	251, 175, 119, 215, 81,  14,  79,  191, 103, 49,  181, 143, 186, 157, 0,   232,
	31,  32,  55,  60,  152, 58,  17,  237, 174, 70,  160, 144, 220, 90,  57,  223,
	59,  3,   18,  140, 111, 166, 203, 196, 134, 243, 124, 95,  222, 179, 197, 65,
	180, 48,  36,  15,  107, 46,  233, 130, 165, 30,  123, 161, 209, 23,  97,  16,
	40,  91,  219, 61,  100, 10,  210, 109, 250, 127, 22,  138, 29,  108, 244, 67,
	207, 9,   178, 204, 74,  98,  126, 249, 167, 116, 34,  77,  193, 200, 121, 5,
	20,  113, 71,  35,  128, 13,  182, 94,  25,  226, 227, 199, 75,  27,  41,  245,
	230, 224, 43,  225, 177, 26,  155, 150, 212, 142, 218, 115, 241, 73,  88,  105,
	39,  114, 62,  255, 192, 201, 145, 214, 168, 158, 221, 148, 154, 122, 12,  84,
	82,  163, 44,  139, 228, 236, 205, 242, 217, 11,  187, 146, 159, 64,  86,  239,
	195, 42,  106, 198, 118, 112, 184, 172, 87,  2,   173, 117, 176, 229, 247, 253,
	137, 185, 99,  164, 102, 147, 45,  66,  231, 52,  141, 211, 194, 206, 246, 238,
	56,  110, 78,  248, 63,  240, 189, 93,  92,  51,  53,  183, 19,  171, 72,  50,
	33,  104, 101, 69,  8,   252, 83,  120, 76,  135, 85,  54,  202, 125, 188, 213,
	96,  235, 136, 208, 162, 129, 190, 132, 156, 38,  47,  1,   7,   254, 24,  4,
	216, 131, 89,  21,  28,  133, 37,  153, 149, 80,  170, 68,  6,   169, 234, 151,
};

/* Internal verdict before the redirect is attempted. */
enum xdhcp_act {
	XS_ACT_PASS,
	XS_ACT_DROP,
	XS_ACT_REDIRECT,
	XS_ACT_RENEW, /* redirect_ours, unless try_renew answers it */
};

/* Result of the option walk. */
enum xdhcp_scan_end {
	XS_SCAN_RUNNING = 0,
	XS_SCAN_DONE, /* end option, or end of the options area */
	XS_SCAN_TRUNCATED, /* an option runs past the payload */
	XS_SCAN_UNCERTAIN, /* too many options or too large an area */
};

/*
 * count_verdict counts one packet, its verdict and, if no_socket, a
 * redirect that fell back to the stack: one map lookup per packet. Not
 * inlined on purpose: its prototype puts enum xdhcp_stat into the
 * object's BTF, where bpf2go (-type xdhcp_stat) reads it.
 */
static __noinline void count_verdict(enum xdhcp_stat stat, int no_socket)
{
	struct xdhcp_counters *s;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&xdhcp_stats, &zero);
	if (!s)
		return;
	/* Per-CPU value and XDP runs with softirqs off: no atomics needed. */
	s->rx_total++;
	if (no_socket)
		s->no_socket++;
	/* Field stat of the struct (xdhcp.h asserts the layout). */
	if (stat < XDHCP_STAT_MAX)
		((__u64 *)s)[stat]++;
}

/* count_note counts a non-verdict reason (renew_*). */
static __always_inline void count_note(enum xdhcp_stat stat)
{
	struct xdhcp_counters *s;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&xdhcp_stats, &zero);
	if (s && stat < XDHCP_STAT_MAX)
		((__u64 *)s)[stat]++;
}

/*
 * scan_options walks the len-byte options area that starts base bytes into
 * the packet and returns what it found in *out (out->end says how the walk
 * ended).
 */
static __always_inline void scan_options(void *data, void *data_end, __u32 base, __u32 len,
					 struct xdhcp_scan *out)
{
	struct xdhcp_scan *s;
	struct bpf_iter_num it;
	__u32 zero = 0;
	int *i;

	out->end = XS_SCAN_UNCERTAIN;
	if (len > OPT_AREA_MAX)
		return;
	s = bpf_map_lookup_elem(&xdhcp_scratch, &zero);
	if (!s || SCAN_GET(s, busy))
		return;
	SCAN_SET(s, busy, 1);
	SCAN_SET(s, off, 0);
	SCAN_SET(s, cid_off, 0);
	SCAN_SET(s, cid_len, 0);
	SCAN_SET(s, type, 0);
	SCAN_SET(s, has_type, 0);
	SCAN_SET(s, has_cid, 0);
	SCAN_SET(s, uncertain, 0);
	SCAN_SET(s, end, XS_SCAN_RUNNING);

	bpf_iter_num_new(&it, 0, OPT_ITER_MAX);
	while ((i = bpf_iter_num_next(&it))) {
		__u32 off = SCAN_GET(s, off);
		__u8 *p;
		__u32 olen;
		__u8 code;

		if (off >= len) {
			SCAN_SET(s, end, XS_SCAN_DONE);
			break;
		}
		/* len <= OPT_AREA_MAX, so the masks never change a value; they
		 * bound it for the verifier. */
		barrier_var(base);
		p = data + (base & PKT_OFF_MASK) + (off & OPT_OFF_MASK);
		if ((void *)(p + 1) > data_end) {
			SCAN_SET(s, end, XS_SCAN_TRUNCATED);
			break;
		}
		code = p[0];
		if (code == OPT_PAD) {
			SCAN_SET(s, off, off + 1);
			continue;
		}
		if (code == OPT_END) {
			SCAN_SET(s, end, XS_SCAN_DONE);
			break;
		}
		if (off + 2 > len || (void *)(p + 2) > data_end) {
			SCAN_SET(s, end, XS_SCAN_TRUNCATED);
			break;
		}
		olen = p[1];
		if (off + 2 + olen > len) {
			SCAN_SET(s, end, XS_SCAN_TRUNCATED);
			break;
		}
		if (code == OPT_MSG_TYPE) {
			if (SCAN_GET(s, has_type) || olen != 1)
				SCAN_SET(s, uncertain, 1);
			SCAN_SET(s, has_type, 1);
			if ((void *)(p + 3) > data_end) {
				SCAN_SET(s, end, XS_SCAN_TRUNCATED);
				break;
			}
			SCAN_SET(s, type, p[2]);
		} else if (code == OPT_CLIENT_ID) {
			if (SCAN_GET(s, has_cid))
				SCAN_SET(s, uncertain, 1);
			SCAN_SET(s, has_cid, 1);
			SCAN_SET(s, cid_off, off + 2);
			SCAN_SET(s, cid_len, olen);
		} else if (code == OPT_OVERLOAD) {
			SCAN_SET(s, uncertain, 1);
		}
		SCAN_SET(s, off, off + 2 + olen);
	}
	bpf_iter_num_destroy(&it);

	out->end = SCAN_GET(s, end);
	if (out->end == XS_SCAN_RUNNING) /* OPT_ITER_MAX option headers and no end */
		out->end = XS_SCAN_UNCERTAIN;
	out->cid_off = SCAN_GET(s, cid_off);
	out->cid_len = SCAN_GET(s, cid_len);
	out->type = SCAN_GET(s, type);
	out->has_type = SCAN_GET(s, has_type);
	out->has_cid = SCAN_GET(s, has_cid);
	out->uncertain = SCAN_GET(s, uncertain);
	SCAN_SET(s, busy, 0);
}

/*
 * client_key_start is the FNV-1a 64 state after the kind byte (xdhcp.h,
 * client key). Not inlined on purpose: its prototype puts enum
 * xdhcp_key_kind into the object's BTF, where bpf2go reads it.
 */
static __noinline __u64 client_key_start(enum xdhcp_key_kind kind)
{
	return ((__u64)FNV64_BASIS ^ (__u8)kind) * FNV64_PRIME;
}

/*
 * lb_hash computes RFC 3074 loadb_p_hash over the len (1..255) packet bytes
 * at off, as Kea does: start at len, last byte first. In the same loop it
 * continues the FNV-1a client key *key (xdhcp.h) over the same bytes in the
 * same order. Returns -1 if the key is not inside the packet.
 */
static __always_inline int lb_hash(void *data, void *data_end, __u32 off, __u32 len, __u64 *key)
{
	struct bpf_iter_num it;
	__u32 h = len & 0xff;
	__u64 f = *key;
	int ret = 0;
	int *n;

	bpf_iter_num_new(&it, 0, len & 0xff);
	while ((n = bpf_iter_num_next(&it))) {
		__u32 idx = len - 1 - (__u32)*n;
		__u8 *p;

		barrier_var(idx);
		barrier_var(off);
		p = data + (off & PKT_OFF_MASK) + (idx & 0xff);

		if ((void *)(p + 1) > data_end) {
			ret = -1;
			break;
		}
		h = lb_table[(h ^ *p) & 0xff];
		f = (f ^ *p) * FNV64_PRIME;
	}
	bpf_iter_num_destroy(&it);
	*key = f;
	return ret < 0 ? ret : (int)h;
}


/* What classify_dhcp hands to try_renew for a REQUEST it would redirect as ours. */
struct renew_req {
	__u64 key; /* client key */
	__u32 dhcp_len; /* UDP payload length */
	__u32 cand; /* 1: a REQUEST with ciaddr set, admitted and ours */
};

/* TAIL_BYTE ors byte k of p (if k < tail) into w at bit 8k. */
#define TAIL_BYTE(w, p, tail, k, end)                                     \
	do {                                                              \
		if ((k) < (tail) && (void *)((p) + (k) + 1) <= (end))     \
			(w) |= (__u64)(p)[k] << (8 * (k));                \
	} while (0)

/*
 * renew_digest is the request digest of xdhcp.h over the len-byte UDP
 * payload at off: FNV-1a 64 steps over its little-endian 64-bit words,
 * bytes 4..9 (xid, secs) zeroed, the last word zero-padded. Returns 0 if
 * the payload is not inside the packet (0 is never stored by user space).
 */
static __always_inline __u64 renew_digest(void *data, void *data_end, __u32 off, __u32 len)
{
	struct bpf_iter_num it;
	__u64 f = FNV64_BASIS, w;
	__u32 tail = len & 7, i;
	int ok = 1;
	__u8 *p;
	int *n;

	bpf_iter_num_new(&it, 0, (len >> 3) & 0x1ff);
	while ((n = bpf_iter_num_next(&it))) {
		i = (__u32)*n;
		barrier_var(i);
		barrier_var(off);
		p = data + (off & 0xff) + ((i << 3) & PKT_OFF_MASK);
		if ((void *)(p + 8) > data_end) {
			ok = 0;
			break;
		}
		w = *(__u64 *)p;
		if (i == 0)
			w &= 0x00000000ffffffffULL; /* bytes 4..7: xid */
		else if (i == 1)
			w &= ~0xffffULL; /* bytes 8..9: secs */
		f = (f ^ w) * FNV64_PRIME;
	}
	bpf_iter_num_destroy(&it);
	if (!ok)
		return 0;
	if (tail) {
		w = 0;
		i = len & ~7U;
		barrier_var(i);
		p = data + (off & 0xff) + (i & PKT_OFF_MASK);
		if ((void *)(p + tail) > data_end)
			return 0;
		TAIL_BYTE(w, p, tail, 0, data_end);
		TAIL_BYTE(w, p, tail, 1, data_end);
		TAIL_BYTE(w, p, tail, 2, data_end);
		TAIL_BYTE(w, p, tail, 3, data_end);
		TAIL_BYTE(w, p, tail, 4, data_end);
		TAIL_BYTE(w, p, tail, 5, data_end);
		TAIL_BYTE(w, p, tail, 6, data_end);
		f = (f ^ w) * FNV64_PRIME;
	}
	return f;
}

/* csum_fold folds a 32-bit one's complement sum to 16 bits. */
static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/*
 * udp_sum is the one's complement sum (unfolded) of the len bytes at off,
 * read as host-order (little-endian) 32-bit words, the last zero-padded:
 * the byte-swapped image of the network-order sum (RFC 1071 §2(B)), so
 * its folded complement is stored as is. Returns -1 if they are not
 * inside the packet.
 */
static __always_inline __s64 udp_sum(void *data, void *data_end, __u32 off, __u32 len)
{
	struct bpf_iter_num it;
	__u32 tail = len & 3, i;
	__u64 sum = 0, w;
	int ok = 1;
	__u8 *p;
	int *n;

	bpf_iter_num_new(&it, 0, (len >> 2) & 0x3ff);
	while ((n = bpf_iter_num_next(&it))) {
		i = (__u32)*n;
		barrier_var(i);
		barrier_var(off);
		p = data + (off & 0xff) + ((i << 2) & PKT_OFF_MASK);
		if ((void *)(p + 4) > data_end) {
			ok = 0;
			break;
		}
		sum += *(__u32 *)p;
	}
	bpf_iter_num_destroy(&it);
	if (!ok)
		return -1;
	if (tail) {
		w = 0;
		i = len & ~3U;
		barrier_var(i);
		p = data + (off & 0xff) + (i & PKT_OFF_MASK);
		if ((void *)(p + tail) > data_end)
			return -1;
		TAIL_BYTE(w, p, tail, 0, data_end);
		TAIL_BYTE(w, p, tail, 1, data_end);
		TAIL_BYTE(w, p, tail, 2, data_end);
		sum += w;
	}
	return (__s64)((sum & 0xffffffff) + (sum >> 32));
}

/*
 * tee_time is Dhcpv4Srv::setTeeTimes for one timer at the remaining
 * lifetime rem (xdhcp.h): the fixed timer, else the exact percentage
 * rounded half up, else 0 (none).
 */
static __always_inline __u32 tee_time(__u32 fixed, __u32 pct, __u32 rem)
{
	if (fixed)
		return fixed;
	if (pct)
		return (__u32)(((__u64)pct * rem + 32768) >> 16);
	return 0;
}

/* put_be32 writes v big-endian at off in the packet. */
static __always_inline long put_be32(struct xdp_md *ctx, __u32 off, __u32 v)
{
	__be32 b = bpf_htonl(v);

	return bpf_xdp_store_bytes(ctx, off, &b, 4);
}

enum renew_res {
	RENEW_NO, /* not answered: go on as redirect_ours (*stat says why if set) */
	RENEW_TX, /* the frame is the ACK */
	RENEW_BROKEN, /* the frame was changed and cannot be sent nor passed on */
};

/*
 * try_renew answers a cached renewal (xdhcp.h, kernel renewals) by turning
 * the request frame into the ACK. The request is untagged IPv4 without
 * options, so the DHCP payload starts at byte 42.
 */
static __noinline int try_renew(struct xdp_md *ctx, struct renew_req *rq, __u64 now, enum xdhcp_stat *why)
{
	const __u32 dh = sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr);
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xdhcp_renew_key k = {};
	struct bpf_fib_lookup fib = {};
	struct xdhcp_renew *e;
	struct xdhcp_profile *pr;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u8 *b = data + dh;
	__u32 age, rem, t1, t2, ceiling, pre, post, cid, rai, opt_len, reply_len, pad, udp_len;
	__u32 off, xid, pidx;
	__u8 zeros[64] = {};
	__u8 cookie[4] = { 99, 130, 83, 99 };
	__u8 end_opt = OPT_END;
	struct iphdr nip = {};
	struct udphdr nudp = {};
	__s64 sum;
	int delta;
	long rc;

	if ((void *)(b + DHCP_OPTIONS) > data_end)
		return RENEW_NO;
	k.client = rq->key;
	__builtin_memcpy(&k.giaddr, b + BOOTP_GIADDR, 4);
	k.ifindex = ctx->ingress_ifindex;
	e = bpf_map_lookup_elem(&xdhcp_renews, &k);
	if (!e) {
		*why = XDHCP_STAT_RENEW_MISS;
		return RENEW_NO;
	}
	/*
	 * The request as user space would decode it (packet.Decode): an IPv4
	 * header with a valid checksum whose total length is the UDP
	 * datagram's; anything else user space drops or reads differently.
	 */
	{
		__u16 *w = (__u16 *)ip;
		__u32 s = 0;

#pragma unroll
		for (int i = 0; i < 10; i++)
			s += w[i];
		if (csum_fold(s) != 0xffff ||
		    bpf_ntohs(ip->tot_len) != sizeof(struct iphdr) + sizeof(struct udphdr) + rq->dhcp_len) {
			*why = XDHCP_STAT_RENEW_MISMATCH;
			return RENEW_NO;
		}
	}
	if (e->dhcp_len != rq->dhcp_len || ip->saddr != e->req_src || ip->daddr != e->req_dst ||
	    *(__be32 *)(b + BOOTP_CIADDR) != e->yiaddr ||
	    renew_digest(data, data_end, dh, rq->dhcp_len) != e->digest) {
		*why = XDHCP_STAT_RENEW_MISMATCH;
		return RENEW_NO;
	}
	/* Kea's age: whole seconds since the CLTT (alloc_engine.cc setLeaseReusable). */
	if (now < e->cltt_ns) {
		*why = XDHCP_STAT_RENEW_STALE;
		return RENEW_NO;
	}
	age = (__u32)((now - e->cltt_ns) / NSEC);
	if (now - e->cltt_ns >= (__u64)e->valid * NSEC || age > e->max_age || age >= e->valid) {
		*why = XDHCP_STAT_RENEW_STALE;
		return RENEW_NO;
	}
	pidx = e->profile;
	pr = bpf_map_lookup_elem(&xdhcp_profiles, &pidx);
	if (!pr || !pr->set) {
		*why = XDHCP_STAT_RENEW_MISS;
		return RENEW_NO;
	}
	rem = e->valid - age;
	/* Dhcpv4Srv::setTeeTimes: T2 only if 0 < T2 < valid, T1 only if 0 < T1 < (T2 or valid). */
	t2 = tee_time(pr->t2_fixed, pr->t2_pct, rem);
	ceiling = rem;
	if (t2 > 0 && t2 < ceiling)
		ceiling = t2;
	else
		t2 = 0;
	t1 = tee_time(pr->t1_fixed, pr->t1_pct, rem);
	if (!(t1 > 0 && t1 < ceiling))
		t1 = 0;
	if ((t1 != 0) != (pr->off58 != XDHCP_NO_OFF) || (t2 != 0) != (pr->off59 != XDHCP_NO_OFF)) {
		*why = XDHCP_STAT_RENEW_LAYOUT;
		return RENEW_NO;
	}
	pre = pr->pre_len;
	post = pr->post_len;
	cid = e->cid_len;
	rai = e->rai_len;
	if (pre == 0 || pre > XDHCP_PRE_MAX || post > XDHCP_POST_MAX || cid > XDHCP_CID_MAX || rai > XDHCP_RAI_MAX ||
	    pr->off51 + 4 > pre || (pr->off58 != XDHCP_NO_OFF && pr->off58 + 4 > pre) ||
	    (pr->off59 != XDHCP_NO_OFF && pr->off59 + 4 > pre)) {
		*why = XDHCP_STAT_RENEW_MISS; /* a profile user space should not have written */
		return RENEW_NO;
	}

	/* The next hop: the ciaddr's neighbour on the ingress port (bpf_fib_lookup). */
	fib.family = 2; /* AF_INET */
	fib.l4_protocol = IPPROTO_UDP;
	fib.sport = bpf_htons(DHCP_SERVER_PORT);
	fib.dport = bpf_htons(e->reply_port);
	fib.ifindex = ctx->ingress_ifindex;
	fib.ipv4_src = e->reply_src;
	fib.ipv4_dst = e->reply_dst;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT);
	if (rc == BPF_FIB_LKUP_RET_FWD_DISABLED && now < e->mac_until_ns) {
		__builtin_memcpy(fib.dmac, e->dmac, 6);
		__builtin_memcpy(fib.smac, e->smac, 6);
	} else if (rc != BPF_FIB_LKUP_RET_SUCCESS || fib.ifindex != ctx->ingress_ifindex) {
		*why = XDHCP_STAT_RENEW_ROUTE;
		return RENEW_NO;
	}

	opt_len = pre + cid + post + rai + 1; /* + the end option */
	reply_len = DHCP_OPTIONS + opt_len;
	pad = reply_len < XDHCP_MIN_REPLY ? XDHCP_MIN_REPLY - reply_len : 0;
	reply_len += pad;
	xid = *(__u32 *)(b + BOOTP_XID);
	delta = (int)(dh + reply_len) - (int)(data_end - data);
	if (delta && bpf_xdp_adjust_tail(ctx, delta)) {
		*why = XDHCP_STAT_RENEW_ROOM;
		return RENEW_NO;
	}

	/* From here on the request is being overwritten. */
	udp_len = sizeof(struct udphdr) + reply_len;
	nip.version = 4;
	nip.ihl = 5;
	nip.tot_len = bpf_htons(sizeof(struct iphdr) + udp_len);
	nip.ttl = 64; /* packet.DefaultTTL */
	nip.protocol = IPPROTO_UDP;
	nip.saddr = e->reply_src;
	nip.daddr = e->reply_dst;
	{
		__u16 *w = (__u16 *)&nip;
		__u32 s = 0;

#pragma unroll
		for (int i = 0; i < 10; i++)
			s += w[i];
		nip.check = ~csum_fold(s);
	}
	nudp.source = bpf_htons(DHCP_SERVER_PORT);
	nudp.dest = bpf_htons(e->reply_port);
	nudp.len = bpf_htons(udp_len);

	if (bpf_xdp_store_bytes(ctx, 0, fib.dmac, 6) || bpf_xdp_store_bytes(ctx, 6, fib.smac, 6) ||
	    bpf_xdp_store_bytes(ctx, sizeof(struct ethhdr), &nip, sizeof(nip)) ||
	    bpf_xdp_store_bytes(ctx, dh - sizeof(nudp), &nudp, sizeof(nudp)) ||
	    bpf_xdp_store_bytes(ctx, dh, e->hdr, XDHCP_HDR_LEN) ||
	    bpf_xdp_store_bytes(ctx, dh + BOOTP_XID, &xid, 4) ||
	    bpf_xdp_store_bytes(ctx, dh + XDHCP_HDR_LEN, pr->file, XDHCP_FILE_LEN) ||
	    bpf_xdp_store_bytes(ctx, dh + BOOTP_COOKIE, cookie, 4))
		return RENEW_BROKEN;
	off = dh + DHCP_OPTIONS;
	if (bpf_xdp_store_bytes(ctx, off, pr->pre, pre))
		return RENEW_BROKEN;
	off += pre;
	if (cid > 0) {
		__u32 n = cid;

		barrier_var(n);
		/* ((n - 1) & 63) + 1 is n (1..64) in a form the verifier bounds. */
		if (n > XDHCP_CID_MAX || bpf_xdp_store_bytes(ctx, off, e->cid, ((n - 1) & 63) + 1))
			return RENEW_BROKEN;
	}
	off += cid;
	if (post > 0) {
		__u32 n = post;

		barrier_var(n);
		if (n > XDHCP_POST_MAX || bpf_xdp_store_bytes(ctx, off, pr->post, ((n - 1) & 255) + 1))
			return RENEW_BROKEN;
	}
	off += post;
	if (rai > 0) {
		__u32 n = rai;

		barrier_var(n);
		if (n > XDHCP_RAI_MAX || bpf_xdp_store_bytes(ctx, off, e->rai, ((n - 1) & 63) + 1))
			return RENEW_BROKEN;
	}
	off += rai;
	if (bpf_xdp_store_bytes(ctx, off, &end_opt, 1))
		return RENEW_BROKEN;
	off += 1;
	if (pad > 0) {
		__u32 n = pad;

		barrier_var(n);
		if (n > sizeof(zeros) || bpf_xdp_store_bytes(ctx, off, zeros, ((n - 1) & 63) + 1))
			return RENEW_BROKEN;
	}
	off = dh + DHCP_OPTIONS;
	if (put_be32(ctx, off + pr->off51, rem) || (t1 && put_be32(ctx, off + pr->off58, t1)) ||
	    (t2 && put_be32(ctx, off + pr->off59, t2)))
		return RENEW_BROKEN;

	/* UDP checksum: pseudo header, then the segment as written. */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	sum = udp_sum(data, data_end, dh - sizeof(nudp), udp_len);
	if (sum < 0)
		return RENEW_BROKEN;
	/* Pseudo header in the same host-order image. */
	sum += (__u64)e->reply_src + e->reply_dst + bpf_htons(IPPROTO_UDP) + bpf_htons(udp_len);
	{
		__u64 s64 = (sum & 0xffffffff) + (sum >> 32);
		__u16 cs = ~csum_fold((__u32)((s64 & 0xffffffff) + (s64 >> 32)));

		if (cs == 0)
			cs = 0xffff;
		if (bpf_xdp_store_bytes(ctx, dh - 2, &cs, 2))
			return RENEW_BROKEN;
	}
	return RENEW_TX;
}

static __always_inline int balanced(__u32 type)
{
	/* DISCOVER, REQUEST, DECLINE, RELEASE, INFORM (ha/lbhash.Balanced) */
	return type == 1 || type == 3 || type == 4 || type == 7 || type == 8;
}

/*
 * take applies the token bucket rule of xdhcp.h (struct xdhcp_tokens) and
 * returns 1 if the message is admitted. rate must not be 0.
 */
static __always_inline int take(struct xdhcp_tokens *b, __u32 rate, __u32 burst, __u64 now)
{
	__u64 cap = (__u64)burst * XDHCP_TOKEN;
	__u64 tokens = b->tokens;

	if (b->last_ns == 0) {
		tokens = cap;
		b->last_ns = now;
	} else if (now > b->last_ns) {
		__u64 e = now - b->last_ns;
		__u64 room = cap - (tokens < cap ? tokens : cap);

		tokens = e > room / rate ? cap : tokens + e * rate;
		b->last_ns = now;
	}
	if (tokens > cap)
		tokens = cap;
	if (tokens < XDHCP_TOKEN) {
		b->tokens = tokens;
		return 0;
	}
	b->tokens = tokens - XDHCP_TOKEN;
	return 1;
}

/*
 * take_keyed takes a token from the LRU bucket of (kind, id), creating a
 * full one if there is none. The read-modify-write is not atomic: two CPUs
 * updating one bucket at once may both take the same token, and a bucket
 * created on two CPUs at once keeps one of the two. The limits are
 * approximate under concurrency, by at most a token per CPU.
 */
static __always_inline int take_keyed(enum xdhcp_limit_kind kind, __u64 id, __u32 rate, __u32 burst, __u64 now)
{
	struct xdhcp_limit_key k = { .kind = kind, .id = id };
	struct xdhcp_tokens fresh = {};
	struct xdhcp_tokens *b;
	int ok;

	b = bpf_map_lookup_elem(&xdhcp_limits, &k);
	if (b)
		return take(b, rate, burst, now);
	ok = take(&fresh, rate, burst, now);
	bpf_map_update_elem(&xdhcp_limits, &k, &fresh, BPF_ANY);
	return ok;
}

/*
 * rate_limit applies the limits of struct xdhcp_config, in its order, to a
 * DISCOVER or REQUEST whose client key is key and relay key relay. Returns
 * 0 if admitted, else the drop counter.
 */
static __always_inline enum xdhcp_stat rate_limit(struct xdhcp_config *cfg, __u64 key, __u64 relay)
{
	struct xdhcp_tokens *g;
	__u64 now;
	__u32 zero = 0;

	if (!cfg->enabled)
		return 0;
	now = cfg->clock_ns ? cfg->clock_ns : bpf_ktime_get_ns();
	if (cfg->client_rate && !take_keyed(XDHCP_LIMIT_CLIENT, key, cfg->client_rate, cfg->client_burst, now))
		return XDHCP_STAT_DROP_RATE_CLIENT;
	if (!cfg->relay_rate && !cfg->unknown_rate)
		return 0;
	if (bpf_map_lookup_elem(&xdhcp_known, &key))
		return 0;
	if (cfg->relay_rate && !take_keyed(XDHCP_LIMIT_RELAY, relay, cfg->relay_rate, cfg->relay_burst, now))
		return XDHCP_STAT_DROP_RATE_RELAY;
	if (cfg->unknown_rate) {
		g = bpf_map_lookup_elem(&xdhcp_global, &zero);
		if (g && !take(g, cfg->unknown_rate, cfg->unknown_burst, now))
			return XDHCP_STAT_DROP_RATE_UNKNOWN;
	}
	return 0;
}

/*
 * classify_dhcp decides for a UDP datagram to port 67 whose payload starts
 * dhcp bytes into the packet. unicast is set if the destination IP is an
 * XDHCP_ADDR_LOCAL address (for the relay key).
 */
static __always_inline enum xdhcp_act classify_dhcp(void *data, void *data_end, __u32 dhcp, __u32 dhcp_len,
						    struct xdhcp_config *cfg, int unicast, enum xdhcp_stat *stat,
						    struct renew_req *rq)
{
	struct xdhcp_scan s = {};
	__u8 *b = data + dhcp;
	__u32 key_off, key_len;
	enum xdhcp_key_kind kind;
	enum xdhcp_stat drop;
	__u64 key, relay = 0;
	__u32 bucket;
	enum xdhcp_bucket_owner *owner;
	int h;

	/*
	 * Frames user space would parse only to drop are dropped here, by
	 * name: a payload too short for the BOOTP header and cookie (the
	 * pipeline's pkt4-parse-failed-truncated; xdhcpd serves no plain
	 * BOOTP) and anything but a BOOTREQUEST (pkt4-parse-failed-not-
	 * bootrequest). The second test only bounds the packet for the
	 * verifier: a UDP length beyond the frame was redirected above.
	 */
	if (dhcp_len < DHCP_OPTIONS || (void *)(b + DHCP_OPTIONS) > data_end) {
		*stat = XDHCP_STAT_DROP_SHORT;
		return XS_ACT_DROP;
	}
	if (b[BOOTP_OP] != BOOTREQUEST) {
		*stat = XDHCP_STAT_DROP_NOT_REQUEST;
		return XS_ACT_DROP;
	}
	/* No DHCP cookie: plain BOOTP or garbage, user space decides. */
	if (b[BOOTP_COOKIE] != 99 || b[BOOTP_COOKIE + 1] != 130 || b[BOOTP_COOKIE + 2] != 83 ||
	    b[BOOTP_COOKIE + 3] != 99) {
		*stat = XDHCP_STAT_REDIRECT_UNCERTAIN;
		return XS_ACT_REDIRECT;
	}

	scan_options(data, data_end, dhcp + DHCP_OPTIONS, dhcp_len - DHCP_OPTIONS, &s);
	if (s.end == XS_SCAN_TRUNCATED) {
		*stat = XDHCP_STAT_REDIRECT_TRUNCATED;
		return XS_ACT_REDIRECT;
	}
	/* Too many options, too large an area, or see struct xdhcp_scan.uncertain. */
	if (s.end != XS_SCAN_DONE || s.uncertain) {
		*stat = XDHCP_STAT_REDIRECT_UNCERTAIN;
		return XS_ACT_REDIRECT;
	}
	if (!s.has_type || !balanced(s.type)) {
		*stat = XDHCP_STAT_REDIRECT_NOT_BALANCED;
		return XS_ACT_REDIRECT;
	}

	if (s.has_cid) {
		/* Kea falls back to chaddr on an empty option 61, but its option
		 * parser may reject one first (not lab-tested): user space decides. */
		if (s.cid_len == 0) {
			*stat = XDHCP_STAT_REDIRECT_UNCERTAIN;
			return XS_ACT_REDIRECT;
		}
		key_off = dhcp + DHCP_OPTIONS + s.cid_off;
		key_len = s.cid_len;
		kind = XDHCP_KEY_CLIENT_ID;
	} else {
		key_len = b[BOOTP_HLEN];
		if (key_len == 0) {
			*stat = XDHCP_STAT_REDIRECT_NO_IDENT;
			return XS_ACT_REDIRECT;
		}
		/* Kea pads chaddr with zeros up to hlen > 16 (source reading, not lab-tested). */
		if (key_len > BOOTP_CHADDR_LEN) {
			*stat = XDHCP_STAT_REDIRECT_UNCERTAIN;
			return XS_ACT_REDIRECT;
		}
		key_off = dhcp + BOOTP_CHADDR;
		kind = XDHCP_KEY_CHADDR;
	}

	key = client_key_start(kind);
	h = lb_hash(data, data_end, key_off, key_len, &key);
	if (h < 0) {
		*stat = XDHCP_STAT_REDIRECT_TRUNCATED;
		return XS_ACT_REDIRECT;
	}
	bucket = (__u32)h;
	owner = bpf_map_lookup_elem(&xdhcp_buckets, &bucket);
	if (!owner) { /* cannot happen: 256 entries */
		*stat = XDHCP_STAT_REDIRECT_UNCERTAIN;
		return XS_ACT_REDIRECT;
	}
	if (*owner == XDHCP_BUCKET_PARTNER) {
		*stat = XDHCP_STAT_DROP_PARTNER;
		return XS_ACT_DROP;
	}
	if (s.type == DHCPDISCOVER || s.type == DHCPREQUEST) {
		/* giaddr lies inside the 240 bytes checked above. */
		if (unicast)
			relay = (__u64)b[BOOTP_GIADDR] << 24 | (__u64)b[BOOTP_GIADDR + 1] << 16 |
				(__u64)b[BOOTP_GIADDR + 2] << 8 | b[BOOTP_GIADDR + 3];
		drop = rate_limit(cfg, key, relay);
		if (drop) {
			*stat = drop;
			return XS_ACT_DROP;
		}
	}
	*stat = XDHCP_STAT_REDIRECT_OURS;
	if (s.type == DHCPREQUEST && cfg->renew &&
	    (b[BOOTP_CIADDR] | b[BOOTP_CIADDR + 1] | b[BOOTP_CIADDR + 2] | b[BOOTP_CIADDR + 3])) {
		rq->key = key;
		rq->dhcp_len = dhcp_len;
		rq->cand = 1;
		return XS_ACT_RENEW;
	}
	return XS_ACT_REDIRECT;
}

static __always_inline int is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD) ||
	       proto == bpf_htons(ETH_P_QINQ1);
}

/*
 * admit_dst checks that a DHCP frame is addressed to this host (xdhcp.h,
 * admission). Returns 0 if it is, with *unicast set when the destination
 * IP is one of our own addresses; else the pass counter.
 */
static __always_inline enum xdhcp_stat admit_dst(struct ethhdr *eth, struct iphdr *ip, struct xdhcp_config *cfg,
						 int *unicast)
{
	struct xdhcp_addr *a;
	__be32 daddr = ip->daddr;
	int mine = 1, all = 1, set = 0;

#pragma unroll
	for (int i = 0; i < 6; i++) {
		if (eth->h_dest[i] != cfg->mac[i])
			mine = 0;
		if (eth->h_dest[i] != 0xff)
			all = 0;
		if (cfg->mac[i])
			set = 1;
	}
	/* An unset (all zero) MAC matches nothing: only broadcast frames are ours. */
	if (!all && !(mine && set))
		return XDHCP_STAT_PASS_NOT_OUR_MAC;
	if (daddr == 0xffffffff)
		return 0;
	a = bpf_map_lookup_elem(&xdhcp_addrs, &daddr);
	if (!a)
		return XDHCP_STAT_PASS_NOT_OUR_IP;
	*unicast = a->kind == XDHCP_ADDR_LOCAL;
	return 0;
}

static __always_inline enum xdhcp_act classify(struct xdp_md *ctx, enum xdhcp_stat *stat, struct renew_req *rq,
					       __u64 *now)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct xdhcp_config *cfg;
	struct iphdr *ip;
	struct udphdr *udp;
	__u32 off = sizeof(*eth);
	__u32 udp_len, zero = 0;
	enum xdhcp_stat pass;
	int unicast = 0;

	if ((void *)(eth + 1) > data_end) {
		*stat = XDHCP_STAT_PASS_MALFORMED;
		return XS_ACT_PASS;
	}
	/*
	 * A tagged frame arrived on a trunk: it belongs to a VLAN
	 * sub-interface, whose subnet and address user space does not see
	 * here (it would select the subnet of this interface). The stack
	 * delivers it to the sub-interface, and the UDP path serves it there.
	 * (A NIC that strips tags in hardware hides them from XDP: turn rx
	 * VLAN offload off on a trunk.)
	 */
	if (is_vlan(eth->h_proto)) {
		*stat = XDHCP_STAT_PASS_VLAN;
		return XS_ACT_PASS;
	}
	if (eth->h_proto != bpf_htons(ETH_P_IP)) {
		*stat = XDHCP_STAT_PASS_NOT_IP;
		return XS_ACT_PASS;
	}

	ip = data + off;
	if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5 ||
	    bpf_ntohs(ip->tot_len) < ip->ihl * 4) {
		*stat = XDHCP_STAT_PASS_MALFORMED;
		return XS_ACT_PASS;
	}
	if (ip->protocol != IPPROTO_UDP) {
		*stat = XDHCP_STAT_PASS_NOT_UDP;
		return XS_ACT_PASS;
	}
	if (ip->frag_off & bpf_htons(IP_MF_OFFSET)) {
		*stat = XDHCP_STAT_PASS_FRAGMENT;
		return XS_ACT_PASS;
	}
	/* IP options are rare on DHCP; the stack and the UDP socket handle them. */
	if (ip->ihl != 5) {
		*stat = XDHCP_STAT_PASS_IP_OPTIONS;
		return XS_ACT_PASS;
	}
	off += sizeof(*ip);

	udp = data + off;
	if ((void *)(udp + 1) > data_end) {
		*stat = XDHCP_STAT_PASS_MALFORMED;
		return XS_ACT_PASS;
	}
	if (udp->dest != bpf_htons(DHCP_SERVER_PORT)) {
		*stat = XDHCP_STAT_PASS_NOT_DHCP_PORT;
		return XS_ACT_PASS;
	}
	cfg = bpf_map_lookup_elem(&xdhcp_cfg, &zero);
	if (!cfg) { /* cannot happen: one entry */
		*stat = XDHCP_STAT_PASS_MALFORMED;
		return XS_ACT_PASS;
	}
	pass = admit_dst(eth, ip, cfg, &unicast);
	if (pass) {
		*stat = pass;
		return XS_ACT_PASS;
	}
	udp_len = bpf_ntohs(udp->len);
	if (udp_len < sizeof(*udp)) {
		*stat = XDHCP_STAT_PASS_MALFORMED;
		return XS_ACT_PASS;
	}
	/* A DHCP datagram cut short (UDP length beyond the frame): user space decides. */
	if ((void *)udp + udp_len > data_end) {
		*stat = XDHCP_STAT_REDIRECT_TRUNCATED;
		return XS_ACT_REDIRECT;
	}
	off += sizeof(*udp);
	*now = cfg->clock_ns ? cfg->clock_ns : bpf_ktime_get_ns();
	return classify_dhcp(data, data_end, off, udp_len - sizeof(*udp), cfg, unicast, stat, rq);
}

SEC("xdp")
int xdhcp_xdp(struct xdp_md *ctx)
{
	enum xdhcp_stat stat = XDHCP_STAT_PASS_MALFORMED;
	struct renew_req rq = {};
	__u64 now = 0;
	enum xdhcp_act act = classify(ctx, &stat, &rq, &now);
	enum xdhcp_stat why = XDHCP_STAT_MAX;
	int verdict, no_socket = 0;

	if (act == XS_ACT_RENEW) {
		switch (try_renew(ctx, &rq, now, &why)) {
		case RENEW_TX:
			count_verdict(XDHCP_STAT_TX_RENEW, 0);
			return XDP_TX;
		case RENEW_BROKEN:
			count_verdict(XDHCP_STAT_DROP_RENEW_BUILD, 0);
			return XDP_DROP;
		}
		act = XS_ACT_REDIRECT;
	}
	switch (act) {
	case XS_ACT_DROP:
		verdict = XDP_DROP;
		break;
	case XS_ACT_REDIRECT:
		/* XDP_REDIRECT if a socket is bound on this queue, else XDP_PASS. */
		verdict = bpf_redirect_map(&xdhcp_xsks, ctx->rx_queue_index, XDP_PASS);
		no_socket = verdict != XDP_REDIRECT;
		break;
	default:
		verdict = XDP_PASS;
	}
	count_verdict(stat, no_socket);
	if (why != XDHCP_STAT_MAX)
		count_note(why);
	return verdict;
}
