package sio

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

// ErrServerClosed is returned by ListenAndServe after Close or Shutdown.
var ErrServerClosed = loop.ErrServerClosed

// ListenAndServe serves on addr from gnet event loops: Socket.IO under
// Config.Path, and every other path through fallback (nil answers 404),
// which runs on its own goroutine per request with a buffered response. It
// blocks until Close or Shutdown, then returns ErrServerClosed.
func (s *Server) ListenAndServe(addr string, fallback http.Handler) error {
	ls := loop.NewServer(s.loopConfig(addr, s.loopHandler(fallback)))
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return loop.ErrServerClosed
	}
	s.ls = ls
	s.mu.Unlock()
	set := s.setLoops(ls)
	served := make(chan struct{})
	go func() {
		select {
		case <-ls.Ready():
			s.readyOnce.Do(func() { close(s.ready) })
		case <-served:
		}
	}()
	err := ls.Serve()
	close(served)
	select {
	case <-ls.Ready():
	default:
		// It never listened (the address is in use, say): the server
		// may ListenAndServe again, on loops of its own.
		if set != nil {
			s.loops.CompareAndSwap(set, nil)
		}
		s.mu.Lock()
		if s.ls == ls {
			s.ls = nil
		}
		s.mu.Unlock()
	}
	return err
}

// loopHandler serves an event-loop request: Socket.IO under Config.Path,
// fallback (on a goroutine, buffered) or 404 elsewhere.
func (s *Server) loopHandler(fallback http.Handler) func(eio.Exchange) {
	return func(x eio.Exchange) {
		if s.handle(x) {
			return
		}
		if fallback == nil {
			x.Respond(http.StatusNotFound, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, []byte("404 page not found\n"))
			return
		}
		go s.serveBuffered(x, fallback)
	}
}

// RefusedConnections reports how many connections ListenAndServe closed on
// arrival because the process was near its file-descriptor limit
// (RLIMIT_NOFILE): the server keeps serving the connections it has instead
// of failing its accepts, and accepts again once descriptors are free.
func (s *Server) RefusedConnections() uint64 {
	s.mu.Lock()
	ls := s.ls
	s.mu.Unlock()
	if ls == nil {
		return 0
	}
	return ls.RefusedConnections()
}

// Ready returns a channel closed once ListenAndServe listens.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// serveBuffered runs an http.Handler for an event-loop request and sends
// its buffered response. A panic in the handler answers 500 and is logged
// with the request's method and path, as net/http does (which also stays
// silent for http.ErrAbortHandler); it must not end the process, since
// this goroutine is ours, not net/http's.
func (s *Server) serveBuffered(x eio.Exchange, h http.Handler) {
	r := x.Request()
	r.Body = io.NopCloser(bytes.NewReader(x.Body()))
	w := &bufferedWriter{header: http.Header{}}
	defer func() {
		if v := recover(); v != nil {
			x.Respond(http.StatusInternalServerError, nil, []byte("internal server error\n"))
			if v != http.ErrAbortHandler {
				s.logPanic(v, slog.String("method", r.Method), slog.String("path", r.URL.Path))
			}
		}
	}()
	h.ServeHTTP(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.header.Get("Content-Type") == "" && w.body.Len() > 0 {
		w.header.Set("Content-Type", http.DetectContentType(w.body.Bytes()))
	}
	body := w.body.Bytes()
	if r.Method == http.MethodHead {
		body = nil
	}
	x.Respond(w.status, w.header, body)
}

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedWriter) Header() http.Header { return w.header }
func (w *bufferedWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *bufferedWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

// ServeHTTP serves Socket.IO inside a net/http server (mount it at
// Config.Path). Polling requests are answered by net/http; WebSocket
// connections are hijacked and moved onto event loops.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxHTTPBufferSize+1))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if int64(len(body)) > s.cfg.MaxHTTPBufferSize {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	}
	x := &httpExchange{srv: s, w: w, r: r, body: body, done: make(chan struct{})}
	s.serveExchange(x)
	select {
	case <-x.done:
	case <-r.Context().Done():
		x.abort()
		<-x.done
	}
	if x.hijacked {
		return
	}
	h := w.Header()
	for k, v := range x.header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(len(x.respBody)))
	w.WriteHeader(x.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(x.respBody)
	}
}

// httpExchange adapts a net/http request to eio.Exchange.
type httpExchange struct {
	srv  *Server
	w    http.ResponseWriter
	r    *http.Request
	body []byte

	queryOnce sync.Once
	query     url.Values // r.URL.Query(), parsed on first use

	mu       sync.Mutex
	done     chan struct{} // closed once answered, upgraded or aborted
	finished bool          // guarded by mu
	onAbort  func()        // guarded by mu
	hijacked bool          // set before done is closed
	status   int
	header   http.Header
	respBody []byte
}

// Method implements eio.Exchange.
func (x *httpExchange) Method() string { return x.r.Method }

// Path implements eio.Exchange.
func (x *httpExchange) Path() string { return x.r.URL.Path }

// Query implements eio.Exchange; the query is parsed once.
func (x *httpExchange) Query(key string) string {
	x.queryOnce.Do(func() { x.query = x.r.URL.Query() })
	return x.query.Get(key)
}

// Header implements eio.Exchange.
func (x *httpExchange) Header(key string) string {
	vs := x.r.Header.Values(key)
	if len(vs) == 1 {
		return vs[0]
	}
	return strings.Join(vs, ", ")
}

// RemoteAddr implements eio.Exchange.
func (x *httpExchange) RemoteAddr() string { return x.r.RemoteAddr }

// Request implements eio.Exchange: net/http's own request.
func (x *httpExchange) Request() *http.Request { return x.r }

// Body implements eio.Exchange.
func (x *httpExchange) Body() []byte { return x.body }

func (x *httpExchange) Respond(status int, header http.Header, body []byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.finished {
		return
	}
	x.finished = true
	x.onAbort = nil
	x.status, x.header = status, header.Clone()
	x.respBody = append([]byte(nil), body...)
	close(x.done)
}

func (x *httpExchange) OnAbort(f func()) {
	x.mu.Lock()
	if !x.finished {
		x.onAbort = f
	}
	x.mu.Unlock()
}

func (x *httpExchange) abort() {
	x.mu.Lock()
	if x.finished {
		x.mu.Unlock()
		return
	}
	x.finished = true
	f := x.onAbort
	x.onAbort = nil
	x.status = http.StatusBadRequest
	close(x.done)
	x.mu.Unlock()
	if f != nil {
		f()
	}
}

func (x *httpExchange) Upgrade(header http.Header, h eio.FrameHandler) (eio.WSConn, error) {
	en, err := x.srv.enroller()
	if err != nil {
		return nil, err
	}
	key, err := checkUpgrade(x.r)
	if err != nil {
		return nil, err
	}
	rc := http.NewResponseController(x.w)
	nc, brw, err := rc.Hijack()
	if err != nil {
		return nil, err
	}
	ext := en.Negotiate(x.Header("Sec-WebSocket-Extensions"))
	resp := appendUpgradeResponse(nil, key, header, ext.Header())
	if _, err := nc.Write(resp); err != nil {
		nc.Close()
		return nil, err
	}
	var c eio.WSConn
	if x.r.TLS != nil {
		// gnet cannot adopt a *tls.Conn: crypto/tls runs on two
		// goroutines that bridge it to the loop (loop.EnrollBridged).
		c, err = en.EnrollBridgedWith(nc, brw.Reader, h, ext)
	} else {
		c, err = en.EnrollWith(nc, brw.Reader, h, ext)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	x.mu.Lock()
	x.finished = true
	x.hijacked = true
	close(x.done)
	x.mu.Unlock()
	return c, nil
}

// loopConfig is the event loops' configuration from the server's, for
// ListenAndServe (addr) and the enroller (no address).
func (s *Server) loopConfig(addr string, h func(eio.Exchange)) loop.Config {
	return loop.Config{
		Addr:                 addr,
		Loops:                s.cfg.Loops,
		MaxBodyBytes:         s.cfg.MaxHTTPBufferSize,
		MaxMessageBytes:      s.cfg.MaxHTTPBufferSize,
		MaxOutboundBytes:     s.cfg.MaxOutboundBytes,
		MaxBacklog:           s.cfg.MaxLoopBacklog,
		MaxLoopOutboundBytes: s.cfg.MaxLoopOutboundBytes,
		SocketSendBuffer:     s.cfg.SocketSendBuffer,
		SocketRecvBuffer:     s.cfg.SocketRecvBuffer,
		PerMessageDeflate:    s.cfg.PerMessageDeflate,
		Logger:               s.cfg.Logger,
		Handler:              h,
	}
}

func (s *Server) enroller() (*loop.Enroller, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enroll != nil {
		return s.enroll, nil
	}
	en, err := loop.NewEnroller(s.loopConfig("", s.serveTLSExchange))
	if err != nil {
		return nil, err
	}
	s.enroll = en
	s.setLoops(en)
	return en, nil
}
