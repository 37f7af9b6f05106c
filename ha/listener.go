package ha

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/xdhcp/xdhcp/userspace/control"
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
		// HTTP/1.1 only, also over TLS (Kea has no HTTP/2).
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		// TLS handshake failures (a peer without a valid certificate) and
		// other connection errors go to the debug log, not stderr.
		ErrorLog: log.New(debugWriter{s}, "", 0),
	}
}

// debugWriter sends net/http's connection errors to the HA debug log.
type debugWriter struct{ s *Service }

func (w debugWriter) Write(p []byte) (int, error) {
	w.s.log.Debug().Msg(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

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
	if s.cfg.RestrictCommands && !restricted[req.Command] {
		writeJSON(w, http.StatusForbidden, reply{Result: 403, Text: "Forbidden"})
		return
	}
	s.log.Debug().Str("command", req.Command).Str("remote", r.RemoteAddr).Msg("ha command received")
	writeList(w, s.cmds.Run(r.Context(), req))
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
