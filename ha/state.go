package ha

// State is an HA state (docs/kea/ha-protocol.md §5). The partner may also be in the
// pseudo-states StateUnavailable (last command failed) and stateUndefined
// (never heard from).
type State int

// HA states. Values are internal; names are the wire strings.
const (
	stateUndefined State = iota
	StateWaiting
	StateSyncing
	StateReady
	StateLoadBalancing
	StateCommunicationRecovery
	StatePartnerDown
	StatePartnerInMaintenance
	StateInMaintenance
	StateTerminated
	StateHotStandby
	StateBackup
	StatePassiveBackup
	StateUnavailable
)

var stateNames = [...]string{
	stateUndefined:             "",
	StateWaiting:               "waiting",
	StateSyncing:               "syncing",
	StateReady:                 "ready",
	StateLoadBalancing:         "load-balancing",
	StateCommunicationRecovery: "communication-recovery",
	StatePartnerDown:           "partner-down",
	StatePartnerInMaintenance:  "partner-in-maintenance",
	StateInMaintenance:         "in-maintenance",
	StateTerminated:            "terminated",
	StateHotStandby:            "hot-standby",
	StateBackup:                "backup",
	StatePassiveBackup:         "passive-backup",
	StateUnavailable:           "unavailable",
}

// String returns the wire name ("load-balancing"), "" for undefined.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return ""
	}
	return stateNames[s]
}

// parseState maps a wire name reported by a live server to a State.
// "unavailable" is never reported by a live server and is rejected.
func parseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name && n != "" && State(i) != StateUnavailable {
			return State(i), true
		}
	}
	return stateUndefined, false
}

// serviceEnabled reports whether DHCP service runs in state s
// (Kea's adjustNetworkState).
func serviceEnabled(s State) bool {
	switch s {
	case StateLoadBalancing, StateCommunicationRecovery, StatePartnerDown,
		StatePartnerInMaintenance, StateTerminated, StateHotStandby, StatePassiveBackup:
		return true
	}
	return false
}

// updatePolicy is what happens to a lease change in a state.
type updatePolicy int

const (
	updateUnsent updatePolicy = iota // not sent; unsent-update-count++
	updateSend                       // sent before the reply is released
	updateQueue                      // queued in the backlog (communication-recovery)
)

func updatePolicyFor(s State) updatePolicy {
	switch s {
	case StateLoadBalancing, StatePartnerInMaintenance, StateHotStandby:
		return updateSend
	case StateCommunicationRecovery:
		return updateQueue
	}
	return updateUnsent
}
