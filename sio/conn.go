package sio

// Conn is a read-only view of a socket's Engine.IO connection (socket.io's
// socket.conn): its id, its transport and the upgrade to WebSocket, and
// Close. It gives no way to write to the connection or take its messages,
// which belong to the sockets.
type Conn struct{ s *Socket }

// ID is the Engine.IO session id (socket.conn.id), the same for the
// client's sockets of every namespace.
func (c Conn) ID() string { return c.s.client.sess.ID() }

// Transport is the current transport's name, "polling" or "websocket"
// (socket.conn.transport.name).
func (c Conn) Transport() string { return c.s.client.sess.Transport() }

// RemoteAddr is the client's address, "ip:port" (socket.conn.remoteAddress,
// with the port).
func (c Conn) RemoteAddr() string { return c.s.client.sess.RemoteAddr() }

// Close closes the connection without a DISCONNECT packet
// (socket.conn.close()): every socket of the client disconnects with
// ReasonForcedClose, and the client sees its transport close.
func (c Conn) Close() { c.s.client.closeSession() }

// OnUpgrade registers f to run once the connection has upgraded from
// long-polling to transport ("websocket"), as socket.conn.on("upgrade")
// does. f runs in the socket's handler order; it is not called for a
// connection opened over WebSocket, nor after the socket disconnected.
func (c Conn) OnUpgrade(f func(transport string)) { c.s.listen(listener{f: upgradeFunc(f)}) }

// OnUpgrade implements eio.UpgradeHandler: the client moves to its
// WebSocket's event loop (relocate.go), then each socket's upgrade
// listeners run in the mailbox, in order with its events.
func (c *client) OnUpgrade(transport string) {
	c.relocate()
	c.post(func() {
		for _, s := range c.socketsNow() {
			s.fireUpgrade(transport)
		}
	})
}

// fireUpgrade runs s's upgrade listeners. Mailbox only.
func (s *Socket) fireUpgrade(transport string) {
	if !s.Connected() {
		return
	}
	defer s.containPanic()
	for _, l := range s.snapshot() {
		if f, ok := l.f.(upgradeFunc); ok {
			f(transport)
		}
	}
}
