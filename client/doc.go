// Package client is a Socket.IO v5 client (Engine.IO v4) for Go, with the
// words and behaviour of socket.io-client 4.8: a Manager per server
// connection, a Socket per namespace, events with acknowledgements and
// binary attachments, HTTP long-polling with an upgrade to WebSocket,
// reconnection with exponential backoff, and connection state recovery.
//
//	m := client.NewManager("http://127.0.0.1:3000", client.Options{Reconnection: true})
//	s := m.Socket("/chat", client.SocketOptions{Auth: map[string]any{"token": "abc"}})
//	s.On("news", func(ev *client.Event) { var n News; _ = ev.Decode(&n) })
//	s.OnConnect(func() { s.Emit("hello", "world") })
//	s.Connect()
//
// # Goroutines
//
// A WebSocket connection costs no goroutine: it runs on the event loops of
// a loop.Dialer (gnet), which decode frames and Engine.IO and Socket.IO
// packets, answer heartbeats and write queued messages. One process can
// hold as many connections as it may open files. Long-polling uses a
// goroutine per HTTP request in flight; the connect attempt itself runs on
// a goroutine that ends with the handshake; timers (heartbeat, timeouts,
// reconnection delays) share one timer wheel.
//
// Callbacks of a socket (event handlers, OnConnect, OnConnectError,
// OnDisconnect, acknowledgement answers) run one at a time and in order,
// on a goroutine that exists only while callbacks are pending; a callback
// may block, delaying only its own socket. EmitWithAck blocks until the
// answer comes: call it from your own goroutine, not from a handler of the
// same socket.
//
// Every exported method is safe from any goroutine.
//
// # Buffers
//
// An Event and its Message own their bytes (one copy per packet is made
// off the event loop's buffer): they may be kept after the handler
// returns. Emit and Event.Ack copy what they send, binary attachments
// included, before returning: the caller may reuse its buffers.
//
// # Locks
//
// Lock order: Socket.mu, then Manager.mu, then the engine's mu, then the
// loop connection's. Nothing calls out to user code with a lock held.
package client
