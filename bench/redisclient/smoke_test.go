package redisclient

import (
	"context"
	"testing"
	"time"

	"github.com/sioloop/sioloop/internal/redistest"
)

// TestClients runs each benchmarked path once per client, so that go test
// (and CI) notices when the benchmark stops working.
func TestClients(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	for _, m := range makers {
		t.Run(m.name, func(t *testing.T) {
			c := m.new(t, []string{srv.Addr()})
			defer c.Close()
			for _, k := range []kind{exact, pattern} {
				name := channelName("smoke#")
				channel := name
				if k == pattern {
					channel, name = name+"x", name+"*"
				}
				// The queue's perBatch messages and one feeder batch.
				r := newReceiver(2*perBatch, payloadSize)
				stop, err := c.Subscribe(ctx, k, name, r.onMsg)
				if err != nil {
					t.Fatal(err)
				}
				q := newQueue(c, false, queueBytes)
				for i := 0; i < perBatch; i++ {
					q.Push(channel, payload)
				}
				if n := q.Close(); n > 0 {
					t.Fatalf("%d batches failed", n)
				}
				f := newFeeder(t, srv.Addr(), "PUBLISH", channel, payload)
				if _, err := f.conn.Write(f.batch); err != nil {
					t.Fatal(err)
				}
				select {
				case <-r.done:
				case <-time.After(receiveTimeout):
					t.Fatalf("%d of %d messages", r.count.Load(), r.n)
				}
				f.close()
				stop()
				if err := c.PublishSync(ctx, false, channel, payloadString); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
