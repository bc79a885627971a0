package eio

// HasPollState reports whether s holds its polling state (the queue, the
// parked GET, the upgrade probe), for the tests of when it is dropped.
func HasPollState(s *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.poll != nil
}
