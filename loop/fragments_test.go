package loop_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/loop"
	"github.com/sioloop/sioloop/wsframe"
)

// Hole 5: a message within MaxMessageBytes is accepted however finely it
// is fragmented (it was refused with 1008 past a fixed 16384 fragments):
// 4 MiB in 64- and 256-byte fragments, as the issue sent them, and 1 MiB
// in 1-byte fragments (1 Mi fragments, 64 times the old cap; 4 Mi of them
// took over two minutes under -race on a loaded 2-core machine) come back
// intact.
func TestWebSocketFragmentedBigMessage(t *testing.T) {
	const limit = 4 << 20
	_, addr, conns := wsServer(t, loop.Config{MaxMessageBytes: limit}, true)
	for _, tc := range []struct{ frag, size int }{{1, 1 << 20}, {64, limit}, {256, limit}} {
		frag, size := tc.frag, tc.size
		msg := make([]byte, size)
		for i := range msg {
			msg[i] = byte(i % 251)
		}
		t.Run(fmt.Sprintf("%d-byte fragments", frag), func(t *testing.T) {
			c := upgrade(t, addr)
			defer c.conn.Close()
			<-conns
			var stream []byte
			key := [4]byte{0x11, 0x22, 0x33, 0x44}
			for off := 0; off < size; off += frag {
				op := ws.OpContinuation
				if off == 0 {
					op = ws.OpBinary
				}
				at := len(stream)
				stream = wsframe.AppendClientFrame(stream, op, msg[off:min(off+frag, size)], key)
				if off+frag < size {
					stream[at] &^= 0x80 // not final
				}
			}
			errc := make(chan error, 1)
			go func() { _, err := c.conn.Write(stream); errc <- err }()
			// 1 Mi one-byte frames take the server seconds to parse
			// under -race on a loaded machine: wait for the echo longer
			// than for a frame.
			h, p := c.readFrameWithin(t, 2*time.Minute)
			if h.OpCode != ws.OpBinary || !h.Fin || !bytes.Equal(p, msg) {
				t.Fatalf("echo: %v fin=%v, %d bytes, equal=%v", h.OpCode, h.Fin, len(p), bytes.Equal(p, msg))
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
	// The count limit, when set, still applies.
	_, addr2, conns2 := wsServer(t, loop.Config{MaxMessageBytes: limit, MaxMessageFragments: 16}, false)
	c := upgrade(t, addr2)
	<-conns2
	for i := 0; i < 17; i++ {
		op := ws.OpContinuation
		if i == 0 {
			op = ws.OpText
		}
		c.write(t, string(frameBytes(false, 0, op, []byte("x"), false)))
	}
	c.expectCloseFrame(t, int(ws.StatusPolicyViolation))
}
