package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Socket limits. Kea answers a client that has not sent a complete command
// within 10 s with a time-out error (control-api.md §1.1).
const (
	DefaultIdleTimeout  = 10 * time.Second
	DefaultMaxCommand   = 64 << 20 // config-set carries whole configurations
	DefaultMaxConns     = 64
	defaultWriteTimeout = 10 * time.Second
)

// ErrInUse is returned by Listen when a live server answers on the socket path.
var ErrInUse = errors.New("control socket is in use by a running server")

// Options tunes a Server. Zero values take the defaults above.
type Options struct {
	Mode        os.FileMode // socket file mode; 0 means 0600
	IdleTimeout time.Duration
	MaxCommand  int64
	MaxConns    int
	Logger      zerolog.Logger
}

// Server serves the dispatcher on a unix stream socket: one command per
// connection, answered with one JSON map, then the connection is closed.
type Server struct {
	path string
	ln   *net.UnixListener
	d    *Dispatcher
	opt  Options
	sem  chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	// mu guards reading (connections still waiting for their command) and
	// closing: Close cuts those waits short instead of letting an idle
	// client delay shutdown by up to IdleTimeout. Kea closes them too.
	mu      sync.Mutex
	reading map[*net.UnixConn]struct{}
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
	if err := os.Chmod(path, opt.Mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod control socket %s: %w", path, err)
	}
	return &Server{path: path, ln: ln, d: d, opt: opt, sem: make(chan struct{}, opt.MaxConns), reading: map[*net.UnixConn]struct{}{}}, nil
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

// Serve accepts connections until Close. It returns nil after Close.
func (s *Server) Serve(ctx context.Context) error {
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept on control socket %s: %w", s.path, err)
		}
		s.sem <- struct{}{}
		s.wg.Add(1)
		go func() {
			defer func() { <-s.sem; s.wg.Done() }()
			s.serveConn(ctx, c)
		}()
	}
}

// Close stops accepting, waits for commands in progress and removes the
// socket file.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
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

func (s *Server) serveConn(ctx context.Context, c *net.UnixConn) {
	defer c.Close()
	log := s.opt.Logger
	_ = c.SetReadDeadline(time.Now().Add(s.opt.IdleTimeout))
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.reading[c] = struct{}{}
	s.mu.Unlock()
	cr := &countingReader{r: io.LimitReader(c, s.opt.MaxCommand+1)}
	raw, resp := readCommand(cr, s.opt.MaxCommand)
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
		out = *resp
	} else {
		req, errResp := ParseRequest(raw)
		if errResp != nil {
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
	_ = c.CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, io.LimitReader(c, s.opt.MaxCommand))
}

// readCommand reads exactly one JSON value from cr. It returns the value, or
// the error response Kea would send for a time-out, bad JSON or an oversized
// command.
func readCommand(cr *countingReader, max int64) (json.RawMessage, *Response) {
	dec := json.NewDecoder(cr)
	var raw json.RawMessage
	err := dec.Decode(&raw)
	if err == nil {
		return raw, nil
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		text := "Connection over control channel timed out"
		if cr.n > 0 {
			text += fmt.Sprintf(", discarded partial command of %d bytes", cr.n)
		}
		r := Error("%s", text)
		return nil, &r
	case cr.n > max:
		r := Error("command too large: more than %d bytes", max)
		return nil, &r
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		r := Error("connection closed before a complete command was received")
		return nil, &r
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		r := Error("%s", syntaxText(se))
		return nil, &r
	}
	r := Error("%v", err)
	return nil, &r
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
