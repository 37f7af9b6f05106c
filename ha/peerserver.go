package ha

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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Listener limits, as Kea's listener: a request must arrive whole within
// requestTimeout; an idle keep-alive connection is closed after
// listenerIdle.
const (
	listenerIdle    = 30 * time.Second
	listenerWrite   = 60 * time.Second
	maxHeaderBytes  = 64 << 10
	peerConnReadBuf = 32 << 10
)

// peerServer serves the HA listener's HTTP/1.1 connections with the
// Service as handler. It exists instead of net/http's server for one
// reason: a partner's lease updates arrive pipelined (see updateClient),
// and net/http writes each response with its own write. peerServer
// parses requests with net/http's parser (http.ReadRequest) and buffers
// responses, writing them when no further request is already waiting in
// the connection's read buffer: under load one write answers a whole
// pipeline.
type peerServer struct {
	h     http.Handler
	ctx   context.Context
	tls   *tls.Config
	debug func(string)

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

func newPeerServer(ctx context.Context, h http.Handler, tc *tls.Config, debug func(string)) *peerServer {
	return &peerServer{h: h, ctx: ctx, tls: tc, debug: debug, conns: map[*peerConn]struct{}{}}
}

// serve accepts connections until close; it returns nil after close.
func (ps *peerServer) serve(ln net.Listener) error {
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		return ln.Close()
	}
	ps.ln = ln
	ps.mu.Unlock()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ps.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if ps.tls != nil {
			nc = tls.Server(nc, ps.tls)
		}
		pc := &peerConn{nc: nc}
		ps.mu.Lock()
		if ps.closed {
			ps.mu.Unlock()
			_ = nc.Close()
			return nil
		}
		ps.conns[pc] = struct{}{}
		ps.wg.Add(1)
		ps.mu.Unlock()
		go ps.serveConn(pc)
	}
}

// shutdown stops accepting, closes idle connections, lets busy ones finish
// their request until ctx ends, then closes them too.
func (ps *peerServer) shutdown(ctx context.Context) {
	ps.mu.Lock()
	ps.closed = true
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

// serveConn answers the connection's requests in order.
func (ps *peerServer) serveConn(pc *peerConn) {
	defer func() {
		_ = pc.nc.Close()
		ps.mu.Lock()
		delete(ps.conns, pc)
		ps.mu.Unlock()
		ps.wg.Done()
	}()
	if tc, ok := pc.nc.(*tls.Conn); ok {
		_ = tc.SetDeadline(time.Now().Add(requestTimeout))
		if err := tc.HandshakeContext(ps.ctx); err != nil {
			ps.debug(fmt.Sprintf("http: TLS handshake error from %s: %v", pc.nc.RemoteAddr(), err))
			return
		}
	}
	lc := &limitConn{Conn: pc.nc}
	br := bufio.NewReaderSize(lc, peerConnReadBuf)
	bw := bufio.NewWriterSize(pc.nc, 16<<10)
	remote := pc.nc.RemoteAddr().String()
	for {
		// Wait for the next request (idle), then give it requestTimeout.
		lc.left = maxHeaderBytes
		if br.Buffered() == 0 {
			pc.idle.Store(true)
			_ = pc.nc.SetReadDeadline(time.Now().Add(listenerIdle))
			_, err := br.Peek(1)
			pc.idle.Store(false)
			if err != nil || ps.isClosed() {
				return
			}
		}
		_ = pc.nc.SetReadDeadline(time.Now().Add(requestTimeout))
		req, err := http.ReadRequest(br)
		lc.left = maxRequestBody + peerConnReadBuf
		if err != nil {
			if !errors.Is(err, io.EOF) {
				writeBare(bw, http.StatusBadRequest, "Bad Request")
				_ = bw.Flush()
			}
			return
		}
		if req.ProtoMajor != 1 || len(req.TransferEncoding) > 0 {
			// No chunked bodies (Kea's parser has none either).
			writeBare(bw, http.StatusBadRequest, "Bad Request")
			_ = bw.Flush()
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
		ps.h.ServeHTTP(rw, req)
		// A body the handler left unread is discarded if short, else the
		// connection is closed after the response (as net/http does).
		n, err := io.Copy(io.Discard, io.LimitReader(req.Body, 256<<10+1))
		keep := err == nil && n <= 256<<10 && !req.Close && ps.ctxAlive()
		rw.writeTo(bw, keep)
		// Answer now unless the next request is already here: then its
		// response goes out in the same write.
		if br.Buffered() == 0 || !keep {
			_ = pc.nc.SetWriteDeadline(time.Now().Add(listenerWrite))
			if bw.Flush() != nil {
				return
			}
		}
		if !keep {
			return
		}
	}
}

func (ps *peerServer) ctxAlive() bool { return ps.ctx.Err() == nil }

func (ps *peerServer) isClosed() bool {
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
