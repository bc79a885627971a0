package eio

// Flow control of what the client sends: PauseInput and ResumeInput, for
// a consumer (sio's mailbox) that has more queued than it will hold.

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
