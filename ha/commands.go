package ha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// Kea result codes.
const (
	ResultSuccess     = 0
	ResultError       = 1
	ResultUnsupported = 2
	ResultEmpty       = 3
	// ResultMaintenanceNotAllowed answers ha-maintenance-notify in a state
	// that cannot go to in-maintenance.
	ResultMaintenanceNotAllowed = 1001
)

type handler func(s *Service, ctx context.Context, args json.RawMessage) (int, string, any)

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"ha-heartbeat":            (*Service).cmdHeartbeat,
		"status-get":              (*Service).cmdStatusGet,
		"list-commands":           (*Service).cmdListCommands,
		"lease4-update":           (*Service).cmdLease4Update,
		"lease4-del":              (*Service).cmdLease4Del,
		"lease4-get-page":         (*Service).cmdLease4GetPage,
		"lease4-get-all":          (*Service).cmdLease4GetAll,
		"dhcp-disable":            (*Service).cmdDHCPDisable,
		"dhcp-enable":             (*Service).cmdDHCPEnable,
		"ha-sync-complete-notify": (*Service).cmdSyncCompleteNotify,
		"ha-reset":                (*Service).cmdReset,
		"ha-maintenance-notify":   (*Service).cmdMaintenanceNotify,
		"ha-scopes":               (*Service).cmdScopes,
		"ha-continue":             (*Service).cmdContinue,
		"ha-sync":                 (*Service).cmdSync,
		"ha-maintenance-start":    (*Service).cmdMaintenanceStart,
		"ha-maintenance-cancel":   (*Service).cmdMaintenanceCancel,
	}
}

// restricted is the command set of restrict-commands: true (§4).
var restricted = map[string]bool{
	"list-commands": true, "status-get": true, "dhcp-disable": true, "dhcp-enable": true,
	"ha-reset": true, "ha-heartbeat": true, "lease4-update": true, "lease4-del": true,
	"lease4-get-all": true, "lease4-get-page": true, "ha-maintenance-notify": true,
	"ha-sync-complete-notify": true,
}

// Commands returns the names Handle implements, sorted.
func Commands() []string {
	out := make([]string, 0, len(handlers))
	for n := range handlers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Handle executes one command the way Kea's HA and lease_cmds hooks do and
// returns the answer's result, text ("" = omitted) and arguments (nil =
// omitted). The control socket may expose the same commands through it.
func (s *Service) Handle(ctx context.Context, command string, args json.RawMessage) (result int, text string, arguments any) {
	h, ok := handlers[command]
	if !ok {
		return ResultUnsupported, fmt.Sprintf("'%s' command not supported.", command), nil
	}
	if string(args) == "null" {
		args = nil
	}
	return h(s, ctx, args)
}

func (s *Service) cmdHeartbeat(_ context.Context, _ json.RawMessage) (int, string, any) {
	return ResultSuccess, "HA peer status returned.", s.heartbeatReply()
}

func (s *Service) cmdStatusGet(_ context.Context, _ json.RawMessage) (int, string, any) {
	out := map[string]any{}
	if s.deps.CoreStatus != nil {
		for k, v := range s.deps.CoreStatus() {
			out[k] = v
		}
	}
	out["high-availability"] = s.Status()
	return ResultSuccess, "", out
}

func (s *Service) cmdListCommands(_ context.Context, _ json.RawMessage) (int, string, any) {
	return ResultSuccess, "", Commands()
}

// argMap decodes the arguments map; missing arguments are an error.
func argMap(command string, args json.RawMessage) (map[string]json.RawMessage, error) {
	if len(args) == 0 {
		return nil, errors.New("no parameters specified for the command")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(args, &m); err != nil {
		return nil, fmt.Errorf("parameters passed to %s must be a map", command)
	}
	return m, nil
}

func (s *Service) cmdLease4Update(_ context.Context, args json.RawMessage) (int, string, any) {
	m, err := argMap("lease4-update", args)
	if err != nil {
		return ResultError, err.Error(), nil
	}
	var j lease.JSON
	if err := json.Unmarshal(args, &j); err != nil {
		return ResultError, "invalid lease parameters: " + err.Error(), nil
	}
	if m["ip-address"] == nil {
		return ResultError, "'ip-address' parameter not specified", nil
	}
	force := false
	if raw, ok := m["force-create"]; ok {
		if err := json.Unmarshal(raw, &force); err != nil {
			return ResultError, "'force-create' parameter must be a boolean", nil
		}
	}
	addr, err := netip.ParseAddr(j.IPAddress)
	if err != nil || !addr.Is4() {
		return ResultError, fmt.Sprintf("'%s' is not a IPv4 address", j.IPAddress), nil
	}
	if j.SubnetID == 0 {
		id, ok := s.deps.Subnets.SubnetFor(addr)
		if !ok {
			return ResultError, fmt.Sprintf("subnet-id not specified and failed to find a subnet for address %s", addr), nil
		}
		j.SubnetID = id
	}
	prefix, valid, ok := s.deps.Subnets.Subnet(j.SubnetID)
	if !ok {
		return ResultError, fmt.Sprintf("Invalid subnet-id: No IPv4 subnet with subnet-id=%d currently configured.", j.SubnetID), nil
	}
	if !prefix.Contains(addr) {
		return ResultError, fmt.Sprintf("The address %s does not belong to subnet %s, subnet-id=%d", addr, prefix, j.SubnetID), nil
	}
	j.CLTT = nil // received leases carry expire
	l, err := lease.FromJSON(&j, s.now().Unix(), valid)
	if err != nil {
		return ResultError, err.Error(), nil
	}
	if !force {
		if _, exists := s.deps.Leases.Get(addr); !exists {
			return ResultError, fmt.Sprintf("failed to update the lease with address %s either because the lease has been deleted or it has changed in the database, in both cases a retry might succeed", addr), nil
		}
	}
	added, err := s.deps.Leases.Put(l)
	if err != nil {
		return ResultError, fmt.Sprintf("failed to store lease %s: %v", addr, err), nil
	}
	if added {
		return ResultSuccess, "IPv4 lease added.", nil
	}
	return ResultSuccess, "IPv4 lease updated.", nil
}

func (s *Service) cmdLease4Del(_ context.Context, args json.RawMessage) (int, string, any) {
	if _, err := argMap("lease4-del", args); err != nil {
		return ResultError, err.Error(), nil
	}
	var a struct {
		IPAddress string `json:"ip-address"`
	}
	if err := json.Unmarshal(args, &a); err != nil || a.IPAddress == "" {
		return ResultError, "'ip-address' parameter not specified", nil
	}
	addr, err := netip.ParseAddr(a.IPAddress)
	if err != nil || !addr.Is4() {
		return ResultError, fmt.Sprintf("'%s' is not a IPv4 address", a.IPAddress), nil
	}
	if _, ok := s.deps.Leases.Get(addr); !ok {
		return ResultEmpty, "IPv4 lease not found.", nil
	}
	if _, err := s.deps.Leases.Delete(addr); err != nil {
		if _, ok := s.deps.Leases.Get(addr); !ok {
			return ResultEmpty, "IPv4 lease not found.", nil
		}
		return ResultError, fmt.Sprintf("failed to delete lease %s: %v", addr, err), nil
	}
	return ResultSuccess, "IPv4 lease deleted.", nil
}

// leaseList is the arguments of lease4-get-page / lease4-get-all.
type leaseList struct {
	Count  *int         `json:"count,omitempty"`
	Leases []lease.JSON `json:"leases"`
}

func toJSONList(ls []*lease.Lease) []lease.JSON {
	out := make([]lease.JSON, 0, len(ls))
	for _, l := range ls {
		out = append(out, lease.ToJSON(l))
	}
	return out
}

func (s *Service) cmdLease4GetPage(_ context.Context, args json.RawMessage) (int, string, any) {
	m, err := argMap("lease4-get-page", args)
	if err != nil {
		return ResultError, err.Error(), nil
	}
	var from string
	if raw, ok := m["from"]; !ok {
		return ResultError, "'from' parameter is mandatory", nil
	} else if err := json.Unmarshal(raw, &from); err != nil {
		return ResultError, "'from' parameter must be a string", nil
	}
	after, ok := validFrom(from)
	if !ok {
		return ResultError, fmt.Sprintf("'from' parameter value %s is not a valid IPv4 address", from), nil
	}
	var limit int64
	if raw, ok := m["limit"]; !ok {
		return ResultError, "'limit' parameter is mandatory", nil
	} else if err := json.Unmarshal(raw, &limit); err != nil {
		return ResultError, "'limit' parameter must be a number", nil
	}
	if limit <= 0 {
		return ResultError, "page size of retrieved leases must not be 0", nil
	}
	if limit > 1<<31 {
		return ResultError, "page size of retrieved leases must not be greater than 2147483647", nil
	}
	ls := s.deps.Leases.Page(after, int(limit))
	n := len(ls)
	res := ResultSuccess
	if n == 0 {
		res = ResultEmpty
	}
	return res, fmt.Sprintf("%d IPv4 lease(s) found.", n), leaseList{Count: &n, Leases: toJSONList(ls)}
}

func (s *Service) cmdLease4GetAll(_ context.Context, args json.RawMessage) (int, string, any) {
	var subnets map[uint32]bool
	if len(args) > 0 {
		var a struct {
			Subnets []uint32 `json:"subnets"`
		}
		if err := json.Unmarshal(args, &a); err != nil {
			return ResultError, "'subnets' parameter must be a list of subnet identifiers", nil
		}
		if a.Subnets != nil {
			subnets = map[uint32]bool{}
			for _, id := range a.Subnets {
				subnets[id] = true
			}
		}
	}
	all := s.deps.Leases.All()
	if subnets != nil {
		kept := all[:0]
		for _, l := range all {
			if subnets[l.SubnetID] {
				kept = append(kept, l)
			}
		}
		all = kept
	}
	res := ResultSuccess
	if len(all) == 0 {
		res = ResultEmpty
	}
	return res, fmt.Sprintf("%d IPv4 lease(s) found.", len(all)), leaseList{Leases: toJSONList(all)}
}

// parseOrigin reads the optional "origin" argument.
func parseOrigin(m map[string]json.RawMessage) (string, error) {
	origin := "user"
	if raw, ok := m["origin"]; ok {
		if err := json.Unmarshal(raw, &origin); err != nil {
			return "", errors.New("'origin' argument must be a string")
		}
		if origin != "user" && origin != "ha-partner" {
			return "", fmt.Errorf("invalid value used for 'origin' parameter: %s", origin)
		}
	}
	return origin, nil
}

func optionalMap(args json.RawMessage) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(args) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(args, &m); err != nil {
		return nil, errors.New("arguments for the command must be a map")
	}
	return m, nil
}

func (s *Service) cmdDHCPDisable(_ context.Context, args json.RawMessage) (int, string, any) {
	m, err := optionalMap(args)
	if err != nil {
		return ResultError, err.Error(), nil
	}
	var period int64
	if raw, ok := m["max-period"]; ok {
		if err := json.Unmarshal(raw, &period); err != nil || period <= 0 {
			return ResultError, "'max-period' must be positive integer", nil
		}
	}
	origin, err := parseOrigin(m)
	if err != nil {
		return ResultError, err.Error(), nil
	}
	s.deps.DHCP.DisableDHCP(time.Duration(period)*time.Second, origin)
	if period > 0 {
		return ResultSuccess, fmt.Sprintf("DHCPv4 service disabled for %d seconds", period), nil
	}
	return ResultSuccess, "DHCPv4 service disabled", nil
}

func (s *Service) cmdDHCPEnable(_ context.Context, args json.RawMessage) (int, string, any) {
	m, err := optionalMap(args)
	if err != nil {
		return ResultError, err.Error(), nil
	}
	origin, err := parseOrigin(m)
	if err != nil {
		return ResultError, err.Error(), nil
	}
	s.deps.DHCP.EnableDHCP(origin)
	return ResultSuccess, "DHCP service successfully enabled", nil
}

func (s *Service) cmdSyncCompleteNotify(_ context.Context, _ json.RawMessage) (int, string, any) {
	s.mu.Lock()
	if s.state == StatePartnerDown {
		s.syncNotified = true
	} else {
		s.deps.DHCP.EnableDHCP("ha-partner")
	}
	s.mu.Unlock()
	return ResultSuccess, "Server successfully notified about the synchronization completion.", nil
}

func (s *Service) cmdReset(_ context.Context, _ json.RawMessage) (int, string, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateWaiting {
		return ResultSuccess, "HA state machine already in WAITING state.", nil
	}
	s.transitionLocked(StateWaiting)
	return ResultSuccess, "HA state machine reset.", nil
}

func (s *Service) cmdScopes(_ context.Context, args json.RawMessage) (int, string, any) {
	m, err := argMap("ha-scopes", args)
	if err != nil {
		return ResultError, "HA scopes not specified", nil
	}
	raw, ok := m["scopes"]
	if !ok {
		return ResultError, "'scopes' is mandatory for the 'ha-scopes' command", nil
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		return ResultError, "'scopes' must be a list of server names", nil
	}
	var sv [2]bool
	for _, n := range names {
		idx := -1
		for i, p := range s.active {
			if p.Name == n {
				idx = i
			}
		}
		if idx < 0 {
			return ResultError, fmt.Sprintf("invalid server name specified '%s' while enabling/disabling HA scopes", n), nil
		}
		sv[idx] = true
	}
	s.mu.Lock()
	s.setScopesLocked(sv)
	s.mu.Unlock()
	return ResultSuccess, "New HA scopes configured.", nil
}

func (s *Service) cmdContinue(_ context.Context, _ json.RawMessage) (int, string, any) {
	s.mu.Lock()
	was := s.paused
	s.paused = false
	s.mu.Unlock()
	if !was {
		return ResultSuccess, "HA state machine is not paused.", nil
	}
	s.kickModel()
	return ResultSuccess, "HA state machine continues.", nil
}

func (s *Service) cmdSync(ctx context.Context, args json.RawMessage) (int, string, any) {
	m, err := argMap("ha-sync", args)
	if err != nil {
		return ResultError, err.Error(), nil
	}
	var name string
	if raw, ok := m["server-name"]; !ok {
		return ResultError, "'server-name' is mandatory", nil
	} else if err := json.Unmarshal(raw, &name); err != nil {
		return ResultError, "'server-name' must be a string", nil
	}
	if name != s.partner.Name {
		return ResultError, fmt.Sprintf("server name '%s' is not the partner of this server", name), nil
	}
	period := s.syncMaxPeriod()
	if raw, ok := m["max-period"]; ok {
		var p int64
		if err := json.Unmarshal(raw, &p); err != nil || p <= 0 {
			return ResultError, "'max-period' must be a positive integer", nil
		}
		period = time.Duration(p) * time.Second
	}
	if err := s.synchronize(ctx, period); err != nil {
		return ResultError, err.Error(), nil
	}
	return ResultSuccess, "Lease database synchronization complete.", nil
}

func (s *Service) cmdMaintenanceNotify(_ context.Context, args json.RawMessage) (int, string, any) {
	m, err := argMap("ha-maintenance-notify", args)
	if err != nil {
		return ResultError, err.Error(), nil
	}
	var cancel bool
	raw, ok := m["cancel"]
	if !ok || json.Unmarshal(raw, &cancel) != nil {
		return ResultError, "'cancel' is mandatory for the 'ha-maintenance-notify' command", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cancel {
		if s.state != StateInMaintenance {
			return ResultError, "Unable to cancel the maintenance for the server not in the in-maintenance state.", nil
		}
		s.maintCanceled = true
		s.transitionLocked(s.prevState)
		return ResultSuccess, "Server maintenance canceled.", nil
	}
	switch s.state {
	case StateBackup, StatePartnerInMaintenance, StateTerminated:
		return ResultMaintenanceNotAllowed, fmt.Sprintf("Unable to transition the server from the %s to in-maintenance state.", s.state), nil
	}
	if s.state != StateInMaintenance {
		s.prevState = s.state
	}
	s.transitionLocked(StateInMaintenance)
	return ResultSuccess, "Server is in-maintenance state.", nil
}

func (s *Service) cmdMaintenanceStart(ctx context.Context, _ json.RawMessage) (int, string, any) {
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	switch st {
	case StateBackup, StateInMaintenance, StatePartnerInMaintenance, StateTerminated:
		return ResultError, fmt.Sprintf("Unable to transition the server from the %s to partner-in-maintenance state.", st), nil
	}
	c, err := newPeerClient(s.partner, 1, true)
	if err != nil {
		return ResultError, err.Error(), nil
	}
	defer c.close()
	a, err := c.call(ctx, "ha-maintenance-notify", map[string]any{"cancel": false}, requestTimeout)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || a.Result == ResultError {
		s.partnerState = StateUnavailable
		s.prevState = s.state
		s.maintFailover = true
		s.transitionLocked(StatePartnerDown)
		return ResultSuccess, "Server is now in the partner-down state as its partner appears to be offline for maintenance.", nil
	}
	if a.Result != ResultSuccess {
		return ResultError, a.Text, nil
	}
	s.prevState = s.state
	s.transitionLocked(StatePartnerInMaintenance)
	return ResultSuccess, "Server is now in the partner-in-maintenance state and its partner is in-maintenance state. The partner can be now safely shut down.", nil
}

func (s *Service) cmdMaintenanceCancel(ctx context.Context, _ json.RawMessage) (int, string, any) {
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	if st != StatePartnerInMaintenance {
		return ResultError, "Unable to cancel maintenance request because the server is not in the partner-in-maintenance state.", nil
	}
	c, err := newPeerClient(s.partner, 1, true)
	if err != nil {
		return ResultError, err.Error(), nil
	}
	defer c.close()
	if _, err := c.expect(ctx, "ha-maintenance-notify", map[string]any{"cancel": true}, requestTimeout, 0); err != nil {
		return ResultError, fmt.Sprintf("Unable to cancel maintenance: %v", err), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StatePartnerInMaintenance {
		s.maintCanceled = true
		s.transitionLocked(s.prevState)
	}
	return ResultSuccess, "Server maintenance successfully canceled.", nil
}
