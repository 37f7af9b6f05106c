// Package server is xdhcpd's packet I/O: a UDP listener on the DHCP server
// port, a bounded drop-oldest queue and the worker pool that hands decoded
// requests to the engine (a Handler) and sends its replies. The AF_XDP
// receive path feeds the same queue through Submit, or runs its own
// per-queue workers with NewWorker.
//
// # Statistics
//
// Workers count Kea's hot-path statistics in their own stats.Shard:
// pkt4-received (every packet that reaches a worker or is dropped by the
// queue), the per-type pkt4-*-received counters, pkt4-parse-failed,
// pkt4-receive-drop, pkt4-sent and pkt4-offer/ack/nak-sent (after a
// successful send). A nil reply from the Handler is the engine's decision
// and is not counted here. Extra named cells say why a packet was dropped:
//
//	pkt4-receive-drop-queue-full       queue full, the oldest queued packet was dropped (also pkt4-receive-drop)
//	pkt4-receive-drop-handler-panic    the Handler panicked (also pkt4-receive-drop)
//	pkt4-parse-failed-truncated        shorter than a BOOTP header + magic cookie, or cut by the read buffer
//	pkt4-parse-failed-malformed        rejected by dhcpv4.FromBytes
//	pkt4-parse-failed-not-bootrequest  op is not BOOTREQUEST
//	pkt4-send-failed                   the reply could not be sent
//	pkt4-udp-ignored-interface         received on an interface that is not configured (not in pkt4-received)
//	pkt4-udp-read-errors               failed socket reads
//	pkt4-udp-drop-no-source            a datagram without a source address: nothing to answer (not in pkt4-received)
//
// The three pkt4-parse-failed-* cells also count in pkt4-parse-failed and
// pkt4-receive-drop.
package server
