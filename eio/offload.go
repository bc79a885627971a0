package eio

import "sync/atomic"

// Callbacks that may block.
//
// An application's request callbacks (Config.AllowRequest, InitialHeaders,
// Headers and CORS.AllowOrigin) may look something up: a token in a
// database, an origin in a remote list, as engine.io's asynchronous
// allowRequest(req, callback) does. A provider whose goroutine must not
// block (an event loop serves thousands of connections) marks its exchanges
// with Detacher; Handle then serves a request that would call one of them
// on a goroutine of its own, at most Config.MaxBlockingRequests at once,
// and refuses more with ErrServerBusy. Requests that call none (every
// WebSocket frame, and every request when no such callback is set) are
// served on the provider's goroutine as before. A provider that serves each
// request on a goroutine of its own (net/http) does not implement Detacher:
// its requests are served where they are, and may block there.

// Detacher is implemented by an Exchange whose provider's goroutine must
// not block. Handle calls Detach, on that goroutine, before it hands the
// exchange to another one; after it, every method of the exchange
// (Upgrade too) may be called from any goroutine, after the provider's
// call to Handle has returned.
type Detacher interface {
	Detach()
}

// mayBlock reports whether serving x may call a callback of the
// application that is allowed to block.
func (s *Server) mayBlock(x Exchange) bool {
	if s.cfg.Headers != nil || (s.cfg.CORS != nil && s.cfg.CORS.AllowOrigin != nil) {
		return true
	}
	return (s.cfg.AllowRequest != nil || s.cfg.InitialHeaders != nil) && x.Query("sid") == ""
}

// offloader bounds the requests served off their provider's goroutine.
type offloader struct {
	running atomic.Int64
}

// offload serves x on a goroutine of its own, or refuses it past the bound.
func (s *Server) offload(x Exchange, d Detacher) {
	if n := s.off.running.Add(1); n > int64(s.cfg.MaxBlockingRequests) {
		s.off.running.Add(-1)
		s.fail(x, ErrServerBusy, isUpgrade(x))
		return
	}
	d.Detach()
	go func() {
		defer s.off.running.Add(-1)
		s.handle(x)
	}()
}
