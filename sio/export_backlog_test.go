package sio

// LoopBacklog reports the backlog of group g's event loop (tests only).
func LoopBacklog(s *Server, g int) int64 { return s.loopOf(g).Backlog() }

// PostToLoop runs f on group g's event loop (tests only).
func PostToLoop(s *Server, g int, f func()) { s.loopOf(g).Post(f) }

// SocketGroup reports the loop group of s's client (tests only).
func SocketGroup(s *Socket) int { return int(s.client.group) }

// HandlerInline reports whether an event handler of s runs inline now
// (tests only).
func HandlerInline(s *Socket) bool { return s.client.inInline() }

// QueuedEvents reports how many jobs of s's client are queued or running
// in its mailbox, counting each as the least a job costs (tests only).
func QueuedEvents(s *Socket) int {
	m := &s.client.mb
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.queued / minJobCost
}
