package eio

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
)

// A request to the Engine.IO path, from the provider to a session: the
// checks engine.io makes, in its order, then the handshake of a new
// session or the hand-off to an existing one (polling.go, websocket.go).

// Handle serves one request addressed to the Engine.IO path. It runs on the
// provider's goroutine and does not block, unless the application's
// callbacks do and x is no Detacher (offload.go): a request that calls one
// is then served on a goroutine of its own.
//
// It reads the request through Exchange's cheap accessors and calls
// Exchange.Request only for the configured callbacks that take a
// *http.Request.
func (s *Server) Handle(x Exchange) {
	if d, ok := x.(Detacher); ok && s.mayBlock(x) {
		s.offload(x, d)
		return
	}
	s.handle(x)
}

// handle is Handle on the goroutine that serves x.
func (s *Server) handle(x Exchange) {
	method := x.Method()
	upgrade := isUpgrade(x)

	if s.cfg.CORS != nil && method == http.MethodOptions && x.Header("Access-Control-Request-Method") != "" {
		s.preflight(x)
		return
	}
	transport := x.Query("transport")
	if !s.cfg.enabled(transport) {
		s.fail(x, ErrUnknownTransport, upgrade)
		return
	}
	if origin := x.Header("Origin"); hasCTL(origin) {
		s.fail(x, ErrBadRequest, upgrade)
		return
	}
	if sid := x.Query("sid"); sid != "" {
		s.mu.RLock()
		ss := s.sessions[sid]
		s.mu.RUnlock()
		if ss == nil {
			if transport == Polling && !upgrade && x.Method() == http.MethodGet {
				if c, ok := s.takeClosedPoll(sid); ok {
					s.respondPoll(x, c.body())
					return
				}
			}
			s.fail(x, ErrUnknownSID, upgrade)
			return
		}
		ss.followedUp()
		if transport == WebSocket {
			if !upgrade || method != http.MethodGet {
				s.fail(x, ErrBadRequest, upgrade)
				return
			}
			if s.cfg.AllowEIO3 && ss.isV3() != (x.Query("EIO") != "4") {
				// engine.io refuses an upgrade in another protocol revision.
				s.fail(x, ErrBadRequest, true)
				return
			}
			ss.handleUpgrade(x)
			return
		}
		if upgrade {
			s.fail(x, ErrBadRequest, true)
			return
		}
		ss.handlePolling(x)
		return
	}
	if method != http.MethodGet {
		s.fail(x, ErrBadHandshakeMethod, upgrade)
		return
	}
	if transport == WebSocket && !upgrade {
		s.fail(x, ErrBadRequest, false)
		return
	}
	if transport == Polling && upgrade {
		s.fail(x, ErrBadRequest, true)
		return
	}
	v3 := false
	if x.Query("EIO") != "4" {
		// engine.io takes any other revision, or none, for 3.
		if !s.cfg.AllowEIO3 {
			s.fail(x, ErrUnsupportedVersion, upgrade)
			return
		}
		v3 = true
	}
	if s.cfg.AllowRequest != nil {
		var err error
		if !s.callUser(x, "AllowRequest", func() { err = s.cfg.AllowRequest(x.Request()) }) {
			s.internalError(x, upgrade)
			return
		}
		if err != nil {
			e := &RequestError{Status: 403, Code: 4, Message: err.Error()}
			if upgrade {
				e = &RequestError{Status: 400, Code: 4, Message: err.Error()}
			}
			s.fail(x, e, upgrade)
			return
		}
	}
	s.handshake(x, transport, v3)
}

// isUpgrade reports whether x asks for a protocol upgrade: an Upgrade
// header, and "upgrade" among the Connection tokens.
func isUpgrade(x Exchange) bool {
	if x.Header("Upgrade") == "" {
		return false
	}
	for v := x.Header("Connection"); v != ""; {
		var tok string
		tok, v, _ = strings.Cut(v, ",")
		if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
			return true
		}
	}
	return false
}

// hasCTL reports whether s holds a control character, which makes an
// Origin header malformed.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

func (s *Server) handshake(x Exchange, transport string, v3 bool) {
	s.mu.RLock()
	closed, onConn := s.closed, s.onConn
	s.mu.RUnlock()
	if closed {
		s.fail(x, ErrBadRequest, transport == WebSocket)
		return
	}
	// Only a polling session counts as pending: it holds no connection
	// until its client comes back. A WebSocket session lives and ends with
	// its connection, which the file limit and the heartbeat bound.
	ip := hostOf(x.RemoteAddr())
	pending := transport == Polling
	if pending && !s.admitPending(ip) {
		s.fail(x, ErrTooManyPending, false)
		return
	}
	release := func() {
		if pending {
			s.releasePending(ip)
		}
	}
	kind := tPolling
	if transport == WebSocket {
		kind = tWebSocket
	}
	ss := newSession(s, newSID(), x, kind)
	if v3 {
		ss.flags = handshakeFlagsV3(x, kind)
	}
	ss.pending = pending
	// The handshake headers; nil, not an empty map, when nothing is
	// configured that could add one.
	var h http.Header
	if s.cfg.CORS != nil || s.cfg.Headers != nil || s.cfg.Cookie != nil || s.cfg.InitialHeaders != nil {
		var ok bool
		if h, ok = s.baseHeaders(x); !ok {
			release()
			s.internalError(x, transport == WebSocket)
			return
		}
	}
	if s.cfg.Cookie != nil {
		ck := *s.cfg.Cookie
		if ck.Name == "" {
			ck.Name = "io"
		}
		if ck.Path == "" {
			ck.Path = "/"
		}
		ck.Value = ss.id
		h.Add("Set-Cookie", ck.String())
	}
	if s.cfg.InitialHeaders != nil {
		if !s.callUser(x, "InitialHeaders", func() { s.cfg.InitialHeaders(h, x.Request()) }) {
			release()
			s.internalError(x, transport == WebSocket)
			return
		}
	}
	if transport == WebSocket {
		c, err := x.Upgrade(wsHeaders(h), (*wsTransport)(ss))
		if err != nil {
			ss.followedUp()
			s.refuseUpgrade(x, err)
			return
		}
		ss.mu.Lock()
		if !ss.isWS(c) { // else OnOpen did it
			ss.setLiveLocked(c, true)
		}
		l := ss.ws
		ss.mu.Unlock()
		// The client may send as soon as it has the open packet, and its
		// frames may be read on another goroutine (net/http's handover
		// to an event loop): they are held until the handler is set.
		defer ss.releaseHeld(l)
	}
	s.mu.Lock()
	s.sessions[ss.id] = ss
	late := s.closed // Close ran after the check above: it missed this one
	s.mu.Unlock()
	ss.open()
	if late {
		defer ss.Close()
	}
	if onConn != nil && !s.callUser(x, "OnConnection", func() { onConn(ss) }) {
		// The session cannot be served without its handler. A polling
		// handshake is answered 500; a WebSocket one had its 101
		// already (OnConnection runs once the transport is open), so
		// it is closed.
		if transport == Polling {
			ss.finish(codeForcedClose)
			s.internalError(x, false)
			return
		}
		ss.closeWith(codeForcedClose, true)
		return
	}
	if transport == Polling {
		ss.park(x, h)
	}
}

// newSID returns a 20-character URL-safe random id, like engine.io's base64id.
func newSID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// admitPending counts a new session as pending for client address ip, or
// reports false if a bound is reached.
func (s *Server) admitPending(ip string) bool {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	if max := s.cfg.MaxPendingSessions; max > 0 && s.pending >= max {
		return false
	}
	if max := s.cfg.MaxPendingSessionsPerIP; max > 0 && s.pendingFor[ip] >= max {
		return false
	}
	s.pending++
	s.pendingFor[ip]++
	return true
}

// releasePending undoes admitPending once the session is followed up or gone.
func (s *Server) releasePending(ip string) {
	s.pendMu.Lock()
	s.pending--
	if n := s.pendingFor[ip] - 1; n > 0 {
		s.pendingFor[ip] = n
	} else {
		delete(s.pendingFor, ip)
	}
	s.pendMu.Unlock()
}

// hostOf is the address part of a RemoteAddr ("ip:port").
func hostOf(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}
