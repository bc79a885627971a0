package redisstreams

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"

	"github.com/sioloop/sioloop/internal/redisbus"
	"github.com/sioloop/sioloop/sio"
)

// Config configures the adapter. The zero value of each field is its
// default; the names and defaults of the Node adapter's options are given
// in brackets. Every node of a cluster uses the same StreamName,
// StreamCount, ChannelPrefix and SessionKeyPrefix.
type Config struct {
	// Addr is the Redis server, host:port (default 127.0.0.1:6379).
	Addr string
	// Username, Password and DB select the account and database.
	Username, Password string
	DB                 int

	// StreamName is the stream, or the prefix of the streams when
	// StreamCount > 1 [streamName, "socket.io"].
	StreamName string
	// StreamCount spreads namespaces over that many streams,
	// <StreamName>-<i> with i = hashCode(namespace) % StreamCount as in
	// Node [streamCount, 1]. Each stream has its own reader.
	StreamCount int
	// MaxLen trims each stream to about that many entries (XADD MAXLEN ~)
	// [maxLen, 10000]. A client that was away for more entries than this
	// cannot be recovered.
	MaxLen int64
	// ReadCount is the most entries one XREAD returns [readCount, 100].
	ReadCount int64
	// BlockTime is how long one XREAD waits for entries [blockTimeInMs,
	// 5 s]; it bounds how long Close waits for the readers.
	BlockTime time.Duration
	// ChannelPrefix prefixes the pub/sub channels [channelPrefix,
	// "socket.io"]: <prefix>#<nsp># and <prefix>#<nsp>#<uid>#.
	ChannelPrefix string
	// SessionKeyPrefix prefixes the keys of saved sessions
	// [sessionKeyPrefix, "sio:session:"].
	SessionKeyPrefix string
	// RequestsTimeout bounds fetchSockets and serverSideEmit with acks
	// when their context has no deadline (default 5 s, the ClusterAdapter's
	// fixed timeout).
	RequestsTimeout time.Duration

	// AppendTimeout bounds one XADD (default 3 s). A broadcast whose XADD
	// fails or times out is delivered here without an offset; the next
	// XADDs are then skipped (their broadcasts delivered at once, without
	// offsets, and never seen by other nodes) until one succeeds again,
	// tried after 50 ms, then at doubling intervals up to 2 s.
	AppendTimeout time.Duration
	// MaxQueuedBytes bounds what one namespace's pipeline holds: the XADD
	// data of the broadcasts, joins, leaves and disconnects waiting for
	// their XADD, plus 256 bytes each (default 8 MiB: about 23,000
	// broadcasts of 100 bytes, two seconds of what one namespace appends,
	// BenchmarkPipeline). Past it a broadcast is not appended (counted as
	// Dropped, logged) and is delivered here at once, ahead of the queued
	// ones; a join, leave or disconnect is applied here at once and
	// returns ErrQueueFull. Appended broadcasts waiting for the reader to
	// deliver them are not counted: AppendTimeout bounds their wait.
	MaxQueuedBytes int
	// MaxQueuedPublishBytes bounds the pub/sub messages waiting to be
	// written (requests, answers, broadcasts with acks; default 4 MiB,
	// redisbus.DefaultQueueBytes). Past it they are dropped and counted.
	MaxQueuedPublishBytes int
	// Logger receives the adapter's warnings, at most one per kind every
	// 5 s (default slog.Default()).
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultAppendTimeout  = 3 * time.Second
	DefaultMaxQueuedBytes = 8 << 20
	// itemOverhead is what one queued message counts beyond its data.
	itemOverhead = 256
)

func (c *Config) withDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:6379"
	}
	if c.StreamName == "" {
		c.StreamName = "socket.io"
	}
	if c.StreamCount <= 0 {
		c.StreamCount = 1
	}
	if c.MaxLen <= 0 {
		c.MaxLen = 10000
	}
	if c.ReadCount <= 0 {
		c.ReadCount = 100
	}
	if c.BlockTime <= 0 {
		c.BlockTime = 5 * time.Second
	}
	if c.BlockTime < time.Millisecond {
		c.BlockTime = time.Millisecond // BLOCK 0 would wait forever
	}
	if c.ChannelPrefix == "" {
		c.ChannelPrefix = "socket.io"
	}
	if c.SessionKeyPrefix == "" {
		c.SessionKeyPrefix = "sio:session:"
	}
	if c.RequestsTimeout <= 0 {
		c.RequestsTimeout = 5 * time.Second
	}
	if c.AppendTimeout <= 0 {
		c.AppendTimeout = DefaultAppendTimeout
	}
	if c.MaxQueuedBytes <= 0 {
		c.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	if c.MaxQueuedPublishBytes <= 0 {
		c.MaxQueuedPublishBytes = redisbus.DefaultQueueBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// ErrQueueFull is returned by SocketsJoin, SocketsLeave and
// DisconnectSockets when the namespace's pipeline is full: the change was
// applied on this node only.
var ErrQueueFull = errors.New("redisstreams: pipeline full, applied on this node only")

// ErrTimeout is returned (wrapped, with the count of answers) when other
// nodes did not all answer a fetchSockets request before its deadline; the
// sockets that came are returned with it.
var ErrTimeout = errors.New("redisstreams: timeout reached")

// Adapter is one server's connection to the cluster: the Redis
// connections, one reader per stream, and each namespace's sio.Adapter
// (ForNamespace). Use one Adapter per sio.Server.
type Adapter struct {
	cfg     Config
	bus     *redisbus.Bus
	streams []*stream

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the readers

	mu       sync.RWMutex
	nsps     map[string]*nsAdapter   // by namespace name; guarded by mu
	channels map[string]func([]byte) // pub/sub routes by channel; guarded by mu
	closed   bool                    // guarded by mu

	health health

	appended, appendFailed, dropped atomic.Uint64
	read, malformed, readErrors     atomic.Uint64
	failures, restored, replayed    atomic.Uint64
	lastLog                         sync.Map // warning kind -> *atomic.Int64 (unix ns of its last line)
}

// stream is one stream and its reader's position.
type stream struct {
	name  string
	posMu sync.Mutex
	// pos is the last entry the reader handled, or the node's start marker
	// (entries up to it were there before this node). Written by the reader
	// while it holds the namespace lock of the entry it delivered, so that
	// a restore that reads it under that lock knows what was delivered
	// (session.go). Guarded by posMu.
	pos entryID
}

func (s *stream) position() entryID {
	s.posMu.Lock()
	defer s.posMu.Unlock()
	return s.pos
}

func (s *stream) setPosition(id entryID) {
	s.posMu.Lock()
	s.pos = id
	s.posMu.Unlock()
}

// New connects to Redis and starts one reader per stream. Redis must be
// reachable now: New appends a start marker to each stream (an entry
// without nsp, which every reader skips) and reads from it. Later losses
// are survived: the connections reconnect, the readers go on from their
// last entry.
func New(ctx context.Context, cfg Config) (*Adapter, error) {
	cfg.withDefaults()
	r := &Adapter{cfg: cfg, nsps: map[string]*nsAdapter{}, channels: map[string]func([]byte){}}
	bus, err := redisbus.New(ctx, redisbus.Options{
		Addrs:      []string{cfg.Addr},
		Username:   cfg.Username,
		Password:   cfg.Password,
		DB:         cfg.DB,
		QueueBytes: cfg.MaxQueuedPublishBytes,
		Logger:     cfg.Logger,
		Handler:    func(_ redisbus.Kind, channel, _ string, payload []byte) { r.onPubSub(channel, payload) },
	})
	if err != nil {
		return nil, err
	}
	if bus.IsCluster() {
		bus.Close()
		return nil, errors.New("redisstreams: Redis Cluster is not supported (one stream reader per node would be needed)")
	}
	r.bus = bus
	marker := randomID()
	for i := 0; i < cfg.StreamCount; i++ {
		name := cfg.StreamName
		if cfg.StreamCount > 1 {
			name += "-" + strconv.Itoa(i)
		}
		// Reading from "$" would miss what is added between an XREAD that
		// timed out and the next one, until a first entry arrives (XREAD
		// in the Redis documentation: $ stands for the largest id in the
		// stream when the call is made); the marker's id is a position to
		// read from.
		id, err := bus.XAdd(ctx, name, cfg.MaxLen, "uid", marker)
		if err != nil {
			bus.Close()
			return nil, err
		}
		pos, ok := parseID(id)
		if !ok {
			bus.Close()
			return nil, errors.New("redisstreams: XADD returned id " + strconv.Quote(id))
		}
		r.streams = append(r.streams, &stream{name: name, pos: pos})
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	for _, s := range r.streams {
		r.wg.Add(1)
		go r.readLoop(s)
	}
	return r, nil
}

// streamOf is the stream of namespace nsp: Node's hashCode (int32
// arithmetic over UTF-16 units, truncating remainder).
func (r *Adapter) streamOf(nsp string) *stream {
	if len(r.streams) == 1 {
		return r.streams[0]
	}
	var h int32
	for _, u := range utf16.Encode([]rune(nsp)) {
		h = h*31 + int32(u)
	}
	i := h % int32(len(r.streams))
	if i < 0 {
		// Node names the stream with the negative remainder
		// (socket.io--3) and, like Node, nobody reads it.
		r.warn("stream", "redisstreams: namespace "+strconv.Quote(nsp)+" maps to a stream no reader reads, as with Node's adapter", slog.Int("index", int(i)))
		return &stream{name: r.cfg.StreamName + "-" + strconv.Itoa(int(i))}
	}
	return r.streams[i]
}

// ForNamespace returns the adapter of ns: set it as sio.Config.Adapter.
// It subscribes the namespace's channels and waits for Redis to confirm
// (at most RequestsTimeout; on failure the subscription is retried with
// the connection's).
func (r *Adapter) ForNamespace(ns *sio.Namespace) sio.Adapter {
	a := newNsAdapter(r, ns)
	r.mu.Lock()
	r.nsps[ns.Name()] = a
	r.channels[a.public] = a.onMessage
	r.channels[a.private] = a.onMessage
	r.mu.Unlock()
	r.bus.Subscribe(a.public, a.private)
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.RequestsTimeout)
	defer cancel()
	if err := r.bus.Sync(ctx); err != nil {
		r.warn("subscribe", "redisstreams: cannot subscribe namespace "+ns.Name(), slog.Any("error", err))
	}
	return a
}

func (r *Adapter) forget(a *nsAdapter) {
	r.mu.Lock()
	if r.nsps[a.ns.Name()] == a {
		delete(r.nsps, a.ns.Name())
	}
	delete(r.channels, a.public)
	delete(r.channels, a.private)
	r.mu.Unlock()
	r.bus.Unsubscribe(a.public, a.private)
}

func (r *Adapter) namespace(name string) *nsAdapter {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.nsps[name]
}

// onPubSub routes a pub/sub message; payload is valid during the call only.
// It runs on the bus's receiving goroutine.
func (r *Adapter) onPubSub(channel string, payload []byte) {
	defer r.containPanic("pub/sub message")
	r.mu.RLock()
	h := r.channels[channel]
	r.mu.RUnlock()
	if h != nil {
		h(payload)
	}
}

func (r *Adapter) containPanic(what string) {
	if v := recover(); v != nil {
		r.failures.Add(1)
		r.cfg.Logger.Error("redisstreams: panic handling a "+what, slog.Any("panic", v))
	}
}

// Stats are the adapter's counters since New.
type Stats struct {
	// Appended counts XADDs that Redis took.
	Appended uint64
	// AppendFailed counts broadcasts and changes that were delivered or
	// applied on this node without a stream entry: their XADD failed or
	// timed out, or was skipped while Redis did not answer.
	AppendFailed uint64
	// Dropped counts broadcasts and changes that did not fit in their
	// namespace's pipeline (MaxQueuedBytes): delivered or applied on this
	// node at once, never appended.
	Dropped uint64
	// DroppedPublishes counts pub/sub messages that were not published.
	DroppedPublishes uint64
	// Read counts the stream entries read, Malformed those and the pub/sub
	// messages that were not what a socket.io node sends (skipped).
	Read, Malformed uint64
	// ReadErrors counts XREADs that failed (Redis down).
	ReadErrors uint64
	// Restored counts sessions restored on this node, Replayed the
	// packets replayed to them.
	Restored, Replayed uint64
	// Failures counts other errors (encoding, panics contained).
	Failures uint64
}

// Stats returns the adapter's counters.
func (r *Adapter) Stats() Stats {
	return Stats{
		Appended: r.appended.Load(), AppendFailed: r.appendFailed.Load(), Dropped: r.dropped.Load(),
		DroppedPublishes: r.bus.Dropped(),
		Read:             r.read.Load(), Malformed: r.malformed.Load(), ReadErrors: r.readErrors.Load(),
		Restored: r.restored.Load(), Replayed: r.replayed.Load(), Failures: r.failures.Load(),
	}
}

// Flush waits until the pipeline of every namespace is empty: what was
// broadcast before the call is appended (or given up on) and delivered
// here. It returns ctx's error if ctx ends first.
func (r *Adapter) Flush(ctx context.Context) error {
	r.mu.RLock()
	nsps := make([]*nsAdapter, 0, len(r.nsps))
	for _, a := range r.nsps {
		nsps = append(nsps, a)
	}
	r.mu.RUnlock()
	for _, a := range nsps {
		a.pipe.wait(ctx)
		a.waitAwaiting(ctx)
	}
	return ctx.Err()
}

// Close stops the readers, lets each namespace's pipeline finish what it
// holds (at most AppendTimeout), and closes the Redis connections. Close
// the sio.Server first.
func (r *Adapter) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	nsps := make([]*nsAdapter, 0, len(r.nsps))
	for _, a := range r.nsps {
		nsps = append(nsps, a)
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.AppendTimeout)
	for _, a := range nsps {
		a.pipe.wait(ctx)
		a.waitAwaiting(ctx)
	}
	cancel()
	r.cancel()
	r.wg.Wait()
	return r.bus.Close()
}

// logEvery is the least time between two warnings of one kind.
const logEvery = 5 * time.Second

// warn logs msg unless a warning of the same kind was logged less than
// logEvery ago.
func (r *Adapter) warn(kind, msg string, attrs ...slog.Attr) {
	v, _ := r.lastLog.LoadOrStore(kind, new(atomic.Int64))
	last := v.(*atomic.Int64)
	now := time.Now().UnixNano()
	prev := last.Load()
	if now-prev < int64(logEvery) || !last.CompareAndSwap(prev, now) {
		return
	}
	r.cfg.Logger.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
}

func (r *Adapter) failed(what string, err error) {
	n := r.failures.Add(1)
	r.warn("failure", "redisstreams: cannot "+what, slog.Any("error", err), slog.Uint64("failures", n))
}

func (r *Adapter) badInput(where string, err error) {
	n := r.malformed.Add(1)
	r.warn("malformed", "redisstreams: ignored a malformed message", slog.String("from", where), slog.Any("error", err), slog.Uint64("malformed", n))
}

// health tracks whether XADD works. After a failure the pipelines skip
// their XADDs, delivering at once, until a retry succeeds: one XADD is
// tried after 50 ms, then after doubling intervals up to 2 s.
type health struct {
	mu      sync.Mutex
	down    bool      // guarded by mu
	streak  int       // failures in a row; guarded by mu
	retryAt time.Time // guarded by mu
}

const (
	retryMin = 50 * time.Millisecond
	retryMax = 2 * time.Second
)

// try reports whether an XADD should be sent now.
func (h *health) try() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down {
		return true
	}
	now := time.Now()
	if now.Before(h.retryAt) {
		return false
	}
	h.retryAt = now.Add(h.delay()) // one attempt per interval
	return true
}

func (h *health) delay() time.Duration {
	d := retryMin << min(h.streak, 16)
	return min(d, retryMax)
}

func (h *health) fail() {
	h.mu.Lock()
	h.down = true
	h.retryAt = time.Now().Add(h.delay())
	h.streak++
	h.mu.Unlock()
}

func (h *health) ok() {
	h.mu.Lock()
	h.down, h.streak = false, 0
	h.mu.Unlock()
}
