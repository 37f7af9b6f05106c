package ha

import "testing"

// TestTransitionTable checks every row of the transition table against
// Kea 2.2's state handlers (src/hooks/dhcp/high_availability/ha_service.cc,
// tag Kea-2.2.0; the line is where the handler takes the decision), and
// that every row is reached by at least one case: a row no case reaches is
// shadowed by an earlier one.
func TestTransitionTable(t *testing.T) {
	const (
		W   = StateWaiting
		S   = StateSyncing
		R   = StateReady
		LB  = StateLoadBalancing
		CR  = StateCommunicationRecovery
		PD  = StatePartnerDown
		PIM = StatePartnerInMaintenance
		IM  = StateInMaintenance
		T   = StateTerminated
		HS  = StateHotStandby
		PB  = StatePassiveBackup
		U   = StateUnavailable
	)
	tests := []struct {
		kea  string // ha_service.cc handler:line of the decision
		f    facts
		next State // stay: no transition
		act  action
	}{
		// inMaintenanceStateHandler / terminatedStateHandler: NOP only.
		{"inMaintenanceStateHandler:453", facts{state: IM, partner: U, partnerDown: true}, stay, actionNone},
		{"terminatedStateHandler:789", facts{state: T, partner: R, skew: true}, stay, actionNone},
		// Checks at the top of every handler.
		{"normalStateHandler:371 isModelPaused", facts{state: LB, partner: T, paused: true}, stay, actionNone},
		{"waitingStateHandler:811 isMaintenanceCanceled", facts{state: W, partner: R, maintCanceled: true}, stay, actionNone},
		{"normalStateHandler:378 shouldTerminate", facts{state: LB, partner: LB, skew: true}, T, actionNone},
		{"partnerInMaintenanceStateHandler:571 shouldTerminate", facts{state: PIM, partner: U, skew: true}, T, actionNone},
		{"waitingStateHandler:840 isPartnerStateInvalid", facts{state: W, partner: HS}, stay, actionNone},
		{"readyStateHandler:633 isPartnerStateInvalid", facts{state: R, partner: PB}, W, actionNone},
		{"partnerDownStateHandler:513 isPartnerStateInvalid", facts{state: PD, partner: HS}, W, actionNone},
		{"xdhcpd (partnerInMaintenanceStateHandler has no such check)", facts{state: PIM, partner: HS}, W, actionNone},
		// waitingStateHandler
		{"waitingStateHandler:855", facts{state: W, partner: LB, syncLeases: true}, S, actionNone},
		{"waitingStateHandler:855", facts{state: W, partner: PIM, syncLeases: false}, R, actionNone},
		{"waitingStateHandler:879 primary", facts{state: W, partner: W, primary: true, syncLeases: true}, S, actionNone},
		{"waitingStateHandler:879 primary", facts{state: W, partner: W, primary: true}, R, actionNone},
		{"waitingStateHandler:888", facts{state: W, partner: U, partnerDown: true}, PD, actionNone},
		{"waitingStateHandler:882 secondary", facts{state: W, partner: W}, stay, actionNone},
		{"waitingStateHandler:859", facts{state: W, partner: S, syncLeases: true}, stay, actionNone},
		{"waitingStateHandler:870 terminated", facts{state: W, partner: T}, stay, actionNone},
		{"waitingStateHandler:891", facts{state: W, partner: U}, stay, actionNone},
		// syncingStateHandler
		{"syncingStateHandler:721", facts{state: S, partner: T}, T, actionNone},
		{"syncingStateHandler:729", facts{state: S, partner: U, partnerDown: true}, PD, actionNone},
		{"syncingStateHandler:732", facts{state: S, partner: U}, stay, actionNone},
		{"syncingStateHandler:750 synchronize", facts{state: S, partner: LB}, stay, actionSync},
		{"syncingStateHandler:757", facts{state: S, result: resultSyncOK}, R, actionNone},
		{"syncingStateHandler:763", facts{state: S, result: resultSyncFailed}, stay, actionNone},
		// readyStateHandler
		{"readyStateHandler:642", facts{state: R, partner: CR}, LB, actionNone},
		{"readyStateHandler:646", facts{state: R, partner: IM}, PIM, actionNone},
		{"readyStateHandler:650", facts{state: R, partner: PIM}, IM, actionNone},
		{"readyStateHandler:657 primary", facts{state: R, partner: R, primary: true}, LB, actionNone},
		{"readyStateHandler:660 secondary", facts{state: R, partner: R}, stay, actionNone},
		{"readyStateHandler:665", facts{state: R, partner: T}, T, actionNone},
		{"readyStateHandler:670", facts{state: R, partner: U, partnerDown: true}, PD, actionNone},
		{"readyStateHandler:678 default", facts{state: R, partner: PD}, stay, actionNone},
		// normalStateHandler
		{"normalStateHandler:393", facts{state: LB, partner: IM}, PIM, actionNone},
		{"normalStateHandler:397", facts{state: LB, partner: PD}, W, actionNone},
		{"normalStateHandler:401", facts{state: LB, partner: PIM}, IM, actionNone},
		{"normalStateHandler:405", facts{state: LB, partner: T}, T, actionNone},
		{"normalStateHandler:410", facts{state: LB, partner: U, partnerDown: true, commRecov: true}, PD, actionNone},
		{"normalStateHandler:413", facts{state: LB, partner: U, commRecov: true}, CR, actionNone},
		{"normalStateHandler:416", facts{state: LB, partner: U}, stay, actionNone},
		{"normalStateHandler:421 default", facts{state: LB, partner: LB}, stay, actionNone},
		// communicationRecoveryHandler
		{"communicationRecoveryHandler:267", facts{state: CR, partner: IM}, PIM, actionNone},
		{"communicationRecoveryHandler:271", facts{state: CR, partner: PD}, W, actionNone},
		{"communicationRecoveryHandler:275", facts{state: CR, partner: PIM}, IM, actionNone},
		{"communicationRecoveryHandler:279", facts{state: CR, partner: T}, T, actionNone},
		{"communicationRecoveryHandler:284", facts{state: CR, partner: U, partnerDown: true}, PD, actionNone},
		{"communicationRecoveryHandler:287", facts{state: CR, partner: U}, stay, actionNone},
		{"communicationRecoveryHandler:300", facts{state: CR, partner: S, overflowed: true}, W, actionNone},
		{"communicationRecoveryHandler:305 interrupted", facts{state: CR, partner: R, overflowed: true, interrupted: true}, stay, actionNone},
		{"communicationRecoveryHandler:305 no overflow", facts{state: CR, partner: W}, stay, actionNone},
		{"communicationRecoveryHandler:314", facts{state: CR, partner: LB, interrupted: true}, stay, actionNone},
		{"communicationRecoveryHandler:325 backlog", facts{state: CR, partner: CR}, stay, actionRecover},
		{"xdhcpd: partner never heard from", facts{state: CR, partner: stateUndefined}, stay, actionNone},
		{"communicationRecoveryHandler:346 default", facts{state: CR, partner: StateBackup}, W, actionNone},
		{"communicationRecoveryHandler:338", facts{state: CR, result: resultReplayOK}, LB, actionNone},
		{"communicationRecoveryHandler:330", facts{state: CR, result: resultResetOK}, W, actionNone},
		{"communicationRecoveryHandler:332 (break)", facts{state: CR, result: resultResetFailed}, stay, actionNone},
		// partnerDownStateHandler
		{"partnerDownStateHandler:522", facts{state: PD, partner: CR}, W, actionNone},
		{"partnerDownStateHandler:529", facts{state: PD, partner: R, newUnsent: true}, W, actionNone},
		{"partnerDownStateHandler:533", facts{state: PD, partner: R}, LB, actionNone},
		{"partnerDownStateHandler:538", facts{state: PD, partner: T}, T, actionNone},
		{"partnerDownStateHandler:542 default", facts{state: PD, partner: LB}, stay, actionNone},
		// partnerInMaintenanceStateHandler
		{"partnerInMaintenanceStateHandler:578", facts{state: PIM, partner: U}, PD, actionNone},
		{"partnerInMaintenanceStateHandler:581 default", facts{state: PIM, partner: IM}, stay, actionNone},
		// Hot-standby (mode column modeHS; ha_service.cc getNormalState:974,
		// isPartnerStateInvalid:1115).
		{"isPartnerStateInvalid:1124 hot-standby partner in hot-standby mode is valid", facts{mode: modeHS, state: W, partner: HS, syncLeases: true}, S, actionNone},
		{"waitingStateHandler:840 isPartnerStateInvalid (load-balancing partner)", facts{mode: modeHS, state: W, partner: LB}, stay, actionNone},
		{"normalStateHandler:388 isPartnerStateInvalid (communication-recovery partner)", facts{mode: modeHS, state: HS, partner: CR}, W, actionNone},
		{"readyStateHandler:642 getNormalState", facts{mode: modeHS, state: R, partner: HS}, HS, actionNone},
		{"readyStateHandler:657 primary getNormalState", facts{mode: modeHS, state: R, partner: R, primary: true}, HS, actionNone},
		{"readyStateHandler:660 standby", facts{mode: modeHS, state: R, partner: R}, stay, actionNone},
		{"normalStateHandler:410 hot-standby", facts{mode: modeHS, state: HS, partner: U, partnerDown: true}, PD, actionNone},
		{"normalStateHandler:416 hot-standby (no communication-recovery)", facts{mode: modeHS, state: HS, partner: U}, stay, actionNone},
		{"normalStateHandler:397 hot-standby", facts{mode: modeHS, state: HS, partner: PD}, W, actionNone},
		{"normalStateHandler:378 shouldTerminate hot-standby", facts{mode: modeHS, state: HS, partner: HS, skew: true}, T, actionNone},
		{"normalStateHandler:421 default hot-standby", facts{mode: modeHS, state: HS, partner: HS}, stay, actionNone},
		{"normalStateHandler:393 hot-standby", facts{mode: modeHS, state: HS, partner: IM}, PIM, actionNone},
		{"normalStateHandler:401 hot-standby", facts{mode: modeHS, state: HS, partner: PIM}, IM, actionNone},
		{"normalStateHandler:405 hot-standby", facts{mode: modeHS, state: HS, partner: T}, T, actionNone},
		{"partnerDownStateHandler:529 hot-standby", facts{mode: modeHS, state: PD, partner: R, newUnsent: true}, W, actionNone},
		{"partnerDownStateHandler:533 getNormalState", facts{mode: modeHS, state: PD, partner: R}, HS, actionNone},
		{"waitingStateHandler:888 hot-standby", facts{mode: modeHS, state: W, partner: U, partnerDown: true}, PD, actionNone},
		// Backup servers and passive-backup.
		{"waitingStateHandler:818 backup server", facts{mode: modeHS, state: W, backup: true, skew: true}, StateBackup, actionNone},
		{"waitingStateHandler:818 backup server (load-balancing)", facts{state: W, partner: U, backup: true}, StateBackup, actionNone},
		{"waitingStateHandler:826 passive-backup", facts{mode: modePB, state: W, primary: true}, PB, actionNone},
		{"waitingStateHandler:811 paused before passive-backup", facts{mode: modePB, state: W, paused: true}, stay, actionNone},
		{"backupStateHandler:237", facts{mode: modePB, state: StateBackup, partner: U, partnerDown: true}, stay, actionNone},
		{"passiveBackupStateHandler:601", facts{mode: modePB, state: PB, skew: true}, stay, actionNone},
	}
	reached := make([]bool, len(transitions))
	for _, tt := range tests {
		r := pick(tt.f)
		if r.next != tt.next || r.act != tt.act {
			t.Errorf("%s: state %s partner %s %+v: row %q gives next %q act %d, want %q act %d",
				tt.kea, tt.f.state, tt.f.partner, tt.f, r.handler, r.next, r.act, tt.next, tt.act)
		}
		for i := range transitions {
			if r == &transitions[i] {
				reached[i] = true
			}
		}
	}
	for i, ok := range reached {
		if !ok {
			t.Errorf("row %d (%s) is reached by no case", i, transitions[i].handler)
		}
	}
}
