package eio

import (
	"encoding/base64"

	"github.com/gobwas/ws"

	"github.com/valyala/bytebufferpool"

	"github.com/sioloop/sioloop/wsframe"
)

// What the server sends a session, on whichever transport it is on: a
// WebSocket takes each message at once, polling queues it for the next GET
// (polling.go).

// scratchPool holds short-lived buffers: a text message being written to
// a WebSocket, a v3 poll's body (session_v3.go).
var scratchPool bytebufferpool.Pool

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
	if !s.lockOpen() {
		return
	}
	s.sendLocked(typeMessage, text)
	for _, b := range binaries {
		s.sendBinaryLocked(b)
	}
	s.unlockSent()
}

// SendBuilt is Send of a text message built after BeginBuild: m is
// BeginBuild's result with the text appended. A WebSocket gets it framed in
// place, so the text is copied once, into the connection's output. s
// writes into m's reserve and keeps nothing of m after the call. The
// binaries are copied.
func (s *Session) SendBuilt(m []byte, binaries ...[]byte) {
	if !s.lockOpen() {
		return
	}
	if s.transport == tWebSocket && !s.ws.deflate {
		m[wsframe.MaxHeaderSize] = typeMessage
		h := wsframe.PutHeader(m, wsframe.MaxHeaderSize, ws.OpText, len(m)-wsframe.MaxHeaderSize)
		s.ws.c.WriteFrames(m[h:])
	} else {
		s.sendLocked(typeMessage, m[BuildReserve:])
	}
	for _, b := range binaries {
		s.sendBinaryLocked(b)
	}
	s.unlockSent()
}

// SendBinary sends one binary message. b is copied.
func (s *Session) SendBinary(b []byte) {
	if !s.lockOpen() {
		return
	}
	s.sendBinaryLocked(b)
	s.unlockSent()
}

// SendPrepared sends a message encoded once for many sessions.
func (s *Session) SendPrepared(p *Prepared) {
	if l := s.live.Load(); l != nil {
		// The common case of a broadcast: no session lock. The
		// connection drops writes once it is closing.
		p.writeTo(l)
		return
	}
	if !s.lockOpen() {
		return
	}
	switch {
	case s.flags.v3():
		s.sendPreparedV3Locked(p)
	case s.transport == tWebSocket:
		p.writeTo(s.ws)
	default:
		s.appendRecordsLocked(p)
	}
	s.unlockSent()
}

// lockOpen begins a send: it takes s.mu and reports whether the session
// is open. When it is not, mu is released and nothing may be sent.
func (s *Session) lockOpen() bool {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return false
	}
	return true
}

// unlockSent ends a send begun with lockOpen: a GET that waits takes what
// was queued, and a polling client whose queue outgrew MaxOutboundBytes is
// closed as a slow consumer, once mu is released.
func (s *Session) unlockSent() {
	s.flushPollLocked()
	slow := s.pollOverflowLocked()
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
