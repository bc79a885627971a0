package eio

import "sync/atomic"

// Counts for metrics, always kept: each is one atomic add on a path that
// is already slow (a refusal, a slow client's end).

// refusals counts refused requests by engine.io error code (0 to 5).
type refusals [6]atomic.Uint64

func (r *refusals) add(code int) {
	if code >= 0 && code < len(r) {
		r[code].Add(1)
	}
}

// RefusedByCode returns the number of refused requests by engine.io error
// code since the server started.
func (s *Server) RefusedByCode() map[int]uint64 {
	m := make(map[int]uint64, len(s.refused))
	for code := range s.refused {
		m[code] = s.refused[code].Load()
	}
	return m
}

// SlowConsumers is the number of long-polling sessions closed because
// their client did not poll what it was sent (Config.MaxOutboundBytes).
func (s *Server) SlowConsumers() uint64 { return s.slowPolls.Load() }

// CountByTransport returns the number of open sessions by transport name.
// It visits every session: meant for metrics, not for a hot path.
func (s *Server) CountByTransport() map[string]int {
	s.mu.RLock()
	ss := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		ss = append(ss, sess)
	}
	s.mu.RUnlock()
	m := map[string]int{}
	for _, sess := range ss {
		m[sess.Transport()]++
	}
	return m
}
