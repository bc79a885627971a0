package client

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/sioloop/sioloop/loop"
)

// Transport names, as Engine.IO spells them.
const (
	Polling   = "polling"
	WebSocket = "websocket"
)

// Options configures a Manager (socket.io-client's ManagerOptions). The
// zero value of each field selects the documented default; note that
// reconnection is off unless Reconnection is set, Go zero values meaning
// "off".
type Options struct {
	// Path is where the server answers. Default "/socket.io/".
	Path string
	// Query holds extra query parameters sent with every Engine.IO request.
	Query url.Values
	// Header holds extra HTTP headers sent with every request and the
	// WebSocket handshake (extraHeaders).
	Header http.Header
	// Transports lists the transports to use, the first one to open the
	// connection. Default: polling, then an upgrade to websocket. With
	// only websocket the connection opens directly over WebSocket.
	Transports []string
	// DisableUpgrade stays on the first transport (upgrade: false).
	DisableUpgrade bool
	// Timeout bounds one connection attempt: the Engine.IO handshake, and
	// an upgrade probe. Default 20 s.
	Timeout time.Duration

	// Reconnection reconnects automatically after a connection is lost for
	// any reason but "io server disconnect" and "io client disconnect", and
	// after a failed connection attempt.
	Reconnection bool
	// ReconnectionAttempts caps consecutive attempts; 0 means no limit.
	ReconnectionAttempts int
	// ReconnectionDelay is the first delay, doubled at each attempt up to
	// ReconnectionDelayMax. Defaults 1 s and 5 s.
	ReconnectionDelay    time.Duration
	ReconnectionDelayMax time.Duration
	// RandomizationFactor spreads each delay by up to ±factor, between 0
	// and 1. Default 0.5; a negative value disables the jitter.
	RandomizationFactor float64

	// Auth is the CONNECT payload of sockets whose SocketOptions set none:
	// a value that encodes to a JSON object (a map, a struct,
	// json.RawMessage). Nil sends none.
	Auth any

	// MaxAttachments caps the binary attachments of one packet from the
	// server. Default 10, socket.io-parser's.
	MaxAttachments int
	// MaxMessageBytes caps one message from the server. Default 1e6; a
	// WebSocket message above it closes the connection, a polling
	// response may hold at most 32 times that.
	MaxMessageBytes int64

	// Dialer opens WebSocket connections on event loops. Default: one
	// process-wide Dialer with one loop per core, created on first use.
	Dialer *loop.Dialer
	// HTTPClient sends the polling requests. Default: a shared client
	// whose transport keeps enough idle connections per host for many
	// sessions (each uses two at a time).
	HTTPClient *http.Client
	// Logger receives diagnostics. Nil discards them.
	Logger *slog.Logger
}

func (o *Options) withDefaults() {
	if o.Path == "" {
		o.Path = "/socket.io/"
	}
	if o.Path[0] != '/' {
		o.Path = "/" + o.Path
	}
	if o.Path[len(o.Path)-1] != '/' {
		o.Path += "/"
	}
	if len(o.Transports) == 0 {
		o.Transports = []string{Polling, WebSocket}
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
	if o.ReconnectionDelay <= 0 {
		o.ReconnectionDelay = time.Second
	}
	if o.ReconnectionDelayMax <= 0 {
		o.ReconnectionDelayMax = 5 * time.Second
	}
	if o.ReconnectionDelayMax < o.ReconnectionDelay {
		o.ReconnectionDelayMax = o.ReconnectionDelay
	}
	switch {
	case o.RandomizationFactor == 0:
		o.RandomizationFactor = 0.5
	case o.RandomizationFactor < 0:
		o.RandomizationFactor = 0
	case o.RandomizationFactor > 1:
		o.RandomizationFactor = 1
	}
	if o.MaxAttachments <= 0 {
		o.MaxAttachments = 10
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 1e6
	}
	if o.HTTPClient == nil {
		o.HTTPClient = defaultHTTPClient
	}
	if o.Logger == nil {
		o.Logger = discardLogger
	}
}

// discardLogger is shared by every Manager without a Logger.
var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func (o *Options) allows(transport string) bool { return slices.Contains(o.Transports, transport) }

// SocketOptions configures one namespace socket.
type SocketOptions struct {
	// Auth is the CONNECT payload: a value that encodes to a JSON object.
	// Nil uses Options.Auth.
	Auth any
	// AuthFunc, when set, is called before every CONNECT (each connection
	// and reconnection) and its result used as Auth, e.g. to refresh a
	// token. It runs on the socket's handler goroutine.
	AuthFunc func() any
	// MaxBuffered caps the packets kept while the socket is not connected
	// (socket.io-client's sendBuffer); Emit returns ErrBufferFull beyond
	// it. Default 1024.
	MaxBuffered int
}

// defaultHTTPClient is shared by every Manager without an HTTPClient: one
// polling session holds two connections (the long GET and a POST), so the
// per-host idle limit is raised far above net/http's default of 2.
var defaultHTTPClient = &http.Client{
	Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
	},
}
