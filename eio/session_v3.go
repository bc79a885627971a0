package eio

import (
	"encoding/base64"
	"net/http"

	"github.com/valyala/bytebufferpool"
)

// Engine.IO v3 sessions (Config.AllowEIO3), for socket.io-client 2.x,
// differ from v4 ones on the wire only:
//
//   - polling bodies are v3 payloads (payload_v3.go), and single-packet
//     answers "1:6" rather than "6";
//   - a binary message on WebSocket is a binary frame of the type byte 4
//     and the data, or, to a client that asked with b64=1, the text
//     frame "b4"+base64;
//   - the client pings and the server answers (heartbeat_v3.go).
//
// The queue keeps the v4 records: a poll's answer is transcoded when it
// is written. A v3 session never publishes its WebSocket for the
// lock-free broadcast path (setLiveLocked), since the prepared frames are
// v4's: its prepared messages are re-sent one packet at a time.

// sessionFlags holds a session's heartbeat state and protocol revision in
// one byte (a Session has no room for another word). The protocol bits
// are set at the handshake; like awaitingPong they are read under the
// session's mutex, since they share its byte.
type sessionFlags uint8

const (
	awaitingPong sessionFlags = 1 << iota // a ping is unanswered (v4); always set for v3
	protoV3                               // Engine.IO protocol revision 3
	protoPollB64                          // the polling client takes no binary payloads (b64=1)
	protoWSB64                            // the WebSocket it opened over takes binary as base64 text
)

func (f sessionFlags) v3() bool { return f&protoV3 != 0 }

// isV3 reports whether the session speaks v3.
func (s *Session) isV3() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flags.v3()
}

// handshakeFlagsV3 is the protocol of a v3 session opened by x over kind.
func handshakeFlagsV3(x Exchange, kind transportKind) sessionFlags {
	f := protoV3
	if x.Query("b64") != "" {
		if kind == tPolling {
			f |= protoPollB64
		} else {
			f |= protoWSB64
		}
	}
	return f
}

// singleLocked is the polling body of the one packet of type typ.
// Called with mu held.
func (s *Session) singleLocked(typ byte) []byte {
	if s.flags.v3() {
		return []byte{'1', ':', typ}
	}
	return []byte{typ}
}

// pollBodyV3 transcodes the first len(recs) queued records into a v3 body
// in a pooled buffer, which the caller returns to scratchPool; a binary
// body gets its content type in h. Called with mu held.
func (s *Session) pollBodyV3(h http.Header, recs []record) (*bytebufferpool.ByteBuffer, []byte) {
	b := scratchPool.Get()
	var binary bool
	b.B, binary = transcodeV3(b.B[:0], s.poll.q.B, recs, s.flags&protoPollB64 == 0)
	if binary {
		h.Set("Content-Type", "application/octet-stream")
	}
	return b, b.B
}

// wsB64Locked reports whether the session's WebSocket takes binary as
// base64 text. Called with mu held.
func (s *Session) wsB64Locked() bool {
	return s.flags&protoWSB64 != 0 || s.ws != nil && s.ws.b64
}

// writeBinaryV3 writes one binary message to c in the v3 form. Called
// with mu held.
func (s *Session) writeBinaryV3(c WSConn, b []byte) {
	s.writeQueuedBinary(c, b, s.wsB64Locked())
}

// writeQueuedBinary writes a binary message that waited for polling to c,
// the WebSocket the session upgrades to (asked with b64 or not). Called
// with mu held.
func (s *Session) writeQueuedBinary(c WSConn, raw []byte, b64 bool) {
	if !s.flags.v3() {
		c.WriteMessage(true, raw)
		return
	}
	buf := scratchPool.Get()
	if b64 {
		buf.B = append(buf.B[:0], 'b', typeMessage)
		buf.B = base64.StdEncoding.AppendEncode(buf.B, raw)
		c.WriteMessage(false, buf.B)
	} else {
		buf.B = append(append(buf.B[:0], typeMessage-'0'), raw...)
		c.WriteMessage(true, buf.B)
	}
	scratchPool.Put(buf)
}

// sendPreparedV3Locked sends the packets of p one at a time, in the v3
// form. Called with mu held, the session open.
func (s *Session) sendPreparedV3Locked(p *Prepared) {
	if p.text != nil {
		s.sendLocked(p.text[0], p.text[1:])
	}
	for _, b := range p.bins {
		s.sendBinaryLocked(b)
	}
	s.flushPollLocked()
}

// onFrameV3 handles a message from a v3 session's WebSocket: binary
// frames start with the packet type, text frames "b4" carry base64 binary.
func (s *Session) onFrameV3(binary bool, p []byte) {
	switch {
	case binary:
		if len(p) == 0 || p[0] != typeMessage-'0' {
			s.closeWith(codeParseError, true)
			return
		}
		s.deliver(p[1:], true)
	case len(p) > 0 && p[0] == 'b':
		raw, err := base64.StdEncoding.AppendDecode(nil, p[min(2, len(p)):])
		if len(p) < 2 || p[1] != typeMessage || err != nil {
			s.closeWith(codeParseError, true)
			return
		}
		s.deliver(raw, true)
	default:
		s.handlePacket(p)
	}
}

// Protocol is the session's Engine.IO protocol revision: 4, or 3 for a
// client served under Config.AllowEIO3.
func (s *Session) Protocol() int {
	if s.isV3() {
		return 3
	}
	return 4
}
