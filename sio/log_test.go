package sio_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/sioloop/sioloop/sio"
)

// TestLogging: Config.Logger gets the connection lifecycle at debug level
// and each packet at LevelTrace, as DEBUG=socket.io* shows them, and
// nothing per packet at the levels above.
func TestLogging(t *testing.T) {
	for _, level := range []slog.Level{sio.LevelTrace, slog.LevelDebug, slog.LevelInfo} {
		t.Run(level.String(), func(t *testing.T) {
			var buf syncBuffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
			ts := startServer(t, sio.Config{Logger: logger}, nil)
			c, id := ts.connectWS(t)
			c.echoAck(t, 1, `"hi"`)
			c.send(t, "41")
			eventually(t, "the disconnect", func() bool { _, ok := ts.hasReason(id); return ok })
			// A refused request and a protocol error.
			if st, _ := ts.httpDo(t, "GET", ts.url("http", "EIO=4&transport=polling&sid=nosuchsid"), nil, nil); st != 400 {
				t.Fatalf("unknown sid: status %d", st)
			}
			bad, _ := ts.openWS(t)
			bad.send(t, "4Zgarbage")
			bad.expectClose(t, closeNoCode)

			lifecycle := []string{
				`msg="eio: session opened" transport=websocket`,
				`msg="sio: socket connected" sid=` + id,
				`msg="sio: socket disconnected" sid=` + id + ` namespace=/ reason="client namespace disconnect"`,
				`msg="eio: request refused" status=400 code=1 message="Session ID unknown"`,
				`msg="sio: protocol error, connection closed"`,
				`msg="eio: session closed" reason="forced close"`,
			}
			packets := []string{
				`msg="sio: packet received"`,
				`msg="sio: packet sent" sid=` + id + ` namespace=/ attachments=0 packet="31[\"hi\"]"`,
			}
			check := func(want []string, on bool) {
				t.Helper()
				for _, w := range want {
					if on {
						eventually(t, "a log record "+w, func() bool { return strings.Contains(buf.String(), w) })
					} else if strings.Contains(buf.String(), w) {
						t.Errorf("log at %v has %s", level, w)
					}
				}
			}
			check(lifecycle, level <= slog.LevelDebug)
			check(packets, level <= sio.LevelTrace)
		})
	}
}
