package eio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"hash/maphash"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sioloop/sioloop/internal/timer"
	"github.com/sioloop/sioloop/wsframe"
)

// Server is an Engine.IO v4 server. It is transport-agnostic: a provider
// (package loop, or ServeHTTP for net/http) hands it requests through Handle.
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

func (s *Server) handshake(x Exchange, transport string, v3 bool) {
	s.mu.RLock()
	closed, onConn := s.closed, s.onConn
	s.mu.RUnlock()
	if closed {
		s.fail(x, ErrBadRequest, transport == WebSocket)
		return
	}
	ip := hostOf(x.RemoteAddr())
	if !s.admitPending(ip) {
		s.fail(x, ErrTooManyPending, transport == WebSocket)
		return
	}
	kind := tPolling
	if transport == WebSocket {
		kind = tWebSocket
	}
	ss := newSession(s, newSID(), x, kind)
	if v3 {
		ss.flags = handshakeFlagsV3(x, kind)
	}
	ss.pending = true
	// The handshake headers; nil, not an empty map, when nothing is
	// configured that could add one.
	var h http.Header
	if s.cfg.CORS != nil || s.cfg.Headers != nil || s.cfg.Cookie != nil || s.cfg.InitialHeaders != nil {
		var ok bool
		if h, ok = s.baseHeaders(x); !ok {
			s.releasePending(ip)
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
			s.releasePending(ip)
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

func (s *Server) wheelFor(sid string) *timer.Wheel {
	return s.wheels[maphash.String(s.seed, sid)%uint64(len(s.wheels))]
}

// fail refuses a request. Upgrade requests get engine.io's plain-text 400
// before any upgrade; others the JSON body.
func (s *Server) fail(x Exchange, e *RequestError, upgrade bool) {
	s.logRefused(x, e)
	s.refused.add(e.Code)
	if s.cfg.OnConnectionError != nil {
		// A panic here is logged; the refusal is answered all the same.
		s.callUser(x, "OnConnectionError", func() { s.cfg.OnConnectionError(x.Request(), e) })
	}
	if upgrade {
		status := e.Status
		if status == 403 {
			status = 400
		}
		// Like ws and engine.io: a refused upgrade ends the connection.
		h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Connection": {"close"}}
		x.Respond(status, h, []byte(e.Message))
		return
	}
	s.respond(x, e.Status, "application/json", e.body())
}

// refuseUpgrade answers a WebSocket handshake the transport refused, with
// the ws package's message (e.g. "Missing or invalid Sec-WebSocket-Key
// header") and headers, then closes the connection.
func (s *Server) refuseUpgrade(x Exchange, err error) {
	var he *wsframe.HandshakeError
	if !errors.As(err, &he) {
		s.fail(x, ErrBadRequest, true)
		return
	}
	s.logRefused(x, &RequestError{Status: he.Status, Code: 3, Message: he.Message})
	s.refused.add(3)
	if s.cfg.OnConnectionError != nil {
		s.callUser(x, "OnConnectionError", func() {
			s.cfg.OnConnectionError(x.Request(), &RequestError{Status: he.Status, Code: 3, Message: he.Message})
		})
	}
	h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Connection": {"close"}}
	if name, value, ok := strings.Cut(he.Header, ":"); ok {
		h.Set(name, strings.TrimSpace(value))
	}
	x.Respond(he.Status, h, []byte(he.Message))
}

// respond answers x with status and body, the CORS and user headers
// (baseHeaders) and contentType when not "", or with 500 if a header
// callback panicked.
func (s *Server) respond(x Exchange, status int, contentType string, body []byte) {
	h, ok := s.baseHeaders(x)
	if !ok {
		s.internalError(x, false)
		return
	}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	x.Respond(status, h, body)
}

// respondPoll answers a poll with status 200 and body.
func (s *Server) respondPoll(x Exchange, body []byte) {
	h, ok := s.pollHeaders(x)
	if !ok {
		s.internalError(x, false)
		return
	}
	x.Respond(http.StatusOK, h, body)
}

// pollHeaders are the headers of a poll's answer; false if a header
// callback panicked.
func (s *Server) pollHeaders(x Exchange) (http.Header, bool) {
	h, ok := s.baseHeaders(x)
	if ok {
		setPollHeaders(h)
	}
	return h, ok
}

// baseHeaders returns the CORS and user headers every polling response
// carries, in a new map that the caller may add to. It reports false if
// CORS.AllowOrigin or Config.Headers panicked (logged by callUser): the
// caller answers 500 instead.
func (s *Server) baseHeaders(x Exchange) (http.Header, bool) {
	h := make(http.Header, 4)
	if c := s.cfg.CORS; c != nil {
		var origin string
		ok := true
		if c.AllowOrigin == nil {
			origin, ok = c.allow(x.Header("Origin"))
		} else if !s.callUser(x, "CORS.AllowOrigin", func() { origin, ok = c.allow(x.Header("Origin")) }) {
			return nil, false
		}
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
			if origin != "*" {
				h.Add("Vary", "Origin")
			}
			if c.Credentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
			if len(c.ExposedHeaders) > 0 {
				h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposedHeaders, ","))
			}
		}
	}
	if s.cfg.Headers != nil && !s.callUser(x, "Headers", func() { s.cfg.Headers(h, x.Request()) }) {
		return nil, false
	}
	return h, true
}

func (s *Server) preflight(x Exchange) {
	h, ok := s.baseHeaders(x)
	if !ok {
		s.internalError(x, false)
		return
	}
	c := s.cfg.CORS
	methods := "GET,HEAD,PUT,PATCH,POST,DELETE"
	if len(c.Methods) > 0 {
		methods = strings.Join(c.Methods, ",")
	}
	h.Set("Access-Control-Allow-Methods", methods)
	if len(c.AllowedHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowedHeaders, ","))
	} else if rh := x.Header("Access-Control-Request-Headers"); rh != "" {
		h.Set("Access-Control-Allow-Headers", rh)
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
	}
	x.Respond(http.StatusNoContent, h, nil)
}

// allow decides the Access-Control-Allow-Origin value for origin.
func (c *CORS) allow(origin string) (string, bool) {
	if c.AllowOrigin != nil {
		if origin != "" && c.AllowOrigin(origin) {
			return origin, true
		}
		return "", false
	}
	for _, o := range c.Origins {
		if o == "*" {
			if c.Credentials && origin != "" {
				return origin, true
			}
			return "*", true
		}
		if o == origin && origin != "" {
			return origin, true
		}
	}
	return "", false
}

// wsHeaders keeps the headers that matter on a 101 answer (no CORS); nil
// when none is left.
func wsHeaders(h http.Header) http.Header {
	var out http.Header
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-") || k == "Vary" {
			continue
		}
		if out == nil {
			out = make(http.Header, len(h))
		}
		out[k] = v
	}
	return out
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

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

// newSID returns a 20-character URL-safe random id, like engine.io's base64id.
func newSID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
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
