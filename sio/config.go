package sio

import (
	"github.com/sioloop/sioloop/loop"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/sioloop/sioloop/eio"
)

// CORS configures cross-origin polling requests (socket.io's `cors` option).
type CORS = eio.CORS

// RequestError is a refused Engine.IO request (Config.OnConnectionError):
// HTTP status, engine.io error code and message.
type RequestError = eio.RequestError

// PerMessageDeflate configures WebSocket compression (Config.PerMessageDeflate):
// Threshold is the smallest message compressed (0 means 1024, negative
// every message) and Level the compress/flate level (0 means 1,
// flate.BestSpeed).
type PerMessageDeflate = loop.PerMessageDeflate

// Config configures a Server. The zero value of each field selects
// socket.io's default.
type Config struct {
	// Path is where the server answers. Default "/socket.io/".
	Path string
	// PingInterval, PingTimeout, UpgradeTimeout: Engine.IO heartbeat and
	// upgrade timing. Defaults 25 s, 20 s, 10 s.
	PingInterval   time.Duration
	PingTimeout    time.Duration
	UpgradeTimeout time.Duration
	// ConnectTimeout closes connections that join no namespace in time.
	// Default 45 s.
	ConnectTimeout time.Duration
	// MaxHTTPBufferSize caps messages and polling bodies. Default 1e6.
	MaxHTTPBufferSize int64
	// MaxAttachments caps binary attachments per packet. Default 10.
	MaxAttachments int
	// Transports lists the enabled transports. Default polling, websocket.
	Transports []string
	// DisableUpgrades forbids polling→WebSocket upgrades.
	DisableUpgrades bool
	// AllowEIO3 also serves socket.io-client 2.x (Engine.IO protocol 3,
	// Socket.IO protocol 4), as socket.io's allowEIO3: such a client is
	// connected to "/" at its handshake, sends its query with the
	// namespaces it connects to, and drives the heartbeat. Default false:
	// its handshake is refused with 400 "Unsupported protocol version".
	AllowEIO3 bool
	// AllowRequest may refuse a handshake (403 on polling). It may block,
	// like engine.io's asynchronous allowRequest(req, callback): it runs
	// off the event loops (see MaxBlockingRequests).
	AllowRequest func(r *http.Request) error
	// CORS enables CORS on polling requests.
	CORS *CORS
	// Cookie sets a cookie holding the Engine.IO sid on the handshake.
	Cookie *http.Cookie
	// InitialHeaders may add headers to the Engine.IO handshake response
	// (engine.io's initial_headers event); Headers to every response
	// (its headers event). Both may block (see MaxBlockingRequests).
	InitialHeaders func(h http.Header, r *http.Request)
	Headers        func(h http.Header, r *http.Request)
	// MaxBlockingRequests bounds the requests served at once off the
	// event loops because they call AllowRequest, InitialHeaders, Headers
	// or CORS.AllowOrigin, which may block: each waits on a goroutine of
	// its own and delays no other connection. Past the bound requests are
	// answered 503 {"code":4,"message":"Server busy"}. Default 1024. In
	// ServeHTTP mode net/http's goroutine serves them.
	MaxBlockingRequests int
	// OnConnectionError observes each refused Engine.IO request with the
	// error it was answered (engine.io's connection_error event: code and
	// message as the reference sends them).
	OnConnectionError func(r *http.Request, e *RequestError)
	// HTTPCompressionThreshold is the smallest long-polling response body
	// sent compressed (gzip or deflate, as the request accepts), as
	// httpCompression.threshold. Default 1024 bytes. DisableHTTPCompression
	// turns it off (httpCompression: false).
	HTTPCompressionThreshold int
	DisableHTTPCompression   bool
	// PerMessageDeflate, when set, compresses WebSocket messages for
	// clients that offer the permessage-deflate extension (RFC 7692), as
	// socket.io's perMessageDeflate option: messages of at least
	// Threshold bytes (default 1024) go compressed, and compressed
	// messages from the client are inflated within MaxHTTPBufferSize.
	// Nil (the default, as in socket.io) turns it off. It applies to
	// ListenAndServe and to WebSocket connections that ServeHTTP moves to
	// event loops; see loop.PerMessageDeflate for the memory it costs.
	PerMessageDeflate *PerMessageDeflate
	// DisableClientBundle stops serving /socket.io/socket.io.js and its
	// siblings (serveClient: false). It overrides ClientFiles.
	DisableClientBundle bool
	// ClientFiles, when set, holds the socket.io browser client that the
	// server serves under Path (socket.io.js and its siblings) instead of
	// the bundle embedded at build time, which a program that gets sioloop
	// as a module dependency does not have. It must hold, at its root,
	// the files of node_modules/socket.io-client/dist: socket.io.js,
	// socket.io.min.js, socket.io.esm.min.js, socket.io.msgpack.min.js and
	// their .map files. Use the embed.FS that
	// `go run github.com/sioloop/sioloop/cmd/sioclient -out DIR` writes,
	// an os.DirFS of that dist directory, or fs.Sub of a larger tree.
	//
	// NewServer reads the files once, so requests never touch the FS.
	// They are served as the embedded bundle is: a strong ETag derived
	// from each file's content, 304 on a matching If-None-Match,
	// Cache-Control "public, max-age=0", and gzip (or brotli) chosen by
	// Accept-Encoding. A name.gz or name.br sibling in the FS is served
	// as that encoding (a .gz sibling only if it decodes to the file);
	// without one the file is gzipped once by NewServer. A client file
	// missing from the FS is answered with 404 and a body naming it, and
	// NewServer logs a warning listing the missing files.
	ClientFiles fs.FS
	// ConnectionStateRecovery, when set, lets clients that lost their
	// connection resume with the same socket id, rooms and missed events.
	ConnectionStateRecovery *RecoveryConfig
	// CleanupEmptyChildNamespaces removes a dynamic namespace (OfRegexp,
	// OfFunc) when its last socket leaves, so that a matcher admitting
	// many names does not keep one namespace per name ever used. Default
	// false, as socket.io: children stay.
	CleanupEmptyChildNamespaces bool
	// Parser is the packet encoding (socket.io's parser option): JSONParser
	// (socket.io-parser), the default, or MsgpackParser
	// (socket.io-msgpack-parser).
	Parser Parser
	// Adapter creates each namespace's adapter. Default: the in-memory
	// adapter (NewMemoryAdapter). A cluster adapter embeds one for this
	// node's sockets (adapter/redis).
	Adapter func(ns *Namespace) Adapter
	// Loops is the number of event loops of ListenAndServe. Default: cores.
	Loops int
	// MaxOutboundBytes caps the bytes queued for one slow client before it
	// is disconnected. Default 8 MiB.
	MaxOutboundBytes int
	// MaxLoopBacklog bounds the broadcast work queued on one event loop of
	// ListenAndServe and not yet run, in recipient visits (a broadcast to
	// a room with n members on that loop counts n). Above it the loop is
	// overloaded: volatile broadcasts to it are dropped, and other
	// broadcasts wait in Emit until the loop has worked off half of it, so
	// a publisher is slowed to the rate its recipients can be served
	// (a handler that waits makes its connection's input pause) and the
	// delay of a delivered message stays bounded. Default 1 Mi visits,
	// about 0.25 s of one loop's fan-out (loop.DefaultMaxBacklog).
	MaxLoopBacklog int
	// MaxLoopOutboundBytes bounds the output one event loop of
	// ListenAndServe holds for readers slower than it. Above it, while a
	// quarter or more of that loop's connections are behind, the loop is
	// overloaded as with MaxLoopBacklog, so publishers are slowed to the
	// rate the readers take and memory and delay stay bounded; a few slow
	// readers never count, they are cut at MaxOutboundBytes. Default 64 MiB
	// (loop.DefaultMaxLoopOutboundBytes).
	MaxLoopOutboundBytes int
	// SocketSendBuffer, when above 0, sets SO_SNDBUF of the connections
	// ListenAndServe accepts (Linux doubles the value): the bytes each
	// connection's kernel send queue may hold beyond what the server's own
	// bounds count. 0 (the default) keeps the kernel's autotuning, which
	// on Linux lets one socket queue up to net.ipv4.tcp_wmem's maximum (4
	// MiB by default) and, under overload, seconds of broadcasts that no
	// bound of the server sees. A smaller value keeps the wait in the
	// server's queues, where MaxLoopOutboundBytes slows publishers; it
	// also caps a single connection's throughput at about the value per
	// round trip, so leave room for distant clients (64 KiB carries 6.5
	// MB/s at 10 ms).
	SocketSendBuffer int
	// SocketRecvBuffer, when above 0, sets SO_RCVBUF of the connections
	// ListenAndServe accepts. 0 (the default) keeps the kernel's
	// autotuning, which grows a busy connection's receive buffer to
	// net.ipv4.tcp_rmem's maximum (6 MiB by default). While a connection's
	// input is paused (MaxQueuedInputBytes) its client's messages wait
	// there, and in the client's own send buffer: tens of thousands of
	// small events, each of which may be a broadcast to many, and each a
	// delay that the events behind it pay. A smaller value bounds that
	// wait; like SocketSendBuffer it caps one connection's throughput.
	SocketRecvBuffer int
	// MaxQueuedInputBytes bounds what one connection's received events
	// may hold while its handlers are slow: the bytes of their data and
	// attachments plus 128 per event, and at least 4 KiB per event, so it
	// also bounds how many wait (256 by default). Past it the connection
	// is no longer read (the client waits, nothing is dropped) until half
	// of it is handled. It is reached only by a connection whose handlers
	// lag, so the default suits a million connections. Default 1 MiB.
	MaxQueuedInputBytes int
	// MaxPendingSessions and MaxPendingSessionsPerIP bound the Engine.IO
	// polling sessions whose client has sent nothing since the handshake,
	// in all and per client address (eio.Config has the details).
	// Defaults 65536 and 16384; negative: no bound.
	MaxPendingSessions      int
	MaxPendingSessionsPerIP int
	// Logger receives diagnostics. Nil discards them. Errors (a panic in
	// application code) and warnings are logged at their levels; at
	// slog.LevelDebug, each session, socket connection and disconnection
	// with its reason, refused requests and protocol errors; at
	// LevelTrace, every packet and broadcast (log.go), like socket.io with
	// DEBUG=socket.io*.
	Logger *slog.Logger
}

// RecoveryConfig configures connection state recovery.
type RecoveryConfig struct {
	// MaxDisconnectionDuration is how long a session and the events sent
	// are kept. Default 2 min.
	MaxDisconnectionDuration time.Duration
	// SkipMiddlewares skips namespace middleware for recovered sockets.
	SkipMiddlewares bool
	// MaxLogBytes caps the events kept for replay: their arguments,
	// attachments and room names plus 128 bytes each. Past it the oldest
	// are dropped, and a client whose last event was dropped connects as
	// a new socket. Default 64 MiB.
	MaxLogBytes int
	// MaxSavedSessions caps the disconnected sessions kept (about 200
	// bytes each plus room names and data). Past it the oldest are
	// forgotten. Default 1 Mi (1048576).
	MaxSavedSessions int
}

func (c *Config) withDefaults() {
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	if c.Path[len(c.Path)-1] != '/' {
		c.Path += "/"
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 45 * time.Second
	}
	if c.MaxHTTPBufferSize <= 0 {
		c.MaxHTTPBufferSize = 1e6
	}
	if c.MaxAttachments <= 0 {
		c.MaxAttachments = 10
	}
	if c.MaxQueuedInputBytes <= 0 {
		c.MaxQueuedInputBytes = 1 << 20
	}
	if r := c.ConnectionStateRecovery; r != nil {
		rc := *r // the caller's value is not changed
		if rc.MaxDisconnectionDuration <= 0 {
			rc.MaxDisconnectionDuration = 2 * time.Minute
		}
		if rc.MaxLogBytes <= 0 {
			rc.MaxLogBytes = 64 << 20
		}
		if rc.MaxSavedSessions <= 0 {
			rc.MaxSavedSessions = 1 << 20
		}
		c.ConnectionStateRecovery = &rc
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

func (c *Config) eioConfig() eio.Config {
	return eio.Config{
		PingInterval:    c.PingInterval,
		PingTimeout:     c.PingTimeout,
		UpgradeTimeout:  c.UpgradeTimeout,
		MaxPayload:      c.MaxHTTPBufferSize,
		Transports:      c.Transports,
		DisableUpgrades: c.DisableUpgrades,
		AllowEIO3:       c.AllowEIO3,
		AllowRequest:    c.AllowRequest,
		CORS:            c.CORS,
		Cookie:          c.Cookie,
		Logger:          c.Logger,

		InitialHeaders:      c.InitialHeaders,
		Headers:             c.Headers,
		MaxBlockingRequests: c.MaxBlockingRequests,

		HTTPCompressionThreshold: c.HTTPCompressionThreshold,
		DisableHTTPCompression:   c.DisableHTTPCompression,
		OnConnectionError:        c.OnConnectionError,

		MaxOutboundBytes: c.MaxOutboundBytes,

		MaxPendingSessions:      c.MaxPendingSessions,
		MaxPendingSessionsPerIP: c.MaxPendingSessionsPerIP,
	}
}

// Disconnect reasons, as socket.io names them.
const (
	ReasonTransportClose            = "transport close"
	ReasonTransportError            = "transport error"
	ReasonPingTimeout               = "ping timeout"
	ReasonParseError                = "parse error"
	ReasonForcedClose               = "forced close"
	ReasonServerShuttingDown        = "server shutting down"
	ReasonForcedServerClose         = "forced server close"
	ReasonClientNamespaceDisconnect = "client namespace disconnect"
	ReasonServerNamespaceDisconnect = "server namespace disconnect"
)
