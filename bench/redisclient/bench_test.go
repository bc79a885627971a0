package redisclient

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sioloop/sioloop/internal/redistest"
)

// payloadSize is the size of one message: about an encoded broadcast of a
// short chat event with its options.
const payloadSize = 200

// queueBytes bounds the fire-and-forget queue (redisbus's default).
const queueBytes = 4 << 20

// parallelism multiplies GOMAXPROCS for the RunParallel benchmarks: 32 x 2
// cores = 64 publishing goroutines, like handlers of many sockets.
const parallelism = 32

// receiveTimeout bounds one receive run; generous for a loaded 2-core VM.
const receiveTimeout = 2 * time.Minute

var payload = func() []byte {
	p := make([]byte, payloadSize)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}()

var payloadString = string(payload)

type maker struct {
	name string
	new  func(tb testing.TB, addrs []string) client
}

var makers = []maker{
	{"rueidis", func(tb testing.TB, addrs []string) client {
		c, err := newRueidis(addrs...)
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}},
	{"go-redis", func(tb testing.TB, addrs []string) client { return newGoredis(addrs...) }},
}

// BenchmarkPublish is the publish path on one redis-server.
func BenchmarkPublish(b *testing.B) {
	srv := redistest.Start(b)
	benchPublish(b, []string{srv.Addr()}, false, []string{"socket.io#/#"})
}

// BenchmarkReceive is the receive path on one redis-server: one subscriber
// connection, an exact channel and a pattern.
func BenchmarkReceive(b *testing.B) {
	srv := redistest.Start(b)
	for _, k := range []struct {
		name string
		kind kind
	}{{"subscribe", exact}, {"psubscribe", pattern}} {
		for _, m := range makers {
			b.Run("kind="+k.name+"/client="+m.name, func(b *testing.B) {
				benchReceive(b, m, []string{srv.Addr()}, srv.Addr(), k.kind)
			})
		}
	}
}

// BenchmarkSharded is SPUBLISH and SSUBSCRIBE on a three-master cluster.
// The publishers spread over 16 channels (so over the three masters); the
// receiver subscribes one channel on its slot's master.
func BenchmarkSharded(b *testing.B) {
	cl := redistest.StartCluster(b)
	channels := make([]string, 16)
	for i := range channels {
		channels[i] = "socket.io#/#room" + string(rune('a'+i)) + "#"
	}
	b.Run("publish", func(b *testing.B) { benchPublish(b, cl.Addrs(), true, channels) })
	for _, m := range makers {
		b.Run("receive/kind=ssubscribe/client="+m.name, func(b *testing.B) {
			benchReceive(b, m, cl.Addrs(), "", sharded)
		})
	}
}

func benchPublish(b *testing.B, addrs []string, shard bool, channels []string) {
	ctx := context.Background()
	for _, m := range makers {
		b.Run("mode=sync-serial/client="+m.name, func(b *testing.B) {
			c := m.new(b, addrs)
			defer c.Close()
			b.ReportAllocs()
			b.SetBytes(payloadSize)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.PublishSync(ctx, shard, channels[i%len(channels)], payloadString); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("mode=sync-parallel/client="+m.name, func(b *testing.B) {
			c := m.new(b, addrs)
			defer c.Close()
			var seq atomic.Int64
			b.ReportAllocs()
			b.SetBytes(payloadSize)
			b.SetParallelism(parallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(seq.Add(1))
					if err := c.PublishSync(ctx, shard, channels[i%len(channels)], payloadString); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run("mode=async-serial/client="+m.name, func(b *testing.B) {
			c := m.new(b, addrs)
			defer c.Close()
			q := newQueue(c, shard, queueBytes)
			b.ReportAllocs()
			b.SetBytes(payloadSize)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				q.Push(channels[i%len(channels)], payload)
			}
			q.Drain()
			b.StopTimer()
			if n := q.Close(); n > 0 {
				b.Fatalf("%d batches failed", n)
			}
		})
		b.Run("mode=async-parallel/client="+m.name, func(b *testing.B) {
			c := m.new(b, addrs)
			defer c.Close()
			q := newQueue(c, shard, queueBytes)
			var seq atomic.Int64
			b.ReportAllocs()
			b.SetBytes(payloadSize)
			b.SetParallelism(parallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(seq.Add(1))
					q.Push(channels[i%len(channels)], payload)
				}
			})
			q.Drain()
			b.StopTimer()
			if n := q.Close(); n > 0 {
				b.Fatalf("%d batches failed", n)
			}
		})
	}
	// go-redis 9.23's own (experimental) autopipeliner, for fairness: the
	// blocking face against rueidis's automatic pipelining, the deferred
	// face as go-redis's own fire-and-forget (windowed: each goroutine waits
	// for the command it sent 256 commands before, so that it cannot run
	// ahead of Redis without bound).
	b.Run("mode=sync-parallel/client=go-redis-autopipeline", func(b *testing.B) {
		g := newGoredis(addrs...)
		defer g.Close()
		ap := autoPipeliner(b, g.c, false)
		defer ap.Close()
		var seq atomic.Int64
		b.ReportAllocs()
		b.SetBytes(payloadSize)
		b.SetParallelism(parallelism)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(seq.Add(1))
				if err := apPublish(ctx, ap, shard, channels[i%len(channels)], payloadString).Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("mode=async-parallel/client=go-redis-autopipeline", func(b *testing.B) {
		g := newGoredis(addrs...)
		defer g.Close()
		ap := autoPipeliner(b, g.c, true)
		defer ap.Close()
		var seq atomic.Int64
		b.ReportAllocs()
		b.SetBytes(payloadSize)
		b.SetParallelism(parallelism)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var ring [256]*goredis.IntCmd
			n := 0
			for pb.Next() {
				i := int(seq.Add(1))
				slot := n % len(ring)
				if ring[slot] != nil {
					if err := ring[slot].Err(); err != nil {
						b.Error(err)
						return
					}
				}
				// string(payload): the copy a fire-and-forget publisher
				// makes, as in the queue.
				ring[slot] = apPublish(ctx, ap, shard, channels[i%len(channels)], string(payload))
				n++
			}
			for _, c := range ring {
				if c != nil {
					if err := c.Err(); err != nil {
						b.Error(err)
					}
				}
			}
		})
	})
}

func autoPipeliner(b *testing.B, c goredis.UniversalClient, async bool) *goredis.AutoPipeliner {
	var ap *goredis.AutoPipeliner
	var err error
	switch c := c.(type) {
	case *goredis.Client:
		if async {
			ap, err = c.AsyncAutoPipeline()
		} else {
			ap, err = c.AutoPipeline()
		}
	case *goredis.ClusterClient:
		if async {
			ap, err = c.AsyncAutoPipeline()
		} else {
			ap, err = c.AutoPipeline()
		}
	}
	if err != nil || ap == nil {
		b.Fatalf("autopipeline: %v", err)
	}
	return ap
}

func apPublish(ctx context.Context, ap *goredis.AutoPipeliner, shard bool, channel, payload string) *goredis.IntCmd {
	if shard {
		return ap.SPublish(ctx, channel, payload)
	}
	return ap.Publish(ctx, channel, payload)
}

// benchReceive times one subscriber connection receiving b.N messages.
// feedAddr is the server the feeder writes to; "" means the master of the
// channel's slot (found through the MOVED reply of a cluster node).
func benchReceive(b *testing.B, m maker, addrs []string, feedAddr string, k kind) {
	ctx := context.Background()
	c := m.new(b, addrs)
	defer c.Close()

	var name, channel, command string
	switch k {
	case exact:
		name = channelName("socket.io-request#/#")
		channel, command = name, "PUBLISH"
	case pattern:
		prefix := channelName("socket.io#/")
		name = prefix + "*"
		channel, command = prefix+"room1#", "PUBLISH"
	case sharded:
		name = channelName("socket.io#/#")
		channel, command = name, "SPUBLISH"
	}
	if feedAddr == "" {
		feedAddr = slotMaster(b, addrs, channel)
	}

	var cur atomic.Pointer[receiver]
	stop, err := c.Subscribe(ctx, k, name, func(ch, p string) { cur.Load().onMsg(ch, p) })
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	f := newFeeder(b, feedAddr, command, channel, payload)
	defer f.close()

	warm := newReceiver(perBatch*window, payloadSize)
	cur.Store(warm)
	if err := f.run(warm, receiveTimeout); err != nil {
		b.Fatal(err)
	}
	r := newReceiver(b.N, payloadSize)
	cur.Store(r)

	b.ReportAllocs()
	b.SetBytes(payloadSize)
	b.ResetTimer()
	if err := f.run(r, receiveTimeout); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if n := r.badLen.Load(); n > 0 {
		b.Fatalf("%d messages of the wrong length", n)
	}
}

// slotMaster returns the address of the master that owns channel's slot,
// asking the first node with a raw SPUBLISH: it either accepts the command
// or answers MOVED <slot> <addr>.
func slotMaster(b *testing.B, addrs []string, channel string) string {
	f, err := newProbe(addrs[0])
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	reply, err := f.do("SPUBLISH", channel, "probe")
	if err != nil {
		b.Fatal(err)
	}
	if rest, ok := strings.CutPrefix(reply, "-MOVED "); ok {
		parts := strings.Fields(rest)
		return parts[1]
	}
	return addrs[0]
}
