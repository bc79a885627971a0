package sio

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkMailbox measures a callback's trip through a mailbox: push from
// one goroutine, drain on the pool, spread over a number of connections.
func BenchmarkMailbox(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			mbs := testMailboxes(newWorkerPool(), n)
			var wg sync.WaitGroup
			wg.Add(b.N)
			done := wg.Done
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				mbs[i%n].post(done)
			}
			wg.Wait()
		})
	}
}

// BenchmarkEcho measures one event received on a WebSocket and its reply:
// decode, mailbox, handler, encode and hand-off to the transport.
func BenchmarkEcho(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			srv := NewServer(Config{Loops: 2})
			srv.OnConnection(func(s *Socket) {
				s.On("echo", func(ev *Event) {
					if err := s.Emit("echo", ev.Arg(0)); err != nil {
						b.Error(err)
					}
				})
			})
			conns := make([]*fakeWS, n)
			for i := range conns {
				conns[i] = connectFake(b, srv, i%2)
			}
			waitSockets(b, srv.root, n)
			base := make([]int64, n)
			for i, c := range conns {
				base[i] = c.frames.Load()
			}
			msg := []byte(`42["echo",{"s":1,"seq":2,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c := conns[i%n]
				c.fh.OnMessage(c, false, msg)
			}
			deadline := time.Now().Add(30 * time.Second)
			for i, c := range conns {
				want := base[i] + int64(b.N/n)
				for c.frames.Load() < want {
					if time.Now().After(deadline) {
						b.Fatalf("conn %d: %d replies, want %d", i, c.frames.Load()-base[i], want-base[i])
					}
					time.Sleep(50 * time.Microsecond)
				}
			}
		})
	}
}
