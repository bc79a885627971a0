package loop_test

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

// BenchmarkWebSocketEcho measures the per-message cost of the loop's
// inbound path (OnTraffic, frame decoding, delivery) and outbound path
// (queue, flush) on loopback: batches of 64 masked 64-byte messages are
// written at once and their echoes read back.
func BenchmarkWebSocketEcho(b *testing.B) {
	const batch = 64
	_, addr, conns := wsServer(b, loop.Config{}, true)
	c := upgrade(b, addr)
	defer c.conn.Close()
	<-conns
	frame := frameBytes(true, 0, ws.OpBinary, bytes.Repeat([]byte("x"), 64), false)
	out := bytes.Repeat(frame, batch)
	echo := make([]byte, batch*(2+64))
	b.SetBytes(64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		if _, err := c.conn.Write(out); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c.br, echo); err != nil {
			b.Fatal(err)
		}
	}
}

// plainEcho echoes every message and records nothing.
type plainEcho struct{}

func (plainEcho) OnMessage(c eio.WSConn, binary bool, p []byte) { c.WriteMessage(binary, p) }
func (plainEcho) OnClose(eio.WSConn, error)                     {}

// BenchmarkWebSocketEchoDeflate is the echo of one text message of 1 KiB
// or 16 KiB at a time, plain and with permessage-deflate (the client
// sends it compressed without context, the server inflates it and
// compresses the echo at the default level): what compression adds to
// the server's work for a message, allocations included.
func BenchmarkWebSocketEchoDeflate(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		msg := []byte(strings.Repeat(`{"user":"ada","text":"hello there, how are you?"},`, size/50+1)[:size])
		for _, deflate := range []bool{false, true} {
			name := fmt.Sprintf("%dKiB/plain", size>>10)
			if deflate {
				name = fmt.Sprintf("%dKiB/deflate", size>>10)
			}
			b.Run(name, func(b *testing.B) {
				cfg := loop.Config{Handler: func(x eio.Exchange) {
					if _, err := x.Upgrade(nil, plainEcho{}); err != nil {
						x.Respond(400, nil, nil)
					}
				}}
				frame := frameBytes(true, 0, ws.OpText, msg, false)
				if deflate {
					cfg.PerMessageDeflate = &loop.PerMessageDeflate{}
					var buf bytes.Buffer
					fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
					_, _ = fw.Write(msg)
					_ = fw.Flush()
					frame = frameBytes(true, rsv1, ws.OpText, bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff}), false)
				}
				_, addr := serve(b, cfg)
				c, ext := upgradeDeflate(b, addr, "permessage-deflate; client_no_context_takeover")
				defer c.conn.Close()
				if (ext != "") != deflate {
					b.Fatalf("extensions %q", ext)
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := c.conn.Write(frame); err != nil {
						b.Fatal(err)
					}
					h, err := ws.ReadHeader(c.br)
					if err != nil {
						b.Fatal(err)
					}
					if (h.Rsv != 0) != deflate {
						b.Fatalf("echo header %+v", h)
					}
					if _, err := c.br.Discard(int(h.Length)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
