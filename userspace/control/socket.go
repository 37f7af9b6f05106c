package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/internal/accept"
)

// Socket limits. Kea answers a client that has not sent a complete command
// within 10 s with a time-out error (docs/kea/control-api.md §1.1). Kea caps neither
// the command size nor the connections; xdhcpd does: a command may be as
// large as DefaultMaxCommand (config-set carries a whole configuration, and
// an ISP's, with its reservations, runs to tens of MiB), at most
// DefaultMaxConns connections are served at once and the next ones wait in
// the kernel's accept backlog until one closes.
const (
	DefaultIdleTimeout  = 10 * time.Second
	DefaultMaxCommand   = 64 << 20
	DefaultMaxConns     = 64
	defaultWriteTimeout = 10 * time.Second
	// lingerBytes is at least what is discarded (for at most a second)
	// after answering, so that a client still sending gets the answer
	// rather than a reset.
	lingerBytes = 4 << 20
)

// ErrInUse is returned by Listen when a live server answers on the socket path.
var ErrInUse = errors.New("control socket is in use by a running server")

// Options tunes a Server. Zero values take the defaults above.
type Options struct {
	Mode os.FileMode // socket file mode; 0 means 0600
	// GID, when SetGID is true, is the group the socket file is given, so
	// that another user (kea-ctrl-agent's) in that group can connect with a
	// group-writable Mode. Unset, the file keeps the daemon's own group.
	GID         int
	SetGID      bool
	IdleTimeout time.Duration
	MaxCommand  int64
	MaxConns    int
	Logger      zerolog.Logger
}

// Server serves the dispatcher on a unix stream socket: one command per
// connection, answered with one JSON map, then the connection is closed.
type Server struct {
	path string
	ln   net.Listener // a *net.UnixListener (tests may wrap it)
	d    *Dispatcher
	opt  Options
	gate *accept.Gate  // connection slots, accept-error backoff (internal/accept)
	done chan struct{} // closed by Close
	wg   sync.WaitGroup
	once sync.Once
	st   socketStats

	// mu guards reading (connections still waiting for their command) and
	// closing: Close cuts those waits short instead of letting an idle
	// client delay shutdown by up to IdleTimeout. Kea closes them too.
	mu      sync.Mutex
	reading map[net.Conn]struct{}
	closing bool
}

// Listen creates the socket at path. A socket file left by a crashed server
// is replaced; one on which a live server still answers is not (ErrInUse).
func Listen(path string, d *Dispatcher, opt Options) (*Server, error) {
	if opt.Mode == 0 {
		opt.Mode = 0o600
	}
	if opt.IdleTimeout <= 0 {
		opt.IdleTimeout = DefaultIdleTimeout
	}
	if opt.MaxCommand <= 0 {
		opt.MaxCommand = DefaultMaxCommand
	}
	if opt.MaxConns <= 0 {
		opt.MaxConns = DefaultMaxConns
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on control socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	if err := setOwnership(path, opt.Mode, opt.GID, opt.SetGID); err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{path: path, ln: ln, d: d, opt: opt, done: make(chan struct{}), reading: map[net.Conn]struct{}{}}
	s.gate = accept.New(opt.MaxConns, s.done, &s.st.connWaits, &s.st.acceptErrors, s.warnAccept)
	return s, nil
}

// SetOwnership changes the socket file's mode and, when setGID, its group
// (a configuration reload that changes control-socket-mode or
// control-socket-group applies them to the live socket).
func (s *Server) SetOwnership(mode os.FileMode, gid int, setGID bool) error {
	if mode == 0 {
		mode = 0o600
	}
	return setOwnership(s.path, mode, gid, setGID)
}

// setOwnership gives the socket file its group first, then its mode, so it
// is never group-accessible to the wrong group.
func setOwnership(path string, mode os.FileMode, gid int, setGID bool) error {
	if setGID {
		if err := os.Lchown(path, -1, gid); err != nil {
			return fmt.Errorf("control socket %s: give it group %d (control-socket-group): %w; "+
				"xdhcpd must run as root or as a member of that group", path, gid, err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("chmod control socket %s: %w", path, err)
	}
	return nil
}

// socketStats are the control socket's named counters (Counters): one per
// reason a connection or command is refused or cut short.
type socketStats struct {
	acceptErrors atomic.Int64 // Accept failed (EMFILE...): backed off, kept listening
	connWaits    atomic.Int64 // a client waited in the backlog for a free slot (MaxConns)
	timeouts     atomic.Int64 // no complete command within IdleTimeout
	tooLarge     atomic.Int64 // command over MaxCommand
	badCommands  atomic.Int64 // not JSON, or an envelope Kea rejects
	panics       atomic.Int64 // a panic outside the command handler (those are the dispatcher's command_panics)
}

// Counters returns the socket's counters by name; the dispatcher's (the
// command panics) are separate (Dispatcher.Counters).
func (s *Server) Counters() map[string]int64 {
	return map[string]int64{
		"accept_errors":     s.st.acceptErrors.Load(),
		"conn_limit_waits":  s.st.connWaits.Load(),
		"command_timeouts":  s.st.timeouts.Load(),
		"command_too_large": s.st.tooLarge.Load(),
		"bad_commands":      s.st.badCommands.Load(),
		"panics":            s.st.panics.Load(),
	}
}

// removeStale removes path if it is a socket nobody answers on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat control socket %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("control socket path %s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("%s: %w", path, ErrInUse)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale control socket %s: %w", path, err)
	}
	return nil
}

// Path is the socket's file name.
func (s *Server) Path() string { return s.path }

// Serve accepts connections until Close. It returns nil after Close. An
// accept error (EMFILE included) is counted, logged at most once per
// accept.LogEvery and backed off; the socket keeps listening. Past MaxConns
// connections, new clients wait in the backlog.
func (s *Server) Serve(ctx context.Context) error {
	for {
		c, err := s.gate.Next(s.ln)
		if err != nil {
			return fmt.Errorf("accept on control socket %s: %w", s.path, err)
		}
		if c == nil {
			return nil
		}
		s.mu.Lock()
		if s.closing {
			// Close is waiting for the connections it knows of.
			s.mu.Unlock()
			_ = c.Close()
			s.gate.Release()
			return nil
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer func() { s.gate.Release(); s.wg.Done() }()
			s.serveConn(ctx, c)
		}()
	}
}

// warnAccept logs an accept error the gate backs off (rate-limited there).
func (s *Server) warnAccept(err error, suppressed int, delay time.Duration) {
	s.opt.Logger.Warn().Err(err).Int("suppressed", suppressed).Dur("backoff", delay).Str("socket", s.path).
		Msg("control socket: accept failed; backing off and listening on")
}

// Close stops accepting, waits for commands in progress and removes the
// socket file.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		err = s.ln.Close()
		s.mu.Lock()
		s.closing = true
		for c := range s.reading {
			_ = c.SetReadDeadline(time.Now())
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	log := s.opt.Logger
	defer func() {
		// The command handler's panics are the dispatcher's; this catches
		// the rest of the connection's handling. The client gets no
		// answer; the server serves on.
		if v := recover(); v != nil {
			s.st.panics.Add(1)
			log.Error().Str("panic", fmt.Sprint(v)).Str("stack", string(debug.Stack())).
				Msg("control socket: connection handler panicked; serving on")
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(s.opt.IdleTimeout))
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.reading[c] = struct{}{}
	s.mu.Unlock()
	cr := &countingReader{r: io.LimitReader(c, s.opt.MaxCommand+1)}
	raw, resp, fail := readCommand(cr, s.opt.MaxCommand)
	s.mu.Lock()
	delete(s.reading, c)
	closing := s.closing
	s.mu.Unlock()
	if resp != nil && closing {
		// Shutting down: a client that had not sent its command gets no
		// answer (as from Kea), and does not hold up the exit.
		return
	}
	var out Response
	if resp != nil {
		s.st.count(fail)
		out = *resp
	} else {
		req, errResp := ParseRequest(raw)
		if errResp != nil {
			s.st.badCommands.Add(1)
			out = *errResp
		} else {
			log.Debug().Str("command", req.Command).Msg("control command received")
			out = s.d.Run(ctx, req)
		}
	}
	if out.Result != ResultSuccess && out.Result != ResultEmpty {
		log.Info().Int("result", out.Result).Str("text", out.Text).Msg("control command failed")
	}
	body, err := json.Marshal(out)
	if err != nil {
		body, _ = json.Marshal(Error("cannot encode the response: %v", err))
	}
	_ = c.SetWriteDeadline(time.Now().Add(defaultWriteTimeout))
	if _, err := c.Write(body); err != nil {
		log.Debug().Err(err).Msg("write control response")
		return
	}
	// Signal the end of the response, then discard what the client may
	// still be sending (the rest of an oversized command, a second command)
	// so that closing does not reset the connection before it reads.
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, io.LimitReader(c, max(s.opt.MaxCommand, lingerBytes)))
}

// readFailure classifies a command that could not be read.
type readFailure int

const (
	readTimeout  readFailure = iota // nothing complete within IdleTimeout
	readTooLarge                    // over MaxCommand
	readClosed                      // the client closed first
	readBadJSON                     // not JSON
)

// count adds a read failure to its counter (a client that hung up is
// not counted: nothing was refused).
func (st *socketStats) count(f readFailure) {
	switch f {
	case readTimeout:
		st.timeouts.Add(1)
	case readTooLarge:
		st.tooLarge.Add(1)
	case readBadJSON:
		st.badCommands.Add(1)
	}
}

// readCommand reads exactly one JSON value from cr. It returns the value, or
// the error response Kea would send for a time-out, bad JSON or an oversized
// command, and what went wrong.
func readCommand(cr *countingReader, max int64) (json.RawMessage, *Response, readFailure) {
	dec := json.NewDecoder(cr)
	var raw json.RawMessage
	err := dec.Decode(&raw)
	if err == nil {
		return raw, nil, 0
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		text := "Connection over control channel timed out"
		if cr.n > 0 {
			text += fmt.Sprintf(", discarded partial command of %d bytes", cr.n)
		}
		r := Error("%s", text)
		return nil, &r, readTimeout
	case cr.n > max:
		r := Error("command too large: more than %d bytes", max)
		return nil, &r, readTooLarge
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		r := Error("connection closed before a complete command was received")
		return nil, &r, readClosed
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		r := Error("%s", syntaxText(se))
		return nil, &r, readBadJSON
	}
	r := Error("%v", err)
	return nil, &r, readBadJSON
}

// syntaxText words a JSON syntax error like Kea where Kea's wording is known
// ("invalid first character g" for a bad first byte).
func syntaxText(se *json.SyntaxError) string {
	msg := se.Error()
	if se.Offset <= 1 {
		if i := strings.IndexByte(msg, '\''); i >= 0 && i+2 < len(msg) {
			return "invalid first character " + msg[i+1:i+2]
		}
	}
	return msg
}
