package eio

// The Engine.IO v3 heartbeat runs the other way round: the client sends
// a ping every pingInterval, the server answers each with a pong and
// gives the client pingInterval+pingTimeout for the next one. The server
// sends no pings.
//
// It reuses the v4 timer: a v3 session is always "awaiting a pong", so
// that onHeartbeat, when the timer fires, closes it with a ping timeout.

// startHeartbeatV3Locked arms the first deadline at the open. Called with
// mu held.
func (s *Session) startHeartbeatV3Locked() {
	s.flags |= awaitingPong
	s.hb.Reset(s.srv.cfg.PingInterval + s.srv.cfg.PingTimeout)
}

// onPingV3 answers a client ping of a v3 session (with its data, e.g.
// "probe") and pushes the deadline back; false if the session speaks v4,
// where a client ping is a protocol error.
func (s *Session) onPingV3(data []byte) bool {
	s.mu.Lock()
	if !s.flags.v3() {
		s.mu.Unlock()
		return false
	}
	if s.state == stateOpen {
		s.hb.Reset(s.srv.cfg.PingInterval + s.srv.cfg.PingTimeout)
		s.sendLocked(typePong, data)
		s.flushPollLocked()
	}
	s.mu.Unlock()
	return true
}
