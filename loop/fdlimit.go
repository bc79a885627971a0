package loop

import (
	"context"
	"log/slog"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// Running out of file descriptors.
//
// gnet treats every accept(2) error other than EAGAIN, EINTR, ECONNRESET
// and ECONNABORTED as fatal: at EMFILE the whole engine shuts down and
// every connection with it. So the server never lets accept reach the
// limit. accept(2) returns the lowest free descriptor number, so a
// connection whose number is within Config.ReservedFiles of RLIMIT_NOFILE
// proves that every lower number is taken; OnOpen closes such a
// connection at once (refuses it) and counts it, which keeps the top
// ReservedFiles numbers free for gnet's next accept and for the rest of
// the process. The server keeps serving what it has, refused clients see
// their connection closed right after it opened, and connections are
// accepted normally again as soon as descriptors are released.
//
// This needs OnOpen to run right after each accept, before the next one:
// Serve therefore runs gnet with SO_REUSEPORT, where each loop accepts on
// its own listener, one connection per readiness event, and opens it at
// once. (In gnet's other mode one acceptor goroutine drains the whole
// backlog before the loops run OnOpen, so a burst of connects would still
// hit EMFILE.) At most one descriptor per loop is past the threshold at a
// time; the reserve must also cover what the rest of the process opens
// while at the limit (files, outgoing connections).
//
// The check costs one comparison per accepted connection; the limit is
// read once, when Serve starts.

// refusalLogEvery bounds how often refusals are logged: a flood of
// connects at the limit produces one line per interval, with the total.
const refusalLogEvery = 5 * time.Second

// atFileLimit reports whether gc must be refused. Loop-only.
func (s *Server) atFileLimit(gc gnet.Conn) bool {
	return s.fdCeiling > 0 && gc.Fd() >= s.fdCeiling
}

// refuse counts a refused connection and logs, at most once per
// refusalLogEvery, how many were refused so far.
func (s *Server) refuse() {
	n := s.refused.Add(1)
	now := time.Now().UnixNano()
	last := s.refusalLogged.Load()
	if now-last < int64(refusalLogEvery) || !s.refusalLogged.CompareAndSwap(last, now) {
		return
	}
	s.cfg.Logger.LogAttrs(context.Background(), slog.LevelWarn, "loop: refusing connections at the file descriptor limit",
		slog.Uint64("refused_total", n), slog.Int("fd_limit", s.fdCeiling+s.cfg.ReservedFiles),
		slog.Int("reserved", s.cfg.ReservedFiles))
}

// RefusedConnections reports how many connections were closed on arrival
// because the process was at its file descriptor limit (see
// Config.ReservedFiles). Safe from any goroutine.
func (s *Server) RefusedConnections() uint64 { return s.refused.Load() }
