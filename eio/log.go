package eio

import (
	"context"
	"log/slog"
)

// Diagnostics. Config.Logger receives, at slog.LevelDebug, what engine.io
// reports through its debug module: each refused request with its code and
// message, and each session's opening, upgrade and end with its reason.
// Nothing is logged per message, and nothing is built unless the level is
// enabled.

// debugEnabled reports whether debug records would be kept.
func (s *Server) debugEnabled() bool {
	return s.cfg.Logger.Enabled(context.Background(), slog.LevelDebug)
}

// logRefused reports a refused request.
func (s *Server) logRefused(x Exchange, e *RequestError) {
	if !s.debugEnabled() {
		return
	}
	s.cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, "eio: request refused",
		slog.Int("status", e.Status), slog.Int("code", e.Code), slog.String("message", e.Message),
		slog.String("method", x.Method()), slog.String("path", x.Path()),
		slog.String("transport", x.Query("transport")), slog.String("sid", x.Query("sid")),
		slog.String("remote", x.RemoteAddr()))
}

// logSession reports a session event (opened, upgraded, closed) with one
// attribute.
func (s *Session) logSession(what, key, value string) {
	if !s.srv.debugEnabled() {
		return
	}
	s.srv.cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, "eio: session "+what,
		slog.String(key, value), slog.String("sid", s.id), slog.String("remote", s.remote))
}
