package ha

import "time"

// StatusLocal is high-availability[].ha-servers.local of status-get.
type StatusLocal struct {
	Role   string   `json:"role"`
	Scopes []string `json:"scopes"`
	State  string   `json:"state"`
}

// StatusRemote is high-availability[].ha-servers.remote of status-get.
type StatusRemote struct {
	Age                      int64    `json:"age"`
	AnalyzedPackets          uint64   `json:"analyzed-packets"`
	CommunicationInterrupted bool     `json:"communication-interrupted"`
	ConnectingClients        int      `json:"connecting-clients"`
	InTouch                  bool     `json:"in-touch"`
	LastScopes               []string `json:"last-scopes"`
	LastState                string   `json:"last-state"`
	Role                     string   `json:"role"`
	UnackedClients           int      `json:"unacked-clients"`
	UnackedClientsLeft       int      `json:"unacked-clients-left"`
}

// StatusServers is high-availability[].ha-servers.
type StatusServers struct {
	Local  StatusLocal   `json:"local"`
	Remote *StatusRemote `json:"remote,omitempty"`
}

// StatusEntry is one element of status-get's "high-availability" list.
type StatusEntry struct {
	HAMode    string        `json:"ha-mode"`
	HAServers StatusServers `json:"ha-servers"`
}

// Status returns the value of status-get's "high-availability" key
// (docs/kea/ha-protocol.md §11).
func (s *Service) Status() []StatusEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	connecting, unacked, analyzed := s.det.counts()
	interrupted := s.interrupted()
	left := 0
	if interrupted && uint32(unacked) <= s.cfg.MaxUnackedClients {
		left = int(s.cfg.MaxUnackedClients) - unacked + 1
	}
	var age int64
	if s.inTouch {
		age = int64(s.now().Sub(time.Unix(0, s.lastPoke.Load())) / time.Second)
	}
	local := StatusLocal{Role: s.this.Role, Scopes: s.servedNamesLocked(), State: s.state.String()}
	if s.partner == nil {
		// Kea's processStatusGet: no remote part on a backup server or in
		// passive-backup mode.
		return []StatusEntry{{HAMode: s.cfg.Mode, HAServers: StatusServers{Local: local}}}
	}
	return []StatusEntry{{
		HAMode: s.cfg.Mode,
		HAServers: StatusServers{
			Local: local,
			Remote: &StatusRemote{
				Age: age, AnalyzedPackets: analyzed, CommunicationInterrupted: interrupted,
				ConnectingClients: connecting, InTouch: s.inTouch,
				LastScopes: append([]string{}, s.partnerScopes...), LastState: s.partnerState.String(),
				Role: s.partner.Role, UnackedClients: unacked, UnackedClientsLeft: left,
			},
		},
	}}
}

// heartbeatReply is our answer to ha-heartbeat (docs/kea/ha-protocol.md §4.1).
func (s *Service) heartbeatReply() heartbeatArgs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return heartbeatArgs{
		State:             s.state.String(),
		DateTime:          s.now().UTC().Format(httpTimeFormat),
		Scopes:            s.servedNamesLocked(),
		UnsentUpdateCount: s.unsent,
	}
}

const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"
