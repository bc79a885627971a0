package eio

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Application callbacks (Config.AllowRequest, CORS.AllowOrigin,
// Config.Headers and InitialHeaders, the OnConnection handler) run inside
// the engine, on the provider's goroutine (an event loop) or, for the
// headers of a poll's answer, on whichever goroutine sent to the session.
// A panic in one of them must not end the process nor leave a lock held:
// callUser recovers it, logs it with the request and the stack, and the
// caller answers 500.

// callUser runs f, a call into application code named what on behalf of
// x, and reports false if it panicked; the panic is logged.
func (s *Server) callUser(x Exchange, what string, f func()) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
			s.cfg.Logger.LogAttrs(context.Background(), slog.LevelError, "eio: panic in "+what,
				slog.String("method", x.Method()),
				slog.String("path", x.Path()),
				slog.String("remote", x.RemoteAddr()),
				slog.String("panic", fmt.Sprint(v)),
				slog.String("stack", string(debug.Stack())))
		}
	}()
	f()
	return true
}

var internalErrorBody = []byte("internal server error")

// internalError answers x with 500 after a callback panicked. An upgrade
// request gets it instead of its 101, and its connection is closed.
func (s *Server) internalError(x Exchange, upgrade bool) {
	h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
	if upgrade {
		h.Set("Connection", "close")
	}
	x.Respond(http.StatusInternalServerError, h, internalErrorBody)
}
