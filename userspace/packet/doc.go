// Package packet decodes and encodes the Ethernet (up to two VLAN tags) /
// IPv4 / UDP frames of the AF_XDP path without allocating, computes and
// checks their checksums, and holds the RFC 2131 §4.1 reply-addressing
// decision (ReplyDestination).
//
// Decode failures are sentinel *Error values; Reason turns one into a
// stable, short name for per-reason drop counters.
package packet
