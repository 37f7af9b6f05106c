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

// maxRequestBody caps a command received from the partner.
const maxRequestBody = 16 << 20

// reply is one element of the reply list.
type reply struct {
	Arguments any    `json:"arguments,omitempty"`
	Result    int    `json:"result"`
	Text      string `json:"text,omitempty"`
}

// ServeHTTP answers one command from the partner (or an operator): POST on
// any path, Content-Type application/json, body {command, arguments,
// service}. Every command registered on the Service's dispatcher is served
// (with restrict-commands, only the peer commands of ha-protocol.md §4). The
// reply is always a JSON list with an explicit Content-Length, except
// HTTP-level errors which are bare maps, as Kea's listener does.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusBadRequest, reply{Result: 400, Text: "Bad Request"})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, http.StatusBadRequest, reply{Result: 400, Text: "Bad Request"})
		return
	}
	if u := s.this.BasicAuthUser; u != "" {
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(u)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(s.this.BasicAuthPassword)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="kea-dhcp4"`)
			writeJSON(w, http.StatusUnauthorized, reply{Result: 401, Text: "Unauthorized"})
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil || len(body) > maxRequestBody {
		writeJSON(w, http.StatusBadRequest, reply{Result: 400, Text: "Bad Request"})
		return
	}
	if req, ok := decodeCommand(body); ok {
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
		writeJSON(w, http.StatusBadRequest, reply{Result: 400, Text: "Bad Request"})
		return
	}
	req, rep := parseEnvelope(env)
	if rep != nil {
		writeList(w, *rep)
		return
	}
	s.dispatch(w, r, req)
}

// dispatch runs a well-formed command (with restrict-commands, only the
// peer commands).
func (s *Service) dispatch(w http.ResponseWriter, r *http.Request, req *control.Request) {
	if s.cfg.RestrictCommands && !restricted[req.Command] {
		writeJSON(w, http.StatusForbidden, reply{Result: 403, Text: "Forbidden"})
		return
	}
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

// decodeCommand decodes, in one pass, the command bodies peers send (every
// lease update): one JSON map with a string command and only the keys
// parseEnvelope accepts, nothing after it. ok=false sends the body through
// the checks that produce Kea's error replies. encoding/json matches keys
// case-insensitively and Kea does not, so each key decoded must also be
// present in its exact spelling.
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
	for _, k := range []struct {
		set bool
		key string
	}{{true, `"command"`}, {wc.Arguments != nil, `"arguments"`}, {wc.Service != nil, `"service"`}, {wc.RemoteAddress != nil, `"remote-address"`}} {
		if k.set && !bytes.Contains(body, []byte(k.key)) {
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
	if err := json.Unmarshal(raw, &req.Command); err != nil {
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
