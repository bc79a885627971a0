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
	case s.transport != Polling:
		s.mu.Unlock()
		s.srv.fail(x, ErrBadRequest, false)
		return
	case s.get != nil:
		// Overlapping polls: the parked one gets a close packet, this one
		// a bare 400, and the session ends (engine.io: "overlap from client").
		old := s.get
		s.get = nil
		s.mu.Unlock()
		old.Respond(http.StatusOK, s.pollHeaders(old), []byte{typeClose})
		x.Respond(http.StatusBadRequest, s.srv.baseHeaders(x), nil)
		s.closeWith(ReasonTransportError, false)
		return
	case s.noopNext:
		s.noopNext = false
		s.mu.Unlock()
		x.Respond(http.StatusOK, s.pollHeaders(x), []byte{typeNoop})
		return
	}
	s.mu.Unlock()
	s.poll(x, nil)
}

// poll parks x as the session's GET and answers it at once if packets wait.
// A session closing over polling hands out what is queued, then the close
// packet in a response of its own.
func (s *Session) poll(x Exchange, h http.Header) {
	s.mu.Lock()
	// handleGet checked these without holding the lock until now: a probe
	// may have asked to release this poll, or the upgrade may have
	// completed, in between. Parking the GET then would stall the client.
	if s.state == stateOpen && (s.noopNext || s.transport != Polling) {
		s.noopNext = false
		s.mu.Unlock()
		x.Respond(http.StatusOK, s.pollHeaders(x), []byte{typeNoop})
		return
	}
	s.get = x
	if s.state == stateClosing {
		if len(s.recs) > 0 {
			s.flushPollLocked()
			s.mu.Unlock()
			return
		}
		s.respondCloseLocked()
		s.mu.Unlock()
		s.finish("")
		return
	}
	s.flushPollHeadersLocked(h)
	parked := s.get == x
	s.mu.Unlock()
	if parked {
		x.OnAbort(func() { s.pollAborted(x) })
	}
}

// pollAborted runs when the client of a parked GET went away.
func (s *Session) pollAborted(x Exchange) {
	s.mu.Lock()
	if s.get != x {
		s.mu.Unlock()
		return
	}
	s.get = nil
	s.mu.Unlock()
	s.closeWith(ReasonTransportError, false)
}

func (s *Session) handlePost(x Exchange) {
	if x.Header("Content-Type") == "application/octet-stream" {
		x.Respond(http.StatusBadRequest, s.srv.baseHeaders(x), nil)
		s.closeWith(ReasonTransportError, false)
		return
	}
	s.mu.Lock()
	switch {
	case s.state == stateClosed:
		s.mu.Unlock()
		s.srv.fail(x, ErrUnknownSID, false)
		return
	case s.transport != Polling:
		s.mu.Unlock()
		s.srv.fail(x, ErrBadRequest, false)
		return
	case s.posting:
		s.mu.Unlock()
		x.Respond(http.StatusBadRequest, s.srv.baseHeaders(x), nil)
		s.closeWith(ReasonTransportError, false)
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
		s.closeWith(ReasonParseError, true)
	}
}
