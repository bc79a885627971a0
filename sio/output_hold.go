package sio

import (
	"bytes"
	"sync"

	"github.com/sioloop/sioloop/eio"
)

// Held output: what a socket is sent while its connection handlers run.
//
// socket.io writes the CONNECT reply and then runs the connection handlers
// before its event loop can write anything, so what the synchronous part of
// a handler does (join rooms, set data, emit) is in place before the client
// learns it is connected. Here the handlers run in the socket's mailbox,
// concurrently with the transport: without care, a client told "connected"
// could have another client broadcast to a room its own handler has not
// joined yet, and miss the broadcast.
//
// So a new socket's output is held from just before its CONNECT reply until
// its connection handlers return: every write to it (the CONNECT reply, its
// handlers' emits, broadcasts that reach it) is kept, in order, and then
// written in one go. A handler that waits for its own client releases the
// hold first, since the client cannot answer what it has not received:
// Socket.EmitWithAck releases its socket's hold, and BroadcastOperator's
// EmitWithAck the holds of the sockets it reached on this node; so does a disconnect, so the client sees CONNECT then
// DISCONNECT, as from socket.io. Past maxHeldBytes the hold is released
// early, so a handler that blocks a long time delays the CONNECT reply, but
// memory stays bounded.
//
// Writes are held where they would reach the session (Socket.write, and
// broadcastOp.Run on the loop), which is where their order is fixed (see
// ordered.go), and the release runs at that same place (queued on the loop
// behind the writes before it when the loop has work queued), so holding
// reorders nothing.

// maxHeldBytes bounds the output one socket holds while its connection
// handlers run. The CONNECT reply and a few emits are a few hundred bytes.
const maxHeldBytes = 1 << 20

// outputHold is the output kept for one socket. Socket.hold points to it
// while the hold lasts.
//
// A socket's CONNECT reply is usually all its hold ever keeps: connect, a
// flag, stands for it, and the reply is encoded when the hold is written
// out. Every connection would otherwise leave behind a copy of the reply
// and a one-element slice for it (112 bytes of garbage per connect).
type outputHold struct {
	mu       sync.Mutex
	released bool // written out: later writes go to the session; guarded by mu
	connect  bool // the CONNECT reply comes first (holdConnect); guarded by mu
	msgs     []heldMessage
	bytes    int
}

// heldMessage is one kept write: a built message with its attachments
// (owned copies), or a prepared broadcast.
type heldMessage struct {
	msg  []byte // eio.BuildReserve bytes, then the packet's text
	atts [][]byte
	prep *eio.Prepared
}

// holdOutput starts holding s's output. Mailbox only, before s is published.
func (s *Socket) holdOutput() { s.hold.Store(&outputHold{}) }

// holdConnect starts holding s's output with its CONNECT reply first, as
// holdOutput then Server.sendConnect would, without building the reply
// until the hold is written out. Mailbox only, before s is published.
func (s *Socket) holdConnect() { s.hold.Store(&outputHold{connect: true}) }

// writeConnect writes s's CONNECT reply to its session now. Where writes
// reach the session only.
func (s *Socket) writeConnect() {
	b := getBuf()
	b.B = s.appendConnect(eio.BeginBuild(b.B[:0]))
	s.account(b.B, nil)
	s.client.sendMessage(b.B, nil)
	putBuf(b)
}

// keep adds m to the hold unless it was released, and reports whether it
// did. Called where the write would reach the session.
func (h *outputHold) keep(s *Socket, m heldMessage) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return false
	}
	if m.prep == nil {
		m.msg = bytes.Clone(m.msg)
		m.atts = cloneAll(m.atts)
		h.bytes += len(m.msg)
		for _, a := range m.atts {
			h.bytes += len(a)
		}
	} else {
		h.bytes += len(m.prep.Frames())
	}
	h.msgs = append(h.msgs, m)
	if h.bytes > maxHeldBytes {
		h.writeOutLocked(s)
	}
	return true
}

// writeOutLocked writes what is held to s's session, in order, and ends the
// hold. Called with mu held.
func (h *outputHold) writeOutLocked(s *Socket) {
	sess := s.client.sess
	if h.connect {
		s.writeConnect()
	}
	for _, m := range h.msgs {
		if m.prep != nil {
			sess.SendPrepared(m.prep)
		} else {
			s.client.sendMessage(m.msg, m.atts)
		}
	}
	h.msgs, h.bytes, h.connect, h.released = nil, 0, false, true
	s.hold.Store(nil)
}

// releaseOutput ends s's hold, if any: what it kept is written in its place
// among the writes to s (behind those queued on the loop before it).
func (s *Socket) releaseOutput() {
	if s.hold.Load() == nil {
		return
	}
	if e := s.client.queuedExecutor(); e != nil {
		s.client.postWrite(e, s.flushHold)
		return
	}
	s.flushHold()
}

// flushHold writes out s's hold now. Where writes reach the session only.
func (s *Socket) flushHold() {
	h := s.hold.Load()
	if h == nil {
		return
	}
	h.mu.Lock()
	if !h.released {
		h.writeOutLocked(s)
	}
	h.mu.Unlock()
}

// send sends a message built after eio.BeginBuild (msg: the reserve, then
// the packet's text) to s in order with queued broadcasts (ordered.go);
// the inputs are copied if the send is deferred.
func (s *Socket) send(msg []byte, atts ...[]byte) {
	s.account(msg, atts)
	if e := s.client.queuedExecutor(); e != nil {
		msg, atts = bytes.Clone(msg), cloneAll(atts)
		s.client.postWrite(e, func() { s.write(msg, atts) })
		return
	}
	s.write(msg, atts)
}

// account traces and counts a built message sent to s.
func (s *Socket) account(msg []byte, atts [][]byte) {
	s.traceOut(msg[eio.BuildReserve:], len(atts))
	if st := s.nsp.srv.stats.Load(); st != nil {
		st.countSend(s.client.group.Load(), msg[eio.BuildReserve:], atts)
	}
}

// write hands a built message to the session, or to the hold.
func (s *Socket) write(msg []byte, atts [][]byte) {
	if h := s.hold.Load(); h != nil && h.keep(s, heldMessage{msg: msg, atts: atts}) {
		return
	}
	s.client.sendMessage(msg, atts)
}

// sendPrepared sends a prepared message to s in order with queued broadcasts.
func (s *Socket) sendPrepared(p *eio.Prepared) {
	if e := s.client.queuedExecutor(); e != nil {
		s.client.postWrite(e, func() { s.writePrepared(p) })
		return
	}
	s.writePrepared(p)
}

// writePrepared hands a prepared message to the session, or to the hold.
func (s *Socket) writePrepared(p *eio.Prepared) {
	if h := s.hold.Load(); h != nil && h.keep(s, heldMessage{prep: p}) {
		return
	}
	s.client.sess.SendPrepared(p)
}

// writeBatch hands the prepared messages of a merged broadcast (frames:
// their WebSocket frames back to back) to the session, or to the hold. On
// the loop only.
func (s *Socket) writeBatch(frames []byte, ps []*eio.Prepared) {
	if h := s.hold.Load(); h != nil {
		for i, p := range ps {
			if !h.keep(s, heldMessage{prep: p}) {
				// Released, by this call past maxHeldBytes or before it:
				// the rest goes to the session.
				for _, p := range ps[i:] {
					s.client.sess.SendPrepared(p)
				}
				return
			}
		}
		return
	}
	s.client.sess.SendPreparedBatch(frames, ps)
}
