package ha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/xdhcp/xdhcp/ha/peer"
	"github.com/xdhcp/xdhcp/userspace/control"
)

// ResultMaintenanceNotAllowed answers ha-maintenance-notify in a state that
// cannot go to in-maintenance (docs/kea/ha-protocol.md §4.8).
const ResultMaintenanceNotAllowed = 1001

// CommandNames are the commands of Kea's HA hook that Register adds. The
// lease, dhcp-disable/enable, status-get and list-commands commands a
// partner sends belong to userspace/leasecmds, userspace/servercmds and
// userspace/control; the peer listener serves them from the same
// dispatcher as the control socket, as Kea's command manager does.
var CommandNames = []string{
	"ha-continue", "ha-heartbeat", "ha-maintenance-cancel", "ha-maintenance-notify",
	"ha-maintenance-start", "ha-reset", "ha-scopes", "ha-sync", "ha-sync-complete-notify",
}

// Register adds the HA commands to d.
func (s *Service) Register(d *control.Dispatcher) {
	h := map[string]control.Handler{
		"ha-continue":             s.cmdContinue,
		"ha-heartbeat":            s.cmdHeartbeat,
		"ha-maintenance-cancel":   s.cmdMaintenanceCancel,
		"ha-maintenance-notify":   s.cmdMaintenanceNotify,
		"ha-maintenance-start":    s.cmdMaintenanceStart,
		"ha-reset":                s.cmdReset,
		"ha-scopes":               s.cmdScopes,
		"ha-sync":                 s.cmdSync,
		"ha-sync-complete-notify": s.cmdSyncCompleteNotify,
	}
	for _, n := range CommandNames {
		d.Register(n, h[n])
	}
}

// restricted is the command set of restrict-commands: true (xdhcpd's
// default), exactly Kea 2.2's CommandCreator::ha_commands4_
// (src/hooks/dhcp/high_availability/command_creator.cc at Kea-2.2.0),
// which ha_service.cc installs as the dedicated listener's
// CmdResponseCreator::command_accept_list_. It is what a partner sends
// (docs/kea/ha-protocol.md §4); the operator's ha-* commands (ha-sync, ha-scopes,
// ha-continue, ha-maintenance-start/-cancel) are not in it and belong on
// the control socket.
var restricted = map[string]bool{
	"list-commands": true, "status-get": true, "dhcp-disable": true, "dhcp-enable": true,
	"ha-reset": true, "ha-heartbeat": true, "lease4-update": true, "lease4-del": true,
	"lease4-get-all": true, "lease4-get-page": true, "ha-maintenance-notify": true,
	"ha-sync-complete-notify": true,
}

func (s *Service) cmdHeartbeat(context.Context, *control.Request) control.Response {
	return control.OK("HA peer status returned.", s.heartbeatReply())
}

// argMap decodes the arguments map; missing arguments are an error.
func argMap(command string, req *control.Request) (map[string]json.RawMessage, error) {
	if !req.HasArguments() {
		return nil, errors.New("no parameters specified for the command")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(req.Arguments, &m); err != nil {
		return nil, fmt.Errorf("parameters passed to %s must be a map", command)
	}
	return m, nil
}

func (s *Service) cmdSyncCompleteNotify(context.Context, *control.Request) control.Response {
	s.mu.Lock()
	if s.state == StatePartnerDown {
		s.syncNotified = true
	} else {
		s.deps.DHCP.EnableDHCP("ha-partner")
	}
	s.mu.Unlock()
	return control.OK("Server successfully notified about the synchronization completion.", nil)
}

// cmdReset is Kea 2.2's processHAReset (ha_service.cc): to waiting, then
// runModel(NOP_EVT). The kick is what brings a server out of terminated:
// the loop stopped heartbeats there (terminatedStateHandler's
// stopHeartbeat) and re-arms them when a kicked run leaves it.
func (s *Service) cmdReset(context.Context, *control.Request) control.Response {
	s.mu.Lock()
	if s.state == StateWaiting {
		s.mu.Unlock()
		return control.OK("HA state machine already in WAITING state.", nil)
	}
	s.transitionLocked(StateWaiting)
	s.mu.Unlock()
	s.kickModel()
	return control.OK("HA state machine reset.", nil)
}

func (s *Service) cmdScopes(_ context.Context, req *control.Request) control.Response {
	m, err := argMap("ha-scopes", req)
	if err != nil {
		return control.Error("HA scopes not specified")
	}
	raw, ok := m["scopes"]
	if !ok {
		return control.Error("'scopes' is mandatory for the 'ha-scopes' command")
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		return control.Error("'scopes' must be a list of server names")
	}
	var sv [2]bool
	for _, n := range names {
		idx := -1
		for i, p := range s.active {
			if p != nil && p.Name == n {
				idx = i
			}
		}
		if idx < 0 {
			return control.Error("invalid server name specified '%s' while enabling/disabling HA scopes", n)
		}
		sv[idx] = true
	}
	s.mu.Lock()
	s.setScopesLocked(sv)
	s.mu.Unlock()
	return control.OK("New HA scopes configured.", nil)
}

func (s *Service) cmdContinue(context.Context, *control.Request) control.Response {
	s.mu.Lock()
	was := s.paused
	s.paused = false
	s.mu.Unlock()
	if !was {
		return control.OK("HA state machine is not paused.", nil)
	}
	s.kickModel()
	return control.OK("HA state machine continues.", nil)
}

func (s *Service) cmdSync(ctx context.Context, req *control.Request) control.Response {
	m, err := argMap("ha-sync", req)
	if err != nil {
		return control.Error("%v", err)
	}
	var name string
	if raw, ok := m["server-name"]; !ok {
		return control.Error("'server-name' is mandatory")
	} else if err := json.Unmarshal(raw, &name); err != nil {
		return control.Error("'server-name' must be a string")
	}
	if s.partner == nil || name != s.partner.Name {
		return control.Error("server name '%s' is not the partner of this server", name)
	}
	period := s.syncMaxPeriod()
	if raw, ok := m["max-period"]; ok {
		var p int64
		if err := json.Unmarshal(raw, &p); err != nil || p <= 0 {
			return control.Error("'max-period' must be a positive integer")
		}
		period = time.Duration(p) * time.Second
	}
	if err := s.synchronize(ctx, period); err != nil {
		return control.Error("%v", err)
	}
	return control.OK("Lease database synchronization complete.", nil)
}

func (s *Service) cmdMaintenanceNotify(_ context.Context, req *control.Request) control.Response {
	m, err := argMap("ha-maintenance-notify", req)
	if err != nil {
		return control.Error("%v", err)
	}
	var cancel bool
	raw, ok := m["cancel"]
	if !ok || json.Unmarshal(raw, &cancel) != nil {
		return control.Error("'cancel' is mandatory for the 'ha-maintenance-notify' command")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cancel {
		if s.state != StateInMaintenance {
			return control.Error("Unable to cancel the maintenance for the server not in the in-maintenance state.")
		}
		s.maintCanceled = true
		s.transitionLocked(s.prevState)
		return control.OK("Server maintenance canceled.", nil)
	}
	switch s.state {
	case StateBackup, StatePartnerInMaintenance, StateTerminated:
		return control.Response{Result: ResultMaintenanceNotAllowed, Text: fmt.Sprintf("Unable to transition the server from the %s to in-maintenance state.", s.state)}
	}
	if s.state != StateInMaintenance {
		s.prevState = s.state
	}
	s.transitionLocked(StateInMaintenance)
	return control.OK("Server is in-maintenance state.", nil)
}

func (s *Service) cmdMaintenanceStart(ctx context.Context, _ *control.Request) control.Response {
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	switch st {
	case StateBackup, StateInMaintenance, StatePartnerInMaintenance, StateTerminated:
		return control.Error("Unable to transition the server from the %s to partner-in-maintenance state.", st)
	}
	c, err := s.tempClient()
	if err != nil {
		return control.Error("%v", err)
	}
	defer c.Close()
	a, err := c.Call(ctx, "ha-maintenance-notify", map[string]any{"cancel": false}, s.reqTimeout)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || a.Result == control.ResultError {
		s.partnerState = StateUnavailable
		s.prevState = s.state
		s.maintFailover = true
		s.transitionLocked(StatePartnerDown)
		return control.OK("Server is now in the partner-down state as its partner appears to be offline for maintenance.", nil)
	}
	if a.Result != control.ResultSuccess {
		// Kea 2.2 processMaintenanceStart: any other result (1001, or an
		// empty 3, which verifyAsyncResponse lets through without a
		// message) refuses, quoting verifyAsyncResponse's message.
		msg := ""
		if a.Result != control.ResultEmpty {
			msg = fmt.Sprintf("%s, error code %d", a.Text, a.Result)
		}
		return control.Error("Unable to transition to the partner-in-maintenance state. The partner server responded with the following message to the ha-maintenance-notify command: %s.", msg)
	}
	s.prevState = s.state
	s.transitionLocked(StatePartnerInMaintenance)
	return control.OK("Server is now in the partner-in-maintenance state and its partner is in-maintenance state. The partner can be now safely shut down.", nil)
}

func (s *Service) cmdMaintenanceCancel(ctx context.Context, _ *control.Request) control.Response {
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	if st != StatePartnerInMaintenance {
		return control.Error("Unable to cancel maintenance request because the server is not in the partner-in-maintenance state.")
	}
	c, err := s.tempClient()
	if err != nil {
		return control.Error("%v", err)
	}
	defer c.Close()
	if _, err := c.Expect(ctx, "ha-maintenance-notify", map[string]any{"cancel": true}, s.reqTimeout, peer.ResultsOK...); err != nil {
		return control.Error("Unable to cancel maintenance: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StatePartnerInMaintenance {
		s.maintCanceled = true
		s.transitionLocked(s.prevState)
	}
	return control.OK("Server maintenance successfully canceled.", nil)
}
