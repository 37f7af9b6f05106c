package metrics

import (
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Family is one metric family the daemon can export: its name, type,
// help text and label names. Families lists every one; the collector
// describes exactly these to the registry, so a series outside the table
// cannot be exported by mistake.
type Family struct {
	Name   string
	Type   prometheus.ValueType
	Help   string
	Labels []string
}

// Label names shared by every source, user space and kernel alike.
const (
	LabelSubnet    = "subnet"    // Kea subnet id
	LabelInterface = "interface" // network interface name
	LabelReason    = "reason"    // why a packet was dropped or passed on
	LabelStage     = "stage"     // which part of user space dropped it
	LabelVerdict   = "verdict"   // XDP verdict: pass, redirect, drop
	LabelType      = "type"      // DHCP message type
	LabelCause     = "cause"     // allocation failure cause
	LabelState     = "state"     // HA state name
	LabelSource    = "source"    // an unmapped value's source: kea, xdp, ha_listener, control
	LabelName      = "name"      // an unmapped value's name in its source
	LabelBackup    = "backup"    // an HA backup server's name
	LabelResult    = "result"    // an HA lease update's outcome: sent (acknowledged) or failed
)

const (
	counter = prometheus.CounterValue
	gauge   = prometheus.GaugeValue
)

// Every metric family, by source. Counters end in _total; values are in
// base units (packets, addresses, leases: plain counts).
var families = []Family{
	// DHCPv4 server (Kea statistics, which statistic-get-all keeps under Kea's names).
	{"xdhcp_dhcp4_received_packets_total", counter, "DHCPv4 packets received (Kea pkt4-received).", nil},
	{"xdhcp_dhcp4_received_messages_total", counter, "DHCPv4 messages received by type (Kea pkt4-<type>-received).", []string{LabelType}},
	{"xdhcp_dhcp4_sent_packets_total", counter, "DHCPv4 packets sent (Kea pkt4-sent).", nil},
	{"xdhcp_dhcp4_sent_messages_total", counter, "DHCPv4 messages sent by type (Kea pkt4-<type>-sent); type=\"ack\" is leases granted or renewed.", []string{LabelType}},
	{"xdhcp_dhcp4_parse_failed_packets_total", counter, "Packets that could not be parsed (Kea pkt4-parse-failed; by reason in xdhcp_dhcp4_dropped_packets_total{stage=\"parse\"}).", nil},
	{"xdhcp_dhcp4_receive_dropped_packets_total", counter, "Packets dropped after receipt, Kea's sum (Kea pkt4-receive-drop; by reason in xdhcp_dhcp4_dropped_packets_total).", nil},
	{"xdhcp_dhcp4_dropped_packets_total", counter, "Packets dropped in user space, by stage (parse, server, receive, udp, afxdp) and reason (Kea pkt4-parse-failed-*, pkt4-dropped-*, pkt4-receive-drop-*, pkt4-udp-drop-*, xdp-rx-drop-*).", []string{LabelStage, LabelReason}},
	{"xdhcp_dhcp4_send_failures_total", counter, "Replies that could not be sent (pkt4-send-failed).", nil},
	{"xdhcp_dhcp4_naks_decided_total", counter, "NAKs the engine decided on (pkt4-nak-decided).", nil},
	{"xdhcp_dhcp4_declined_addresses", gauge, "Addresses currently declined (Kea declined-addresses).", nil},
	{"xdhcp_dhcp4_assigned_addresses_cumulative_total", counter, "Addresses assigned since start (Kea cumulative-assigned-addresses).", nil},
	{"xdhcp_dhcp4_reclaimed_leases_total", counter, "Expired leases reclaimed (Kea reclaimed-leases).", nil},
	{"xdhcp_dhcp4_reclaimed_declined_addresses_total", counter, "Declined addresses reclaimed (Kea reclaimed-declined-addresses).", nil},
	{"xdhcp_dhcp4_reservation_conflicts_total", counter, "Reservation conflicts (Kea v4-reservation-conflicts).", nil},
	{"xdhcp_dhcp4_allocation_failures_total", counter, "Address allocation failures (Kea v4-allocation-fail).", nil},
	{"xdhcp_dhcp4_allocation_failure_causes_total", counter, "Address allocation failures by cause (Kea v4-allocation-fail-<cause>).", []string{LabelCause}},
	{"xdhcp_dhcp4_subnet_addresses", gauge, "Addresses in the subnet's pools (Kea subnet[id].total-addresses).", []string{LabelSubnet}},
	{"xdhcp_dhcp4_subnet_assigned_addresses", gauge, "Addresses of the subnet leased now (Kea subnet[id].assigned-addresses).", []string{LabelSubnet}},
	{"xdhcp_dhcp4_subnet_declined_addresses", gauge, "Addresses of the subnet declined now (Kea subnet[id].declined-addresses).", []string{LabelSubnet}},
	{"xdhcp_dhcp4_subnet_assigned_addresses_cumulative_total", counter, "Addresses of the subnet assigned since start (Kea subnet[id].cumulative-assigned-addresses).", []string{LabelSubnet}},
	{"xdhcp_dhcp4_subnet_reclaimed_leases_total", counter, "Expired leases of the subnet reclaimed (Kea subnet[id].reclaimed-leases).", []string{LabelSubnet}},
	{"xdhcp_dhcp4_subnet_reclaimed_declined_addresses_total", counter, "Declined addresses of the subnet reclaimed (Kea subnet[id].reclaimed-declined-addresses).", []string{LabelSubnet}},
	{"xdhcp_dhcp4_subnet_reservation_conflicts_total", counter, "Reservation conflicts in the subnet (Kea subnet[id].v4-reservation-conflicts).", []string{LabelSubnet}},
	{"xdhcp_dhcp4_subnet_allocation_failures_total", counter, "Address allocation failures in the subnet (Kea subnet[id].v4-allocation-fail).", []string{LabelSubnet}},
	{"xdhcp_dhcp4_udp_read_errors_total", counter, "Read errors on the UDP sockets (pkt4-udp-read-errors).", nil},

	{"xdhcp_unmapped_value", gauge, "A value this version maps to no metric of its own, by source and name (a missing mapping: report it).", []string{LabelSource, LabelName}},

	// The XDP program (kernel counters, struct xdhcp_counters in bpf/xdhcp.h).
	{"xdhcp_xdp_received_packets_total", counter, "Packets the XDP program saw (rx_total); the verdicts of xdhcp_xdp_packets_total sum to it.", []string{LabelInterface}},
	{"xdhcp_xdp_packets_total", counter, "Packets by XDP verdict (pass to the kernel stack, redirect to AF_XDP, drop, tx: answered in the kernel) and reason.", []string{LabelInterface, LabelVerdict, LabelReason}},
	{"xdhcp_xdp_renew_misses_total", counter, "Renewals (REQUEST with ciaddr, ours, admitted) the XDP program left to user space, by reason (renew_* in bpf/xdhcp.h); answered ones are xdhcp_xdp_packets_total{verdict=\"tx\",reason=\"renew\"}.", []string{LabelInterface, LabelReason}},
	{"xdhcp_xdp_redirect_fallback_packets_total", counter, "Redirects that fell back to the kernel stack: no AF_XDP socket on the queue (no_socket).", []string{LabelInterface}},

	// The AF_XDP path in user space.
	{"xdhcp_afxdp_rx_frames_total", counter, "Frames taken from the AF_XDP RX rings.", []string{LabelInterface}},
	{"xdhcp_afxdp_rx_dropped_frames_total", counter, "Frames dropped before the server (by reason: xdhcp_dhcp4_dropped_packets_total{stage=\"afxdp\"}).", []string{LabelInterface}},
	{"xdhcp_afxdp_tx_frames_total", counter, "Replies queued on an AF_XDP TX ring.", []string{LabelInterface}},
	{"xdhcp_afxdp_tx_fallback_frames_total", counter, "Replies handed to the UDP fallback (by reason: xdhcp_afxdp_tx_fallbacks_total).", []string{LabelInterface}},
	{"xdhcp_afxdp_tx_errors_total", counter, "Replies that could not be encoded or submitted.", []string{LabelInterface}},
	{"xdhcp_afxdp_neighbour_misses_total", counter, "Next hops not in the neighbour table (reply sent through the fallback).", []string{LabelInterface}},
	{"xdhcp_afxdp_neighbour_resolutions_total", counter, "Neighbour resolution requests sent to the kernel.", []string{LabelInterface}},
	{"xdhcp_afxdp_address_updates_total", counter, "Local address changes applied to the XDP program's map.", []string{LabelInterface}},
	{"xdhcp_afxdp_address_errors_total", counter, "Address subscription or map update errors.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_rx_dropped_total", counter, "AF_XDP socket: frames the kernel dropped (XDP_STATISTICS rx_dropped).", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_rx_invalid_descriptors_total", counter, "AF_XDP socket: invalid RX descriptors.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_tx_invalid_descriptors_total", counter, "AF_XDP socket: invalid TX descriptors.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_rx_ring_full_total", counter, "AF_XDP socket: frames dropped because the RX ring was full.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_rx_fill_ring_empty_total", counter, "AF_XDP socket: times the fill ring was empty.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_tx_ring_empty_total", counter, "AF_XDP socket: times the TX ring was empty.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_rx_packets_total", counter, "AF_XDP socket: packets received.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_rx_wakeups_total", counter, "AF_XDP socket: RX wake-ups.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_tx_packets_total", counter, "AF_XDP socket: packets submitted for transmission.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_tx_completed_total", counter, "AF_XDP socket: transmissions completed.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_tx_kicks_total", counter, "AF_XDP socket: sendto kicks.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_tx_no_frame_total", counter, "AF_XDP socket: replies with no free TX frame.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_invalid_releases_total", counter, "AF_XDP socket: frames released twice or unknown.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_invalid_submits_total", counter, "AF_XDP socket: frames submitted that were not held.", []string{LabelInterface}},
	{"xdhcp_afxdp_socket_unexpected_frames_total", counter, "AF_XDP socket: completions or receptions of unexpected frames.", []string{LabelInterface}},
	{"xdhcp_afxdp_tx_fallbacks_total", counter, "Replies sent through the UDP fallback instead of AF_XDP, by reason (xdp-tx-fallback-*).", []string{LabelReason}},
	{"xdhcp_afxdp_queue_restarts_total", counter, "AF_XDP queue sockets reopened after an error (xdp-queue-restarts).", nil},
	{"xdhcp_afxdp_queues_handed_to_kernel_total", counter, "AF_XDP queues given up and left to the kernel path (xdp-queue-handed-to-kernel).", nil},

	// High availability.
	{"xdhcp_ha_state", gauge, "HA state of this server: 1 for the current state.", []string{LabelState}},
	{"xdhcp_ha_partner_state", gauge, "Last known HA state of the partner: 1 for that state.", []string{LabelState}},
	{"xdhcp_ha_lease_update_failures_total", counter, "Leases whose update the partner did not acknowledge (ha-lease-update-failed-no-reply).", nil},
	{"xdhcp_ha_lease_updates_failed_total", counter, "Lease updates (lease4-update/lease4-del) that failed: the reply was dropped and the partner marked unavailable.", nil},
	{"xdhcp_ha_lease_update_timeouts_total", counter, "Lease updates written but not answered in time; their connection drains before it writes again.", nil},
	{"xdhcp_ha_lease_update_stale_answers_total", counter, "Answers that arrived for lease updates already timed out.", nil},
	{"xdhcp_ha_lease_update_drains_cut_total", counter, "Update connections closed because the partner did not finish answering timed-out updates.", nil},
	{"xdhcp_ha_lease_update_bad_answers_total", counter, "Answers to lease updates that were not a valid reply (the connection is fenced until the partner closes it).", nil},
	{"xdhcp_ha_backlog_cleared_unsent_total", counter, "Backlogged lease updates cleared unsent on leaving communication-recovery (added to unsent-update-count).", nil},
	{"xdhcp_ha_backlog_replay_failures_total", counter, "Backlog replays that failed (waiting and a full sync follow).", nil},
	{"xdhcp_ha_backlog_replay_overlong_total", counter, "Backlog replays that did not converge within twice delayed-updates-limit sends.", nil},
	{"xdhcp_ha_backlog_overflow_dropped_total", counter, "Lease updates not queued because the backlog was full (delayed-updates-limit).", nil},
	{"xdhcp_ha_heartbeat_failures_total", counter, "Heartbeats to the partner that failed.", nil},
	{"xdhcp_ha_partner_state_invalid_total", counter, "Heartbeat answers naming a state invalid for the mode.", nil},
	{"xdhcp_ha_sync_failures_total", counter, "Lease database synchronisations that failed.", nil},
	{"xdhcp_ha_backup_lease_updates_total", counter, "Lease updates to an HA backup server, by result (sent: acknowledged; failed: not, the reply dropped only with wait-backup-ack).", []string{LabelBackup, LabelResult}},
	{"xdhcp_ha_listener_accept_errors_total", counter, "HA listener: accept errors.", nil},
	{"xdhcp_ha_listener_connection_limit_waits_total", counter, "HA listener: connections that waited for the connection limit.", nil},
	{"xdhcp_ha_listener_bad_requests_total", counter, "HA listener: malformed requests (400).", nil},
	{"xdhcp_ha_listener_unauthorized_total", counter, "HA listener: requests refused for missing or wrong basic auth (401).", nil},
	{"xdhcp_ha_listener_forbidden_total", counter, "HA listener: commands refused by restrict-commands (403).", nil},
	{"xdhcp_ha_listener_requests_too_large_total", counter, "HA listener: bodies over the cap (413).", nil},
	{"xdhcp_ha_listener_request_timeouts_total", counter, "HA listener: requests that did not arrive in time.", nil},
	{"xdhcp_ha_listener_tls_handshake_failures_total", counter, "HA listener: failed TLS handshakes.", nil},
	{"xdhcp_ha_listener_panics_total", counter, "HA listener: HTTP-layer panics answered 500.", nil},

	// Control channel.
	{"xdhcp_control_command_panics_total", counter, "Command handlers that panicked (control socket and HA listener).", nil},
	{"xdhcp_control_socket_accept_errors_total", counter, "Control socket: accept errors.", nil},
	{"xdhcp_control_socket_connection_limit_waits_total", counter, "Control socket: connections that waited for the connection limit.", nil},
	{"xdhcp_control_socket_command_timeouts_total", counter, "Control socket: commands not sent in time.", nil},
	{"xdhcp_control_socket_commands_too_large_total", counter, "Control socket: commands over the size cap.", nil},
	{"xdhcp_control_socket_bad_commands_total", counter, "Control socket: commands that were not valid JSON commands.", nil},
	{"xdhcp_control_socket_panics_total", counter, "Control socket: connection-handling panics.", nil},
}

// Families returns every metric family the collector can export.
func Families() []Family {
	out := make([]Family, len(families))
	copy(out, families)
	return out
}

// series is one value of a family.
type series struct {
	family string
	labels []string // values, in the family's label order
}

var (
	subnetStat = regexp.MustCompile(`^subnet\[(\d+)\]\.(.+)$`)
	typedStat  = regexp.MustCompile(`^pkt4-([a-z]+)-(received|sent)$`)
)

// keaGlobal maps Kea statistics without labels to their family.
var keaGlobal = map[string]string{
	"pkt4-received":                   "xdhcp_dhcp4_received_packets_total",
	"pkt4-sent":                       "xdhcp_dhcp4_sent_packets_total",
	"pkt4-parse-failed":               "xdhcp_dhcp4_parse_failed_packets_total",
	"pkt4-receive-drop":               "xdhcp_dhcp4_receive_dropped_packets_total",
	"pkt4-send-failed":                "xdhcp_dhcp4_send_failures_total",
	"pkt4-nak-decided":                "xdhcp_dhcp4_naks_decided_total",
	"declined-addresses":              "xdhcp_dhcp4_declined_addresses",
	"cumulative-assigned-addresses":   "xdhcp_dhcp4_assigned_addresses_cumulative_total",
	"reclaimed-leases":                "xdhcp_dhcp4_reclaimed_leases_total",
	"reclaimed-declined-addresses":    "xdhcp_dhcp4_reclaimed_declined_addresses_total",
	"v4-reservation-conflicts":        "xdhcp_dhcp4_reservation_conflicts_total",
	"v4-allocation-fail":              "xdhcp_dhcp4_allocation_failures_total",
	"pkt4-udp-read-errors":            "xdhcp_dhcp4_udp_read_errors_total",
	"ha-lease-update-failed-no-reply": "xdhcp_ha_lease_update_failures_total",
	"xdp-queue-restarts":              "xdhcp_afxdp_queue_restarts_total",
	"xdp-queue-handed-to-kernel":      "xdhcp_afxdp_queues_handed_to_kernel_total",
}

// keaSubnet maps the per-subnet statistics (after "subnet[id].").
var keaSubnet = map[string]string{
	"total-addresses":               "xdhcp_dhcp4_subnet_addresses",
	"assigned-addresses":            "xdhcp_dhcp4_subnet_assigned_addresses",
	"declined-addresses":            "xdhcp_dhcp4_subnet_declined_addresses",
	"cumulative-assigned-addresses": "xdhcp_dhcp4_subnet_assigned_addresses_cumulative_total",
	"reclaimed-leases":              "xdhcp_dhcp4_subnet_reclaimed_leases_total",
	"reclaimed-declined-addresses":  "xdhcp_dhcp4_subnet_reclaimed_declined_addresses_total",
	"v4-reservation-conflicts":      "xdhcp_dhcp4_subnet_reservation_conflicts_total",
	"v4-allocation-fail":            "xdhcp_dhcp4_subnet_allocation_failures_total",
}

// dropStages maps the prefixes of Kea-style drop statistics to the stage
// label of xdhcp_dhcp4_dropped_packets_total.
var dropStages = []struct{ prefix, stage string }{
	{"pkt4-parse-failed-", "parse"},
	{"pkt4-dropped-", "server"},
	{"pkt4-receive-drop-", "receive"},
	{"pkt4-udp-drop-", "udp"},
	{"xdp-rx-drop-", "afxdp"},
}

// KeaSeries maps a Kea-named statistic to its metric family and label
// values. A statistic it does not know goes to xdhcp_unmapped_value.
func KeaSeries(stat string) (family string, labels []string) {
	if f, ok := keaGlobal[stat]; ok {
		return f, nil
	}
	if m := subnetStat.FindStringSubmatch(stat); m != nil {
		if f, ok := keaSubnet[m[2]]; ok {
			return f, []string{m[1]}
		}
	}
	if m := typedStat.FindStringSubmatch(stat); m != nil {
		return "xdhcp_dhcp4_" + m[2] + "_messages_total", []string{m[1]}
	}
	for _, d := range dropStages {
		if r, ok := strings.CutPrefix(stat, d.prefix); ok {
			return "xdhcp_dhcp4_dropped_packets_total", []string{d.stage, r}
		}
	}
	if r, ok := strings.CutPrefix(stat, "v4-allocation-fail-"); ok {
		return "xdhcp_dhcp4_allocation_failure_causes_total", []string{r}
	}
	if r, ok := strings.CutPrefix(stat, "xdp-tx-fallback-"); ok {
		return "xdhcp_afxdp_tx_fallbacks_total", []string{r}
	}
	if stat == "pkt4-udp-ignored-interface" {
		return "xdhcp_dhcp4_dropped_packets_total", []string{"udp", "ignored-interface"}
	}
	return unmapped, []string{"kea", stat}
}

// unmapped is the family of values no other family takes.
const unmapped = "xdhcp_unmapped_value"

// interfaceCounters maps the AF_XDP path's counters (xdppath's Counters,
// bpf_* aside) to families labelled by interface.
var interfaceCounters = map[string]string{
	"path_rx_frames":               "xdhcp_afxdp_rx_frames_total",
	"path_rx_dropped":              "xdhcp_afxdp_rx_dropped_frames_total",
	"path_tx_frames":               "xdhcp_afxdp_tx_frames_total",
	"path_tx_fallback":             "xdhcp_afxdp_tx_fallback_frames_total",
	"path_tx_errors":               "xdhcp_afxdp_tx_errors_total",
	"path_neigh_misses":            "xdhcp_afxdp_neighbour_misses_total",
	"path_neigh_triggers":          "xdhcp_afxdp_neighbour_resolutions_total",
	"path_addr_updates":            "xdhcp_afxdp_address_updates_total",
	"path_addr_errors":             "xdhcp_afxdp_address_errors_total",
	"xsk_rx_dropped":               "xdhcp_afxdp_socket_rx_dropped_total",
	"xsk_rx_invalid_descs":         "xdhcp_afxdp_socket_rx_invalid_descriptors_total",
	"xsk_tx_invalid_descs":         "xdhcp_afxdp_socket_tx_invalid_descriptors_total",
	"xsk_rx_ring_full":             "xdhcp_afxdp_socket_rx_ring_full_total",
	"xsk_rx_fill_ring_empty_descs": "xdhcp_afxdp_socket_rx_fill_ring_empty_total",
	"xsk_tx_ring_empty_descs":      "xdhcp_afxdp_socket_tx_ring_empty_total",
	"xsk_rx_packets":               "xdhcp_afxdp_socket_rx_packets_total",
	"xsk_rx_wakeups":               "xdhcp_afxdp_socket_rx_wakeups_total",
	"xsk_tx_packets":               "xdhcp_afxdp_socket_tx_packets_total",
	"xsk_tx_completed":             "xdhcp_afxdp_socket_tx_completed_total",
	"xsk_tx_kicks":                 "xdhcp_afxdp_socket_tx_kicks_total",
	"xsk_tx_no_frame":              "xdhcp_afxdp_socket_tx_no_frame_total",
	"xsk_invalid_release":          "xdhcp_afxdp_socket_invalid_releases_total",
	"xsk_invalid_submit":           "xdhcp_afxdp_socket_invalid_submits_total",
	"xsk_unexpected_frames":        "xdhcp_afxdp_socket_unexpected_frames_total",
}

// InterfaceSeries maps one counter of an interface's XDP path (the keys of
// xdppath.Path.Counters: bpf_<xdhcp.h name>, xsk_*, path_*) to its family
// and label values. ok is false for a name it does not know.
func InterfaceSeries(iface, name string) (family string, labels []string, ok bool) {
	if k, isBPF := strings.CutPrefix(name, "bpf_"); isBPF {
		switch k {
		case "rx_total":
			return "xdhcp_xdp_received_packets_total", []string{iface}, true
		case "no_socket":
			return "xdhcp_xdp_redirect_fallback_packets_total", []string{iface}, true
		}
		if why, ok := strings.CutPrefix(k, "renew_"); ok {
			return "xdhcp_xdp_renew_misses_total", []string{iface, why}, true
		}
		verdict, reason, found := strings.Cut(k, "_")
		if !found || (verdict != "pass" && verdict != "redirect" && verdict != "drop" && verdict != "tx") {
			return "", nil, false
		}
		return "xdhcp_xdp_packets_total", []string{iface, verdict, strings.ReplaceAll(reason, "_", "-")}, true
	}
	if f, ok := interfaceCounters[name]; ok {
		return f, []string{iface}, true
	}
	return "", nil, false
}

// haListener, haCounters and controlCounters map the HA listener's, the
// HA service's (ha.Service.Counters) and the control channel's counters
// (the dispatcher's and, prefixed socket_, the control socket's) to their
// families.
var (
	haListener = map[string]string{
		"accept_errors":          "xdhcp_ha_listener_accept_errors_total",
		"conn_limit_waits":       "xdhcp_ha_listener_connection_limit_waits_total",
		"bad_requests":           "xdhcp_ha_listener_bad_requests_total",
		"unauthorized":           "xdhcp_ha_listener_unauthorized_total",
		"forbidden":              "xdhcp_ha_listener_forbidden_total",
		"request_too_large":      "xdhcp_ha_listener_requests_too_large_total",
		"request_timeouts":       "xdhcp_ha_listener_request_timeouts_total",
		"tls_handshake_failures": "xdhcp_ha_listener_tls_handshake_failures_total",
		"panics":                 "xdhcp_ha_listener_panics_total",
	}
	haCounters = map[string]string{
		"lease-update-failed":      "xdhcp_ha_lease_updates_failed_total",
		"update-timeouts":          "xdhcp_ha_lease_update_timeouts_total",
		"update-stale-answers":     "xdhcp_ha_lease_update_stale_answers_total",
		"update-drains-cut":        "xdhcp_ha_lease_update_drains_cut_total",
		"update-bad-answers":       "xdhcp_ha_lease_update_bad_answers_total",
		"backlog-cleared-unsent":   "xdhcp_ha_backlog_cleared_unsent_total",
		"backlog-replay-failed":    "xdhcp_ha_backlog_replay_failures_total",
		"backlog-replay-overlong":  "xdhcp_ha_backlog_replay_overlong_total",
		"backlog-overflow-dropped": "xdhcp_ha_backlog_overflow_dropped_total",
		"heartbeat-failed":         "xdhcp_ha_heartbeat_failures_total",
		"partner-state-invalid":    "xdhcp_ha_partner_state_invalid_total",
		"sync-failed":              "xdhcp_ha_sync_failures_total",
	}
	controlCounters = map[string]string{
		"command_panics":           "xdhcp_control_command_panics_total",
		"socket_accept_errors":     "xdhcp_control_socket_accept_errors_total",
		"socket_conn_limit_waits":  "xdhcp_control_socket_connection_limit_waits_total",
		"socket_command_timeouts":  "xdhcp_control_socket_command_timeouts_total",
		"socket_command_too_large": "xdhcp_control_socket_commands_too_large_total",
		"socket_bad_commands":      "xdhcp_control_socket_bad_commands_total",
		"socket_panics":            "xdhcp_control_socket_panics_total",
	}
)
