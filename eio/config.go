package eio

import (
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Transport names.
const (
	Polling   = "polling"
	WebSocket = "websocket"
)

// Config configures a Server. The zero value selects Engine.IO's defaults.
//
// A panic in one of its callbacks (AllowRequest, CORS.AllowOrigin,
// InitialHeaders, Headers, OnConnectionError) or in the Server's
// OnConnection handler is recovered and logged to Logger with the request
// and the stack; the request is answered 500 (an upgrade request before
// its 101; a WebSocket whose OnConnection panicked is closed).
type Config struct {
	// PingInterval is the time between server pings. Default 25 s.
	PingInterval time.Duration
	// PingTimeout is how long a ping may stay unanswered. Default 20 s.
	// A silent client is dropped PingInterval+PingTimeout after its last pong.
	PingTimeout time.Duration
	// UpgradeTimeout bounds a polling→WebSocket upgrade. Default 10 s.
	UpgradeTimeout time.Duration
	// MaxPayload is maxHttpBufferSize: the largest message or polling body,
	// in bytes, announced to clients as maxPayload. Default 1e6. A larger
	// POST body is answered 413 and a larger WebSocket message closes the
	// connection with 1009, as engine.io does, whatever larger limits the
	// provider has (loop.Config.MaxBodyBytes, MaxMessageBytes).
	MaxPayload int64
	// Transports lists the enabled transports. Default polling and websocket.
	Transports []string
	// DisableUpgrades stops polling sessions from upgrading (allowUpgrades: false).
	DisableUpgrades bool
	// AllowEIO3 also serves Engine.IO protocol revision 3 (engine.io's
	// allowEIO3), spoken by socket.io-client 2.x: a handshake with EIO
	// other than 4 opens a v3 session (the v3 payload encoding, binary
	// frames with their type byte, and the heartbeat the client drives).
	// Off, such a handshake is refused with ErrUnsupportedVersion.
	AllowEIO3 bool
	// AllowRequest may refuse a handshake: a non-nil error answers 403
	// {"code":4,"message":<err>} on polling and 400 on WebSocket.
	AllowRequest func(r *http.Request) error
	// CORS enables CORS headers and preflight answers on polling requests.
	CORS *CORS
	// Cookie, when set, is sent on the handshake with the session id as
	// its value (socket.io's `cookie` option); Name defaults to "io".
	Cookie *http.Cookie
	// InitialHeaders may add headers to the handshake response.
	InitialHeaders func(h http.Header, r *http.Request)
	// Headers may add headers to every response.
	Headers func(h http.Header, r *http.Request)
	// AllowRequest, InitialHeaders, Headers and CORS.AllowOrigin may
	// block (a lookup in a database, say): a request that calls one is
	// served off the event loops, on a goroutine of its own
	// (offload.go), so the wait delays that request only.
	// MaxBlockingRequests bounds how many are served so at once; past it
	// requests are refused with ErrServerBusy (503). Default 1024.
	MaxBlockingRequests int
	// HTTPCompressionThreshold is the smallest polling response body that
	// is compressed (gzip or deflate, as the request accepts), as
	// engine.io's httpCompression.threshold. Default 1024 bytes.
	// DisableHTTPCompression sends every body as it is
	// (httpCompression: false).
	HTTPCompressionThreshold int
	DisableHTTPCompression   bool
	// OnConnectionError observes refused requests (connection_error). It
	// runs where the request is served and must not block.
	OnConnectionError func(r *http.Request, e *RequestError)
	// Logger receives engine diagnostics. Nil discards.
	Logger *slog.Logger
	// MaxPendingSessions bounds the sessions opened by a polling handshake
	// whose client has sent nothing since (no poll, no POST, no frame):
	// without a bound, a flood of handshakes that are never followed up
	// holds a session each until the ping timeout, with no connection
	// open. A WebSocket handshake's session is never pending: it ends with
	// its connection. Further handshakes are refused
	// with 503 until some are followed up or time out. Default 65536
	// (a flood of never-followed handshakes then holds at most about
	// 65536 sessions for a ping timeout); negative: no bound.
	MaxPendingSessions int
	// MaxOutboundBytes bounds the bytes queued for a long-polling client
	// between its polls (the records its next GET would take). A client
	// that stops polling while the server sends past it is a slow
	// consumer: its session is closed with ReasonTransportError and the
	// queue freed, the outcome package loop gives a WebSocket whose
	// outbound bytes exceed loop.Config.MaxOutboundBytes. Default 8 MiB
	// (loop's default); values <= 0 select it.
	MaxOutboundBytes int
	// MaxPendingSessionsPerIP is the same bound per client address, so
	// that one address cannot take every slot. Default 16384: a burst of
	// that many clients from one address (a load tool, a NAT) all open at
	// once, as against engine.io, which has no bound. Negative: no bound.
	// Behind a proxy every client has the proxy's address: raise it or
	// disable it there.
	MaxPendingSessionsPerIP int
}

// CORS configures cross-origin polling, like the `cors` npm package.
type CORS struct {
	// Origins lists allowed origins; "*" allows any (answered as "*" unless
	// Credentials is set, then the request's Origin is echoed).
	Origins []string
	// AllowOrigin decides per request when set; it takes precedence over Origins.
	AllowOrigin func(origin string) bool
	// Credentials sets Access-Control-Allow-Credentials: true.
	Credentials bool
	// Methods answered to preflights. Default GET,HEAD,PUT,PATCH,POST,DELETE.
	Methods []string
	// AllowedHeaders answered to preflights. Default: echo the request's
	// Access-Control-Request-Headers.
	AllowedHeaders []string
	// ExposedHeaders sets Access-Control-Expose-Headers.
	ExposedHeaders []string
	// MaxAge sets Access-Control-Max-Age when > 0.
	MaxAge time.Duration
}

func (c *Config) withDefaults() {
	if c.HTTPCompressionThreshold <= 0 {
		c.HTTPCompressionThreshold = 1024
	}
	if c.MaxBlockingRequests <= 0 {
		c.MaxBlockingRequests = 1024
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = 1e6
	}
	if len(c.Transports) == 0 {
		c.Transports = []string{Polling, WebSocket}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.MaxOutboundBytes <= 0 {
		c.MaxOutboundBytes = 8 << 20
	}
	if c.MaxPendingSessions == 0 {
		c.MaxPendingSessions = 65536
	}
	if c.MaxPendingSessionsPerIP == 0 {
		c.MaxPendingSessionsPerIP = 16384
	}
}

func (c *Config) enabled(t string) bool {
	for _, x := range c.Transports {
		if x == t {
			return true
		}
	}
	return false
}
