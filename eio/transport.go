package eio

import "net/http"

// Exchange is one HTTP request waiting for its response, as handed to the
// engine by a transport provider (package loop for the event-loop server, the
// net/http adapter for mounted servers).
//
// Request and Body are owned by the Exchange: Body is valid until Respond or
// Upgrade is called. Respond and OnAbort may be called from any goroutine;
// Upgrade only from inside the call that delivered the Exchange.
type Exchange interface {
	// Request is the parsed request. Its Body field is not used; see Body.
	Request() *http.Request
	// Body is the complete request body (Content-Length bytes).
	Body() []byte
	// Respond writes the complete response. It must be called exactly once
	// unless Upgrade succeeded. Safe from any goroutine; body is copied.
	Respond(status int, header http.Header, body []byte)
	// OnAbort registers f to run (once, on any goroutine) when the client
	// connection goes away before Respond was called. It is how a parked
	// long-polling GET learns that its client vanished.
	OnAbort(f func())
	// Upgrade answers a WebSocket upgrade request with 101 Switching
	// Protocols and switches the connection to frames, delivered to h.
	// header holds extra response headers (may be nil).
	Upgrade(header http.Header, h FrameHandler) (WSConn, error)
}

// WSConn is an open WebSocket connection. All methods are safe from any
// goroutine. Writes are queued and coalesced by the provider: many writes
// issued before the connection's event loop wakes up leave in one syscall.
type WSConn interface {
	// WriteMessage frames p as one text or binary message. p is copied.
	WriteMessage(binary bool, p []byte)
	// WriteFrames queues bytes that already hold complete server frames
	// (shared, pre-encoded broadcast frames). b is copied.
	WriteFrames(b []byte)
	// Close sends a close frame with code (0: no status code) and closes the
	// connection once queued bytes are written. Idempotent.
	Close(code int)
	// Buffered reports the bytes queued but not yet accepted by the kernel.
	Buffered() int
	// Group identifies the event loop that owns the connection (0 when the
	// provider has a single group). Fan-out groups recipients by it.
	Group() int
	// RemoteAddr is the peer address as text.
	RemoteAddr() string
}

// FrameHandler receives the messages of a WebSocket connection. The provider
// calls it on one goroutine at a time per connection (the event loop).
type FrameHandler interface {
	// OnMessage delivers one complete message. p is valid only during the call.
	OnMessage(c WSConn, binary bool, p []byte)
	// OnClose reports the end of the connection, once. err is nil for a clean
	// close (close frame or EOF) and describes the failure otherwise.
	OnClose(c WSConn, err error)
}

// FrameOpener may be implemented by a FrameHandler that must know its
// connection before the first message arrives. The provider calls OnOpen
// once, before any OnMessage, on the goroutine that will deliver the
// messages. This matters when the connection is handed to another
// goroutine (net/http's WebSocket handover to an event loop): frames may
// then arrive before Exchange.Upgrade has returned to its caller.
type FrameOpener interface {
	OnOpen(c WSConn)
}

// HeadCopier is implemented by exchanges that can return a copy of the raw
// request head (request line and headers). A session keeps that compact
// copy, instead of the parsed *http.Request, and parses it again only when
// Session.Request is called.
type HeadCopier interface {
	Head() []byte
}
