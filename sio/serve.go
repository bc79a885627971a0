package sio

import (
	"log/slog"
	"net/http"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
	"github.com/sioloop/sioloop/nethttp"
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
	set := s.setExecutors(loopExecutors{ls})
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
			s.executors.CompareAndSwap(set, nil)
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
		go nethttp.ServeBuffered(x, fallback, s.logHandlerPanic)
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

// logHandlerPanic logs a panic of ListenAndServe's fallback handler with
// the request's method and path.
func (s *Server) logHandlerPanic(v any, r *http.Request) {
	s.logPanic(v, slog.String("method", r.Method), slog.String("path", r.URL.Path))
}

// ServeHTTP serves Socket.IO inside a net/http server (mount it at
// Config.Path). Polling requests are answered by net/http; WebSocket
// connections are hijacked and moved onto event loops (package nethttp).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.http.ServeHTTP(w, r) }

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
	s.setExecutors(loopExecutors{en})
	return en, nil
}

// loopExecutors makes the event loops of a loop server or an enroller the
// executors of their groups (executor.go).
type loopExecutors struct {
	src interface{ Loop(i int) *loop.Loop }
}

func (e loopExecutors) executor(g int) executor {
	if l := e.src.Loop(g); l != nil {
		return l
	}
	return nil // not a nil *loop.Loop in an interface
}
