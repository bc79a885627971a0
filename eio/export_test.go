package eio

// HasPollState reports whether s holds its polling state (the queue, the
// parked GET, the upgrade probe), for the tests of when it is dropped.
func HasPollState(s *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.poll != nil
}

// HeldFrames reports how many frames of s's WebSocket wait for the end of
// a hold (held.go).
func HeldFrames(s *Session) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ws == nil || s.ws.backlog == nil {
		return 0
	}
	return len(s.ws.backlog.frames)
}

// HoldsPost reports whether s holds the answer to a POST for ResumeInput.
func HoldsPost(s *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.poll != nil && s.poll.heldPost != nil
}

// IsClosing reports whether s is closing but not closed yet (a polling
// session waiting for its client's next poll to take the close packet).
func IsClosing(s *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateClosing
}
