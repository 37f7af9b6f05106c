package ha

// The state machine of every mode as data: one row per case of Kea 2.2's
// state handlers (src/hooks/dhcp/high_availability/ha_service.cc), in the
// order the handlers test them. A row's columns are the guards the handlers
// test; pick returns the first row whose guards all hold. Nothing here
// reads the Service: step (machine.go) gathers the facts under s.mu and
// carries out the row's result.

// facts are the values the guards test, gathered once per step.
type facts struct {
	state   State // this server's state
	partner State // last known partner state (StateUnavailable after a failure)

	mode       haMode // the relationship's mode (Kea: getHAMode)
	primary    bool   // this server is the primary (Kea: getRole() == PRIMARY)
	backup     bool   // this server is a backup (Kea: getRole() == BACKUP)
	syncLeases bool   // sync-leases (Kea: amSyncingLeases)
	commRecov  bool   // delayed-updates-limit > 0 (Kea: amAllowingCommRecovery)

	paused        bool // the state machine is paused (Kea: isModelPaused)
	maintCanceled bool // ha-maintenance-cancel arrived (Kea: isMaintenanceCanceled)
	skew          bool // clock skew with the partner above 60 s (Kea: shouldTerminate)
	partnerDown   bool // Kea's shouldPartnerDown (detect.go)
	interrupted   bool // Kea's isCommunicationInterrupted
	overflowed    bool // the lease update backlog overflowed (Kea: wasOverflown)
	newUnsent     bool // the partner's unsent-update-count grew (Kea: hasPartnerNewUnsentUpdates)

	result result // outcome of the state's blocking action, resultNone before it ran
}

// tri is a boolean guard column: the row matches any value, or only true,
// or only false.
type tri int8

const (
	anyVal tri = iota
	yes
	no
)

func (t tri) holds(v bool) bool {
	return t == anyVal || (t == yes) == v
}

// result is the outcome of a row's action, fed back to the table.
type result int8

const (
	resultNone        result = iota // the action has not run (every ordinary row)
	resultSyncOK                    // syncing: lease database synchronised
	resultSyncFailed                // syncing: synchronisation failed
	resultReplayOK                  // communication-recovery: backlog sent, no overflow
	resultResetOK                   // communication-recovery: overflow or replay failure, ha-reset answered
	resultResetFailed               // communication-recovery: ha-reset failed too
)

// haMode is the relationship's mode as the guards test it; the zero value
// is load-balancing.
type haMode int8

const (
	modeLB haMode = iota // load-balancing
	modeHS               // hot-standby
	modePB               // passive-backup
)

// modeOf maps the configured mode name.
func modeOf(name string) haMode {
	switch name {
	case ModeHotStandby:
		return modeHS
	case ModePassiveBackup:
		return modePB
	}
	return modeLB
}

// invalidPartnerStates is Kea 2.2's HAService::isPartnerStateInvalid
// (ha_service.cc) for a mode: the partner states that belong to another
// mode. Passive-backup has no failover partner.
func invalidPartnerStates(m haMode) []State {
	switch m {
	case modeLB:
		return invalidPartner
	case modeHS:
		return invalidPartnerHS
	}
	return nil
}

// action is what a row asks step to run outside s.mu; its outcome is
// looked up again as facts.result.
type action int

const (
	actionNone    action = iota
	actionSync           // synchronize the lease database (syncingStateHandler)
	actionRecover        // send the backlog, else ha-reset (communicationRecoveryHandler)
)

// stay as a row's next state keeps the current state.
const stay = stateUndefined

// row is one case of a state handler.
type row struct {
	handler string   // the Kea 2.2 ha_service.cc function the row mirrors
	modes   []haMode // the relationship's modes; nil: any
	states  []State  // this server's states; nil: any
	partner []State  // partner states; nil: any

	primary, backup, syncLeases, commRecov tri
	paused, maintCanceled, skew            tri
	partnerDown, interrupted, overflowed   tri
	newUnsent                              tri
	result                                 result // exact match: resultNone for ordinary rows

	next State // stay: no transition
	act  action
}

func (r *row) matches(f *facts) bool {
	return r.result == f.result && (r.modes == nil || inModes(f.mode, r.modes)) &&
		(r.states == nil || inStates(f.state, r.states)) &&
		(r.partner == nil || inStates(f.partner, r.partner)) &&
		r.primary.holds(f.primary) && r.backup.holds(f.backup) && r.syncLeases.holds(f.syncLeases) &&
		r.commRecov.holds(f.commRecov) && r.paused.holds(f.paused) &&
		r.maintCanceled.holds(f.maintCanceled) && r.skew.holds(f.skew) &&
		r.partnerDown.holds(f.partnerDown) && r.interrupted.holds(f.interrupted) &&
		r.overflowed.holds(f.overflowed) && r.newUnsent.holds(f.newUnsent)
}

func inModes(m haMode, set []haMode) bool {
	for _, x := range set {
		if x == m {
			return true
		}
	}
	return false
}

func inStates(s State, set []State) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

// noRow is what pick returns when no row matches: stay, do nothing (Kea's
// handlers for states load-balancing never enters post NOP_EVT).
var noRow = row{handler: "none", next: stay}

// pick returns the first row of the table that matches f.
func pick(f facts) *row {
	for i := range transitions {
		if transitions[i].matches(&f) {
			return &transitions[i]
		}
	}
	return &noRow
}

// Shorthands for the state sets the rows use.
var (
	terminal = []State{StateInMaintenance, StateTerminated}
	// skewChecked are the states whose handler calls shouldTerminate.
	skewChecked = []State{StateWaiting, StateSyncing, StateReady, StateLoadBalancing, StateHotStandby,
		StateCommunicationRecovery, StatePartnerDown, StatePartnerInMaintenance}
	// invalidPartner are the partner states of another HA mode (Kea:
	// isPartnerStateInvalid for load-balancing; passive-backup is xdhcpd's
	// addition).
	invalidPartner = []State{StateHotStandby, StatePassiveBackup}
	// invalidPartnerHS are isPartnerStateInvalid's for hot-standby.
	invalidPartnerHS = []State{StateCommunicationRecovery, StateLoadBalancing}
	// normal are the states of normalStateHandler (Kea: getNormalState
	// for load-balancing and hot-standby).
	normal = []State{StateLoadBalancing, StateHotStandby}

	lbOnly = []haMode{modeLB}
	hsOnly = []haMode{modeHS}
	pbOnly = []haMode{modePB}
)

func states(s ...State) []State { return s }

// transitions is the state machine (docs/kea/ha-protocol.md §6 and docs/kea/ha-protocol.md §15),
// first match wins. Rows marked "xdhcpd" state where xdhcpd's guards are
// wider than Kea 2.2's handler; they are kept as they were.
var transitions = []row{
	// No handler logic runs in these states.
	{handler: "inMaintenanceStateHandler, terminatedStateHandler", states: terminal, next: stay},
	// backupStateHandler, passiveBackupStateHandler: post NOP_EVT, nothing else.
	{handler: "backupStateHandler, passiveBackupStateHandler", states: states(StateBackup, StatePassiveBackup), next: stay},

	// Every handler starts with these checks, in this order.
	{handler: "*StateHandler: isModelPaused", paused: yes, next: stay},
	// xdhcpd: also in partner-in-maintenance, whose Kea handler checks only isModelPaused.
	{handler: "*StateHandler: isMaintenanceCanceled", maintCanceled: yes, next: stay},
	// waitingStateHandler, before shouldTerminate: a backup server goes to
	// backup, the primary of a passive-backup relationship to passive-backup.
	{handler: "waitingStateHandler: backup server", states: states(StateWaiting), backup: yes, next: StateBackup},
	{handler: "waitingStateHandler: passive-backup mode", modes: pbOnly, states: states(StateWaiting), next: StatePassiveBackup},
	{handler: "*StateHandler: shouldTerminate", states: skewChecked, skew: yes, next: StateTerminated},
	{handler: "waitingStateHandler: isPartnerStateInvalid", modes: lbOnly, states: states(StateWaiting), partner: invalidPartner, next: stay},
	{handler: "waitingStateHandler: isPartnerStateInvalid", modes: hsOnly, states: states(StateWaiting), partner: invalidPartnerHS, next: stay},
	{handler: "syncing/ready/normal/communicationRecovery/partnerDown StateHandler: isPartnerStateInvalid", modes: lbOnly,
		states:  states(StateSyncing, StateReady, StateLoadBalancing, StateCommunicationRecovery, StatePartnerDown),
		partner: invalidPartner, next: StateWaiting},
	{handler: "syncing/ready/normal/partnerDown StateHandler: isPartnerStateInvalid", modes: hsOnly,
		states:  states(StateSyncing, StateReady, StateHotStandby, StatePartnerDown),
		partner: invalidPartnerHS, next: StateWaiting},
	// xdhcpd: Kea's partnerInMaintenanceStateHandler has no isPartnerStateInvalid check.
	{handler: "xdhcpd: isPartnerStateInvalid in any other state", modes: lbOnly, partner: invalidPartner, next: StateWaiting},

	// waitingStateHandler
	{handler: "waitingStateHandler", states: states(StateWaiting),
		partner: states(StateCommunicationRecovery, StateHotStandby, StateLoadBalancing, StateInMaintenance,
			StatePartnerDown, StatePartnerInMaintenance, StateReady),
		syncLeases: yes, next: StateSyncing},
	{handler: "waitingStateHandler", states: states(StateWaiting),
		partner: states(StateCommunicationRecovery, StateHotStandby, StateLoadBalancing, StateInMaintenance,
			StatePartnerDown, StatePartnerInMaintenance, StateReady),
		syncLeases: no, next: StateReady},
	{handler: "waitingStateHandler", states: states(StateWaiting), partner: states(StateWaiting),
		primary: yes, syncLeases: yes, next: StateSyncing},
	{handler: "waitingStateHandler", states: states(StateWaiting), partner: states(StateWaiting),
		primary: yes, syncLeases: no, next: StateReady},
	{handler: "waitingStateHandler", states: states(StateWaiting), partner: states(StateUnavailable),
		partnerDown: yes, next: StatePartnerDown},
	{handler: "waitingStateHandler: default", states: states(StateWaiting), next: stay},

	// syncingStateHandler
	{handler: "syncingStateHandler", states: states(StateSyncing), partner: states(StateTerminated), next: StateTerminated},
	{handler: "syncingStateHandler", states: states(StateSyncing), partner: states(StateUnavailable),
		partnerDown: yes, next: StatePartnerDown},
	{handler: "syncingStateHandler", states: states(StateSyncing), partner: states(StateUnavailable), next: stay},
	{handler: "syncingStateHandler: default, synchronize", states: states(StateSyncing), next: stay, act: actionSync},
	{handler: "syncingStateHandler: synchronize succeeded", states: states(StateSyncing), result: resultSyncOK, next: StateReady},
	{handler: "syncingStateHandler: synchronize failed", states: states(StateSyncing), result: resultSyncFailed, next: stay},

	// readyStateHandler
	{handler: "readyStateHandler: getNormalState", modes: lbOnly, states: states(StateReady),
		partner: states(StateHotStandby, StateLoadBalancing, StateCommunicationRecovery), next: StateLoadBalancing},
	{handler: "readyStateHandler: getNormalState", modes: hsOnly, states: states(StateReady),
		partner: states(StateHotStandby, StateLoadBalancing, StateCommunicationRecovery), next: StateHotStandby},
	{handler: "readyStateHandler", states: states(StateReady), partner: states(StateInMaintenance), next: StatePartnerInMaintenance},
	{handler: "readyStateHandler", states: states(StateReady), partner: states(StatePartnerInMaintenance), next: StateInMaintenance},
	{handler: "readyStateHandler", modes: lbOnly, states: states(StateReady), partner: states(StateReady), primary: yes, next: StateLoadBalancing},
	{handler: "readyStateHandler", modes: hsOnly, states: states(StateReady), partner: states(StateReady), primary: yes, next: StateHotStandby},
	{handler: "readyStateHandler", states: states(StateReady), partner: states(StateTerminated), next: StateTerminated},
	{handler: "readyStateHandler", states: states(StateReady), partner: states(StateUnavailable),
		partnerDown: yes, next: StatePartnerDown},
	{handler: "readyStateHandler: default", states: states(StateReady), next: stay},

	// normalStateHandler (load-balancing, hot-standby)
	{handler: "normalStateHandler", states: normal, partner: states(StateInMaintenance), next: StatePartnerInMaintenance},
	{handler: "normalStateHandler", states: normal, partner: states(StatePartnerDown), next: StateWaiting},
	{handler: "normalStateHandler", states: normal, partner: states(StatePartnerInMaintenance), next: StateInMaintenance},
	{handler: "normalStateHandler", states: normal, partner: states(StateTerminated), next: StateTerminated},
	{handler: "normalStateHandler", states: normal, partner: states(StateUnavailable),
		partnerDown: yes, next: StatePartnerDown},
	{handler: "normalStateHandler", states: normal, partner: states(StateUnavailable),
		commRecov: yes, next: StateCommunicationRecovery},
	{handler: "normalStateHandler: default", states: normal, next: stay},

	// communicationRecoveryHandler
	{handler: "communicationRecoveryHandler", states: states(StateCommunicationRecovery),
		partner: states(StateInMaintenance), next: StatePartnerInMaintenance},
	{handler: "communicationRecoveryHandler", states: states(StateCommunicationRecovery),
		partner: states(StatePartnerDown), next: StateWaiting},
	{handler: "communicationRecoveryHandler", states: states(StateCommunicationRecovery),
		partner: states(StatePartnerInMaintenance), next: StateInMaintenance},
	{handler: "communicationRecoveryHandler", states: states(StateCommunicationRecovery),
		partner: states(StateTerminated), next: StateTerminated},
	{handler: "communicationRecoveryHandler", states: states(StateCommunicationRecovery),
		partner: states(StateUnavailable), partnerDown: yes, next: StatePartnerDown},
	{handler: "communicationRecoveryHandler", states: states(StateCommunicationRecovery),
		partner: states(StateUnavailable), next: stay},
	{handler: "communicationRecoveryHandler", states: states(StateCommunicationRecovery),
		partner: states(StateWaiting, StateSyncing, StateReady), interrupted: no, overflowed: yes, next: StateWaiting},
	{handler: "communicationRecoveryHandler", states: states(StateCommunicationRecovery),
		partner: states(StateWaiting, StateSyncing, StateReady), next: stay},
	{handler: "communicationRecoveryHandler", states: states(StateCommunicationRecovery),
		partner: states(StateLoadBalancing, StateCommunicationRecovery), interrupted: yes, next: stay},
	{handler: "communicationRecoveryHandler: sendLeaseUpdatesFromBacklog", states: states(StateCommunicationRecovery),
		partner: states(StateLoadBalancing, StateCommunicationRecovery), next: stay, act: actionRecover},
	// xdhcpd: a partner never heard from (no Kea counterpart: Kea's partner
	// state starts as unavailable after the first failed heartbeat).
	{handler: "xdhcpd: partner state undefined", states: states(StateCommunicationRecovery),
		partner: states(stateUndefined), next: stay},
	{handler: "communicationRecoveryHandler: default", states: states(StateCommunicationRecovery), next: StateWaiting},
	{handler: "communicationRecoveryHandler: backlog sent", states: states(StateCommunicationRecovery),
		result: resultReplayOK, next: StateLoadBalancing},
	{handler: "communicationRecoveryHandler: sendHAReset succeeded", states: states(StateCommunicationRecovery),
		result: resultResetOK, next: StateWaiting},
	{handler: "communicationRecoveryHandler: sendHAReset failed", states: states(StateCommunicationRecovery),
		result: resultResetFailed, next: stay},

	// partnerDownStateHandler
	{handler: "partnerDownStateHandler", states: states(StatePartnerDown),
		partner: states(StateCommunicationRecovery, StatePartnerDown, StatePartnerInMaintenance), next: StateWaiting},
	{handler: "partnerDownStateHandler", states: states(StatePartnerDown), partner: states(StateReady),
		newUnsent: yes, next: StateWaiting},
	{handler: "partnerDownStateHandler: getNormalState", modes: lbOnly, states: states(StatePartnerDown), partner: states(StateReady), next: StateLoadBalancing},
	{handler: "partnerDownStateHandler: getNormalState", modes: hsOnly, states: states(StatePartnerDown), partner: states(StateReady), next: StateHotStandby},
	{handler: "partnerDownStateHandler", states: states(StatePartnerDown), partner: states(StateTerminated), next: StateTerminated},
	{handler: "partnerDownStateHandler: default", states: states(StatePartnerDown), next: stay},

	// partnerInMaintenanceStateHandler
	{handler: "partnerInMaintenanceStateHandler", states: states(StatePartnerInMaintenance),
		partner: states(StateUnavailable), next: StatePartnerDown},
	{handler: "partnerInMaintenanceStateHandler: default", states: states(StatePartnerInMaintenance), next: stay},
}
