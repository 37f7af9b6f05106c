package peer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/internal/accept"
)

// Listener limits. Kea 2.2's listener gives a request RequestTimeout to
// arrive whole and closes a keep-alive connection idle for listenerIdle; a
// new connection gets RequestTimeout for its first request, so a client
// that connects and sends nothing holds a slot for at most that. Kea caps
// neither connections nor header sizes; xdhcpd does: MaxConns is far
// above what a partner opens (http-client-threads connections for
// heartbeats and sync plus as many for lease updates, 2 × the partner's
// core threads at Kea's default of 0), and past it new connections wait in
// the kernel's accept backlog until one closes.
const (
	listenerIdle    = 30 * time.Second
	listenerWrite   = 60 * time.Second
	maxHeaderBytes  = 64 << 10
	MaxConns        = 64
	peerConnReadBuf = 32 << 10
)

// Stats are the HA listener's named counters (Counters): every connection
// or request the listener refuses or cuts short is counted under its
// reason. The zero value is ready.
type Stats struct {
	acceptErrors atomic.Int64 // Accept failed (EMFILE...): backed off, kept listening
	connWaits    atomic.Int64 // a connection waited in the backlog for a free slot (MaxConns)
	badRequests  atomic.Int64 // 400: not HTTP/1.x, chunked, not POST/JSON, bad JSON, header over maxHeaderBytes
	unauthorized atomic.Int64 // 401: basic auth missing or wrong
	forbidden    atomic.Int64 // 403: restrict-commands
	tooLarge     atomic.Int64 // 413: body over the cap (bodyCap)
	timeouts     atomic.Int64 // a request (or a new connection's first one) did not arrive in RequestTimeout
	tlsFailures  atomic.Int64 // TLS handshake failed
	panics       atomic.Int64 // an HTTP-layer panic, answered 500 (command panics: the dispatcher's command_panics)
}

// Counters returns the counters by name.
func (st *Stats) Counters() map[string]int64 {
	return map[string]int64{
		"accept_errors":          st.acceptErrors.Load(),
		"conn_limit_waits":       st.connWaits.Load(),
		"bad_requests":           st.badRequests.Load(),
		"unauthorized":           st.unauthorized.Load(),
		"forbidden":              st.forbidden.Load(),
		"request_too_large":      st.tooLarge.Load(),
		"request_timeouts":       st.timeouts.Load(),
		"tls_handshake_failures": st.tlsFailures.Load(),
		"panics":                 st.panics.Load(),
	}
}

// Server serves the HA listener's HTTP/1.1 connections with a Handler. It
// exists instead of net/http's server for one reason: a partner's lease
// updates arrive pipelined (see UpdateClient), and net/http writes each
// response with its own write. Server
// parses requests with net/http's parser (http.ReadRequest) and buffers
// responses, writing them when no further request is already waiting in
// the connection's read buffer: under load one write answers a whole
// pipeline.
type Server struct {
	h        http.Handler
	ctx      context.Context
	tls      *tls.Config
	log      zerolog.Logger
	st       *Stats
	bodyCap  int64
	maxConns int
	gate     *accept.Gate  // connection slots, accept-error backoff
	done     chan struct{} // closed by shutdown
	write    func(fd int, b []byte) (int, error)

	mu     sync.Mutex
	ln     net.Listener
	conns  map[*peerConn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// peerConn is one connection; idle is set while it waits for a request.
type peerConn struct {
	nc   net.Conn
	idle atomic.Bool
}

// NewServer builds a server that answers with h, in ctx (canceled: no
// request is kept alive), over TLS when tc is set, counting into st. A
// request body over bodyCap is refused; past maxConns open connections
// new ones wait in the kernel's accept backlog.
func NewServer(ctx context.Context, h http.Handler, tc *tls.Config, log zerolog.Logger, st *Stats, bodyCap int64, maxConns int) *Server {
	ps := &Server{h: h, ctx: ctx, tls: tc, log: log, st: st, bodyCap: bodyCap, maxConns: maxConns,
		done: make(chan struct{}), conns: map[*peerConn]struct{}{}}
	ps.gate = accept.New(maxConns, ps.done, &st.connWaits, &st.acceptErrors, ps.warnAccept)
	return ps
}

// SetWrite gives the server a write(2) to answer plain TCP connections
// with first (afxdp.RawWrite, as UpdateClient.SetWrite): one raw system
// call per answer, the connection's own Write only for what the socket
// did not take. Call it before Serve.
func (ps *Server) SetWrite(f func(fd int, b []byte) (int, error)) { ps.write = f }

// Serve accepts connections until Shutdown; it returns nil after Shutdown. An
// accept error is counted, logged (rate-limited) and backed off; only a
// listener closed by someone else ends the loop with an error.
func (ps *Server) Serve(ln net.Listener) error {
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		return ln.Close()
	}
	ps.ln = ln
	ps.mu.Unlock()
	for {
		// A slot first: past maxConns, clients wait in the backlog.
		nc, err := ps.gate.Next(ln)
		if err != nil {
			return fmt.Errorf("ha listener closed: %w", err)
		}
		if nc == nil {
			return nil
		}
		if ps.tls != nil {
			nc = tls.Server(nc, ps.tls)
		}
		pc := &peerConn{nc: nc}
		ps.mu.Lock()
		if ps.closed {
			ps.mu.Unlock()
			_ = nc.Close()
			ps.gate.Release()
			return nil
		}
		ps.conns[pc] = struct{}{}
		ps.wg.Add(1)
		ps.mu.Unlock()
		go ps.serveConn(pc)
	}
}

// Shutdown stops accepting, closes idle connections, lets busy ones finish
// their request until ctx ends, then closes them too.
func (ps *Server) Shutdown(ctx context.Context) {
	ps.mu.Lock()
	if !ps.closed {
		ps.closed = true
		close(ps.done)
	}
	if ps.ln != nil {
		_ = ps.ln.Close()
	}
	ps.mu.Unlock()
	done := make(chan struct{})
	go func() { ps.wg.Wait(); close(done) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ps.mu.Lock()
		for pc := range ps.conns {
			if pc.idle.Load() {
				_ = pc.nc.Close()
			}
		}
		ps.mu.Unlock()
		select {
		case <-done:
			return
		case <-ctx.Done():
			ps.mu.Lock()
			for pc := range ps.conns {
				_ = pc.nc.Close()
			}
			ps.mu.Unlock()
			<-done
			return
		case <-tick.C:
		}
	}
}

// warnAccept logs an accept error the gate backs off (rate-limited there).
func (ps *Server) warnAccept(err error, suppressed int, delay time.Duration) {
	addr := ""
	if ln := ps.listener(); ln != nil {
		addr = ln.Addr().String()
	}
	ps.log.Warn().Err(err).Int("suppressed", suppressed).Dur("backoff", delay).
		Str("listen", addr).Msg("ha listener: accept failed; backing off and listening on")
}

func (ps *Server) listener() net.Listener {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.ln
}

// serveConn answers the connection's requests in order.
func (ps *Server) serveConn(pc *peerConn) {
	defer func() {
		_ = pc.nc.Close()
		ps.mu.Lock()
		delete(ps.conns, pc)
		ps.mu.Unlock()
		ps.gate.Release()
		ps.wg.Done()
	}()
	if tc, ok := pc.nc.(*tls.Conn); ok {
		_ = tc.SetDeadline(time.Now().Add(RequestTimeout))
		if err := tc.HandshakeContext(ps.ctx); err != nil {
			ps.st.tlsFailures.Add(1)
			ps.log.Debug().Err(err).Str("remote", pc.nc.RemoteAddr().String()).Msg("ha listener: TLS handshake failed")
			return
		}
	}
	lc := &limitConn{Conn: pc.nc}
	br := bufio.NewReaderSize(lc, peerConnReadBuf)
	var out io.Writer = pc.nc
	fd := socketFD(pc.nc)
	if fd >= 0 && ps.write != nil {
		out = &rawFirst{fd: fd, nc: pc.nc, write: ps.write}
	}
	bw := bufio.NewWriterSize(out, 16<<10)
	remote := pc.nc.RemoteAddr().String()
	wait := RequestTimeout // a new connection's first request
	for {
		// Wait for the next request (idle), then give it RequestTimeout.
		lc.left = maxHeaderBytes
		if br.Buffered() == 0 {
			pc.idle.Store(true)
			_ = pc.nc.SetReadDeadline(time.Now().Add(wait))
			_, err := br.Peek(1)
			pc.idle.Store(false)
			if err != nil || ps.isClosed() {
				var ne net.Error
				if wait == RequestTimeout && errors.As(err, &ne) && ne.Timeout() {
					ps.st.timeouts.Add(1) // connected, never asked
				}
				return
			}
		}
		wait = listenerIdle
		_ = pc.nc.SetReadDeadline(time.Now().Add(RequestTimeout))
		req, err := http.ReadRequest(br)
		lc.left = int(ps.bodyCap) + peerConnReadBuf
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, io.EOF):
				return
			case errors.As(err, &ne) && ne.Timeout():
				// As Kea's listener: a request not received whole in
				// time is answered 408 and the connection closed.
				ps.st.timeouts.Add(1)
				writeBare(bw, http.StatusRequestTimeout, "Request Timeout")
			default:
				ps.st.badRequests.Add(1)
				writeBare(bw, http.StatusBadRequest, "Bad Request")
			}
			_ = pc.nc.SetWriteDeadline(time.Now().Add(listenerWrite))
			_ = bw.Flush()
			return
		}
		if req.ProtoMajor != 1 || len(req.TransferEncoding) > 0 {
			// No chunked bodies (Kea's parser has none either).
			ps.st.badRequests.Add(1)
			writeBare(bw, http.StatusBadRequest, "Bad Request")
			_ = bw.Flush()
			return
		}
		if req.ContentLength > ps.bodyCap {
			// Refused before a byte of the body is read; the rest of the
			// connection cannot be parsed, so it is closed.
			ps.st.tooLarge.Add(1)
			writeBare(bw, http.StatusRequestEntityTooLarge, http.StatusText(http.StatusRequestEntityTooLarge))
			_ = pc.nc.SetWriteDeadline(time.Now().Add(listenerWrite))
			if bw.Flush() == nil {
				lingerClose(pc.nc)
			}
			return
		}
		if strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
			_, _ = bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if bw.Flush() != nil {
				return
			}
		}
		req.RemoteAddr = remote
		req = req.WithContext(ps.ctx)
		rw := &bufResponse{header: http.Header{}}
		handled := ps.handle(rw, req)
		// A body the handler left unread is discarded if short, else the
		// connection is closed after the response (as net/http does).
		n, err := io.Copy(io.Discard, io.LimitReader(req.Body, 256<<10+1))
		keep := handled && err == nil && n <= 256<<10 && !req.Close && ps.ctxAlive()
		rw.writeTo(bw, keep)
		// Answer now unless the next request is already here: then its
		// response goes out in the same write.
		if br.Buffered() == 0 || !keep {
			if out == pc.nc {
				_ = pc.nc.SetWriteDeadline(time.Now().Add(listenerWrite))
			}
			if bw.Flush() != nil {
				return
			}
		}
		if !keep {
			return
		}
	}
}

// handle runs the handler. A panic in it (outside a command handler, whose
// panics the dispatcher recovers) is recovered, logged with its stack,
// counted and answered 500 as Kea's listener answers a handler that
// returned nothing; the connection is then closed. It reports whether the
// handler returned normally.
func (ps *Server) handle(rw *bufResponse, req *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ps.st.panics.Add(1)
			ps.log.Error().Str("panic", fmt.Sprint(v)).Str("stack", string(debug.Stack())).
				Str("remote", req.RemoteAddr).Msg("ha listener: request handler panicked; answered 500, serving on")
			*rw = bufResponse{header: http.Header{}}
			writeJSON(rw, http.StatusInternalServerError, reply{Result: 500, Text: "Internal Server Error"})
			ok = false
		}
	}()
	ps.h.ServeHTTP(rw, req)
	return true
}

// Lingering close after refusing a request whose body is still coming:
// closing at once would reset the connection and the client could lose
// the answer before reading it.
const (
	lingerTime  = time.Second
	lingerBytes = 4 << 20
)

// lingerClose half-closes nc and discards what the client still sends, up
// to lingerBytes or lingerTime, so that it reads the answer.
func lingerClose(nc net.Conn) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = nc.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, nc, lingerBytes)
}

func (ps *Server) ctxAlive() bool { return ps.ctx.Err() == nil }

func (ps *Server) isClosed() bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.closed
}

// limitConn bounds what the connection's reader may read: maxHeaderBytes
// for a request line and headers, the body limit after them.
type limitConn struct {
	net.Conn
	left int
}

var errTooLarge = errors.New("request too large")

func (l *limitConn) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errTooLarge
	}
	if len(p) > l.left {
		p = p[:l.left]
	}
	n, err := l.Conn.Read(p)
	l.left -= n
	return n, err
}

// bufResponse collects a handler's response.
type bufResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *bufResponse) Header() http.Header { return r.header }

func (r *bufResponse) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *bufResponse) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// writeTo writes the response with an explicit Content-Length and a Date,
// as Kea's listener does.
func (r *bufResponse) writeTo(bw *bufio.Writer, keep bool) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.header.Set("Content-Length", strconv.Itoa(r.body.Len()))
	r.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if !keep {
		r.header.Set("Connection", "close")
	}
	fmt.Fprintf(bw, "HTTP/1.1 %03d %s\r\n", r.status, http.StatusText(r.status))
	_ = r.header.Write(bw)
	_, _ = bw.WriteString("\r\n")
	_, _ = bw.Write(r.body.Bytes())
}

// writeBare writes an HTTP-level error as Kea's listener does: a bare JSON
// map, then the connection is closed.
func writeBare(bw *bufio.Writer, status int, text string) {
	r := &bufResponse{header: http.Header{}}
	writeJSON(r, status, reply{Result: status, Text: text})
	r.writeTo(bw, false)
}

// rawFirst writes an answer with one raw write(2) on the socket and hands
// what the socket did not take (EAGAIN, a short write) to the
// connection's Write, under the listener's write deadline.
type rawFirst struct {
	fd    int
	nc    net.Conn
	write func(fd int, b []byte) (int, error)
}

func (w *rawFirst) Write(b []byte) (int, error) {
	n, err := w.write(w.fd, b)
	if err == nil && n == len(b) {
		return n, nil
	}
	n = max(n, 0)
	_ = w.nc.SetWriteDeadline(time.Now().Add(listenerWrite))
	m, err := w.nc.Write(b[n:])
	return n + m, err
}

// socketFD is the descriptor of a plain TCP connection, -1 for anything
// else (TLS). The caller may use it while nc is open.
func socketFD(nc net.Conn) int {
	fd := -1
	if tc, ok := nc.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			_ = rc.Control(func(s uintptr) { fd = int(s) })
		}
	}
	return fd
}
