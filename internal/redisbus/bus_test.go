package redisbus

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/internal/redistest"
)

// wait is the deadline of every event a test waits for: generous, for a
// loaded 2-core machine.
const wait = 60 * time.Second

// msg is one message the recorder saw.
type msg struct {
	kind             Kind
	channel, pattern string
	payload          string
}

// recorder is a Handler that keeps every message for the test.
type recorder struct {
	mu   sync.Mutex
	msgs []msg
	more chan struct{} // closed and replaced on every message
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{})} }

func (r *recorder) handle(k Kind, channel, pattern string, payload []byte) {
	r.mu.Lock()
	r.msgs = append(r.msgs, msg{k, channel, pattern, string(payload)})
	close(r.more)
	r.more = make(chan struct{})
	r.mu.Unlock()
}

// waitFor waits until some message satisfies ok, and returns it.
func (r *recorder) waitFor(t *testing.T, what string, ok func(msg) bool) msg {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	seen := 0
	for {
		r.mu.Lock()
		for ; seen < len(r.msgs); seen++ {
			if ok(r.msgs[seen]) {
				m := r.msgs[seen]
				r.mu.Unlock()
				return m
			}
		}
		more := r.more
		r.mu.Unlock()
		select {
		case <-more:
		case <-deadline.C:
			t.Fatalf("no %s within %v", what, wait)
		}
	}
}

// waitCount waits until n messages satisfy ok.
func (r *recorder) waitCount(t *testing.T, what string, n int, ok func(msg) bool) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		more := r.more
		r.mu.Unlock()
		if got := r.count(ok); got >= n {
			return
		} else {
			select {
			case <-more:
			case <-deadline.C:
				t.Fatalf("%d of %d %s within %v", got, n, what, wait)
			}
		}
	}
}

func (r *recorder) count(ok func(msg) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if ok(m) {
			n++
		}
	}
	return n
}

func newBus(t *testing.T, addrs []string, h Handler, mod func(*Options)) *Bus {
	t.Helper()
	o := Options{Addrs: addrs, Handler: h, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	if mod != nil {
		mod(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	b, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// testWriter sends the Bus's log to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func syncBus(t *testing.T, b *Bus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

func numSub(t *testing.T, b *Bus, channel string, shard bool) int64 {
	t.Helper()
	var n int64
	var err error
	if shard {
		n, err = b.ShardNumSub(ctxT(t), channel)
	} else {
		n, err = b.NumSub(ctxT(t), channel)
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPublishSubscribeRoundTrip(t *testing.T) {
	srv := redistest.Start(t)
	rec := newRecorder()
	sub := newBus(t, []string{srv.Addr()}, rec.handle, nil)
	pub := newBus(t, []string{srv.Addr()}, nil, nil)

	sub.Subscribe("socket.io-request#/#")
	sub.PSubscribe("socket.io#/#*")
	sub.SSubscribe("shard#/#")
	syncBus(t, sub)

	tests := []struct {
		name    string
		publish func()
		want    msg
	}{
		{"publish", func() { pub.Publish("socket.io-request#/#", []byte("req")) },
			msg{KindMessage, "socket.io-request#/#", "", "req"}},
		{"publish to a pattern", func() { pub.Publish("socket.io#/#room1#", []byte{0x93, 0xa6, 0}) },
			msg{KindPMessage, "socket.io#/#room1#", "socket.io#/#*", "\x93\xa6\x00"}},
		{"spublish", func() { pub.SPublish("shard#/#", []byte("s")) },
			msg{KindSMessage, "shard#/#", "", "s"}},
		{"publish and wait", func() {
			if n, err := pub.PublishWait(ctxT(t), "socket.io-request#/#", []byte("waited")); err != nil || n != 1 {
				t.Errorf("PublishWait: %d receivers, %v; want 1", n, err)
			}
		}, msg{KindMessage, "socket.io-request#/#", "", "waited"}},
		{"spublish and wait", func() {
			if n, err := pub.SPublishWait(ctxT(t), "shard#/#", []byte("swaited")); err != nil || n != 1 {
				t.Errorf("SPublishWait: %d receivers, %v; want 1", n, err)
			}
		}, msg{KindSMessage, "shard#/#", "", "swaited"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.publish()
			got := rec.waitFor(t, tt.name, func(m msg) bool { return m.payload == tt.want.payload })
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if err := pub.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if s := pub.Stats(); s.Published != 3 || s.Dropped != 0 {
		t.Fatalf("publisher stats %+v, want 3 published, 0 dropped", s)
	}
}

// The handler may change subscriptions and publish: none of it waits.
func TestHandlerMaySubscribeAndPublish(t *testing.T) {
	srv := redistest.Start(t)
	rec := newRecorder()
	var b *Bus
	var once atomic.Bool
	b = newBus(t, []string{srv.Addr()}, func(k Kind, ch, pat string, p []byte) {
		if ch == "join" && once.CompareAndSwap(false, true) {
			b.SSubscribe("room#")
			b.Unsubscribe("join")
			b.Publish("join", []byte("lost"))
		}
		rec.handle(k, ch, pat, p)
	}, nil)
	b.Subscribe("join")
	syncBus(t, b)
	if _, err := b.PublishWait(ctxT(t), "join", []byte("go")); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "the first message", func(m msg) bool { return m.payload == "go" })
	syncBus(t, b)
	if n := numSub(t, b, "room#", true); n != 1 {
		t.Fatalf("SHARDNUMSUB room# = %d, want 1", n)
	}
	if n := numSub(t, b, "join", false); n != 0 {
		t.Fatalf("NUMSUB join = %d, want 0", n)
	}
	b.SPublish("room#", []byte("in the room"))
	rec.waitFor(t, "the room's message", func(m msg) bool { return m.kind == KindSMessage && m.payload == "in the room" })
}

func TestDynamicSubscriptions(t *testing.T) {
	srv := redistest.Start(t)
	rec := newRecorder()
	sub := newBus(t, []string{srv.Addr()}, rec.handle, nil)
	pub := newBus(t, []string{srv.Addr()}, nil, nil)

	for i := 0; i < 3; i++ {
		t.Run("round "+strconv.Itoa(i), func(t *testing.T) {
			rooms := make([]string, 50)
			for j := range rooms {
				rooms[j] = fmt.Sprintf("socket.io#/#r%d-%d#", i, j)
			}
			shards := make([]string, len(rooms))
			for j, r := range rooms {
				shards[j] = "shard-" + r
			}
			sub.Subscribe(rooms...)
			sub.SSubscribe(shards...)
			syncBus(t, sub)
			for j, r := range rooms {
				if n := numSub(t, pub, r, false); n != 1 {
					t.Fatalf("NUMSUB %s = %d, want 1", r, n)
				}
				if n := numSub(t, pub, shards[j], true); n != 1 {
					t.Fatalf("SHARDNUMSUB %s = %d, want 1", shards[j], n)
				}
			}
			last := rooms[len(rooms)-1]
			pub.Publish(last, []byte("p"+last))
			rec.waitFor(t, "a room message", func(m msg) bool { return m.payload == "p"+last && m.kind == KindMessage })

			pub.SPublish(shards[0], []byte("s"+shards[0]))
			rec.waitFor(t, "a shard message", func(m msg) bool { return m.payload == "s"+shards[0] && m.kind == KindSMessage })

			sub.Unsubscribe(rooms...)
			sub.SUnsubscribe(shards...)
			syncBus(t, sub)
			for j, r := range rooms {
				if n := numSub(t, pub, r, false); n != 0 {
					t.Fatalf("NUMSUB %s = %d after Unsubscribe, want 0", r, n)
				}
				if n := numSub(t, pub, shards[j], true); n != 0 {
					t.Fatalf("SHARDNUMSUB %s = %d after SUnsubscribe, want 0", shards[j], n)
				}
			}
		})
	}

	t.Run("counted", func(t *testing.T) {
		sub.PSubscribe("counted#*")
		sub.PSubscribe("counted#*")
		sub.PUnsubscribe("counted#*")
		syncBus(t, sub)
		if n, err := pub.PublishWait(ctxT(t), "counted#1", []byte("still")); err != nil || n != 1 {
			t.Fatalf("PUBLISH reached %d (%v), want 1: one PUnsubscribe of two ends the pattern", n, err)
		}
		sub.PUnsubscribe("counted#*")
		sub.PUnsubscribe("counted#*") // one too many: ignored
		syncBus(t, sub)
		if n, err := pub.PublishWait(ctxT(t), "counted#1", []byte("gone")); err != nil || n != 0 {
			t.Fatalf("PUBLISH reached %d (%v), want 0", n, err)
		}
	})
}

// clientsSubscribed counts the server's connections with any subscription
// (CLIENT LIST: sub, psub or ssub above zero).
func clientsSubscribed(t *testing.T, srv *redistest.Server) int {
	t.Helper()
	out, err := srv.Do("CLIENT", "LIST")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(out, "\n") {
		for _, f := range strings.Fields(line) {
			if k, v, ok := strings.Cut(f, "="); ok && (k == "sub" || k == "psub" || k == "ssub") && v != "0" {
				n++
				break
			}
		}
	}
	return n
}

// NUMSUB must count one per Bus (Node's serverCount is PUBSUB NUMSUB of
// the request channel, @socket.io/redis-adapter lib/index.ts): two Buses,
// one of them subscribing the request channel twice and a matching pattern
// too.
func TestNumSubCountsOnePerBus(t *testing.T) {
	srv := redistest.Start(t)
	a := newBus(t, []string{srv.Addr()}, nil, nil)
	b := newBus(t, []string{srv.Addr()}, nil, nil)
	const req = "socket.io-request#/#"
	a.Subscribe(req)
	a.Subscribe(req, "socket.io-response#/#")
	a.PSubscribe("socket.io-request#*")
	a.SSubscribe("socket.io#/#")
	b.Subscribe(req)
	syncBus(t, a)
	syncBus(t, b)
	if n := numSub(t, a, req, false); n != 2 {
		t.Fatalf("NUMSUB = %d, want 2 (one per Bus)", n)
	}
	if n := clientsSubscribed(t, srv); n != 2 {
		t.Fatalf("%d subscribed connections, want 2 (one per Bus)", n)
	}
	a.Unsubscribe(req)
	syncBus(t, a)
	if n := numSub(t, a, req, false); n != 2 {
		t.Fatalf("NUMSUB = %d after one of two Unsubscribes, want 2", n)
	}
}

// The queue bound: with Redis paused, Publish accepts about QueueBytes,
// drops the rest at once, and the accepted messages arrive after Redis
// resumes.
func TestPublishQueueBound(t *testing.T) {
	srv := redistest.Start(t)
	rec := newRecorder()
	sub := newBus(t, []string{srv.Addr()}, rec.handle, nil)
	const bound = 64 << 10
	pub := newBus(t, []string{srv.Addr()}, nil, func(o *Options) { o.QueueBytes = bound })
	sub.Subscribe("q")
	syncBus(t, sub)
	if _, err := pub.PublishWait(ctxT(t), "q", []byte("warm")); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Do("CLIENT", "PAUSE", "60000", "WRITE"); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("x"), 1023) // 1 KiB with the channel name
	var accepted, refused int
	var slowest time.Duration
	for i := 0; i < 1000; i++ {
		start := time.Now()
		ok := pub.Publish("q", payload)
		slowest = max(slowest, time.Since(start))
		if ok {
			accepted++
		} else {
			refused++
		}
		if q := pub.Stats().QueuedBytes; q > bound {
			t.Fatalf("%d bytes queued, bound %d", q, bound)
		}
	}
	if _, err := srv.Do("CLIENT", "UNPAUSE"); err != nil {
		t.Fatal(err)
	}
	// The first message may be in flight, out of the queue, when the rest
	// fill it: bound/1024 queued plus a batch of at most that.
	if accepted < bound/1024 || accepted > 2*bound/1024 || refused != 1000-accepted {
		t.Fatalf("accepted %d, refused %d of 1000 messages of 1 KiB with a bound of %d bytes", accepted, refused, bound)
	}
	if d := pub.Dropped(); d != uint64(refused) {
		t.Fatalf("Dropped() = %d, want %d", d, refused)
	}
	if err := pub.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	rec.waitCount(t, "the accepted messages", accepted, func(m msg) bool { return len(m.payload) == 1023 })
	t.Logf("accepted %d, dropped %d, slowest Publish %v, stats %+v", accepted, refused, slowest, pub.Stats())
	if s := pub.Stats(); s.Published != uint64(accepted) { // PublishWait is not counted
		t.Fatalf("Published = %d, want %d", s.Published, accepted)
	}
}
