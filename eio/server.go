package eio

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sioloop/sioloop/internal/timer"
)

// Server is an Engine.IO v4 server. It is transport-agnostic: a provider
// (package loop, or package nethttp for net/http) hands it requests through
// Handle.
// Its methods are safe from any goroutine.
type Server struct {
	cfg    Config
	wheels []*timer.Wheel
	seed   maphash.Seed
	off    offloader // requests served off their provider's goroutine

	refused   refusals      // stats.go
	slowPolls atomic.Uint64 // stats.go

	mu       sync.RWMutex
	sessions map[string]*Session // guarded by mu
	onConn   func(*Session)      // guarded by mu
	closed   bool                // guarded by mu
	drained  chan struct{}       // closed when closed and no session is left; guarded by mu

	pendMu     sync.Mutex
	pending    int            // sessions not followed up yet; guarded by pendMu
	pendingFor map[string]int // the same per client address; guarded by pendMu

	closedMu    sync.Mutex
	closedPolls map[string]closedPoll // rememberClosedPoll; guarded by closedMu
}

// NewServer returns a server for cfg.
func NewServer(cfg Config) *Server {
	cfg.withDefaults()
	s := &Server{cfg: cfg, sessions: make(map[string]*Session), seed: maphash.MakeSeed(), pendingFor: make(map[string]int)}
	// A few wheels spread timer work; one runtime timer each.
	for i := 0; i < 8; i++ {
		s.wheels = append(s.wheels, timer.NewWheel())
	}
	return s
}

// Config returns the server's configuration with defaults applied.
func (s *Server) Config() Config { return s.cfg }

// OnConnection sets the handler run for every new session, after its open
// packet is queued and before any of its messages is delivered. Set the
// session's handler (Session.SetHandler, or OnMessage and OnClose) inside it.
func (s *Server) OnConnection(f func(*Session)) {
	s.mu.Lock()
	s.onConn = f
	s.mu.Unlock()
}

// Count reports the number of open sessions.
func (s *Server) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sessions)
}

// Session returns the open session with id sid, or nil.
func (s *Server) Session(sid string) *Session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sessions[sid]
}

// Close closes every session ("forced close") and refuses new ones.
//
// A polling session with no poll parked closes once its client's next poll
// takes the close packet (or after a ping timeout): Shutdown waits for that.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	if s.drained == nil {
		s.drained = make(chan struct{})
		if len(s.sessions) == 0 {
			close(s.drained)
		}
	}
	all := make([]*Session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		ss.Close()
	}
}

// Shutdown is Close, then waits until every session has closed, so that
// polling clients have taken their close packet and read the end as a
// "transport close"; at most until ctx ends (its error is returned then),
// and at most ShutdownGrace: a client still polling sends its next poll
// within a round trip, one that left would otherwise hold the shutdown
// for a ping timeout.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Close()
	s.mu.RLock()
	drained := s.drained
	s.mu.RUnlock()
	grace := time.NewTimer(ShutdownGrace)
	defer grace.Stop()
	select {
	case <-drained:
		return nil
	case <-grace.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ShutdownGrace bounds how long Shutdown waits for polling clients to
// come and take their close packet.
const ShutdownGrace = 2 * time.Second

// remove forgets ss; the last session gone after Close ends Shutdown's
// wait.
func (s *Server) remove(ss *Session) {
	s.mu.Lock()
	if s.sessions[ss.id] == ss {
		delete(s.sessions, ss.id)
		if s.closed && len(s.sessions) == 0 {
			select {
			case <-s.drained: // a late session (see handshake)
			default:
				close(s.drained)
			}
		}
	}
	s.mu.Unlock()
}

// wheelFor is the timer wheel of session sid: a hash of the id spreads
// the sessions over the wheels.
func (s *Server) wheelFor(sid string) *timer.Wheel {
	return s.wheels[maphash.String(s.seed, sid)%uint64(len(s.wheels))]
}

// closedPollGrace is how long the sid of a session the client closed over
// polling answers one more GET.
const closedPollGrace = time.Second

// closeNoticeGrace is how long the sid of a session that timed out over
// polling between two of its polls answers one more GET with the close
// packet (see closeWith). A client that is only slow (a busy machine)
// re-polls well within it.
const closeNoticeGrace = 10 * time.Second

// closedPoll is a session closed over polling whose next poll may still
// come: it gets answer, a one-packet payload.
type closedPoll struct {
	t      *timer.Timer
	answer byte
	v3     bool // the session spoke Engine.IO v3
}

// body is the poll answer: one packet, in the session's protocol.
func (c closedPoll) body() []byte {
	if c.v3 {
		return []byte{'1', ':', c.answer}
	}
	return []byte{c.answer}
}

// rememberClosedPoll records that session sid closed over polling while
// no poll of it was parked, so that the client's next poll gets answer
// for grace instead of a 400 for an unknown sid:
//
//   - the client closed it (answer noop): its poll may still be on its
//     way on another connection, which the server may read after the
//     close (engine.io reads one connection at a time, in arrival order),
//     and gets the noop a parked one gets;
//   - the server timed it out (answer close): the client learns it the
//     way it would have from a parked poll, as a "transport close".
func (s *Server) rememberClosedPoll(sid string, answer byte, v3 bool, grace time.Duration) {
	s.closedMu.Lock()
	if s.closedPolls == nil {
		s.closedPolls = make(map[string]closedPoll)
	}
	if _, ok := s.closedPolls[sid]; !ok {
		t := s.wheelFor(sid).NewTimer(func() { s.takeClosedPoll(sid) })
		s.closedPolls[sid] = closedPoll{t: t, answer: answer, v3: v3}
		t.Reset(grace)
	}
	s.closedMu.Unlock()
}

// takeClosedPoll forgets sid and returns the answer remembered for it.
func (s *Server) takeClosedPoll(sid string) (c closedPoll, ok bool) {
	s.closedMu.Lock()
	c, ok = s.closedPolls[sid]
	if ok {
		delete(s.closedPolls, sid)
		c.t.Stop()
	}
	s.closedMu.Unlock()
	return c, ok
}
