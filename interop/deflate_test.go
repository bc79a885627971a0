package interop_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// deflateServer echoes "echo" in its ack, broadcasts "broadcast-me" to
// every socket and answers "small". (ws reports the names of the
// negotiated extensions only, hence "permessage-deflate" below.)
func deflateServer(srv *sio.Server) {
	srv.OnConnection(func(s *sio.Socket) {
		s.On("echo", func(ev *sio.Event) {
			var text string
			var bin []byte
			if err := ev.Decode(&text, &bin); err != nil {
				_ = ev.Ack("decode: " + err.Error())
				return
			}
			_ = ev.Ack(text, bin)
		})
		s.On("broadcast-me", func(ev *sio.Event) {
			var n int
			_ = ev.Decode(&n)
			_ = srv.Emit("cast", "cast:"+strings.Repeat("the quick brown fox jumps over the lazy dog ", n))
		})
		s.On("small", func(ev *sio.Event) {
			var v string
			_ = ev.Decode(&v)
			_ = ev.Ack(v + "!")
		})
	})
}

// TestSIOPerMessageDeflate runs socket.io-client in Node (its ws package
// compresses) against a server with PerMessageDeflate, on the event loops
// and mounted in net/http, and against one without it: events of some
// 100 KB come back intact either way, and with deflate on both directions
// move a fraction of the payload over TCP.
func TestSIOPerMessageDeflate(t *testing.T) {
	t.Parallel()
	requireNode(t)
	for _, tc := range []struct {
		name string
		mode serveMode
		cfg  *sio.PerMessageDeflate
		want string
	}{
		{"loops", onLoops, &sio.PerMessageDeflate{}, "permessage-deflate"},
		{"nethttp", onNetHTTP, &sio.PerMessageDeflate{Threshold: 64}, "permessage-deflate"},
		{"off", onLoops, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, url := startSIO(t, tc.mode, sio.Config{PerMessageDeflate: tc.cfg}, deflateServer)
			var got struct {
				Extensions string
				Echoed     bool
				CastOK     bool
				Small      string
				Read       int
				Written    int
				Payload    int
				AckInfo    string
			}
			runNode(t, 30*time.Second, &got, "sio.mjs", "deflate", url, jsonArg(t, map[string]any{
				"perMessageDeflate": map[string]any{"threshold": 0},
				"repeat":            2000, // 88 000 bytes of text
				"binBytes":          50000,
			}))
			if got.Extensions != tc.want || !got.Echoed || !got.CastOK || got.Small != "hi!" {
				t.Fatalf("got %+v", got)
			}
			moved := got.Read + got.Written
			if tc.cfg != nil && moved > got.Payload/10 {
				t.Fatalf("deflate on: %d bytes moved for %d of payload", moved, got.Payload)
			}
			if tc.cfg == nil && moved < got.Payload {
				t.Fatalf("deflate off: only %d bytes moved for %d of payload", moved, got.Payload)
			}
		})
	}
}
