// Package ha implements ISC Kea 2.2's High Availability hook for DHCPv4 in
// its three modes (load-balancing, hot-standby, passive-backup) and as a
// backup server, so that xdhcpd can be one half of an HA pair whose other
// half is a real kea-dhcp4 with libdhcp_ha.so (docs/kea/ha-protocol.md §15
// for what differs outside load-balancing).
//
// # Layers
//
// Bottom to top; each layer calls only the layers below it (every file but
// service.go adds methods to the Service, whose struct service.go
// declares):
//
//  1. ha/lbhash: the RFC 3074 hash, as Kea computes it.
//  2. ha/peer: the peer transport, which knows no HA state: the command
//     client, the pipelining lease-update client, the peer listener's
//     HTTP server and handler (Kea's HTTP checks and command envelope),
//     TLS. It takes plain values (Target, Update, Answer) and callbacks
//     (Handler.Forbidden, Handler.Run). ha/peer/peertest is a test partner.
//  3. state.go, table.go: the states, their service and lease-update
//     policies, and the state machine as a transition table: rows of
//     guards (partner state, shouldPartnerDown, clock skew, maintenance,
//     pause, sync and backlog outcomes) and results, each row naming the
//     Kea handler it mirrors. Pure data and a first-match evaluator.
//  4. config.go, transport.go: the configuration (Kea's keys, defaults,
//     validation, the TLS parameter merge) and what the Service needs from
//     the transport (the caller, updateSender and listener interfaces).
//  5. detect.go: the partner's reachability: the unacked-client analysis,
//     isCommunicationInterrupted, shouldPartnerDown, marking the partner
//     unavailable and asking the state machine to run.
//  6. scopes.go: the served scopes, the bucket table pushed to the XDP
//     filter, and Scope, the hot path's in-scope test.
//  7. sync.go, updates.go, backups.go: the lease traffic with the partner:
//     database synchronisation, Replicate/Sync (lease updates before a reply
//     leaves), the backlog replay and ha-reset; and with the backup
//     servers (every change, in every state, waited for only with
//     wait-backup-ack). counters.go names every update, heartbeat and sync
//     failure (Service.Counters).
//  8. machine.go: runs the table: gathers the facts, picks the row, enters
//     the next state (entry actions: scopes, DHCP service, pausing) or runs
//     the row's action (sync, backlog replay) and looks its outcome up.
//  9. heartbeat.go: the loop: heartbeats, their outcome, state machine runs.
//  10. commands.go, status.go, listener.go: what the partner and operators
//     call: the HA commands, status-get's HA part, the peer listener's
//     handler (restrict-commands, body caps) over the daemon's
//     control.Dispatcher, so that a partner's lease4-*, dhcp-disable/enable,
//     status-get and list-commands run the same handlers
//     (userspace/leasecmds, userspace/servercmds) as the control socket.
//  11. service.go: the Service: New, Start/Serve, Stop, State.
//
// Everything it needs from the rest of xdhcpd comes through small
// consumer-defined interfaces (LeaseStore, DHCPService, BucketSetter) that
// cmd/xdhcpd wires to concrete types.
package ha
