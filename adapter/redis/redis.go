package redis

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sioloop/sioloop/internal/redisbus"
	"github.com/sioloop/sioloop/sio"
)

// Config configures the adapter. The zero value of each field is its
// default.
type Config struct {
	// Addr is the Redis server, host:port (default 127.0.0.1:6379).
	Addr string
	// Username, Password and DB select the account and database.
	Username, Password string
	DB                 int
	// Key prefixes every channel (socket.io-redis-adapter's key, default
	// "socket.io"). Every node of a cluster uses the same.
	Key string
	// RequestsTimeout bounds requests to other nodes whose context has no
	// deadline (default 5 s, as requestsTimeout).
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel answers each request on the
	// requester's own response channel rather than the common one, as the
	// option of that name (default false).
	PublishOnSpecificResponseChannel bool
	// MaxQueuedPublishBytes bounds what waits to be written to Redis;
	// past it a broadcast is dropped and counted (default 64 MiB).
	MaxQueuedPublishBytes int
	// Logger receives the adapter's warnings (default slog.Default()).
	Logger *slog.Logger

	// Addrs, when set, lists Redis Cluster nodes (or one server) to start
	// from instead of Addr.
	Addrs []string
	// SubscriptionMode is the sharded adapter's (NewSharded): "dynamic"
	// (default: one channel per room that is not a socket id), "static"
	// (only the namespace's channel) or "dynamic-private" (one per room,
	// socket ids included). Every node of a cluster uses the same.
	SubscriptionMode string
}

func (c *Config) withDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:6379"
	}
	if c.Key == "" {
		c.Key = "socket.io"
	}
	if c.RequestsTimeout <= 0 {
		c.RequestsTimeout = 5 * time.Second
	}
	if c.MaxQueuedPublishBytes <= 0 {
		c.MaxQueuedPublishBytes = 64 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SubscriptionMode == "" {
		c.SubscriptionMode = "dynamic"
	}
}

// Adapter is one server's connection to the cluster: it makes each
// namespace's sio.Adapter (ForNamespace) and routes Redis messages to
// them.
type Adapter struct {
	cfg Config
	bus *redisbus.Bus

	sharded bool

	mu       sync.RWMutex
	patterns map[string]handler // broadcast patterns; guarded by mu
	channels map[string]handler // other channels; guarded by mu
	badInput atomic.Uint64
	failures atomic.Uint64
	lastLog  atomic.Int64 // unix nanoseconds of the last rate-limited warning
}

// handler handles the messages of one channel or pattern.
type handler func(channel string, payload []byte)

// New connects to Redis and returns the classic adapter (createAdapter),
// one per sio.Server. Redis must be reachable now; later losses are
// survived: the connection reconnects and resubscribes by itself.
func New(ctx context.Context, cfg Config) (*Adapter, error) { return newAdapterSet(ctx, cfg, false) }

// NewSharded connects to Redis (7 or later, one server or a Redis
// Cluster) and returns the sharded pub/sub adapter (createShardedAdapter):
// SSUBSCRIBE/SPUBLISH on the namespace's channel, its own response
// channel, and with SubscriptionMode "dynamic" (the default) or
// "dynamic-private" one channel per room, so that a room's broadcasts
// reach only the shards and nodes that have it.
func NewSharded(ctx context.Context, cfg Config) (*Adapter, error) {
	return newAdapterSet(ctx, cfg, true)
}

func newAdapterSet(ctx context.Context, cfg Config, sharded bool) (*Adapter, error) {
	cfg.withDefaults()
	switch cfg.SubscriptionMode {
	case "static", "dynamic", "dynamic-private":
	default:
		return nil, errors.New("redis adapter: SubscriptionMode must be static, dynamic or dynamic-private")
	}
	r := &Adapter{cfg: cfg, sharded: sharded, patterns: make(map[string]handler), channels: make(map[string]handler)}
	addrs := cfg.Addrs
	if len(addrs) == 0 {
		addrs = []string{cfg.Addr}
	}
	b, err := redisbus.New(ctx, redisbus.Options{
		Addrs:      addrs,
		Username:   cfg.Username,
		Password:   cfg.Password,
		DB:         cfg.DB,
		QueueBytes: cfg.MaxQueuedPublishBytes,
		Logger:     cfg.Logger,
		Handler: func(_ redisbus.Kind, channel, pattern string, payload []byte) {
			r.handle(channel, pattern, payload)
		},
	})
	if err != nil {
		return nil, err
	}
	r.bus = b
	return r, nil
}

// ForNamespace returns the adapter of ns: set it as sio.Config.Adapter.
// It subscribes the namespace's channels before it returns (waiting at
// most RequestsTimeout; on failure the subscription is retried with the
// connection's).
func (r *Adapter) ForNamespace(ns *sio.Namespace) sio.Adapter {
	var a sio.Adapter
	if r.sharded {
		a = newShardedAdapter(r, ns)
	} else {
		a = newAdapter(r, ns)
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.RequestsTimeout)
	defer cancel()
	if err := r.bus.Sync(ctx); err != nil {
		r.failed("subscribe namespace "+ns.Name(), err)
	}
	return a
}

// route registers h for channel (or for pattern when pattern is true).
func (r *Adapter) route(name string, pattern bool, h handler) {
	r.mu.Lock()
	if pattern {
		r.patterns[name] = h
	} else {
		r.channels[name] = h
	}
	r.mu.Unlock()
}

func (r *Adapter) unroute(name string, pattern bool) {
	r.mu.Lock()
	if pattern {
		delete(r.patterns, name)
	} else {
		delete(r.channels, name)
	}
	r.mu.Unlock()
}

// handle routes one message from Redis. It runs on the connection's
// receiving goroutine.
func (r *Adapter) handle(channel, pattern string, payload []byte) {
	defer func() {
		if v := recover(); v != nil {
			r.failures.Add(1)
			r.cfg.Logger.Error("redis adapter: panic handling a message", slog.String("channel", channel), slog.Any("panic", v))
		}
	}()
	r.mu.RLock()
	var h handler
	if pattern != "" {
		h = r.patterns[pattern]
	} else {
		h = r.channels[channel]
	}
	r.mu.RUnlock()
	if h != nil {
		h(channel, payload)
	}
}

// Sync waits until every subscription made before the call is in effect
// at Redis, or until ctx ends. The sharded adapter's dynamic modes
// subscribe a room's channel when the room is created on this node, and
// do not wait for it (nor does Node's): a broadcast to the room published
// by another node before then does not reach it. Sync waits for that.
// It must not be called from a room hook run for another node's request
// (socketsJoin): those run on the goroutine that reads Redis, which Sync
// waits for.
func (r *Adapter) Sync(ctx context.Context) error { return r.bus.Sync(ctx) }

// Stats are the adapter's counters since New.
type Stats struct {
	// DroppedPublishes counts messages that could not be published
	// (Redis unreachable, queue full).
	DroppedPublishes uint64
	// Malformed counts messages from Redis that were not what a
	// socket.io node sends, and were ignored.
	Malformed uint64
	// Failures counts other errors (encoding, subscribing).
	Failures uint64
}

// Stats returns the adapter's counters.
func (r *Adapter) Stats() Stats {
	return Stats{DroppedPublishes: r.bus.Dropped(), Malformed: r.badInput.Load(), Failures: r.failures.Load()}
}

// Flush waits until every broadcast and answer published before the call
// was written to Redis and answered (or dropped and counted), or until ctx
// ends. Publishing never waits for Redis; Flush is for callers that must
// know a broadcast left (a graceful shutdown, a test).
func (r *Adapter) Flush(ctx context.Context) error { return r.bus.Flush(ctx) }

// Close closes the Redis connection. Close the sio.Server first.
func (r *Adapter) Close() error { return r.bus.Close() }

// logEvery is the least time between two warnings of the same kind.
const logEvery = 5 * time.Second

func (r *Adapter) warn(msg string, attrs ...slog.Attr) {
	now := time.Now().UnixNano()
	last := r.lastLog.Load()
	if now-last < int64(logEvery) || !r.lastLog.CompareAndSwap(last, now) {
		return
	}
	r.cfg.Logger.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
}

func (r *Adapter) failed(what string, err error) {
	n := r.failures.Add(1)
	r.warn("redis adapter: cannot "+what, slog.Any("error", err), slog.Uint64("failures", n))
}

func (r *Adapter) malformed(channel string, err error) {
	n := r.badInput.Add(1)
	r.warn("redis adapter: ignored a malformed message", slog.String("channel", channel), slog.Any("error", err), slog.Uint64("malformed", n))
}
