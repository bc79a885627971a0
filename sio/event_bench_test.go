package sio

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEventDispatch measures one inbound event from the transport to
// its handler: decode, mailbox, worker, the listener walk and the handler
// call (the per-event hot path), on a fake WebSocket with no kernel work.
// The "ack" case answers an EmitWithAck instead: the ack packet is
// resolved on the transport goroutine.
func BenchmarkEventDispatch(b *testing.B) {
	b.Run("event", func(b *testing.B) {
		srv := NewServer(Config{Loops: 1})
		var n atomic.Int64
		srv.OnConnection(func(s *Socket) {
			s.On("x", func(*Event) { n.Add(1) })
		})
		c := connectFake(b, srv, 0)
		waitSockets(b, srv.root, 1)
		msg := []byte(`42["x",{"a":1}]`)
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c.fh.OnMessage(c, false, msg)
		}
		deadline := time.Now().Add(30 * time.Second)
		for n.Load() < int64(b.N) {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d events handled", n.Load(), b.N)
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	b.Run("ack", func(b *testing.B) {
		srv := NewServer(Config{Loops: 1})
		srv.OnConnection(func(*Socket) {})
		c := connectFake(b, srv, 0)
		waitSockets(b, srv.root, 1)
		s := srv.root.Sockets()[0]
		msg := []byte(`430["ok"]`)
		fn := ackFunc(func(Message, error) {})
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s.mu.Lock()
			if s.acks == nil {
				s.acks = make(map[int64]ackFunc)
			}
			s.acks[0] = fn
			s.mu.Unlock()
			c.fh.OnMessage(c, false, msg)
		}
	})
}
