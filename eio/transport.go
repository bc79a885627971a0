package eio

import "net/http"

// Exchange is one HTTP request waiting for its response, as handed to the
// engine by a transport provider (package loop for the event-loop server, the
// net/http adapter for mounted servers).
//
// The accessors (Method through Request) may be called from any goroutine,
// also after the call that delivered the Exchange returned, for as long as
// the Exchange is referenced. Method, Path, Query, Header and RemoteAddr are
// the cheap ones, meant for every request: a provider answers them without
// building a *http.Request. Body is valid until Respond or Upgrade is
// called. Respond and OnAbort may be called from any goroutine; Upgrade
// only from inside the call that delivered the Exchange.
type Exchange interface {
	// Method is the request method, such as "GET".
	Method() string
	// Path is the path of the request-target, percent-decoded as in
	// url.URL.Path.
	Path() string
	// Query returns the first value of the query parameter key,
	// percent-decoded with '+' read as a space; "" when there is none.
	// It agrees with Request().URL.Query().Get(key).
	Query(key string) string
	// Header returns the value of the header fields named key, compared
	// case-insensitively. A repeated field is returned as its values
	// joined with ", " in arrival order, the single field RFC 9110 §5.3
	// says they are equivalent to, so token lists such as Connection read
	// correctly however the client split them. "" when there is none.
	Header(key string) string
	// RemoteAddr is the client's address, "ip:port".
	RemoteAddr() string
	// Request returns the request as a *http.Request, for code written
	// against net/http (user callbacks such as Config.AllowRequest, an
	// http.Handler). It may be costly: a provider that does not hold one
	// builds it on the first call (a few allocations, about 2 KB) and
	// returns the same value afterwards. Its Body field may already have
	// been read; use Body.
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

// DeflateConn may be implemented by a WSConn whose provider speaks the
// permessage-deflate extension (RFC 7692) without context takeover on its
// side. A connection for which Deflate reports ok compresses what
// WriteMessage gets (from threshold bytes, at the compress/flate level),
// and WriteFrames must then be given frames compressed the same way:
// sessions send it Prepared.DeflatedFrames(threshold, level) instead of
// Frames.
type DeflateConn interface {
	WSConn
	// Deflate reports the connection's compression parameters; ok is
	// false when the extension was not negotiated. The result does not
	// change over the connection's life.
	Deflate() (threshold, level int, ok bool)
}

// ReadPauser may be implemented by a WSConn whose provider can stop reading
// from the connection. While reading is paused the provider delivers no
// further messages and reads nothing more from the socket beyond a small,
// bounded amount, so the kernel's receive buffer fills and TCP flow control
// slows the peer down: this is how a connection whose handler falls behind
// is made to wait without the server buffering its input. Both methods are
// safe from any goroutine and idempotent; writes, pings and the detection
// of a closed peer go on while reading is paused.
type ReadPauser interface {
	PauseRead()
	ResumeRead()
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

// Grouper is implemented by an Exchange whose provider serves requests on
// several event loops: Group is the index of the loop serving this one's
// connection, as WSConn.Group is a WebSocket's. A polling session takes its
// handshake's, so that polling clients spread over the loops as their
// connections do, instead of all sharing loop 0.
type Grouper interface {
	Group() int
}

// HeadCopier is implemented by exchanges that hold the raw request head
// (request line and header lines, as received) as a string. A session keeps
// that compact string, shared with the exchange since strings are
// immutable, instead of a parsed *http.Request, and parses it again only
// when Session.Request is called. Head returns "" when the head alone
// does not make the request (a TLS connection's, whose Request carries the
// TLS state): the session then keeps Request().
type HeadCopier interface {
	Head() string
}
