package eio

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/valyala/bytebufferpool"

	"github.com/sioloop/sioloop/internal/timer"
)

// Long-polling: the queue of packets that wait for the client's next GET,
// and the GET and POST requests of a polling session.

// recordSep separates packets in a polling payload.
const recordSep = 0x1e

// queuePool holds the buffers of polling queues.
var queuePool bytebufferpool.Pool

// record locates one queued polling packet in pollState.q.
type record struct {
	end    int
	binary bool // "b"+base64 record
}

// pollState is the part of a Session that only long-polling and the
// upgrade from it need. A session has one from its polling handshake until
// it upgrades to WebSocket or ends; a session opened over WebSocket never
// has one. All fields are guarded by Session.mu.
type pollState struct {
	q       *bytebufferpool.ByteBuffer // queued polling records, nil when empty
	recs    []record
	get     Exchange     // parked polling GET
	probe   WSConn       // WebSocket being upgraded to
	upTimer *timer.Timer // upgrade deadline, created by the first probe
	// probed is set from the probe's answer (3probe) until the probe
	// ends: every GET meanwhile is parked as late and released with a
	// noop within lateGetWait, as engine.io's upgrade check releases
	// polls every 100 ms. The client may have read the noop of the poll
	// parked at the probe before the 3probe, and polled again.
	probed bool
	// late is set while get arrived after the probe was answered (see
	// parkLate); lateTimer releases it with a noop if no upgrade follows.
	late bool
	// probeB64: the v3 client's upgrade request asked for binary as
	// base64 text (session_v3.go).
	probeB64  bool
	lateTimer *timer.Timer
	// group is the event-loop index of the handshake request's
	// connection (Grouper), the session's Group while it polls.
	group int32
	// heldPost is a POST whose packets were delivered while input was
	// paused: its answer waits for ResumeInput (or the upgrade, or the
	// end of the session), so the client sends no more (see PauseInput).
	// Session.posting stays set meanwhile: a second POST is an overlap.
	heldPost Exchange
}

// pollOverflowLocked reports whether more than Config.MaxOutboundBytes
// wait for the next poll. Called with mu held, after flushPollLocked.
func (s *Session) pollOverflowLocked() bool {
	p := s.poll
	return p != nil && p.q != nil && len(p.q.B) > s.srv.cfg.MaxOutboundBytes
}

// closeSlowPoller ends a session whose client does not poll fast enough
// for what the server sends, like a WebSocket whose queue is full; the
// queue goes back to the pool.
func (s *Session) closeSlowPoller() {
	s.srv.slowPolls.Add(1)
	s.srv.cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, "eio: slow polling client, session closed",
		slog.String("sid", s.id), slog.String("remote", s.remote))
	s.closeWith(codeTransportError, false)
}

// startRecordLocked readies the polling queue for one more record and
// returns the poll state. The session is on polling and not closed.
func (s *Session) startRecordLocked() *pollState {
	p := s.poll
	if p.q == nil {
		p.q = queuePool.Get()
	}
	if len(p.recs) > 0 {
		p.q.B = append(p.q.B, recordSep)
	}
	return p
}

func (s *Session) appendRecordsLocked(pr *Prepared) {
	start := 0
	poll, recs := pr.pollForm()
	for _, r := range recs {
		p := s.startRecordLocked()
		p.q.B = append(p.q.B, poll[start:r.end]...)
		p.recs = append(p.recs, record{end: len(p.q.B), binary: r.binary})
		start = r.end + 1
	}
}

// queuedLocked reports whether packets wait for a poll.
func (s *Session) queuedLocked() bool { return s.poll != nil && len(s.poll.recs) > 0 }

// flushPollLocked answers the parked GET with as many queued packets as
// fit in maxPayload (at least one).
func (s *Session) flushPollLocked() { s.flushPollHeadersLocked(nil) }

// flushPollHeadersLocked is flushPollLocked answering with the headers h
// (the handshake's: CORS, cookie, InitialHeaders) when h is not nil.
func (s *Session) flushPollHeadersLocked(h http.Header) {
	p := s.poll
	if p == nil || p.get == nil || len(p.recs) == 0 {
		return
	}
	limit := int(s.srv.cfg.MaxPayload)
	n := 1
	for n < len(p.recs) && p.recs[n].end <= limit {
		n++
	}
	end := p.recs[n-1].end
	x := p.get
	p.get = nil
	if h == nil {
		var ok bool
		if h, ok = s.srv.pollHeaders(x); !ok {
			// A header callback panicked: this poll gets a 500 and
			// the packets wait for the next one.
			s.srv.internalError(x, false)
			return
		}
	} else {
		setPollHeaders(h)
	}
	var v3 *bytebufferpool.ByteBuffer
	body := p.q.B[:end]
	if s.flags.v3() {
		v3, body = s.pollBodyV3(h, p.recs[:n])
	}
	body, zb := s.srv.compressedPoll(x, h, body)
	x.Respond(http.StatusOK, h, body)
	if zb != nil {
		zipBufs.Put(zb)
	}
	if v3 != nil {
		scratchPool.Put(v3)
	}
	if n == len(p.recs) {
		p.releaseQueue()
		return
	}
	// Keep the rest; drop the separator after the sent prefix.
	rest := copy(p.q.B, p.q.B[end+1:])
	p.q.B = p.q.B[:rest]
	m := copy(p.recs, p.recs[n:])
	p.recs = p.recs[:m]
	for i := range p.recs {
		p.recs[i].end -= end + 1
	}
}

// releaseQueue empties the polling queue and returns its buffer to the pool.
func (p *pollState) releaseQueue() {
	if p.q != nil {
		p.q.Reset()
		queuePool.Put(p.q)
		p.q = nil
	}
	p.recs = p.recs[:0]
}

func setPollHeaders(h http.Header) {
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
}

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

// lockPolling takes s.mu for a polling request and reports whether the
// session still polls. When it does not, x is answered as engine.io
// answers it (a closed session's id is unknown; a session on another
// transport refuses polling requests) and mu is released.
func (s *Session) lockPolling(x Exchange) bool {
	s.mu.Lock()
	var err *RequestError
	switch {
	case s.state == stateClosed:
		err = ErrUnknownSID
	case s.transport != tPolling:
		err = ErrBadRequest
	default:
		return true
	}
	s.mu.Unlock()
	s.srv.fail(x, err, false)
	return false
}

func (s *Session) handleGet(x Exchange) {
	if !s.lockPolling(x) {
		return
	}
	switch {
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
	if int64(len(x.Body())) > s.srv.cfg.MaxPayload {
		// engine.io answers a body over maxHttpBufferSize 413 with no
		// body; the client then drops the transport. The provider's own
		// limit (loop.Config.MaxBodyBytes) may be larger than MaxPayload.
		s.srv.respond(x, http.StatusRequestEntityTooLarge, "", nil)
		s.closeWith(codeTransportError, false)
		return
	}
	if !s.lockPolling(x) {
		return
	}
	switch {
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
