package ha

import (
	"net/http"

	"github.com/xdhcp/xdhcp/ha/peer"
)

// Request body caps of the HA listener. Kea 2.2's listener has none. With
// restrict-commands (xdhcpd's default) the largest request a partner sends
// is a lease4-update whose lease carries a user-context: a few KiB, so
// maxPeerBody leaves ample room while bounding what peer.MaxConns clients
// can make the server buffer (64 MiB). Without restrict-commands the
// listener serves config-set, whose body is a whole configuration; tens of
// thousands of subnets with reservations fit in maxRequestBody.
const (
	maxPeerBody    = 1 << 20
	maxRequestBody = 16 << 20
)

// bodyCap is the listener's request body cap for cfg.
func bodyCap(cfg *Config) int64 {
	if cfg.RestrictCommands {
		return maxPeerBody
	}
	return maxRequestBody
}

// ListenerCounters returns the peer listener's counters by name (one per
// reason a connection or request is refused or cut short); the daemon
// exports them as metrics.
func (s *Service) ListenerCounters() map[string]int64 { return s.lstats.Counters() }

// warnUnprotected logs, once at start, one WARN line when the listener
// accepts commands from anyone who can reach it: no basic auth on this
// server's peer entry and no TLS.
func (s *Service) warnUnprotected(addr string) {
	if s.this.BasicAuthUser != "" || s.serverTLS != nil {
		return
	}
	what := "the HA commands (lease4-update, lease4-del, dhcp-disable, ha-reset...)"
	if !s.cfg.RestrictCommands {
		what = "every control command (restrict-commands is false: config-set, config-write, shutdown, lease4-wipe...)"
	}
	s.log.Warn().Str("listen", addr).Bool("restrict-commands", s.cfg.RestrictCommands).
		Msgf("HA listener on %s has neither basic auth nor TLS: anyone who can reach it can send %s; "+
			"set basic-auth-user and basic-auth-password on this server's peer entry (and on the partner) "+
			"or configure TLS (trust-anchor, cert-file, key-file), and firewall the port to the partner", addr, what)
}

// newHandler is the peer listener's handler: this server's basic auth,
// the body cap and the restrict-commands filter over the Service's
// dispatcher.
func (s *Service) newHandler() *peer.Handler {
	return &peer.Handler{
		User: s.this.BasicAuthUser, Password: s.this.BasicAuthPassword,
		BodyCap:   bodyCap(&s.cfg),
		Forbidden: s.forbidden,
		Run:       s.cmds.Run,
		Log:       &s.log,
		Stats:     &s.lstats,
	}
}

// ServeHTTP answers one command from the partner (or an operator) as the
// peer listener does (peer.Handler). Every command registered on the
// Service's dispatcher is served; with restrict-commands (xdhcpd's
// default) only the peer commands of docs/kea/ha-protocol.md §4.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// forbidden reports whether restrict-commands keeps command off the
// listener.
func (s *Service) forbidden(command string) bool {
	return s.cfg.RestrictCommands && !restricted[command]
}
