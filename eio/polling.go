package eio

import (
	"net/http"
	"time"
)

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
		body := s.singleLocked(typeClose)
		s.mu.Unlock()
		s.srv.respondPoll(old, body)
		s.srv.respond(x, http.StatusBadRequest, "", nil)
		s.closeWith(codeTransportError, false)
		return
	case s.noopNext || s.poll.probed:
		s.owedNoopLocked(x) // unlocks
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
	case s.state == stateOpen && s.transport != tPolling:
		body := s.singleLocked(typeNoop)
		s.mu.Unlock()
		s.srv.respondPoll(x, body)
		return
	case s.state == stateOpen && (s.noopNext || s.poll.probed):
		s.owedNoopLocked(x) // unlocks
		return
	case s.state == stateClosed:
		s.mu.Unlock()
		s.srv.fail(x, ErrUnknownSID, false)
		return
	case s.state == stateClosing:
		if s.queuedLocked() {
			s.poll.get, s.poll.late = x, false
			s.flushPollHeadersLocked(h)
			s.mu.Unlock()
			return
		}
		body := s.singleLocked(typeClose)
		s.mu.Unlock()
		if h == nil {
			s.srv.respondPoll(x, body)
		} else {
			setPollHeaders(h)
			x.Respond(http.StatusOK, h, body)
		}
		s.finish(codeNone)
		return
	}
	// Open on polling.
	s.poll.get, s.poll.late = x, false
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
	binaryBody := x.Header("Content-Type") == "application/octet-stream"
	if binaryBody && !s.isV3() { // v3 clients may post the binary payload form

		s.srv.respond(x, http.StatusBadRequest, "", nil)
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
		s.srv.respond(x, http.StatusBadRequest, "", nil)
		s.closeWith(codeTransportError, false)
		return
	case s.state == stateClosing:
		s.mu.Unlock()
		s.respondOK(x)
		return
	}
	s.posting = true
	v3 := s.flags.v3()
	s.mu.Unlock()

	s.decodePayload(x.Body(), v3, binaryBody)

	s.mu.Lock()
	if s.inputPaused && s.state == stateOpen && s.poll != nil {
		// The answer waits for ResumeInput: a client sends its next
		// POST only once this one is answered, so the input buffered
		// for a paused session is at most one body.
		s.poll.heldPost = x
		s.mu.Unlock()
		return
	}
	s.posting = false
	// The upgrade completed while the packets were delivered: the
	// WebSocket's frames waited for them (completeUpgrade).
	var upgraded *liveWS
	if s.ws != nil && s.ws.held {
		upgraded = s.ws
	}
	s.mu.Unlock()
	s.respondOK(x)
	if upgraded != nil {
		s.releaseHeld(upgraded)
	}
}

func (s *Session) respondOK(x Exchange) { s.srv.respond(x, http.StatusOK, "text/html", okBody) }

// decodePayload processes the packets of a polling body in order.
func (s *Session) decodePayload(body []byte, v3, binaryBody bool) {
	decode := DecodePayload
	if v3 {
		decode = DecodePayloadV3
		if binaryBody {
			decode = DecodeBinaryPayloadV3
		}
	}
	err := decode(body, func(p []byte, binary bool) bool {
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

// lateGetWait is how long a GET that arrives after the upgrade probe was
// answered waits for the upgrade: engine.io releases polls during an
// upgrade every 100 ms.
const lateGetWait = 100 * time.Millisecond

// owedNoopLocked serves x, a GET that arrived after the upgrade probe was
// answered (probed), or after a failed probe that was answered with no
// poll parked (noopNext), and releases mu. While the probe stands, x waits
// for the upgrade (parkLateLocked); once the probe failed, x gets the noop
// the probe owed the client at once.
func (s *Session) owedNoopLocked(x Exchange) {
	if s.poll.probe != nil {
		s.parkLateLocked(x)
		s.mu.Unlock()
		return
	}
	s.noopNext = false
	body := s.singleLocked(typeNoop)
	s.mu.Unlock()
	s.srv.respondPoll(x, body)
}

// parkLateLocked parks x, a GET that arrived after the probe was answered
// (the client's poll was not parked then). socket.io-client sends its
// upgrade packet only once that poll returns, so x is released with a
// noop after lateGetWait, as engine.io does. A client that sent the
// upgrade packet first, on the WebSocket, and this GET after it gets the
// 400 of a poll after the upgrade, whichever of the two connections is
// read first (see completeUpgrade).
func (s *Session) parkLateLocked(x Exchange) {
	p := s.poll
	if s.queuedLocked() {
		// Packets wait: they are its answer, as in engine.io.
		p.get, p.late = x, false
		s.flushPollLocked()
		return
	}
	p.get, p.late = x, true
	if p.lateTimer == nil {
		p.lateTimer = s.srv.wheelFor(s.id).NewTimer(s.releaseLate)
	}
	p.lateTimer.Reset(lateGetWait)
}

// releaseLate answers a GET parked by parkLateLocked with a noop, unless it
// was answered meanwhile. It runs on a timer wheel.
func (s *Session) releaseLate() {
	s.mu.Lock()
	p := s.poll
	if p == nil || p.get == nil || !p.late {
		s.mu.Unlock()
		return
	}
	x := p.get
	p.get, p.late = nil, false
	if p.probe == nil {
		s.noopNext = false // the probe failed meanwhile; this was its noop
	}
	body := s.singleLocked(typeNoop)
	s.mu.Unlock()
	s.srv.respondPoll(x, body)
}
