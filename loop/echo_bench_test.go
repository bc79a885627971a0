package loop_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/gobwas/ws"

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
