package peer

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/userspace/control"
)

// Handler is the HA listener's http.Handler: Kea 2.2's HTTP-level checks
// (POST, JSON content type, basic auth, body cap), the command envelope,
// the consumer's command filter, then the consumer's command runner. It
// knows no command.
type Handler struct {
	// User and Password are the basic auth credentials every request must
	// carry; an empty User asks for none.
	User, Password string
	// BodyCap is the largest request body accepted.
	BodyCap int64
	// Forbidden reports whether a command is kept off the listener (HTTP
	// 403); nil forbids none.
	Forbidden func(command string) bool
	// Run runs a well-formed, allowed command.
	Run func(ctx context.Context, req *control.Request) control.Response
	// Log receives the debug lines of commands received and refused; it is
	// read at every request.
	Log *zerolog.Logger
	// Stats counts the requests refused.
	Stats *Stats
}

// reply is one element of the reply list.
type reply struct {
	Arguments any    `json:"arguments,omitempty"`
	Result    int    `json:"result"`
	Text      string `json:"text,omitempty"`
}

// ServeHTTP answers one command from the partner (or an operator): POST on
// any path, Content-Type application/json, body {command, arguments,
// service}. Every command Run knows is served unless Forbidden says
// otherwise, checked before the envelope as Kea's
// CmdResponseCreator::filterCommand does. The reply is always a JSON list
// with an explicit Content-Length, except HTTP-level errors which are bare
// maps, as Kea's listener does.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.Stats.badRequests.Add(1)
		writeJSON(w, http.StatusBadRequest, reply{Result: 400, Text: "Bad Request"})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		h.Stats.badRequests.Add(1)
		writeJSON(w, http.StatusBadRequest, reply{Result: 400, Text: "Bad Request"})
		return
	}
	if u := h.User; u != "" {
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(u)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(h.Password)) != 1 {
			h.Stats.unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="kea-dhcp4"`)
			writeJSON(w, http.StatusUnauthorized, reply{Result: 401, Text: "Unauthorized"})
			return
		}
	}
	limit := h.BodyCap
	if r.ContentLength > limit {
		h.Stats.tooLarge.Add(1)
		writeJSON(w, http.StatusRequestEntityTooLarge, reply{Result: 413, Text: http.StatusText(http.StatusRequestEntityTooLarge)})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		h.Stats.badRequests.Add(1)
		writeJSON(w, http.StatusBadRequest, reply{Result: 400, Text: "Bad Request"})
		return
	}
	if int64(len(body)) > limit {
		h.Stats.tooLarge.Add(1)
		writeJSON(w, http.StatusRequestEntityTooLarge, reply{Result: 413, Text: http.StatusText(http.StatusRequestEntityTooLarge)})
		return
	}
	if req, ok := decodeCommand(body); ok {
		if h.forbidden(req.Command) {
			h.reject(w, r, req.Command)
			return
		}
		h.dispatch(w, r, req)
		return
	}
	var env map[string]json.RawMessage
	if !json.Valid(body) || json.Unmarshal(body, &env) != nil {
		if json.Valid(body) {
			// Valid JSON that is not a map: Kea's command parser rejects it.
			writeList(w, control.Error("Error during command processing: Invalid command Element specified, expected map"))
			return
		}
		h.Stats.badRequests.Add(1)
		writeJSON(w, http.StatusBadRequest, reply{Result: 400, Text: "Bad Request"})
		return
	}
	// Kea filters on the parsed body before it checks the envelope: a
	// string command outside the list is forbidden whatever else the
	// map holds.
	var cmd string
	if json.Unmarshal(env["command"], &cmd) == nil && h.forbidden(cmd) {
		h.reject(w, r, cmd)
		return
	}
	req, rep := parseEnvelope(env)
	if rep != nil {
		writeList(w, *rep)
		return
	}
	h.dispatch(w, r, req)
}

// forbidden reports whether the filter keeps command off the listener. As
// in Kea, an empty command passes the filter (and is then not supported).
func (h *Handler) forbidden(command string) bool {
	return h.Forbidden != nil && command != "" && h.Forbidden(command)
}

// reject answers a forbidden command as Kea 2.2's listener does: HTTP 403
// with the bare map {"result": 403, "text": "Forbidden"}.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, command string) {
	h.Stats.forbidden.Add(1)
	h.Log.Debug().Str("command", command).Str("remote", r.RemoteAddr).Msg("ha listener: command rejected (restrict-commands)")
	writeJSON(w, http.StatusForbidden, reply{Result: 403, Text: "Forbidden"})
}

// dispatch runs a well-formed, allowed command.
func (h *Handler) dispatch(w http.ResponseWriter, r *http.Request, req *control.Request) {
	h.Log.Debug().Str("command", req.Command).Str("remote", r.RemoteAddr).Msg("ha command received")
	writeList(w, h.Run(r.Context(), req))
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
	// (see UpdateClient); Kea ignores it.
	h.Set("Server", ServerSoftware)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
