package redisbus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// Defaults of Options.
const (
	// DefaultQueueBytes is the default Options.QueueBytes: 4 MiB of queued
	// payload, about 20,000 broadcasts of 200 bytes, or 40 ms of the
	// fire-and-forget rate measured in BENCHMARKS.md ("Redis client").
	DefaultQueueBytes = 4 << 20
	// DefaultDialTimeout is the default Options.DialTimeout.
	DefaultDialTimeout = 5 * time.Second
	// DefaultCommandTimeout is the default Options.CommandTimeout.
	DefaultCommandTimeout = 10 * time.Second
	// DefaultReconnectMin and DefaultReconnectMax bound the wait between two
	// attempts to reach a Redis that is down (doubling from min to max).
	DefaultReconnectMin = 50 * time.Millisecond
	DefaultReconnectMax = 1 * time.Second
	// DefaultLogInterval is the default Options.LogInterval.
	DefaultLogInterval = 10 * time.Second
)

// ErrClosed is returned by the Bus's methods after Close.
var ErrClosed = errors.New("redisbus: closed")

// Kind tells how a message reached the handler.
type Kind uint8

const (
	// KindMessage is a message on a channel given to Subscribe ("message").
	KindMessage Kind = iota + 1
	// KindPMessage is a message on a channel that matched a pattern given
	// to PSubscribe ("pmessage"); the handler's pattern is that pattern.
	KindPMessage
	// KindSMessage is a message on a shard channel given to SSubscribe
	// ("smessage").
	KindSMessage
)

// String is the RESP name of the message kind.
func (k Kind) String() string {
	switch k {
	case KindMessage:
		return "message"
	case KindPMessage:
		return "pmessage"
	case KindSMessage:
		return "smessage"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Handler receives every message of every subscription of a Bus. pattern
// is empty unless kind is KindPMessage. payload is read-only and valid
// only until the handler returns: copy what must outlive the call.
//
// The handler is called on the Bus's receiving goroutines (the reader of
// each subscriber connection), never concurrently with itself, in the
// order Redis sent the messages of one connection. While it runs, that
// connection is not read: it should return quickly, and must not call
// Sync or Close (which wait for that same reader). It may call Subscribe
// and the other (un)subscribe methods, Publish and SPublish, which never
// block. A handler slower than the messages makes Redis close the
// connection at its client-output-buffer-limit for pub/sub (32 MiB by
// default); the Bus then reconnects and resubscribes, and the messages in
// between are lost, as pub/sub is at most once.
type Handler func(kind Kind, channel, pattern string, payload []byte)

// Options configure a Bus. Only Addrs is required.
type Options struct {
	// Addrs is a single server's host:port, or one or more addresses of a
	// Redis Cluster's nodes (the Bus asks the first that answers for the
	// others). A single address is a cluster when that server has
	// cluster mode on.
	Addrs []string
	// Username and Password authenticate (AUTH); empty means none.
	Username, Password string
	// DB is the database a single server SELECTs (0 by default). A cluster
	// has only database 0.
	DB int
	// TLS, when not nil, makes every connection use TLS with this config.
	TLS *tls.Config

	// Handler receives the messages of Subscribe, PSubscribe and
	// SSubscribe. A nil Handler discards them.
	Handler Handler

	// QueueBytes bounds the bytes (channel names and payloads) that
	// Publish and SPublish may have queued and not yet written to Redis;
	// the batch being written is not counted. A message that would pass
	// the bound is dropped and counted. Default DefaultQueueBytes; values
	// under 64 KiB are raised to 64 KiB.
	QueueBytes int
	// DialTimeout bounds one connection attempt. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// CommandTimeout bounds the Bus's own commands (the publish batches,
	// SUBSCRIBE and the like) and detects a connection that stopped
	// answering. Default DefaultCommandTimeout.
	CommandTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the wait between two attempts to
	// reach a Redis that is down. Defaults DefaultReconnectMin and
	// DefaultReconnectMax.
	ReconnectMin, ReconnectMax time.Duration
	// Logger receives connection losses, reconnections and dropped
	// messages (at most one line per LogInterval for the drops). Nil
	// discards.
	Logger *slog.Logger
	// LogInterval is the least time between two log lines about dropped
	// messages. Default DefaultLogInterval.
	LogInterval time.Duration
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Addrs) == 0 {
		return o, errors.New("redisbus: Options.Addrs is empty")
	}
	if o.QueueBytes == 0 {
		o.QueueBytes = DefaultQueueBytes
	}
	if o.QueueBytes < 64<<10 {
		o.QueueBytes = 64 << 10
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = DefaultCommandTimeout
	}
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = DefaultReconnectMin
	}
	if o.ReconnectMax < o.ReconnectMin {
		o.ReconnectMax = max(DefaultReconnectMax, o.ReconnectMin)
	}
	if o.LogInterval <= 0 {
		o.LogInterval = DefaultLogInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Handler == nil {
		o.Handler = func(Kind, string, string, []byte) {}
	}
	return o, nil
}

// Bus is a Redis connection set shared by the cluster adapters and the
// emitter of one server process. Its methods are safe for concurrent use.
type Bus struct {
	opts    Options
	client  rueidis.Client
	cluster bool
	log     *slog.Logger

	// deliver serializes the handler across subscriber connections.
	deliver sync.Mutex

	pub publisher

	mu sync.Mutex // guards the fields below and every subConn's want sets
	// channels, patterns and shards count the subscriptions of each name
	// (Subscribe adds one, Unsubscribe removes one; Redis is subscribed
	// while the count is above zero).
	channels, patterns, shards map[string]int
	// conns are the subscriber connections, by node address ("" for a
	// single server). A cluster Bus has the home node's (channels and
	// patterns) and one for each master that owns a subscribed shard
	// channel's slot.
	conns map[string]*subConn
	topo  *topology // cluster only; nil until loaded
	home  string    // cluster only: node of channels, patterns and PUBLISH
	// changed is closed (and replaced) whenever a subConn's applied state
	// changes; Sync waits on it.
	changed chan struct{}
	closed  bool

	topoDirty  chan struct{} // cap 1: a subConn saw MOVED or a slot move
	reconnects atomic.Uint64
	done       chan struct{} // closed by Close
	wg         sync.WaitGroup
}

// New connects to Redis and starts the Bus's goroutines: the publish
// sender and, once something is subscribed, a manager per subscriber
// connection. New fails if no address answers; afterwards the Bus
// reconnects by itself whenever Redis goes away.
func New(ctx context.Context, opts Options) (*Bus, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	co := rueidis.ClientOption{
		InitAddress:      opts.Addrs,
		Username:         opts.Username,
		Password:         opts.Password,
		SelectDB:         opts.DB,
		TLSConfig:        opts.TLS,
		DisableCache:     true,
		ConnWriteTimeout: opts.CommandTimeout,
	}
	co.Dialer.Timeout = opts.DialTimeout
	client, err := rueidis.NewClient(co)
	if err != nil {
		return nil, fmt.Errorf("redisbus: connect %v: %w", opts.Addrs, err)
	}
	b := &Bus{
		opts:      opts,
		client:    client,
		cluster:   client.Mode() == rueidis.ClientModeCluster,
		log:       opts.Logger,
		channels:  map[string]int{},
		patterns:  map[string]int{},
		shards:    map[string]int{},
		conns:     map[string]*subConn{},
		changed:   make(chan struct{}),
		topoDirty: make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	if b.cluster {
		if err := b.refreshTopology(ctx); err != nil {
			client.Close()
			return nil, err
		}
		b.wg.Add(1)
		go b.topologyLoop()
	}
	b.pub.init(b)
	return b, nil
}

// Close stops the Bus: queued publishes are dropped (and counted), the
// subscriber connections and the client are closed, and every goroutine
// has returned when Close returns. The handler is not called after Close
// returns. Close is idempotent.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	for _, c := range b.conns {
		c.kick()
	}
	b.mu.Unlock()
	b.pub.close()
	b.wg.Wait()
	b.client.Close()
	return nil
}

// Stats are the Bus's counters since New.
type Stats struct {
	// Published counts messages of Publish and SPublish that Redis
	// accepted.
	Published uint64
	// Dropped counts messages of Publish and SPublish that were not sent:
	// the queue was full, Redis was down, their batch failed, or the Bus
	// closed first.
	Dropped uint64
	// QueuedBytes is the payload now waiting in the publish queue.
	QueuedBytes int
	// Reconnects counts subscriber connections made again after one was
	// lost (each resubscribed everything it had).
	Reconnects uint64
}

// Stats returns the Bus's counters.
func (b *Bus) Stats() Stats {
	return Stats{
		Published:   b.pub.published.Load(),
		Dropped:     b.pub.dropped.Load(),
		QueuedBytes: b.pub.queuedBytes(),
		Reconnects:  b.reconnects.Load(),
	}
}

// Dropped is Stats().Dropped: the messages of Publish and SPublish that
// were dropped.
func (b *Bus) Dropped() uint64 { return b.pub.dropped.Load() }

// IsCluster reports whether the Bus talks to a Redis Cluster.
func (b *Bus) IsCluster() bool { return b.cluster }

// masters lists the cluster's masters (sorted), or the single server's
// address.
func (b *Bus) masters() []string {
	if !b.cluster {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.topo == nil {
		return nil
	}
	return append([]string(nil), b.topo.masters...)
}

// nodeClient returns the client of one cluster node (addr) or, for a
// single server (addr ""), the Bus's client.
func (b *Bus) nodeClient(addr string) (rueidis.Client, error) {
	if !b.cluster {
		return b.client, nil
	}
	if c, ok := b.client.Nodes()[addr]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("redisbus: node %s is not in the cluster client", addr)
}

// wait sleeps for d or until the Bus closes; it reports whether the Bus is
// still open.
func (b *Bus) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.done:
		return false
	}
}

// backoff doubles d within the reconnect bounds.
func (b *Bus) backoff(d time.Duration) time.Duration {
	if d <= 0 {
		return b.opts.ReconnectMin
	}
	return min(2*d, b.opts.ReconnectMax)
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
