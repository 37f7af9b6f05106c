package ha

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/xdhcp/xdhcp/userspace/control"
)

// Request body caps of the HA listener. Kea 2.2's listener has none. With
// restrict-commands (xdhcpd's default) the largest request a partner sends
// is a lease4-update whose lease carries a user-context: a few KiB, so
// maxPeerBody leaves ample room while bounding what maxPeerConns clients
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
func (s *Service) ListenerCounters() map[string]int64 { return s.lstats.counters() }

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

// reply is one element of the reply list.
type reply struct {
	Arguments any    `json:"arguments,omitempty"`
	Result    int    `json:"result"`
	Text      string `json:"text,omitempty"`
}

// ServeHTTP answers one command from the partner (or an operator): POST on
// any path, Content-Type application/json, body {command, arguments,
// service}. Every command registered on the Service's dispatcher is served;
// with restrict-commands (xdhcpd's default) only the peer commands of
// docs/kea/ha-protocol.md §4, checked before the envelope as Kea's
// CmdResponseCreator::filterCommand does. The reply is always a JSON list
// with an explicit Content-Length, except HTTP-level errors which are bare
// maps, as Kea's listener does.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.lstats.badRequests.Add(1)
		writeJSON(w, http.StatusBadRequest, reply{Result: 400, Text: "Bad Request"})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.lstats.badRequests.Add(1)
		writeJSON(w, http.StatusBadRequest, reply{Result: 400, Text: "Bad Request"})
		return
	}
	if u := s.this.BasicAuthUser; u != "" {
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(u)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(s.this.BasicAuthPassword)) != 1 {
			s.lstats.unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="kea-dhcp4"`)
			writeJSON(w, http.StatusUnauthorized, reply{Result: 401, Text: "Unauthorized"})
			return
		}
	}
	limit := bodyCap(&s.cfg)
	if r.ContentLength > limit {
		s.lstats.tooLarge.Add(1)
		writeJSON(w, http.StatusRequestEntityTooLarge, reply{Result: 413, Text: http.StatusText(http.StatusRequestEntityTooLarge)})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		s.lstats.badRequests.Add(1)
		writeJSON(w, http.StatusBadRequest, reply{Result: 400, Text: "Bad Request"})
		return
	}
	if int64(len(body)) > limit {
		s.lstats.tooLarge.Add(1)
		writeJSON(w, http.StatusRequestEntityTooLarge, reply{Result: 413, Text: http.StatusText(http.StatusRequestEntityTooLarge)})
		return
	}
	if req, ok := decodeCommand(body); ok {
		if s.forbidden(req.Command) {
			s.reject(w, r, req.Command)
			return
		}
		s.dispatch(w, r, req)
		return
	}
	var env map[string]json.RawMessage
	if !json.Valid(body) || json.Unmarshal(body, &env) != nil {
		if json.Valid(body) {
			// Valid JSON that is not a map: Kea's command parser rejects it.
			writeList(w, control.Error("Error during command processing: Invalid command Element specified, expected map"))
			return
		}
		s.lstats.badRequests.Add(1)
		writeJSON(w, http.StatusBadRequest, reply{Result: 400, Text: "Bad Request"})
		return
	}
	// Kea filters on the parsed body before it checks the envelope: a
	// string command outside the list is forbidden whatever else the
	// map holds.
	var cmd string
	if json.Unmarshal(env["command"], &cmd) == nil && s.forbidden(cmd) {
		s.reject(w, r, cmd)
		return
	}
	req, rep := parseEnvelope(env)
	if rep != nil {
		writeList(w, *rep)
		return
	}
	s.dispatch(w, r, req)
}

// forbidden reports whether restrict-commands keeps command off the
// listener. As in Kea, an empty command passes the filter (and is then
// not supported).
func (s *Service) forbidden(command string) bool {
	return s.cfg.RestrictCommands && command != "" && !restricted[command]
}

// reject answers a forbidden command as Kea 2.2's listener does: HTTP 403
// with the bare map {"result": 403, "text": "Forbidden"}.
func (s *Service) reject(w http.ResponseWriter, r *http.Request, command string) {
	s.lstats.forbidden.Add(1)
	s.log.Debug().Str("command", command).Str("remote", r.RemoteAddr).Msg("ha listener: command rejected (restrict-commands)")
	writeJSON(w, http.StatusForbidden, reply{Result: 403, Text: "Forbidden"})
}

// dispatch runs a well-formed, allowed command.
func (s *Service) dispatch(w http.ResponseWriter, r *http.Request, req *control.Request) {
	s.log.Debug().Str("command", req.Command).Str("remote", r.RemoteAddr).Msg("ha command received")
	writeList(w, s.cmds.Run(r.Context(), req))
}

// wireCommand is a well-formed command body.
type wireCommand struct {
	Command       *string         `json:"command"`
	Arguments     json.RawMessage `json:"arguments"`
	Service       []string        `json:"service"`
	RemoteAddress json.RawMessage `json:"remote-address"`
}

// envelopeKeys are the top-level keys Kea accepts, quoted.
var envelopeKeys = [...]string{`"command"`, `"arguments"`, `"service"`, `"remote-address"`}

// decodeCommand decodes, in one pass, the command bodies peers send (every
// lease update): one JSON map with a string command and only the keys
// parseEnvelope accepts, nothing after it. ok=false sends the body through
// the checks that produce Kea's error replies. encoding/json matches keys
// case-insensitively and Kea does not, so a body in which one of those
// keys appears in another spelling anywhere (a "Command" key that
// encoding/json would have taken for "command", or merely such a string
// in a value) takes the slow path too.
func decodeCommand(body []byte) (*control.Request, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var wc wireCommand
	if dec.Decode(&wc) != nil || wc.Command == nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	// (A null command leaves wc.Command nil: the slow path says why.)
	// encoding/json also folds some non-ASCII letters onto ASCII ones
	// (U+017F onto s, U+212A onto k): bodies with non-ASCII bytes or
	// \u escapes, rare from a partner, take the slow path.
	for i, c := range body {
		if c >= 0x80 || c == '\\' && i+1 < len(body) && body[i+1] == 'u' {
			return nil, false
		}
	}
	lower := bytes.ToLower(body)
	for _, k := range envelopeKeys {
		if bytes.Count(lower, []byte(k)) != bytes.Count(body, []byte(k)) {
			return nil, false
		}
	}
	req := &control.Request{Command: *wc.Command, Service: wc.Service}
	if len(wc.Arguments) > 0 && string(wc.Arguments) != "null" {
		req.Arguments = wc.Arguments
	}
	return req, true
}

// parseEnvelope validates the top-level keys of a command.
func parseEnvelope(env map[string]json.RawMessage) (*control.Request, *control.Response) {
	fail := func(text string) (*control.Request, *control.Response) {
		return nil, &control.Response{Result: control.ResultError, Text: text}
	}
	for k := range env {
		switch k {
		case "command", "arguments", "service", "remote-address":
		default:
			return fail(fmt.Sprintf("Error during command processing: Received command contains unsupported parameter '%s'", k))
		}
	}
	raw, ok := env["command"]
	if !ok {
		return fail("Error during command processing: Invalid answer specified, does not contain mandatory 'command'")
	}
	req := &control.Request{}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '"' || json.Unmarshal(t, &req.Command) != nil {
		return fail("Error during command processing: 'command' element in command message must be a string")
	}
	if svc, ok := env["service"]; ok {
		if err := json.Unmarshal(svc, &req.Service); err != nil {
			return fail("Error during command processing: 'service' element must be a list")
		}
	}
	if a := env["arguments"]; len(a) > 0 && string(a) != "null" {
		req.Arguments = a
	}
	return req, nil
}

// writeList sends a command's answer as Kea's listener does: a one-element
// list, keys in Kea's (alphabetical) order.
func writeList(w http.ResponseWriter, r control.Response) {
	writeJSON(w, http.StatusOK, []reply{{Arguments: r.Arguments, Result: r.Result, Text: r.Text}})
}

// writeJSON buffers the body and sets Content-Length so the reply is never
// chunked (Kea cannot parse chunked bodies).
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		buf.Reset()
		buf.WriteString(`{ "result": 500, "text": "Internal Server Error" }`)
		status = http.StatusInternalServerError
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	// Tells an xdhcpd partner that this listener takes pipelined requests
	// (see updateClient); Kea ignores it.
	h.Set("Server", serverSoftware)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
