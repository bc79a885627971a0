package eio

import (
	"bufio"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/valyala/bytebufferpool"

	"github.com/sioloop/sioloop/internal/timer"
)

const (
	stateOpen = iota
	stateClosing
	stateClosed
)

// Engine.IO packet types.
const (
	typeOpen    = '0'
	typeClose   = '1'
	typePing    = '2'
	typePong    = '3'
	typeMessage = '4'
	typeUpgrade = '5'
	typeNoop    = '6'
)

// recordSep separates packets in a polling payload.
const recordSep = 0x1e

var queuePool, scratchPool bytebufferpool.Pool

// record locates one queued polling packet in Session.q.
type record struct {
	end    int
	binary bool // "b"+base64 record
}

// Session is one Engine.IO connection, over polling, WebSocket, or polling
// upgraded to WebSocket. Its methods are safe from any goroutine.
type Session struct {
	srv    *Server
	id     string
	req    *http.Request // handshake request, when head is ""
	head   string        // handshake request head, when the provider gives it
	remote string
	hb     *timer.Timer // heartbeat: next ping, then the pong deadline

	mu sync.Mutex
	// The small fields sit together so that a Session fits a 256-byte
	// allocation class (one per connection).
	state        uint8                      // guarded by mu
	posting      bool                       // a POST is being processed; guarded by mu
	noopNext     bool                       // answer the next GET with a noop; guarded by mu
	awaitingPong bool                       // guarded by mu
	pending      bool                       // counted as not followed up (Server.admitPending); guarded by mu
	transport    string                     // guarded by mu
	ws           WSConn                     // current WebSocket; guarded by mu
	probe        WSConn                     // WebSocket being upgraded to; guarded by mu
	upTimer      *timer.Timer               // upgrade deadline; guarded by mu
	q            *bytebufferpool.ByteBuffer // queued polling records; guarded by mu
	recs         []record                   // guarded by mu
	get          Exchange                   // parked polling GET; guarded by mu
	closeReason  string                     // guarded by mu
	// live is the WebSocket transport while the session is open on one,
	// nil otherwise: SendPrepared's lock-free path for broadcasts. It is
	// stored under mu, after any packets queued for polling were moved
	// to the WebSocket, so a send that sees it never overtakes them.
	live atomic.Pointer[liveWS]

	onMessage func(data []byte, binary bool)
	onClose   func(reason string)
	onUpgrade func(transport string)
}

func newSession(srv *Server, id string, x Exchange) *Session {
	s := &Session{srv: srv, id: id, remote: x.RemoteAddr(), transport: Polling}
	if hc, ok := x.(HeadCopier); ok {
		s.head = hc.Head()
	} else {
		s.req = x.Request()
	}
	s.hb = srv.wheelFor(id).NewTimer(s.onHeartbeat)
	return s
}

// followedUp ends the session's pending state: the client sent a request
// or a frame (or the session is gone).
func (s *Session) followedUp() {
	s.mu.Lock()
	was := s.pending
	s.pending = false
	s.mu.Unlock()
	if was {
		s.srv.releasePending(hostOf(s.remote))
	}
}

// ID is the session id (the Engine.IO sid).
func (s *Session) ID() string { return s.id }

// Request returns the handshake request (without body). Sessions served by
// package loop keep only the request's raw head and parse it anew on each
// call, so call it once and keep the result if you need it often.
func (s *Session) Request() *http.Request {
	if s.head == "" {
		return s.req
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(s.head)))
	if err != nil {
		// The head was parsed once already; this cannot fail in practice.
		r = &http.Request{Method: http.MethodGet, URL: &url.URL{}, Header: http.Header{}}
	}
	r.RemoteAddr = s.remote
	return r
}

// RemoteAddr is the client's address, "ip:port".
func (s *Session) RemoteAddr() string { return s.remote }

// Transport is the current transport name: "polling" or "websocket".
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}

// Upgrading reports whether a WebSocket probe is in progress.
func (s *Session) Upgrading() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.probe != nil
}

// OnMessage sets the message handler. Set it inside Server.OnConnection.
// It runs on the transport's goroutine, one message at a time; data is
// valid only during the call.
func (s *Session) OnMessage(f func(data []byte, binary bool)) {
	s.mu.Lock()
	s.onMessage = f
	s.mu.Unlock()
}

// OnClose sets the handler told the close reason, once. Set it inside
// Server.OnConnection.
func (s *Session) OnClose(f func(reason string)) {
	s.mu.Lock()
	s.onClose = f
	s.mu.Unlock()
}

// OnUpgrade sets the handler told when the transport changes.
func (s *Session) OnUpgrade(f func(transport string)) {
	s.mu.Lock()
	s.onUpgrade = f
	s.mu.Unlock()
}

// Group is the event-loop index of the session's WebSocket, or 0.
func (s *Session) Group() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ws != nil {
		return s.ws.Group()
	}
	return 0
}

// Writable reports whether a volatile message should be sent now: the
// session is open and its transport is not backed up.
func (s *Session) Writable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return false
	}
	if s.ws != nil {
		return s.ws.Buffered() < volatileLimit
	}
	return s.get != nil
}

// volatileLimit is the queued byte count above which volatile packets are dropped.
const volatileLimit = 64 << 10

// Send sends one text message followed by binary messages, atomically with
// respect to other sends. The bytes are copied.
func (s *Session) Send(text []byte, binaries ...[]byte) {
	s.mu.Lock()
	if s.state == stateOpen {
		s.sendLocked(typeMessage, text)
		for _, b := range binaries {
			s.sendBinaryLocked(b)
		}
		s.flushPollLocked()
	}
	s.mu.Unlock()
}

// SendBinary sends one binary message. b is copied.
func (s *Session) SendBinary(b []byte) {
	s.mu.Lock()
	if s.state == stateOpen {
		s.sendBinaryLocked(b)
		s.flushPollLocked()
	}
	s.mu.Unlock()
}

// SendPrepared sends a message encoded once for many sessions.
func (s *Session) SendPrepared(p *Prepared) {
	if l := s.live.Load(); l != nil {
		// The common case of a broadcast: no session lock. The
		// connection drops writes once it is closing.
		l.c.WriteFrames(p.frames)
		return
	}
	s.mu.Lock()
	if s.state == stateOpen {
		if s.transport == WebSocket {
			s.ws.WriteFrames(p.frames)
		} else {
			s.appendRecordsLocked(p)
			s.flushPollLocked()
		}
	}
	s.mu.Unlock()
}

// SendPreparedBatch sends several prepared messages in order; frames must
// be the concatenation of their Frames(). A session open on a WebSocket
// takes frames in one write.
func (s *Session) SendPreparedBatch(frames []byte, ps []*Prepared) {
	if l := s.live.Load(); l != nil {
		l.c.WriteFrames(frames)
		return
	}
	for _, p := range ps {
		s.SendPrepared(p)
	}
}

// liveWS boxes a WSConn for atomic.Pointer.
type liveWS struct{ c WSConn }

// setLiveLocked publishes the WebSocket transport. Called with mu held.
func (s *Session) setLiveLocked(c WSConn) {
	s.ws = c
	s.transport = WebSocket
	s.live.Store(&liveWS{c: c})
}

// Close closes the session from the server side (reason "forced close").
// Queued packets are delivered first.
func (s *Session) Close() { s.closeWith(ReasonForcedClose, true) }

// sendLocked queues one text packet of type typ.
func (s *Session) sendLocked(typ byte, data []byte) {
	if s.transport == WebSocket {
		b := scratchPool.Get()
		b.B = append(append(b.B[:0], typ), data...)
		s.ws.WriteMessage(false, b.B)
		scratchPool.Put(b)
		return
	}
	s.startRecordLocked()
	s.q.B = append(append(s.q.B, typ), data...)
	s.recs = append(s.recs, record{end: len(s.q.B)})
}

func (s *Session) sendBinaryLocked(b []byte) {
	if s.transport == WebSocket {
		s.ws.WriteMessage(true, b)
		return
	}
	s.startRecordLocked()
	s.q.B = append(s.q.B, 'b')
	s.q.B = base64.StdEncoding.AppendEncode(s.q.B, b)
	s.recs = append(s.recs, record{end: len(s.q.B), binary: true})
}

func (s *Session) startRecordLocked() {
	if s.q == nil {
		s.q = queuePool.Get()
	}
	if len(s.recs) > 0 {
		s.q.B = append(s.q.B, recordSep)
	}
}

func (s *Session) appendRecordsLocked(p *Prepared) {
	start := 0
	for _, r := range p.recs {
		s.startRecordLocked()
		s.q.B = append(s.q.B, p.poll[start:r.end]...)
		s.recs = append(s.recs, record{end: len(s.q.B), binary: r.binary})
		start = r.end + 1
	}
}

// flushPollLocked answers the parked GET with as many queued packets as
// fit in maxPayload (at least one).
func (s *Session) flushPollLocked() { s.flushPollHeadersLocked(nil) }

// flushPollHeadersLocked is flushPollLocked answering with the headers h
// (the handshake's: CORS, cookie, InitialHeaders) when h is not nil.
func (s *Session) flushPollHeadersLocked(h http.Header) {
	if s.get == nil || len(s.recs) == 0 {
		return
	}
	limit := int(s.srv.cfg.MaxPayload)
	n := 1
	for n < len(s.recs) && s.recs[n].end <= limit {
		n++
	}
	end := s.recs[n-1].end
	x := s.get
	s.get = nil
	if h == nil {
		h = s.pollHeaders(x)
	} else {
		setPollHeaders(h)
	}
	x.Respond(http.StatusOK, h, s.q.B[:end])
	if n == len(s.recs) {
		s.q.B = s.q.B[:0]
		s.recs = s.recs[:0]
		queuePool.Put(s.q)
		s.q = nil
		return
	}
	// Keep the rest; drop the separator after the sent prefix.
	rest := copy(s.q.B, s.q.B[end+1:])
	s.q.B = s.q.B[:rest]
	m := copy(s.recs, s.recs[n:])
	s.recs = s.recs[:m]
	for i := range s.recs {
		s.recs[i].end -= end + 1
	}
}

func (s *Session) pollHeaders(x Exchange) http.Header {
	h := s.srv.baseHeaders(x)
	setPollHeaders(h)
	return h
}

func setPollHeaders(h http.Header) {
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
}

// open queues the open packet and starts the heartbeat.
func (s *Session) open() {
	c := &s.srv.cfg
	b := make([]byte, 0, 128)
	b = append(b, `{"sid":"`...)
	b = append(b, s.id...)
	if s.transport == Polling && !c.DisableUpgrades && c.enabled(WebSocket) {
		b = append(b, `","upgrades":["websocket"],"pingInterval":`...)
	} else {
		b = append(b, `","upgrades":[],"pingInterval":`...)
	}
	b = strconv.AppendInt(b, c.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, c.PingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, c.MaxPayload, 10)
	b = append(b, '}')
	s.mu.Lock()
	s.sendLocked(typeOpen, b)
	s.hb.Reset(c.PingInterval)
	s.mu.Unlock()
}

// onHeartbeat runs on a timer wheel: send a ping, or give up on the pong.
func (s *Session) onHeartbeat() {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		if s.state == stateClosing {
			s.finish(s.closeReason)
		}
		return
	}
	if s.awaitingPong {
		s.mu.Unlock()
		s.closeWith(ReasonPingTimeout, true)
		return
	}
	s.awaitingPong = true
	s.sendLocked(typePing, nil)
	s.flushPollLocked()
	s.hb.Reset(s.srv.cfg.PingTimeout)
	s.mu.Unlock()
}

func (s *Session) onPong() {
	s.mu.Lock()
	if s.state == stateOpen && s.awaitingPong {
		s.awaitingPong = false
		s.hb.Reset(s.srv.cfg.PingInterval)
	}
	s.mu.Unlock()
}

// closeWith ends the session for reason. With notify, the client is told:
// a close frame on WebSocket; on polling a close packet, sent once the
// packets still queued have been polled (engine.io waits for "drain"),
// in a response of its own.
func (s *Session) closeWith(reason string, notify bool) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	s.state = stateClosing
	s.closeReason = reason
	s.live.Store(nil)
	if s.probe != nil {
		s.probe.Close(0)
		s.probe = nil
	}
	if s.transport == WebSocket {
		s.ws.Close(0)
		s.mu.Unlock()
		s.finish(reason)
		return
	}
	if notify && reason == ReasonForcedClose {
		if len(s.recs) > 0 {
			// Let the parked (or next) poll take what is queued; the close
			// packet follows in the poll after it. Give up after a ping
			// timeout if the client stops polling.
			s.flushPollLocked()
			s.hb.Reset(s.srv.cfg.PingTimeout)
			s.mu.Unlock()
			return
		}
		if s.get == nil {
			s.hb.Reset(s.srv.cfg.PingTimeout)
			s.mu.Unlock()
			return
		}
	}
	if notify {
		s.respondCloseLocked()
	}
	s.mu.Unlock()
	s.finish(reason)
}

// respondCloseLocked answers the parked GET, if any, with a close packet.
func (s *Session) respondCloseLocked() {
	if x := s.get; x != nil {
		s.get = nil
		x.Respond(http.StatusOK, s.pollHeaders(x), []byte{typeClose})
	}
}

// finish releases the session and reports the close reason, once: the
// first reason recorded wins, so a transport that closes because the
// server closed it does not overwrite why the server did.
func (s *Session) finish(reason string) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	if s.closeReason == "" {
		s.closeReason = reason
	}
	reason = s.closeReason
	s.state = stateClosed
	wasPending := s.pending
	s.pending = false
	s.live.Store(nil)
	s.hb.Stop()
	if s.upTimer != nil {
		s.upTimer.Stop()
	}
	if s.probe != nil {
		s.probe.Close(0)
		s.probe = nil
	}
	if s.get != nil {
		// A client-side close releases the parked poll with a noop.
		s.get.Respond(http.StatusOK, s.pollHeaders(s.get), []byte{typeNoop})
		s.get = nil
	}
	if s.q != nil {
		s.q.Reset()
		queuePool.Put(s.q)
		s.q = nil
		s.recs = nil
	}
	f := s.onClose
	s.mu.Unlock()
	if wasPending {
		s.srv.releasePending(hostOf(s.remote))
	}
	s.srv.remove(s)
	if f != nil {
		f(reason)
	}
}

// deliver hands one message to the application.
func (s *Session) deliver(data []byte, binary bool) {
	s.mu.Lock()
	f := s.onMessage
	open := s.state == stateOpen
	s.mu.Unlock()
	if open && f != nil {
		f(data, binary)
	}
}

// handlePacket processes one text packet from the active transport. It
// reports false when the session was closed.
func (s *Session) handlePacket(p []byte) bool {
	if len(p) == 0 {
		s.closeWith(ReasonParseError, true)
		return false
	}
	switch p[0] {
	case typeMessage:
		s.deliver(p[1:], false)
	case typePong:
		s.onPong()
	case typeClose:
		s.closeWith(ReasonTransportClose, false)
		return false
	case typePing:
		// v4: only the server pings; a client ping is a protocol error.
		s.closeWith(ReasonTransportError, true)
		return false
	case typeNoop, typeUpgrade:
	default:
		s.closeWith(ReasonParseError, true)
		return false
	}
	return true
}
