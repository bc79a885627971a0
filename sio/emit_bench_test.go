package sio

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/sioloop/sioloop/eio"
)

// copyingWS is an eio.WSConn that copies what it is given into one reused
// buffer, as a connection copies it into its output: so the benchmark
// counts the last copy of a payload too, which fakeWS does not.
type copyingWS struct {
	fakeWS
	out []byte
}

func (c *copyingWS) WriteMessage(binary bool, p []byte) {
	c.out = append(c.out[:0], p...)
	c.frames.Add(1)
}

func (c *copyingWS) WriteFrames(b []byte) {
	c.out = append(c.out[:0], b...)
	c.frames.Add(1)
}

// BenchmarkEmit measures Socket.Emit of one string argument to a socket on
// a WebSocket: encoding the packet and handing it to the connection. With
// each copy of the payload costing its length, ns/op at 16 KiB against
// 100 B shows how many copies an emit makes.
func BenchmarkEmit(b *testing.B) {
	for _, size := range []int{100, 16 << 10} {
		b.Run(fmt.Sprintf("bytes=%d", size), func(b *testing.B) {
			srv := NewServer(Config{})
			got := make(chan *Socket, 1)
			srv.OnConnection(func(s *Socket) { got <- s })
			c := &copyingWS{}
			connectWS(srv, &c.fakeWS, c)
			s := <-got
			arg := strings.Repeat("x", size)
			for s.hold.Load() != nil {
				// The hold ends once the connection handler has returned.
				runtime.Gosched()
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.Emit("msg", arg); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if n := c.frames.Load(); n < int64(b.N) {
				b.Fatalf("%d frames written, want >= %d", n, b.N)
			}
			if !bytes.Contains(c.out, []byte(`42["msg","xxx`)) {
				b.Fatalf("last frame %q", c.out[:20])
			}
		})
	}
}

var _ eio.WSConn = (*copyingWS)(nil)
