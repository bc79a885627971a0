package eio

import (
	"encoding/base64"
	"net/http"
)

// wsHandler binds a WebSocket connection to a session, either as its
// transport or as an upgrade probe. OnOpen registers the connection before
// its first frame can arrive.
type wsHandler struct {
	s     *Session
	probe bool
}

// OnOpen implements FrameOpener.
func (h *wsHandler) OnOpen(c WSConn) {
	s := h.s
	if s == nil {
		return
	}
	if !h.probe {
		s.mu.Lock()
		if s.ws == nil {
			s.setLiveLocked(c)
		}
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	if s.state == stateOpen && s.probe == nil && s.transport == Polling {
		s.probe = c
		if s.upTimer == nil {
			s.upTimer = s.srv.wheelFor(s.id).NewTimer(s.upgradeTimedOut)
		}
		s.upTimer.Reset(s.srv.cfg.UpgradeTimeout)
	} else {
		h.s = nil
	}
	s.mu.Unlock()
}

// handleUpgrade starts a polling→WebSocket upgrade probe. The probe is
// registered by the handler's OnOpen, before any frame is read.
func (s *Session) handleUpgrade(x Exchange) {
	s.mu.Lock()
	refuse := s.state != stateOpen || s.transport != Polling || s.probe != nil || s.srv.cfg.DisableUpgrades
	s.mu.Unlock()
	h := &wsHandler{s: s, probe: true}
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

func (s *Session) upgradeTimedOut() {
	s.mu.Lock()
	p := s.probe
	s.probe = nil
	s.mu.Unlock()
	if p != nil {
		p.Close(0)
	}
}

// OnMessage implements FrameHandler.
func (h *wsHandler) OnMessage(c WSConn, binary bool, p []byte) {
	s := h.s
	if s == nil {
		return
	}
	s.mu.Lock()
	isMain := s.ws == c
	isProbe := s.probe == c
	pending := isMain && s.pending // the first frame ends the pending state
	if pending {
		s.pending = false
	}
	s.mu.Unlock()
	if pending {
		s.srv.releasePending(hostOf(s.remote))
	}
	switch {
	case isMain:
		if binary {
			s.deliver(p, true)
			return
		}
		s.handlePacket(p)
	case isProbe:
		s.handleProbe(c, binary, p)
	}
}

// handleProbe runs the upgrade handshake: 2probe → 3probe, then 5.
func (s *Session) handleProbe(c WSConn, binary bool, p []byte) {
	switch {
	case !binary && string(p) == "2probe":
		c.WriteMessage(false, []byte("3probe"))
		s.mu.Lock()
		// Release the parked GET so the client can pause polling.
		if x := s.get; x != nil {
			s.get = nil
			x.Respond(http.StatusOK, s.pollHeaders(x), []byte{typeNoop})
		} else {
			s.noopNext = true
		}
		s.mu.Unlock()
	case !binary && len(p) == 1 && p[0] == typeUpgrade:
		s.completeUpgrade(c)
	default:
		// Anything else aborts the probe; polling carries on.
		s.mu.Lock()
		if s.probe == c {
			s.probe = nil
		}
		s.mu.Unlock()
		c.Close(0)
	}
}

func (s *Session) completeUpgrade(c WSConn) {
	s.mu.Lock()
	if s.state != stateOpen || s.probe != c {
		s.mu.Unlock()
		return
	}
	s.probe = nil
	s.noopNext = false
	if s.upTimer != nil {
		s.upTimer.Stop()
	}
	s.ws = c
	s.transport = WebSocket
	// Packets queued for polling go out first, in order.
	if s.q != nil {
		start := 0
		for _, r := range s.recs {
			rec := s.q.B[start:r.end]
			if r.binary {
				raw, err := base64.StdEncoding.AppendDecode(nil, rec[1:])
				if err == nil {
					c.WriteMessage(true, raw)
				}
			} else {
				c.WriteMessage(false, rec)
			}
			start = r.end + 1
		}
		s.q.Reset()
		queuePool.Put(s.q)
		s.q = nil
		s.recs = nil
	}
	if x := s.get; x != nil {
		s.get = nil
		x.Respond(http.StatusOK, s.pollHeaders(x), []byte{typeNoop})
	}
	s.live.Store(&liveWS{c: c})
	f := s.onUpgrade
	s.mu.Unlock()
	if f != nil {
		f(WebSocket)
	}
}

// OnClose implements FrameHandler.
func (h *wsHandler) OnClose(c WSConn, err error) {
	s := h.s
	if s == nil {
		return
	}
	s.mu.Lock()
	isMain := s.ws == c
	if s.probe == c {
		s.probe = nil
	}
	s.mu.Unlock()
	if !isMain {
		return
	}
	reason := ReasonTransportClose
	if err != nil {
		reason = ReasonTransportError
	}
	s.finish(reason)
}
