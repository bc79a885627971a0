package eio

import "net/http"

var okBody = []byte("ok")

// handlePolling serves a polling request for an existing session.
func (s *Session) handlePolling(x Exchange) {
	switch x.Method() {
	case http.MethodGet:
		s.handleGet(x)
	case http.MethodPost:
		s.handlePost(x)
	default:
		s.srv.fail(x, ErrBadRequest, false)
	}
}

func (s *Session) handleGet(x Exchange) {
	s.mu.Lock()
	switch {
	case s.state == stateClosed:
		s.mu.Unlock()
		s.srv.fail(x, ErrUnknownSID, false)
		return
	case s.transport != tPolling:
		s.mu.Unlock()
		s.srv.fail(x, ErrBadRequest, false)
		return
	case s.poll.get != nil:
		// Overlapping polls: the parked one gets a close packet, this one
		// a bare 400, and the session ends (engine.io: "overlap from client").
		old := s.poll.get
		s.poll.get = nil
		s.mu.Unlock()
		old.Respond(http.StatusOK, s.pollHeaders(old), []byte{typeClose})
		x.Respond(http.StatusBadRequest, s.srv.baseHeaders(x), nil)
		s.closeWith(codeTransportError, false)
		return
	case s.noopNext:
		s.noopNext = false
		s.mu.Unlock()
		x.Respond(http.StatusOK, s.pollHeaders(x), []byte{typeNoop})
		return
	}
	s.mu.Unlock()
	s.park(x, nil)
}

// park parks x as the session's GET and answers it at once if packets
// wait; h, when not nil, holds the headers to answer with (the
// handshake's). A session closing over polling hands out what is queued,
// then the close packet in a response of its own.
func (s *Session) park(x Exchange, h http.Header) {
	s.mu.Lock()
	// handleGet checked the state without holding the lock until now: a
	// probe may have asked to release this poll, the upgrade may have
	// completed, or the session may have ended, in between. Parking the
	// GET then would stall the client.
	switch {
	case s.state == stateOpen && (s.noopNext || s.transport != tPolling):
		s.noopNext = false
		s.mu.Unlock()
		x.Respond(http.StatusOK, s.pollHeaders(x), []byte{typeNoop})
		return
	case s.state == stateClosed:
		s.mu.Unlock()
		s.srv.fail(x, ErrUnknownSID, false)
		return
	case s.state == stateClosing:
		if s.queuedLocked() {
			s.poll.get = x
			s.flushPollHeadersLocked(h)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if h == nil {
			h = s.pollHeaders(x)
		} else {
			setPollHeaders(h)
		}
		x.Respond(http.StatusOK, h, []byte{typeClose})
		s.finish(codeNone)
		return
	}
	// Open on polling.
	s.poll.get = x
	s.flushPollHeadersLocked(h)
	parked := s.poll.get == x
	s.mu.Unlock()
	if parked {
		x.OnAbort(func() { s.pollAborted(x) })
	}
}

// pollAborted runs when the client of a parked GET went away.
func (s *Session) pollAborted(x Exchange) {
	s.mu.Lock()
	if s.poll == nil || s.poll.get != x {
		s.mu.Unlock()
		return
	}
	s.poll.get = nil
	s.mu.Unlock()
	s.closeWith(codeTransportError, false)
}

func (s *Session) handlePost(x Exchange) {
	if x.Header("Content-Type") == "application/octet-stream" {
		x.Respond(http.StatusBadRequest, s.srv.baseHeaders(x), nil)
		s.closeWith(codeTransportError, false)
		return
	}
	s.mu.Lock()
	switch {
	case s.state == stateClosed:
		s.mu.Unlock()
		s.srv.fail(x, ErrUnknownSID, false)
		return
	case s.transport != tPolling:
		s.mu.Unlock()
		s.srv.fail(x, ErrBadRequest, false)
		return
	case s.posting:
		s.mu.Unlock()
		x.Respond(http.StatusBadRequest, s.srv.baseHeaders(x), nil)
		s.closeWith(codeTransportError, false)
		return
	case s.state == stateClosing:
		s.mu.Unlock()
		s.respondOK(x)
		return
	}
	s.posting = true
	s.mu.Unlock()

	s.decodePayload(x.Body())
	s.respondOK(x)

	s.mu.Lock()
	s.posting = false
	s.mu.Unlock()
}

func (s *Session) respondOK(x Exchange) {
	h := s.srv.baseHeaders(x)
	h.Set("Content-Type", "text/html")
	x.Respond(http.StatusOK, h, okBody)
}

// decodePayload processes the packets of a polling body in order.
func (s *Session) decodePayload(body []byte) {
	err := DecodePayload(body, func(p []byte, binary bool) bool {
		if binary {
			s.deliver(p, true)
			return true
		}
		return s.handlePacket(p)
	})
	if err != nil {
		s.closeWith(codeParseError, true)
	}
}
