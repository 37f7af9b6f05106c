package ha

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"time"
)

// maxRequestBody caps a command received from the partner.
const maxRequestBody = 16 << 20

// newHTTPServer builds the peer listener: HTTP/1.1 only, full request within
// 10 s, idle keep-alive connections closed after 30 s (Kea's listener).
func (s *Service) newHTTPServer(ctx context.Context) *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: requestTimeout,
		ReadTimeout:       requestTimeout,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
}

// reply is one element of the reply list.
type reply struct {
	Arguments any    `json:"arguments,omitempty"`
	Result    int    `json:"result"`
	Text      string `json:"text,omitempty"`
}

// ServeHTTP answers one command from the partner (or an operator): POST on
// any path, Content-Type application/json, body {command, arguments,
// service}. The reply is always a JSON list with an explicit Content-Length,
// except HTTP-level errors which are bare maps, as Kea's listener does.
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
	var env map[string]json.RawMessage
	if !json.Valid(body) || json.Unmarshal(body, &env) != nil {
		if json.Valid(body) {
			// Valid JSON that is not a map: Kea's command parser rejects it.
			writeList(w, reply{Result: ResultError, Text: "Error during command processing: Invalid command Element specified, expected map"})
			return
		}
		writeJSON(w, http.StatusBadRequest, reply{Result: 400, Text: "Bad Request"})
		return
	}
	command, rep := parseEnvelope(env)
	if rep != nil {
		writeList(w, *rep)
		return
	}
	if s.cfg.RestrictCommands && !restricted[command] {
		writeJSON(w, http.StatusForbidden, reply{Result: 403, Text: "Forbidden"})
		return
	}
	s.log.Debug().Str("command", command).Str("remote", r.RemoteAddr).Msg("ha command received")
	res, text, args := s.Handle(r.Context(), command, env["arguments"])
	writeList(w, reply{Arguments: args, Result: res, Text: text})
}

// parseEnvelope validates the top-level keys of a command.
func parseEnvelope(env map[string]json.RawMessage) (string, *reply) {
	for k := range env {
		switch k {
		case "command", "arguments", "service", "remote-address":
		default:
			return "", &reply{Result: ResultError, Text: fmt.Sprintf("Error during command processing: Received command contains unsupported parameter '%s'", k)}
		}
	}
	raw, ok := env["command"]
	if !ok {
		return "", &reply{Result: ResultError, Text: "Error during command processing: Invalid answer specified, does not contain mandatory 'command'"}
	}
	var command string
	if err := json.Unmarshal(raw, &command); err != nil {
		return "", &reply{Result: ResultError, Text: "Error during command processing: 'command' element in command message must be a string"}
	}
	if svc, ok := env["service"]; ok {
		var list []string
		if err := json.Unmarshal(svc, &list); err != nil {
			return "", &reply{Result: ResultError, Text: "Error during command processing: 'service' element must be a list"}
		}
	}
	return command, nil
}

func writeList(w http.ResponseWriter, r reply) {
	writeJSON(w, http.StatusOK, []reply{r})
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
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
