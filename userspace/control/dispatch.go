// Package control implements Kea's control channel: the command envelope,
// result codes and a registry of command handlers (this file), served on a
// unix stream socket with Kea's framing (socket.go).
//
// The package knows nothing about what commands do; the daemon registers
// handlers from the packages that own the behaviour.
package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"
)

// Kea result codes (docs/kea/control-api.md §2).
const (
	ResultSuccess     = 0
	ResultError       = 1
	ResultUnsupported = 2
	ResultEmpty       = 3
)

// Response is one command's answer: {"result", "text", "arguments"}. Text and
// Arguments are omitted when empty, as Kea does.
type Response struct {
	Result    int    `json:"result"`
	Text      string `json:"text,omitempty"`
	Arguments any    `json:"arguments,omitempty"`
}

// OK returns a success response.
func OK(text string, args any) Response {
	return Response{Result: ResultSuccess, Text: text, Arguments: args}
}

// Error returns a result-1 response with a formatted text.
func Error(format string, a ...any) Response {
	return Response{Result: ResultError, Text: fmt.Sprintf(format, a...)}
}

// Empty returns a result-3 ("nothing found") response.
func Empty(text string, args any) Response {
	return Response{Result: ResultEmpty, Text: text, Arguments: args}
}

// Request is a parsed command envelope.
type Request struct {
	Command   string
	Arguments json.RawMessage // nil when absent
	Service   []string
}

// HasArguments reports whether the request carried an "arguments" value.
func (r *Request) HasArguments() bool { return len(r.Arguments) > 0 && string(r.Arguments) != "null" }

// Handler executes one command.
type Handler func(ctx context.Context, req *Request) Response

// Dispatcher maps command names to handlers. It is safe for concurrent use;
// handlers may be registered and removed while commands run (a config
// reload that drops the lease_cmds hook removes its commands).
//
// A handler that panics does not take the server down: Run recovers the
// panic, logs it with its stack, counts it (command_panics) and answers
// result 1, as Kea's command manager answers a handler that threw.
type Dispatcher struct {
	mu       sync.RWMutex
	handlers map[string]Handler
	log      atomic.Pointer[zerolog.Logger]
	panics   atomic.Int64
}

// NewDispatcher returns a dispatcher that knows list-commands. Until
// SetLogger, recovered panics are logged to standard error.
func NewDispatcher() *Dispatcher {
	d := &Dispatcher{handlers: make(map[string]Handler)}
	l := zerolog.New(os.Stderr).With().Timestamp().Str("component", "control").Logger()
	d.log.Store(&l)
	d.Register("list-commands", func(context.Context, *Request) Response {
		return OK("", d.Commands())
	})
	return d
}

// SetLogger sets where recovered handler panics are logged.
func (d *Dispatcher) SetLogger(l zerolog.Logger) { d.log.Store(&l) }

// Counters returns the dispatcher's named counters: command_panics, the
// handler panics recovered by Run.
func (d *Dispatcher) Counters() map[string]int64 {
	return map[string]int64{"command_panics": d.panics.Load()}
}

// Register adds or replaces the handler for name.
func (d *Dispatcher) Register(name string, h Handler) {
	d.mu.Lock()
	d.handlers[name] = h
	d.mu.Unlock()
}

// Unregister removes the handler for name.
func (d *Dispatcher) Unregister(name string) {
	d.mu.Lock()
	delete(d.handlers, name)
	d.mu.Unlock()
}

// Commands returns the registered command names, sorted.
func (d *Dispatcher) Commands() []string {
	d.mu.RLock()
	names := make([]string, 0, len(d.handlers))
	for n := range d.handlers {
		names = append(names, n)
	}
	d.mu.RUnlock()
	sort.Strings(names)
	return names
}

// allowedKeys are the top-level keys Kea accepts in a command.
var allowedKeys = map[string]bool{"command": true, "arguments": true, "service": true, "remote-address": true}

// ParseRequest validates a command envelope the way Kea's command
// interpreter does and returns the request, or the error response to send.
func ParseRequest(raw []byte) (*Request, *Response) {
	fail := func(format string, a ...any) (*Request, *Response) {
		r := Error(format, a...)
		return nil, &r
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] != '{' {
			return fail("invalid command: the command must be a map")
		}
		return fail("invalid command: %v", err)
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !allowedKeys[k] {
			return fail("Error during command processing: Received command contains unsupported parameter '%s'", k)
		}
	}
	cmdRaw, ok := top["command"]
	if !ok {
		return fail("Error during command processing: Invalid answer specified, does not contain mandatory 'command'")
	}
	req := &Request{}
	if err := json.Unmarshal(cmdRaw, &req.Command); err != nil {
		return fail("Error during command processing: 'command' element in command message is not a string")
	}
	if a, ok := top["arguments"]; ok {
		if t := bytes.TrimSpace(a); len(t) == 0 || t[0] != '{' && t[0] != '[' && string(t) != "null" {
			return fail("Error during command processing: 'arguments' must be a map")
		}
		req.Arguments = a
	}
	if s, ok := top["service"]; ok {
		if err := json.Unmarshal(s, &req.Service); err != nil {
			return fail("Error during command processing: service value must be a list")
		}
	}
	return req, nil
}

// Dispatch runs the command in raw (one JSON command) and returns its
// response. Unknown commands get result 2, as in Kea.
func (d *Dispatcher) Dispatch(ctx context.Context, raw []byte) Response {
	req, errResp := ParseRequest(raw)
	if errResp != nil {
		return *errResp
	}
	return d.Run(ctx, req)
}

// Run executes a parsed request.
func (d *Dispatcher) Run(ctx context.Context, req *Request) Response {
	d.mu.RLock()
	h, ok := d.handlers[req.Command]
	d.mu.RUnlock()
	if !ok {
		return Response{Result: ResultUnsupported, Text: fmt.Sprintf("'%s' command not supported.", req.Command)}
	}
	return d.call(ctx, h, req)
}

// call runs h, turning a panic into a result-1 answer. The reply names the
// command but not the panic (the peer port may answer strangers); the log
// has the value and the stack.
func (d *Dispatcher) call(ctx context.Context, h Handler, req *Request) (resp Response) {
	defer func() {
		if v := recover(); v != nil {
			d.panics.Add(1)
			d.log.Load().Error().Str("command", req.Command).Str("panic", fmt.Sprint(v)).
				Str("stack", string(debug.Stack())).Msg("command handler panicked; answered result 1, serving on")
			resp = Error("Error during command processing: internal error in '%s' (logged by the server)", req.Command)
		}
	}()
	return h(ctx, req)
}

// DecodeArgs unmarshals a request's arguments into v, rejecting a missing
// or non-map value with Kea's wording.
func DecodeArgs(req *Request, v any) *Response {
	if !req.HasArguments() {
		r := Error("Missing mandatory 'arguments' parameter.")
		return &r
	}
	if t := bytes.TrimSpace(req.Arguments); t[0] != '{' {
		r := Error("'arguments' parameter must be a map")
		return &r
	}
	if err := json.Unmarshal(req.Arguments, v); err != nil {
		r := Error("invalid arguments: %v", err)
		return &r
	}
	return nil
}
