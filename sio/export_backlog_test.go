package sio

// LoopBacklog reports the backlog of group g's event loop (tests only).
func LoopBacklog(s *Server, g int) int64 {
	return s.executorOf(g).(interface{ Backlog() int64 }).Backlog()
}

// PostToLoop runs f on group g's event loop (tests only).
func PostToLoop(s *Server, g int, f func()) { post(s.executorOf(g), f) }

// SocketGroup reports the loop group of s's client (tests only).
func SocketGroup(s *Socket) int { return int(s.client.group.Load()) }

// ConnGroup reports the loop of s's connection: its WebSocket's, or while
// it polls, its handshake's (tests only).
func ConnGroup(s *Socket) int { return s.client.sess.Group() % s.nsp.srv.groups }
