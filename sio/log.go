package sio

import (
	"context"
	"log/slog"
	"unicode/utf8"

	"github.com/sioloop/sioloop/internal/packet"
)

// Diagnostics, as socket.io's DEBUG=socket.io* gives them, through
// Config.Logger:
//
//   - slog.LevelDebug: each socket's connection and disconnection with its
//     reason, a CONNECT refused by middleware with its message, and a
//     connection closed for a protocol error with what was wrong (the eio
//     package adds the Engine.IO sessions and refused requests);
//   - LevelTrace: every packet received and sent (its type, namespace, ack
//     id and the first traceBytes bytes of its data), and every broadcast.
//
// Nothing is built unless its level is enabled, so a logger at Info costs
// one check per packet.

// LevelTrace is the slog level of the per-packet records, below
// slog.LevelDebug: enable it with a handler at this level, for example
// slog.HandlerOptions{Level: sio.LevelTrace}.
const LevelTrace = slog.LevelDebug - 4

// traceBytes bounds the packet data a trace record shows.
const traceBytes = 200

func (s *Server) enabled(l slog.Level) bool {
	return s.cfg.Logger.Enabled(context.Background(), l)
}

// logDebug writes a debug record with three attributes.
func (s *Server) logDebug(msg string, a, b, c slog.Attr) {
	if s.enabled(slog.LevelDebug) {
		s.cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, msg, a, b, c)
	}
}

// excerpt is data for a trace record: at most traceBytes bytes, cut on a
// rune boundary.
func excerpt(data []byte) string {
	if len(data) <= traceBytes {
		return string(data)
	}
	n := traceBytes
	for n > 0 && !utf8.RuneStart(data[n]) {
		n--
	}
	return string(data[:n]) + "…"
}

// traceIn records a packet received from c.
func (c *client) traceIn(p *packet.Packet, atts int) {
	if !c.srv.enabled(LevelTrace) {
		return
	}
	c.srv.cfg.Logger.LogAttrs(context.Background(), LevelTrace, "sio: packet received",
		slog.String("eio", c.sess.ID()), slog.Int("type", int(p.Type)), slog.String("namespace", p.Namespace),
		slog.Int64("id", p.ID), slog.Int("attachments", atts), slog.String("data", excerpt(p.Data)))
}

// traceOut records an encoded packet sent to s.
func (s *Socket) traceOut(text []byte, atts int) {
	if !s.nsp.srv.enabled(LevelTrace) {
		return
	}
	s.nsp.srv.cfg.Logger.LogAttrs(context.Background(), LevelTrace, "sio: packet sent",
		slog.String("sid", s.id), slog.String("namespace", s.nsp.name),
		slog.Int("attachments", atts), slog.String("packet", excerpt(text)))
}

// traceBroadcast records a broadcast of this node.
func (a *MemoryAdapter) traceBroadcast(p *Packet, opts *BroadcastOptions) {
	if !a.nsp.srv.enabled(LevelTrace) {
		return
	}
	a.nsp.srv.cfg.Logger.LogAttrs(context.Background(), LevelTrace, "sio: broadcast",
		slog.String("namespace", a.nsp.name), slog.Any("rooms", opts.Rooms), slog.Any("except", opts.Except),
		slog.Int("attachments", len(p.Attachments)), slog.String("data", excerpt(p.Data)))
}
