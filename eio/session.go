package eio

import (
	"bufio"
	"context"
	"encoding/base64"
	"log/slog"
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

// record locates one queued polling packet in pollState.q.
type record struct {
	end    int
	binary bool // "b"+base64 record
}

// transportKind is a session's current transport.
type transportKind uint8

const (
	tPolling transportKind = iota
	tWebSocket
)

// name is the transport's Engine.IO name: Polling or WebSocket.
func (t transportKind) name() string {
	if t == tWebSocket {
		return WebSocket
	}
	return Polling
}

// closeCode is a close reason, stored in a byte; its string is one of the
// Reason constants.
type closeCode uint8

const (
	codeNone closeCode = iota // no reason recorded yet
	codeTransportClose
	codeTransportError
	codePingTimeout
	codeParseError
	codeForcedClose
)

var closeReasons = [...]string{
	codeNone:           "",
	codeTransportClose: ReasonTransportClose,
	codeTransportError: ReasonTransportError,
	codePingTimeout:    ReasonPingTimeout,
	codeParseError:     ReasonParseError,
	codeForcedClose:    ReasonForcedClose,
}

func (c closeCode) String() string { return closeReasons[c] }

// Handler receives a session's events; set it with Session.SetHandler.
// A Handler that also implements UpgradeHandler is told when the transport
// changes.
//
// OnMessage runs one message at a time per session, never on two
// goroutines at once, in the order the client sent them; data is valid
// only during the call. It usually runs on the transport's goroutine; a
// message that arrived while another goroutine had input of the session
// to deliver (held.go) runs on that goroutine. binary tells a binary
// message from a text one. OnClose runs once, with one of the Reason
// constants, when the session has ended.
type Handler interface {
	OnMessage(data []byte, binary bool)
	OnClose(reason string)
}

// UpgradeHandler may be implemented by a Handler to be told when the
// session's transport changes: OnUpgrade runs with the new transport's
// name (WebSocket) once a polling session has upgraded.
type UpgradeHandler interface {
	OnUpgrade(transport string)
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
	// The small fields share one word, so that a Session fits the
	// 128-byte allocation class (one per connection).
	state       uint8         // guarded by mu
	posting     bool          // a POST is being processed; guarded by mu
	noopNext    bool          // the probe was answered with no GET parked: GETs wait (parkLateLocked); guarded by mu
	flags       sessionFlags  // awaiting a pong, and the protocol revision (session_v3.go); guarded by mu
	pending     bool          // counted as not followed up (Server.admitPending); guarded by mu
	inputPaused bool          // PauseInput is in effect; guarded by mu
	transport   transportKind // guarded by mu
	closeReason closeCode     // guarded by mu
	ws          *liveWS       // current WebSocket, nil before there is one; guarded by mu
	// poll is the polling and upgrade state. It is not nil exactly while
	// the session is on polling and not closed: it is dropped, under mu,
	// by the step that moves the session to WebSocket (completeUpgrade,
	// which first moves what is queued and answers the parked GET), and
	// by finish. Code that may run on another transport checks it for nil.
	poll *pollState // guarded by mu
	// live is the WebSocket transport while the session is open on one,
	// nil otherwise: SendPrepared's lock-free path for broadcasts. It is
	// stored under mu, after any packets queued for polling were moved
	// to the WebSocket, so a send that sees it never overtakes them. It
	// holds the same box as ws.
	live atomic.Pointer[liveWS]

	h Handler // guarded by mu
}

func newSession(srv *Server, id string, x Exchange, transport transportKind) *Session {
	s := &Session{srv: srv, id: id, remote: x.RemoteAddr(), transport: transport}
	if transport == tPolling {
		s.poll = &pollState{}
		if g, ok := x.(Grouper); ok {
			s.poll.group = int32(g.Group())
		}
	}
	if hc, ok := x.(HeadCopier); ok {
		s.head = hc.Head()
	}
	if s.head == "" {
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
	return s.transport.name()
}

// Upgrading reports whether a WebSocket probe is in progress.
func (s *Session) Upgrading() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.poll != nil && s.poll.probe != nil
}

// SetHandler sets the handler of the session's messages, close and (if h
// implements UpgradeHandler) transport change, replacing any handler or
// handler funcs set before. Set it inside Server.OnConnection, so that no
// message or close is missed. Storing a pointer in h costs the session no
// allocation, unlike OnMessage, OnClose and OnUpgrade; prefer it when every
// connection has a handler.
func (s *Session) SetHandler(h Handler) {
	s.mu.Lock()
	s.h = h
	s.mu.Unlock()
}

// OnMessage sets the message handler: f takes the place of the OnMessage
// method of the Handler set with SetHandler, if any (nil restores it). Set
// it inside Server.OnConnection. It runs on the transport's goroutine, one
// message at a time; data is valid only during the call.
func (s *Session) OnMessage(f func(data []byte, binary bool)) {
	s.mu.Lock()
	fh := s.funcHandlerLocked()
	fh.message = f
	s.h = fh
	s.mu.Unlock()
}

// OnClose sets the handler told the close reason, once: f takes the place
// of the OnClose method of the Handler set with SetHandler, if any (nil
// restores it). Set it inside Server.OnConnection.
func (s *Session) OnClose(f func(reason string)) {
	s.mu.Lock()
	fh := s.funcHandlerLocked()
	fh.close = f
	s.h = fh
	s.mu.Unlock()
}

// OnUpgrade sets the handler told when the transport changes: f takes the
// place of the OnUpgrade method of the Handler set with SetHandler, if it
// has one (nil restores it).
func (s *Session) OnUpgrade(f func(transport string)) {
	s.mu.Lock()
	fh := s.funcHandlerLocked()
	fh.upgrade = f
	s.h = fh
	s.mu.Unlock()
}

// funcHandler is the Handler behind OnMessage, OnClose and OnUpgrade: the
// funcs set, falling back on the Handler set with SetHandler. It is never
// changed once stored in a session (handlers run without the session lock),
// so each setter stores a changed copy.
type funcHandler struct {
	next    Handler // set with SetHandler, or nil
	message func(data []byte, binary bool)
	close   func(reason string)
	upgrade func(transport string)
}

// funcHandlerLocked returns a new funcHandler equal to the session's
// handler, for a setter to change and store.
func (s *Session) funcHandlerLocked() *funcHandler {
	if fh, ok := s.h.(*funcHandler); ok {
		c := *fh
		return &c
	}
	return &funcHandler{next: s.h}
}

func (fh *funcHandler) OnMessage(data []byte, binary bool) {
	if fh.message != nil {
		fh.message(data, binary)
	} else if fh.next != nil {
		fh.next.OnMessage(data, binary)
	}
}

func (fh *funcHandler) OnClose(reason string) {
	if fh.close != nil {
		fh.close(reason)
	} else if fh.next != nil {
		fh.next.OnClose(reason)
	}
}

func (fh *funcHandler) OnUpgrade(transport string) {
	if fh.upgrade != nil {
		fh.upgrade(transport)
	} else if u, ok := fh.next.(UpgradeHandler); ok {
		u.OnUpgrade(transport)
	}
}

// Group is the event-loop index of the session's WebSocket, or, while it
// polls, that of its handshake request's connection (when the provider's
// exchanges implement Grouper; else 0).
func (s *Session) Group() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ws != nil:
		return s.ws.c.Group()
	case s.poll != nil:
		return int(s.poll.group)
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
		return s.ws.c.Buffered() < volatileLimit
	}
	return s.poll != nil && s.poll.get != nil
}

// volatileLimit is the queued byte count above which volatile packets are dropped.
const volatileLimit = 64 << 10

// Send sends one text message followed by binary messages, atomically with
// respect to other sends. The bytes are copied.
func (s *Session) Send(text []byte, binaries ...[]byte) {
	s.mu.Lock()
	slow := false
	if s.state == stateOpen {
		s.sendLocked(typeMessage, text)
		for _, b := range binaries {
			s.sendBinaryLocked(b)
		}
		s.flushPollLocked()
		slow = s.pollOverflowLocked()
	}
	s.mu.Unlock()
	if slow {
		s.closeSlowPoller()
	}
}

// SendBinary sends one binary message. b is copied.
func (s *Session) SendBinary(b []byte) {
	s.mu.Lock()
	slow := false
	if s.state == stateOpen {
		s.sendBinaryLocked(b)
		s.flushPollLocked()
		slow = s.pollOverflowLocked()
	}
	s.mu.Unlock()
	if slow {
		s.closeSlowPoller()
	}
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

// SendPrepared sends a message encoded once for many sessions.
func (s *Session) SendPrepared(p *Prepared) {
	if l := s.live.Load(); l != nil {
		// The common case of a broadcast: no session lock. The
		// connection drops writes once it is closing.
		p.writeTo(l)
		return
	}
	s.mu.Lock()
	slow := false
	if s.state == stateOpen {
		if s.flags.v3() {
			s.sendPreparedV3Locked(p)
			slow = s.pollOverflowLocked()
		} else if s.transport == tWebSocket {
			p.writeTo(s.ws)
		} else {
			s.appendRecordsLocked(p)
			s.flushPollLocked()
			slow = s.pollOverflowLocked()
		}
	}
	s.mu.Unlock()
	if slow {
		s.closeSlowPoller()
	}
}

// SendPreparedBatch sends several prepared messages in order; frames must
// be the concatenation of their Frames(). A session open on a WebSocket
// takes frames in one write (a connection that negotiated
// permessage-deflate takes each message's compressed frames in turn).
func (s *Session) SendPreparedBatch(frames []byte, ps []*Prepared) {
	if l := s.live.Load(); l != nil {
		if l.deflate {
			for _, p := range ps {
				p.writeTo(l)
			}
			return
		}
		l.c.WriteFrames(frames)
		return
	}
	for _, p := range ps {
		s.SendPrepared(p)
	}
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

// PauseInput asks the transport to stop delivering the client's messages
// until ResumeInput: the caller (sio's mailbox) has more queued than it
// will hold. On WebSocket the connection stops being read, so the client
// is slowed by TCP flow control. On polling, a POST's packets are still
// delivered (its body was read already) but its answer is held until
// ResumeInput, the upgrade or the end of the session, so a client sends
// no more: input is bounded by one POST body. Writes to the client go on.
// Idempotent; safe from any goroutine.
func (s *Session) PauseInput() {
	s.mu.Lock()
	if !s.inputPaused {
		s.inputPaused = true
		if s.ws != nil {
			pauseRead(s.ws.c)
		}
	}
	s.mu.Unlock()
}

// ResumeInput undoes PauseInput. Idempotent; safe from any goroutine.
func (s *Session) ResumeInput() {
	s.mu.Lock()
	var post Exchange
	if s.inputPaused {
		s.inputPaused = false
		if s.ws != nil {
			resumeRead(s.ws.c)
		}
		post = s.takeHeldPostLocked()
	}
	s.mu.Unlock()
	if post != nil {
		s.respondOK(post)
	}
}

// takeHeldPostLocked returns the POST whose answer waits for ResumeInput,
// if any, and ends it: the client may post again. Called with mu held.
func (s *Session) takeHeldPostLocked() Exchange {
	p := s.poll
	if p == nil || p.heldPost == nil {
		return nil
	}
	x := p.heldPost
	p.heldPost = nil
	s.posting = false
	return x
}

// pauseRead and resumeRead forward to c when its provider can pause reads.
func pauseRead(c WSConn) {
	if p, ok := c.(ReadPauser); ok {
		p.PauseRead()
	}
}

func resumeRead(c WSConn) {
	if p, ok := c.(ReadPauser); ok {
		p.ResumeRead()
	}
}

// Close closes the session from the server side (reason "forced close").
// Queued packets are delivered first.
func (s *Session) Close() { s.closeWith(codeForcedClose, true) }

// sendLocked queues one text packet of type typ.
func (s *Session) sendLocked(typ byte, data []byte) {
	if s.transport == tWebSocket {
		b := scratchPool.Get()
		b.B = append(append(b.B[:0], typ), data...)
		s.ws.c.WriteMessage(false, b.B)
		scratchPool.Put(b)
		return
	}
	p := s.startRecordLocked()
	p.q.B = append(append(p.q.B, typ), data...)
	p.recs = append(p.recs, record{end: len(p.q.B)})
}

func (s *Session) sendBinaryLocked(b []byte) {
	if s.transport == tWebSocket {
		if s.flags.v3() {
			s.writeBinaryV3(s.ws.c, b)
			return
		}
		s.ws.c.WriteMessage(true, b)
		return
	}
	p := s.startRecordLocked()
	p.q.B = append(p.q.B, 'b')
	p.q.B = base64.StdEncoding.AppendEncode(p.q.B, b)
	p.recs = append(p.recs, record{end: len(p.q.B), binary: true})
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
	for _, r := range pr.recs {
		p := s.startRecordLocked()
		p.q.B = append(p.q.B, pr.poll[start:r.end]...)
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

// open queues the open packet and starts the heartbeat.
func (s *Session) open() {
	c := &s.srv.cfg
	b := make([]byte, 0, 128)
	b = append(b, `{"sid":"`...)
	b = append(b, s.id...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transport == tPolling && !c.DisableUpgrades && c.enabled(WebSocket) {
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
	s.sendLocked(typeOpen, b)
	if s.flags.v3() {
		s.startHeartbeatV3Locked()
	} else {
		s.hb.Reset(c.PingInterval)
	}
	s.logSession("opened", "transport", s.transport.name())
}

// onHeartbeat runs on a timer wheel: send a ping, or give up on the pong.
func (s *Session) onHeartbeat() {
	s.mu.Lock()
	if s.state != stateOpen {
		closing := s.state == stateClosing
		s.mu.Unlock()
		if closing {
			s.finish(codeNone)
		}
		return
	}
	if s.flags&awaitingPong != 0 {
		s.mu.Unlock()
		s.closeWith(codePingTimeout, true)
		return
	}
	s.flags |= awaitingPong
	s.sendLocked(typePing, nil)
	s.flushPollLocked()
	s.hb.Reset(s.srv.cfg.PingTimeout)
	s.mu.Unlock()
}

// onPong handles a pong; false if the session speaks v3, whose clients
// send none.
func (s *Session) onPong() bool {
	s.mu.Lock()
	if s.flags.v3() {
		s.mu.Unlock()
		return false
	}
	if s.state == stateOpen && s.flags&awaitingPong != 0 {
		s.flags &^= awaitingPong
		s.hb.Reset(s.srv.cfg.PingInterval)
	}
	s.mu.Unlock()
	return true
}

// closeWith ends the session for reason. With notify, the client is told:
// a close frame on WebSocket; on polling a close packet, sent once the
// packets still queued have been polled (engine.io waits for "drain"),
// in a response of its own.
func (s *Session) closeWith(reason closeCode, notify bool) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	s.state = stateClosing
	s.closeReason = reason
	s.live.Store(nil)
	if s.transport == tWebSocket {
		s.ws.c.Close(0)
		s.mu.Unlock()
		s.finish(reason)
		return
	}
	p := s.poll // on polling and not closed: not nil
	if p.probe != nil {
		p.probe.Close(0)
		p.probe = nil
	}
	if notify && reason == codeForcedClose {
		if len(p.recs) > 0 {
			// Let the parked (or next) poll take what is queued; the close
			// packet follows in the poll after it. Give up after a ping
			// timeout if the client stops polling.
			s.flushPollLocked()
			s.hb.Reset(s.srv.cfg.PingTimeout)
			s.mu.Unlock()
			return
		}
		if p.get == nil {
			s.hb.Reset(s.srv.cfg.PingTimeout)
			s.mu.Unlock()
			return
		}
	}
	parked := notify && s.respondCloseLocked()
	// A ping timeout with no poll parked, for a client that took every
	// packet (its ping too): it is between two polls, its next one is on
	// its way and gets the close packet, so that the client reads the
	// timeout as a "transport close" whatever the race between its poll
	// and the server's timer. (engine.io answers that poll with a 400 for
	// an unknown sid, which the client reports as a "transport error";
	// and so do we for the other closes, as the conformance suite checks
	// after a parse error.) A client with packets still waiting has
	// stopped polling: nothing is kept for it.
	noticeNext := notify && !parked && reason == codePingTimeout && !s.queuedLocked()
	v3 := s.flags.v3()
	s.mu.Unlock()
	if noticeNext {
		s.srv.rememberClosedPoll(s.id, typeClose, v3, closeNoticeGrace)
	}
	s.finish(reason)
}

// respondCloseLocked answers the parked GET, if any, with a close packet,
// and reports whether there was one.
func (s *Session) respondCloseLocked() bool {
	if p := s.poll; p != nil && p.get != nil {
		x := p.get
		p.get = nil
		s.srv.respondPoll(x, s.singleLocked(typeClose))
		return true
	}
	return false
}

// finish releases the session and reports the close reason, once: the
// first reason recorded wins, so a transport that closes because the
// server closed it does not overwrite why the server did. codeNone keeps
// the recorded one.
func (s *Session) finish(reason closeCode) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	if s.closeReason == codeNone {
		s.closeReason = reason
	}
	reason = s.closeReason
	s.state = stateClosed
	wasPending := s.pending
	s.pending = false
	s.live.Store(nil)
	s.hb.Stop()
	if p := s.poll; p != nil {
		s.poll = nil
		if p.upTimer != nil {
			p.upTimer.Stop()
		}
		if p.probe != nil {
			p.probe.Close(0)
		}
		if p.lateTimer != nil {
			p.lateTimer.Stop()
		}
		if x := p.heldPost; x != nil {
			// Its packets were delivered: it is answered as usual.
			p.heldPost = nil
			defer s.respondOK(x)
		}
		if x := p.get; x != nil {
			// A client-side close releases the parked poll with a noop.
			p.get = nil
			s.srv.respondPoll(x, s.singleLocked(typeNoop))
		} else if reason == codeTransportClose {
			// The client closed over polling with no poll parked: its
			// poll may be on its way (on another connection, so it can be
			// read after the close). It gets the same noop.
			s.srv.rememberClosedPoll(s.id, typeNoop, s.flags.v3(), closedPollGrace)
		}
		p.releaseQueue()
	}
	h := s.h
	s.mu.Unlock()
	if wasPending {
		s.srv.releasePending(hostOf(s.remote))
	}
	s.srv.remove(s)
	s.logSession("closed", "reason", reason.String())
	if h != nil {
		h.OnClose(reason.String())
	}
}

// deliver hands one message to the application.
func (s *Session) deliver(data []byte, binary bool) {
	s.mu.Lock()
	h := s.h
	open := s.state == stateOpen
	s.mu.Unlock()
	if open && h != nil {
		h.OnMessage(data, binary)
	}
}

// handlePacket processes one text packet from the active transport. It
// reports false when the session was closed.
func (s *Session) handlePacket(p []byte) bool {
	if len(p) == 0 {
		s.closeWith(codeParseError, true)
		return false
	}
	switch p[0] {
	case typeMessage:
		s.deliver(p[1:], false)
	case typePong:
		if !s.onPong() {
			s.closeWith(codeTransportError, true) // the v3 server only answers pings
			return false
		}
	case typeClose:
		s.closeWith(codeTransportClose, false)
		return false
	case typePing:
		if s.onPingV3(p[1:]) {
			return true
		}
		// v4: only the server pings; a client ping is a protocol error.
		s.closeWith(codeTransportError, true)
		return false
	case typeNoop, typeUpgrade:
	default:
		s.closeWith(codeParseError, true)
		return false
	}
	return true
}
