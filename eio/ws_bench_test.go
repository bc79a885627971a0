package eio_test

// Benchmarks of the per-message WebSocket paths through eio, with a
// provider that does no I/O: what the session itself costs per message.

import (
	"net/http"
	"testing"

	"github.com/sioloop/sioloop/eio"
)

type benchWS struct{}

func (benchWS) WriteMessage(bool, []byte) {}
func (benchWS) WriteFrames([]byte)        {}
func (benchWS) Close(int)                 {}
func (benchWS) Buffered() int             { return 0 }
func (benchWS) Group() int                { return 0 }
func (benchWS) RemoteAddr() string        { return "127.0.0.1:1" }

type benchX struct {
	req *http.Request
	h   eio.FrameHandler
}

func (x *benchX) Method() string                   { return "GET" }
func (x *benchX) Path() string                     { return "/engine.io/" }
func (x *benchX) Query(k string) string            { return x.req.URL.Query().Get(k) }
func (x *benchX) Header(k string) string           { return x.req.Header.Get(k) }
func (x *benchX) RemoteAddr() string               { return "127.0.0.1:1" }
func (x *benchX) Request() *http.Request           { return x.req }
func (x *benchX) Body() []byte                     { return nil }
func (x *benchX) OnAbort(func())                   {}
func (x *benchX) Respond(int, http.Header, []byte) {}
func (x *benchX) Upgrade(_ http.Header, h eio.FrameHandler) (eio.WSConn, error) {
	x.h = h
	return benchWS{}, nil
}

type nopHandler struct{ n int }

func (h *nopHandler) OnMessage([]byte, bool) { h.n++ }
func (h *nopHandler) OnClose(string)         {}

func BenchmarkWSInbound(b *testing.B) {
	srv := eio.NewServer(eio.Config{})
	defer srv.Close()
	var sess *eio.Session
	h := &nopHandler{}
	srv.OnConnection(func(s *eio.Session) { sess = s; s.SetHandler(h) })
	r, _ := http.NewRequest("GET", "http://x/engine.io/?EIO=4&transport=websocket", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	x := &benchX{req: r}
	srv.Handle(x)
	msg := []byte(`42["chat","hello"]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		x.h.OnMessage(benchWS{}, false, msg)
	}
	_ = sess
}

func BenchmarkWSSend(b *testing.B) {
	srv := eio.NewServer(eio.Config{})
	defer srv.Close()
	var sess *eio.Session
	srv.OnConnection(func(s *eio.Session) { sess = s })
	r, _ := http.NewRequest("GET", "http://x/engine.io/?EIO=4&transport=websocket", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	srv.Handle(&benchX{req: r})
	msg := []byte(`2["chat","hello"]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		sess.Send(msg)
	}
}
