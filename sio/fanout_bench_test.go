package sio

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/eio"
)

// fakeWS is an eio.WSConn that counts what it is given: the benchmark then
// measures the server's own work per recipient, not the kernel's.
type fakeWS struct {
	fh     eio.FrameHandler
	bytes  atomic.Int64
	frames atomic.Int64
	group  int
}

func (c *fakeWS) WriteMessage(binary bool, p []byte) { c.bytes.Add(int64(len(p))); c.frames.Add(1) }
func (c *fakeWS) WriteFrames(b []byte)               { c.bytes.Add(int64(len(b))); c.frames.Add(1) }
func (c *fakeWS) Close(code int)                     {}
func (c *fakeWS) Buffered() int                      { return 0 }
func (c *fakeWS) Group() int                         { return c.group }
func (c *fakeWS) RemoteAddr() string                 { return "127.0.0.1:1" }

// fakeExchange carries a WebSocket handshake request to the engine.
type fakeExchange struct {
	r    *http.Request
	conn *fakeWS
	ws   eio.WSConn // the connection Upgrade returns; conn when nil
}

func (x *fakeExchange) Method() string          { return x.r.Method }
func (x *fakeExchange) Path() string            { return x.r.URL.Path }
func (x *fakeExchange) Query(key string) string { return x.r.URL.Query().Get(key) }
func (x *fakeExchange) Header(key string) string {
	return strings.Join(x.r.Header.Values(key), ", ")
}
func (x *fakeExchange) RemoteAddr() string     { return x.r.RemoteAddr }
func (x *fakeExchange) Request() *http.Request { return x.r }
func (x *fakeExchange) Body() []byte           { return nil }
func (x *fakeExchange) Respond(status int, h http.Header, b []byte) {
	panic(fmt.Sprint("refused: ", status, string(b)))
}
func (x *fakeExchange) OnAbort(func()) {}
func (x *fakeExchange) Upgrade(h http.Header, fh eio.FrameHandler) (eio.WSConn, error) {
	x.conn.fh = fh
	if x.ws != nil {
		return x.ws, nil
	}
	return x.conn, nil
}

// connectFake opens a WebSocket-only session and joins namespace "/".
func connectFake(tb testing.TB, srv *Server, group int) *fakeWS {
	c := &fakeWS{group: group}
	connectWS(srv, c, nil)
	return c
}

// connectWS opens a WebSocket-only session on ws (c itself when nil),
// whose frame handler c keeps, and joins namespace "/".
func connectWS(srv *Server, c *fakeWS, ws eio.WSConn) {
	r := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=websocket", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	srv.serveExchange(&fakeExchange{r: r, conn: c, ws: ws})
	if ws == nil {
		ws = c
	}
	c.fh.OnMessage(ws, false, []byte("40"))
}

func waitSockets(tb testing.TB, ns *Namespace, n int) {
	deadline := time.Now().Add(10 * time.Second)
	for len(ns.Sockets()) < n {
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d sockets connected", len(ns.Sockets()), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkFanout measures io.to(room).emit to N members: one encoding per
// broadcast, then the per-recipient hand-off to each session's transport.
// allocs/op must not grow with N.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			srv := NewServer(Config{Loops: 4})
			srv.OnConnection(func(s *Socket) { s.Join("r1") })
			conns := make([]*fakeWS, n)
			for i := range conns {
				conns[i] = connectFake(b, srv, i%4)
			}
			waitSockets(b, srv.root, n)
			for srv.root.adapter.(*MemoryAdapter).hub.Size("r1") < n {
				time.Sleep(time.Millisecond)
			}
			obj := json.RawMessage(`{"room":"r1","s":1,"seq":2,"t":1700000000000000,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := srv.To("r1").Emit("msg", obj); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/recipient")
			var frames int64
			for _, c := range conns {
				frames += c.frames.Load()
			}
			if frames < int64(b.N)*int64(n) {
				b.Fatalf("delivered %d frames, want >= %d", frames, int64(b.N)*int64(n))
			}
		})
	}
}
