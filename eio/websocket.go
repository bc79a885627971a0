package eio

import (
	"encoding/base64"
)

// wsTransport is a Session seen as the FrameHandler of the WebSocket it
// was opened over: a pointer conversion, so that a WebSocket session costs
// no handler allocation. OnOpen registers the connection before its first
// frame can arrive; its frames are held until Server.OnConnection has run
// (held.go).
type wsTransport Session

// OnOpen implements FrameOpener.
func (t *wsTransport) OnOpen(c WSConn) {
	s := (*Session)(t)
	s.mu.Lock()
	if s.ws == nil {
		s.setLiveLocked(c, true)
	}
	s.mu.Unlock()
}

// OnMessage implements FrameHandler.
func (t *wsTransport) OnMessage(c WSConn, binary bool, p []byte) {
	(*Session)(t).onFrame(c, binary, p)
}

// OnClose implements FrameHandler.
func (t *wsTransport) OnClose(c WSConn, err error) { (*Session)(t).onWSClose(c, err) }

// wsProbe binds a WebSocket that asked to upgrade a polling session to the
// session, s, or to nothing (s nil) when the upgrade is refused. OnOpen
// registers the probe before its first frame can arrive.
type wsProbe struct{ s *Session }

// OnOpen implements FrameOpener.
func (h *wsProbe) OnOpen(c WSConn) {
	s := h.s
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.state == stateOpen && s.transport == tPolling && s.poll.probe == nil {
		p := s.poll
		p.probe = c
		if p.upTimer == nil {
			p.upTimer = s.srv.wheelFor(s.id).NewTimer(s.upgradeTimedOut)
		}
		p.upTimer.Reset(s.srv.cfg.UpgradeTimeout)
	} else {
		h.s = nil
	}
	s.mu.Unlock()
}

// OnMessage implements FrameHandler.
func (h *wsProbe) OnMessage(c WSConn, binary bool, p []byte) {
	if h.s != nil {
		h.s.onFrame(c, binary, p)
	}
}

// OnClose implements FrameHandler.
func (h *wsProbe) OnClose(c WSConn, err error) {
	if h.s != nil {
		h.s.onWSClose(c, err)
	}
}

// handleUpgrade starts a polling→WebSocket upgrade probe. The probe is
// registered by the handler's OnOpen, before any frame is read.
func (s *Session) handleUpgrade(x Exchange) {
	s.mu.Lock()
	refuse := s.state != stateOpen || s.transport != tPolling || s.poll.probe != nil || s.srv.cfg.DisableUpgrades
	if !refuse && s.flags.v3() {
		s.poll.probeB64 = x.Query("b64") != ""
	}
	s.mu.Unlock()
	h := &wsProbe{s: s}
	if refuse {
		h.s = nil
	}
	c, err := x.Upgrade(nil, h)
	if err != nil {
		s.srv.refuseUpgrade(x, err)
		return
	}
	if h.s == nil {
		// engine.io accepts the extra WebSocket, then closes it at once.
		c.Close(0)
	}
}

// upgradeTimedOut runs on a timer wheel when a probe took too long; it may
// also run after the upgrade completed or the session ended.
func (s *Session) upgradeTimedOut() {
	s.mu.Lock()
	var c WSConn
	if p := s.poll; p != nil {
		c = p.probe
		s.dropProbeLocked()
	}
	s.mu.Unlock()
	if c != nil {
		c.Close(0)
	}
}

// onFrame handles a message from c, the session's WebSocket transport or
// its upgrade probe.
func (s *Session) onFrame(c WSConn, binary bool, p []byte) {
	if int64(len(p)) > s.srv.cfg.MaxPayload {
		// As ws with engine.io's maxPayload: a message over
		// maxHttpBufferSize closes the connection with 1009. The
		// provider's own limit (loop.Config.MaxMessageBytes) may be larger.
		c.Close(1009)
		return
	}
	s.mu.Lock()
	isMain := s.isWS(c)
	isProbe := s.isProbe(c)
	pending := isMain && s.pending // the first frame ends the pending state
	if pending {
		s.pending = false
	}
	held := isMain && s.ws.held
	v3 := s.flags.v3()
	if held {
		s.holdFrameLocked(s.ws, binary, p)
	}
	s.mu.Unlock()
	if pending {
		s.srv.releasePending(hostOf(s.remote))
	}
	switch {
	case held:
	case isMain:
		s.onMainFrame(v3, binary, p)
	case isProbe:
		s.handleProbe(c, binary, p)
	}
}

// onMainFrame handles a message from the session's WebSocket transport.
func (s *Session) onMainFrame(v3, binary bool, p []byte) {
	if v3 {
		s.onFrameV3(binary, p)
		return
	}
	if binary {
		s.deliver(p, true)
		return
	}
	s.handlePacket(p)
}

// handleProbe runs the upgrade handshake: 2probe → 3probe, then 5.
func (s *Session) handleProbe(c WSConn, binary bool, p []byte) {
	switch {
	case !binary && string(p) == "2probe":
		c.WriteMessage(false, []byte("3probe"))
		s.mu.Lock()
		// Release the parked GET so the client can pause polling. A
		// session that ended meanwhile has no poll state left.
		if p := s.poll; p != nil {
			p.probed = s.isProbe(c)
			if x := p.get; x != nil {
				p.get = nil
				s.srv.respondPoll(x, s.singleLocked(typeNoop))
			} else {
				s.noopNext = true
			}
		}
		s.mu.Unlock()
	case !binary && len(p) == 1 && p[0] == typeUpgrade:
		s.completeUpgrade(c)
	default:
		// Anything else aborts the probe; polling carries on.
		s.mu.Lock()
		if s.isProbe(c) {
			s.dropProbeLocked()
		}
		s.mu.Unlock()
		c.Close(0)
	}
}

// dropProbeLocked forgets a failed or timed-out probe; polling carries on.
// A noop the probe owed (noopNext) is still owed: the client paused
// polling for the upgrade and waits for its poll to return.
func (s *Session) dropProbeLocked() { s.poll.probe, s.poll.probed = nil, false }

// completeUpgrade switches the session to the probe c: packets queued for
// polling are written to c first, the parked GET is released, and the
// poll state is dropped.
func (s *Session) completeUpgrade(c WSConn) {
	s.mu.Lock()
	if s.state != stateOpen || !s.isProbe(c) {
		s.mu.Unlock()
		return
	}
	p := s.poll
	s.poll = nil
	s.noopNext = false
	if p.upTimer != nil {
		p.upTimer.Stop()
	}
	// Packets queued for polling go out first, in order.
	if p.q != nil {
		start := 0
		for _, r := range p.recs {
			rec := p.q.B[start:r.end]
			if r.binary {
				raw, err := base64.StdEncoding.AppendDecode(nil, rec[1:])
				if err == nil {
					s.writeQueuedBinary(c, raw, p.probeB64)
				}
			} else {
				c.WriteMessage(false, rec)
			}
			start = r.end + 1
		}
		p.releaseQueue()
	}
	if p.lateTimer != nil {
		p.lateTimer.Stop()
	}
	// A POST held for ResumeInput is answered: input stays bounded, since
	// the WebSocket is not read while input is paused (setLiveLocked).
	heldPost := p.heldPost
	if heldPost != nil {
		p.heldPost = nil
		s.posting = false
	}
	var late Exchange
	if x := p.get; x != nil {
		p.get = nil
		if p.late {
			late = x // answered below, without the lock
		} else {
			s.srv.respondPoll(x, s.singleLocked(typeNoop))
		}
	}
	// Only now may sends take the WebSocket, and SendPrepared skip the lock.
	// A POST still delivering its packets holds c's frames until it is
	// done (handlePost releases them), so that they follow its packets.
	s.setLiveLocked(c, s.posting)
	s.ws.b64 = p.probeB64
	h := s.h
	s.mu.Unlock()
	if heldPost != nil {
		s.respondOK(heldPost)
	}
	if late != nil {
		// It came after the probe was answered, like a poll after the
		// upgrade, which engine.io refuses.
		s.srv.fail(late, ErrBadRequest, false)
	}
	s.logSession("upgraded", "transport", WebSocket)
	if u, ok := h.(UpgradeHandler); ok {
		u.OnUpgrade(WebSocket)
	}
}

// onWSClose handles the end of c, the session's WebSocket transport (which
// ends the session) or its upgrade probe.
func (s *Session) onWSClose(c WSConn, err error) {
	s.mu.Lock()
	isMain := s.isWS(c)
	if isMain && s.ws.held {
		// It follows the held frames (held.go).
		s.ws.holdEndLocked(err)
		s.mu.Unlock()
		return
	}
	if s.isProbe(c) {
		s.dropProbeLocked()
	}
	s.mu.Unlock()
	if !isMain {
		return
	}
	reason := codeTransportClose
	if err != nil {
		reason = codeTransportError
	}
	s.finish(reason)
}

// liveWS boxes a WSConn for atomic.Pointer, with its held input (held.go).
type liveWS struct {
	c WSConn
	// held is set while c's frames must wait in backlog for the goroutine
	// that ends the hold (releaseHeld). Both are guarded by Session.mu.
	held bool
	// deflate: c negotiated permessage-deflate, which is fixed at its
	// handshake. Found once here, not per broadcast recipient.
	deflate bool
	// b64: a v3 client that asked this WebSocket (its upgrade request)
	// for binary as base64 text (session_v3.go).
	b64     bool
	backlog *backlog
}

// isWS reports whether c is the session's WebSocket transport. Called
// with mu held.
func (s *Session) isWS(c WSConn) bool { return s.ws != nil && s.ws.c == c }

// isProbe reports whether c is the WebSocket being upgraded to. Called
// with mu held.
func (s *Session) isProbe(c WSConn) bool { return s.poll != nil && s.poll.probe == c }

// setLiveLocked makes c the session's transport and publishes it for
// SendPrepared; with held, c's frames wait until releaseHeld. The session
// must have nothing queued for polling. Called with mu held.
func (s *Session) setLiveLocked(c WSConn, held bool) {
	if s.inputPaused {
		pauseRead(c)
	}
	l := &liveWS{c: c, held: held, deflate: deflates(c)}
	s.ws = l
	s.transport = tWebSocket
	if !s.flags.v3() { // v3 frames differ from the prepared ones (session_v3.go)
		s.live.Store(l)
	}
}
