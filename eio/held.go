package eio

// Held input: the frames of a WebSocket that may not reach the handler yet.
//
// A session's Handler.OnMessage never runs on two goroutines at once, but
// two goroutines can have input for one session at the same time:
//
//   - the handshake: a provider that hands the WebSocket to another
//     goroutine (net/http's handover to an event loop) may read the
//     client's first frames before Server.OnConnection has installed the
//     handler, on the goroutine that ran the handshake;
//   - the upgrade: the client may complete a polling→WebSocket upgrade
//     while the server is still delivering the packets of a POST, on the
//     POST's goroutine, and follow with frames on the WebSocket.
//
// In both cases the WebSocket is marked held: its frames are copied, in
// order, into a backlog, and the goroutine that ends the condition (the
// handshake once OnConnection returned, the POST once its packets were
// delivered) processes them before it clears the mark. So messages keep
// their order (the POST's packets before the frames that follow the
// upgrade) and the handler sees one message at a time. A well-behaved
// client sends nothing in either window, or a CONNECT at most: the backlog
// is bounded by Config.MaxPayload bytes, past which the frames are dropped
// and the session is closed as a transport error. The end of the
// connection waits in the backlog too, so that the handler is told of it
// (OnClose), after the messages that preceded it.

// heldFrame is a copy of one frame received while its WebSocket was held.
type heldFrame struct {
	binary bool
	data   []byte
}

// backlog is the frames held for a WebSocket, allocated by the first one.
type backlog struct {
	frames   []heldFrame
	bytes    int  // total len of the frames' data
	overflow bool // past the bound: frames dropped, the session is to close
	ended    bool // the connection ended (endErr: how)
	endErr   error
}

// backlogOf returns l's backlog, allocating it. Called with mu held.
func (l *liveWS) backlogOf() *backlog {
	if l.backlog == nil {
		l.backlog = &backlog{}
	}
	return l.backlog
}

// holdFrameLocked keeps a copy of a frame from l, which is held; past the
// bound it drops them all and marks the backlog overflowed. Called with
// mu held.
func (s *Session) holdFrameLocked(l *liveWS, binary bool, p []byte) {
	b := l.backlogOf()
	switch {
	case b.overflow || b.ended:
	case b.bytes+len(p) > int(s.srv.cfg.MaxPayload):
		b.overflow = true
		b.frames, b.bytes = nil, 0
	default:
		b.frames = append(b.frames, heldFrame{binary: binary, data: append([]byte(nil), p...)})
		b.bytes += len(p)
	}
}

// holdEndLocked records that l, which is held, ended with err. Called with
// mu held.
func (l *liveWS) holdEndLocked(err error) {
	b := l.backlogOf()
	b.ended, b.endErr = true, err
}

// releaseHeld processes the frames held for l, in order, then lets l's
// frames through. It runs on the goroutine that ended the hold; frames
// that arrive meanwhile join the backlog, so they stay in order too.
func (s *Session) releaseHeld(l *liveWS) {
	for {
		s.mu.Lock()
		b := l.backlog
		current := s.ws == l
		if !current || b == nil || len(b.frames) == 0 {
			l.held = false
			l.backlog = nil
			s.mu.Unlock()
			switch {
			case !current || b == nil:
			case b.overflow:
				s.closeWith(codeTransportError, true)
			case b.ended:
				s.onWSClose(l.c, b.endErr)
			}
			return
		}
		f := b.frames[0]
		b.frames[0] = heldFrame{}
		b.frames = b.frames[1:]
		b.bytes -= len(f.data)
		v3 := s.flags.v3()
		s.mu.Unlock()
		s.onMainFrame(v3, f.binary, f.data)
	}
}
