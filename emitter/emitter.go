package emitter

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sioloop/sioloop/internal/redisbus"
)

// Errors of the emitter. Encoding errors wrap the error of the encoder
// (encoding/json's for an unsupported value) behind ErrEncode.
var (
	// ErrReservedEvent: Emit or ServerSideEmit was given a name that
	// socket.io keeps for itself (connect, connect_error, disconnect,
	// disconnecting, newListener, removeListener; for ServerSideEmit also
	// connection and new_namespace). The Node emitter throws
	// `"<name>" is a reserved event name`.
	ErrReservedEvent = errors.New("emitter: reserved event name")
	// ErrEncode: an argument cannot be encoded (a channel, NaN, a value
	// whose MarshalJSON fails, invalid JSON in a json.RawMessage).
	ErrEncode = errors.New("emitter: cannot encode the arguments")
	// ErrAck: an argument is a function. The Node emitter cannot send
	// acknowledgement callbacks either: it never subscribes, so no answer
	// could reach it.
	ErrAck = errors.New("emitter: acknowledgements are not supported")
	// ErrDropped: Emit could not queue the message: Redis is down or
	// Config.MaxQueuedBytes are already waiting. It is counted in
	// Stats().Dropped.
	ErrDropped = errors.New("emitter: message dropped (redis unreachable or queue full)")
	// ErrClosed: the Emitter was closed.
	ErrClosed = errors.New("emitter: closed")
)

// Defaults of Config.
const (
	// DefaultAddr is the default Config.Addr.
	DefaultAddr = "127.0.0.1:6379"
	// DefaultKey is the default Config.Key, the Node emitter's and the
	// adapters' default key.
	DefaultKey = "socket.io"
	// DefaultMaxQueuedBytes is the default Config.MaxQueuedBytes: 4 MiB,
	// about 20,000 broadcasts of 200 bytes.
	DefaultMaxQueuedBytes = redisbus.DefaultQueueBytes
	// closeFlushTimeout bounds how long Close waits for queued messages.
	closeFlushTimeout = 5 * time.Second
)

// Config configures an Emitter. The zero value of each field is its
// default.
type Config struct {
	// Addr is the Redis server, host:port (default DefaultAddr). A server
	// in cluster mode is used as a Redis Cluster by the connection layer
	// (internal/redisbus): every PUBLISH goes to one node, which the
	// cluster forwards to the others. The emitter's own tests use a single
	// server.
	Addr string
	// Username and Password authenticate (AUTH); empty means none.
	Username, Password string
	// DB is the database to SELECT (default 0). Pub/sub ignores databases:
	// it matters only for a server that restricts accounts to one.
	DB int
	// TLS, when not nil, makes the connection use TLS with this config.
	TLS *tls.Config
	// Key prefixes every channel (the Node emitter's key option, default
	// DefaultKey). It must be the key of the cluster's adapters.
	Key string
	// MaxQueuedBytes bounds the channel and payload bytes of Emit's
	// messages waiting to be written to Redis; past it Emit drops and
	// returns ErrDropped (default DefaultMaxQueuedBytes, at least 64 KiB).
	// Emits made while a request or Flush waits for the queue are held
	// apart, within a second bound of the same size.
	MaxQueuedBytes int
	// Logger receives connection losses, reconnections and dropped
	// messages (at most one line about drops every 10 s). Nil discards.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Key == "" {
		c.Key = DefaultKey
	}
	if c.MaxQueuedBytes <= 0 {
		c.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	return c
}

// conn is the Redis connection shared by an Emitter and the Emitters Of
// derives from it.
//
// Order. Emit queues on the bus, whose sender writes in order. A request
// must not overtake an Emit made before it, so it waits until the bus's
// queue is empty (bus.Flush) and then publishes with PublishWait. While it
// waits, that queue must not keep growing, or a busy emitter would starve
// it: Emits made while a request (or Flush) is under way are held here, in
// order, and handed to the bus once no request is left. So a request waits
// at most for what was queued when it began (bounded by MaxQueuedBytes),
// and every Emit keeps its place relative to the requests.
type conn struct {
	bus    *redisbus.Bus
	key    string
	closed atomic.Bool
	once   sync.Once
	// requests counts the requests Redis accepted (PublishWait does not
	// count in the bus's Published); refused counts the Emits refused
	// because held was full (the bus never saw them). Both atomic.
	requests, refused atomic.Uint64
	maxHeld           int // MaxQueuedBytes

	mu sync.Mutex // guards the fields below; never held during I/O
	// barriers counts the requests and Flushes under way.
	barriers int
	// held are the Emits made while barriers > 0, in order; heldBytes
	// counts their channels and payloads.
	held      []heldMsg
	heldBytes int
}

// heldMsg is an Emit's message kept while a request is under way.
type heldMsg struct {
	channel string
	payload []byte // a copy
}

// Emitter publishes to the namespace it was made for ("/" for the one New
// returns). It is safe for concurrent use.
type Emitter struct {
	c   *conn
	nsp string
	// broadcast is <key>#<nsp>#, the channel of broadcasts to 0 or 2+
	// rooms; request is <key>-request#<nsp>#.
	broadcast, request string
}

// New connects to Redis and returns an Emitter for the namespace "/". It
// fails when Redis does not answer (each dial bounded by 5 s); afterwards
// the connection is re-established by itself whenever Redis goes away.
// ctx bounds the set-up of a Redis Cluster's topology. Close releases the
// connection.
//
// The emitter opens its own connection (the Node emitter takes a client):
// a Go program that also runs a sio.Server on adapter/redis does not need
// an emitter, as the server's own operators reach the whole cluster.
func New(ctx context.Context, cfg Config) (*Emitter, error) {
	cfg = cfg.withDefaults()
	bus, err := redisbus.New(ctx, redisbus.Options{
		Addrs:      []string{cfg.Addr},
		Username:   cfg.Username,
		Password:   cfg.Password,
		DB:         cfg.DB,
		TLS:        cfg.TLS,
		QueueBytes: cfg.MaxQueuedBytes,
		Logger:     cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("emitter: %w", err)
	}
	return newEmitter(&conn{bus: bus, key: cfg.Key, maxHeld: cfg.MaxQueuedBytes}, "/"), nil
}

func newEmitter(c *conn, nsp string) *Emitter {
	return &Emitter{
		c:         c,
		nsp:       nsp,
		broadcast: c.key + "#" + nsp + "#",
		request:   c.key + "-request#" + nsp + "#",
	}
}

// Of returns an Emitter for namespace nsp, sharing e's connection
// (emitter.of). A name without a leading "/" gets one: "admin" is
// "/admin", "" is "/".
func (e *Emitter) Of(nsp string) *Emitter {
	if len(nsp) == 0 || nsp[0] != '/' {
		nsp = "/" + nsp
	}
	return newEmitter(e.c, nsp)
}

// Namespace is the namespace e publishes to, with its leading "/".
func (e *Emitter) Namespace() string { return e.nsp }

func (e *Emitter) op() BroadcastOperator { return BroadcastOperator{e: e} }

// To selects the sockets in any of rooms (a socket id is a room).
func (e *Emitter) To(rooms ...string) BroadcastOperator { return e.op().To(rooms...) }

// In is To.
func (e *Emitter) In(rooms ...string) BroadcastOperator { return e.op().To(rooms...) }

// Except leaves out the sockets in any of rooms.
func (e *Emitter) Except(rooms ...string) BroadcastOperator { return e.op().Except(rooms...) }

// Volatile marks the event as one that may be lost: a receiving node drops
// it for a client that is not ready to take it.
func (e *Emitter) Volatile() BroadcastOperator { return e.op().Volatile() }

// Compress sets the compress flag (whether the receiving nodes may
// compress the event's WebSocket frames).
func (e *Emitter) Compress(compress bool) BroadcastOperator { return e.op().Compress(compress) }

// Emit sends event name with args to every socket of the namespace; see
// BroadcastOperator.Emit.
func (e *Emitter) Emit(name string, args ...any) error { return e.op().Emit(name, args...) }

// SocketsJoin makes every socket of the namespace join rooms; see
// BroadcastOperator.SocketsJoin.
func (e *Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.op().SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the namespace leave rooms; see
// BroadcastOperator.SocketsLeave.
func (e *Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.op().SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the namespace; see
// BroadcastOperator.DisconnectSockets.
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	return e.op().DisconnectSockets(ctx, close)
}

// ServerSideEmit sends event name with args to the servers of the cluster
// (emitter.serverSideEmit): each node runs its handlers for name in this
// namespace (io.on(name) in socket.io, Namespace.OnServerSideEmit in sio),
// every node, as the message comes from none of them. Arguments travel as
// JSON: a []byte reaches Node handlers as {type: "Buffer", data: [...]}.
//
// There are no acknowledgements: the emitter never subscribes, so no
// answer could reach it (the Node emitter throws "Acknowledgements are
// not supported"). A function argument fails with ErrAck.
//
// It returns once Redis has taken the message, after any Emit queued
// before it, or with the error that prevented it (ctx's included).
func (e *Emitter) ServerSideEmit(ctx context.Context, name string, args ...any) error {
	if reservedServerSide[name] || reservedEvents[name] {
		return fmt.Errorf("%w: %q", ErrReservedEvent, name)
	}
	msg, err := appendServerSideEmit(nil, name, args)
	if err != nil {
		return encodeError(err, args)
	}
	return e.c.publishWait(ctx, e.request, msg)
}

// Flush waits until every message queued by Emit before the call was
// written to Redis (or dropped), or until ctx ends. Emits made meanwhile,
// by other goroutines, are held back until it returns, so it waits only
// for what was queued when it began.
func (e *Emitter) Flush(ctx context.Context) error {
	return e.c.flush(ctx)
}

// Stats are an Emitter's counters since New, shared by the Emitters of
// every namespace.
type Stats struct {
	// Published counts the messages Redis accepted: broadcasts and
	// requests.
	Published uint64
	// Dropped counts the broadcasts that were not published: Emit returned
	// ErrDropped, or Redis failed while they were queued, or Close came
	// first.
	Dropped uint64
	// QueuedBytes is what Emit's messages now waiting for Redis hold.
	QueuedBytes int
	// Reconnects counts how often the connection was made again after a
	// loss.
	Reconnects uint64
}

// Stats returns the counters.
func (e *Emitter) Stats() Stats {
	s := e.c.bus.Stats()
	e.c.mu.Lock()
	held := e.c.heldBytes
	e.c.mu.Unlock()
	return Stats{
		Published:   s.Published + e.c.requests.Load(),
		Dropped:     s.Dropped + e.c.refused.Load(),
		QueuedBytes: s.QueuedBytes + held,
		Reconnects:  s.Reconnects,
	}
}

// Close waits up to 5 s for the queued messages to be written, then closes
// the connection that e shares with the Emitters derived by Of. Later
// calls of any of them fail with ErrClosed. Close is idempotent.
func (e *Emitter) Close() error {
	c := e.c
	var err error
	c.once.Do(func() {
		c.closed.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
		c.barrier(ctx, nil) // what is still queued at the deadline is dropped and counted
		cancel()
		err = c.bus.Close()
	})
	return err
}

// publish queues a broadcast, or holds it while a request is under way.
func (c *conn) publish(channel string, msg []byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.mu.Lock()
	if c.barriers > 0 {
		n := len(channel) + len(msg)
		if c.heldBytes+n > c.maxHeld {
			c.mu.Unlock()
			c.refused.Add(1)
			return ErrDropped
		}
		c.held = append(c.held, heldMsg{channel: channel, payload: bytes.Clone(msg)})
		c.heldBytes += n
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	// An Emit that saw no request under way may reach the bus after a
	// request that began meanwhile: the two calls were concurrent.
	if !c.bus.Publish(channel, msg) {
		return ErrDropped
	}
	return nil
}

// barrier waits until everything queued on the bus was written (or
// dropped), holding back new Emits meanwhile, then runs f (when not nil)
// before it lets the held Emits go.
func (c *conn) barrier(ctx context.Context, f func() error) error {
	c.mu.Lock()
	c.barriers++
	c.mu.Unlock()
	defer c.release()
	if err := c.bus.Flush(ctx); err != nil {
		if errors.Is(err, redisbus.ErrClosed) {
			return ErrClosed
		}
		return fmt.Errorf("emitter: waiting for earlier messages: %w", err)
	}
	if f == nil {
		return nil
	}
	return f()
}

// release ends a barrier; the last one hands the held Emits to the bus, in
// order and under mu, so that no newer Emit overtakes them.
func (c *conn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.barriers--; c.barriers > 0 {
		return
	}
	for _, m := range c.held {
		c.bus.Publish(m.channel, m.payload) // a drop is counted by the bus
	}
	clear(c.held)
	c.held = c.held[:0]
	c.heldBytes = 0
}

// flush is Flush.
func (c *conn) flush(ctx context.Context) error {
	if c.closed.Load() {
		return ErrClosed
	}
	return c.barrier(ctx, nil)
}

// publishWait publishes a request once the broadcasts queued before it
// were written, and waits for Redis.
func (c *conn) publishWait(ctx context.Context, channel string, msg []byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	return c.barrier(ctx, func() error {
		if _, err := c.bus.PublishWait(ctx, channel, msg); err != nil {
			if errors.Is(err, redisbus.ErrClosed) {
				return ErrClosed
			}
			return fmt.Errorf("emitter: publish on %s: %w", channel, err)
		}
		c.requests.Add(1)
		return nil
	})
}
