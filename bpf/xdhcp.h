/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdhcp.h: the only contract between the XDP program (xdhcp.c) and its Go
 * loader (datapath.go). Go types and constants are generated from it by
 * bpf2go (see gen.go); never copy them by hand. Changing this file means:
 * run `make generate`, then check datapath.go (statNames comes from BTF, so
 * new stats need no Go change) and the tests in datapath_test.go.
 */
#pragma once

/* Map and program names (the kernel keeps at most 15 characters). */
#define XDHCP_BUCKETS 256 /* RFC 3074 hash values */
#define XDHCP_MAX_QUEUES 256 /* XSKMAP size: highest rx_queue_index + 1 */

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
	XDHCP_STAT_PASS_VLAN_DEPTH, /* more than two VLAN tags */
	XDHCP_STAT_PASS_MALFORMED, /* truncated or inconsistent Ethernet/VLAN, IPv4 or UDP header */
	XDHCP_STAT_PASS_FRAGMENT, /* IPv4 MF flag or fragment offset set */
	XDHCP_STAT_PASS_IP_OPTIONS, /* IPv4 ihl > 5: left to the stack and the UDP socket */
	XDHCP_STAT_PASS_NOT_UDP, /* IPv4 but not UDP */
	XDHCP_STAT_PASS_NOT_DHCP_PORT, /* UDP, destination port != 67 */
	/* Redirect to the AF_XDP socket of the receive queue (fallback XDP_PASS). */
	XDHCP_STAT_REDIRECT_OURS, /* load-balanced type, hash bucket served here */
	XDHCP_STAT_REDIRECT_NOT_BALANCED, /* message type Kea does not load-balance (incl. no option 53) */
	XDHCP_STAT_REDIRECT_NOT_REQUEST, /* op != BOOTREQUEST */
	XDHCP_STAT_REDIRECT_NO_IDENT, /* balanced, no client id and hlen 0: Kea drops it; user space decides and logs */
	XDHCP_STAT_REDIRECT_TRUNCATED, /* DHCP payload shorter than its header, UDP length or an option */
	XDHCP_STAT_REDIRECT_UNCERTAIN, /* parseable but not decidable for certain in the kernel, see xdhcp.c */
	/* XDP_DROP */
	XDHCP_STAT_DROP_PARTNER, /* load-balanced type, hash bucket belongs to the partner */
	/* Not a verdict (see above). */
	XDHCP_STAT_NO_SOCKET,
	XDHCP_STAT_MAX,
};
