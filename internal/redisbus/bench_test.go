package redisbus

import (
	"bytes"
	"testing"

	"github.com/sioloop/sioloop/internal/redistest"
)

// BenchmarkPublish is the cost of Publish to its caller, 64 goroutines on
// 2 cores, 200-byte payloads, and what the sender achieved meanwhile: the
// messages it did not get out before the bound are dropped (drops/op).
func BenchmarkPublish(b *testing.B) {
	srv := redistest.Start(b)
	bus, err := New(b.Context(), Options{Addrs: []string{srv.Addr()}})
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()
	payload := bytes.Repeat([]byte{0xa5}, 200)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bus.Publish("socket.io#/#room1#", payload)
		}
	})
	if err := bus.Flush(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	s := bus.Stats()
	b.ReportMetric(float64(s.Dropped)/float64(b.N), "drops/op")
}
