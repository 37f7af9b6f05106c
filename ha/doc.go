// Package ha implements ISC Kea 2.2's High Availability hook for DHCPv4 in
// load-balancing mode, so that xdhcpd can be one half of an HA pair whose
// other half is a real kea-dhcp4 with libdhcp_ha.so.
//
// The Service owns the HA state machine (state.go, machine.go), the
// heartbeat loop and failure detection (heartbeat.go, detect.go), the
// scope-to-bucket mapping pushed to the XDP filter (scopes.go), lease updates
// sent to the partner before a reply leaves (updates.go), lease database
// synchronisation (sync.go), the peer HTTP client (client.go) and listener
// (listener.go), and the HA command handlers (commands.go). The listener
// dispatches through the daemon's control.Dispatcher, so a partner's
// lease4-*, dhcp-disable/enable, status-get and list-commands run the same
// handlers (userspace/leasecmds, userspace/servercmds) as the control socket.
//
// Everything it needs from the rest of xdhcpd comes through small
// consumer-defined interfaces (LeaseStore, DHCPService, BucketSetter) that
// cmd/xdhcpd wires to concrete types.
package ha
