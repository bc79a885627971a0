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

// Close closes the session from the server side (reason "forced close").
// Queued packets are delivered first.
func (s *Session) Close() { s.closeWith(codeForcedClose, true) }

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
	case 'b':
		// A binary message in base64, as a client with forceBase64 sends
		// it in a WebSocket text frame (engine.io-parser's decodePacket
		// reads it on every transport; polling bodies are decoded by
		// DecodePayload before they get here).
		raw, err := base64.StdEncoding.AppendDecode(nil, p[1:])
		if err != nil {
			s.closeWith(codeParseError, true)
			return false
		}
		s.deliver(raw, true)
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
