//go:build !race

package soak

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// wsHandshake opens an Engine.IO WebSocket; frames may follow it at once
// (the server parses the upgrade request, then the frames, in order).
const wsHandshake = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
	"Host: soak\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// frame encodes one client frame: masked unless unmasked is set.
func frame(fin bool, op byte, payload []byte, unmasked bool) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	mask := byte(0x80)
	if unmasked {
		mask = 0
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, mask|byte(n))
	case n < 1<<16:
		b = append(b, mask|126, byte(n>>8), byte(n))
	default:
		b = append(b, mask|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if unmasked {
		return append(b, payload...)
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

func text(s string) []byte { return frame(true, 1, []byte(s), false) }

// garbage is a sample of bad input, labelled as the bad-input cases of the
// sio and wsframe tests are: each entry is what a hostile or broken client
// writes on a fresh TCP connection. The server must answer with an error
// or close the connection; the soak checks that none of it disturbs the
// well-behaved clients.
//
// An entry marked waits is not an error the server can see at once (a
// connection that sends nothing, a message whose last fragment has not come
// yet): the server rightly waits for more, and only its timeouts end it.
var waits = map[string]bool{"D10 fragment flood": true, "H2 half-open": true}

var garbage = []struct {
	name string
	data func() []byte
}{
	{"A2 EIO=3", func() []byte {
		return []byte("GET /socket.io/?EIO=3&transport=polling HTTP/1.1\r\nHost: soak\r\n\r\n")
	}},
	{"A4 sid=__proto__", func() []byte {
		return []byte("GET /socket.io/?EIO=4&transport=polling&sid=__proto__ HTTP/1.1\r\nHost: soak\r\n\r\n")
	}},
	{"A11 20 KiB header", func() []byte {
		return []byte("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: soak\r\nX-Big: " +
			strings.Repeat("a", 20<<10) + "\r\n\r\n")
	}},
	{"A13 garbage request line", func() []byte { return []byte("\x00\x01\x02 nonsense\r\n\r\n") }},
	{"B3 body over the limit", func() []byte {
		return []byte("POST /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: soak\r\nContent-Length: 200000000\r\n\r\n40")
	}},
	{"C1 bad key", func() []byte {
		return []byte(strings.Replace(wsHandshake, "dGhlIHNhbXBsZSBub25jZQ==", "short", 1))
	}},
	{"D1 unmasked frame", func() []byte { return append([]byte(wsHandshake), frame(true, 1, []byte("40"), true)...) }},
	{"D3 reserved opcode", func() []byte { return append([]byte(wsHandshake), frame(true, 3, nil, false)...) }},
	{"D8 64-bit length MSB", func() []byte {
		return append([]byte(wsHandshake), 0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4)
	}},
	{"D10 fragment flood", func() []byte {
		b := append([]byte(wsHandshake), frame(false, 1, []byte("4"), false)...)
		for i := 0; i < 2000; i++ {
			b = append(b, frame(false, 0, nil, false)...)
		}
		return b
	}},
	{"E1 empty text frame", func() []byte { return append([]byte(wsHandshake), text("")...) }},
	{"F7 invalid JSON", func() []byte {
		return append(append([]byte(wsHandshake), text("40")...), text(`42["a",`)...)
	}},
	{"F8 reserved event", func() []byte {
		return append(append([]byte(wsHandshake), text("40")...), text(`42["disconnect"]`)...)
	}},
	{"F17 deep JSON", func() []byte {
		return append(append([]byte(wsHandshake), text("40")...),
			text(`42["chat",`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+`]`)...)
	}},
	{"G4 attachment count", func() []byte {
		return append(append([]byte(wsHandshake), text("40")...), text(`451000000000-["x"]`)...)
	}},
	{"G7 binary without header", func() []byte {
		return append(append([]byte(wsHandshake), text("40")...), frame(true, 2, []byte{1, 2, 3}, false)...)
	}},
	{"H2 half-open", func() []byte { return nil }},
}

// garbageStats counts what the garbage clients saw.
type garbageStats struct {
	sent     atomic.Int64 // connections that wrote an entry
	answered atomic.Int64 // answered (an error response) or ended by the server
	timedOut atomic.Int64 // neither, when the client gave up, for entries that do not wait

	mu   sync.Mutex
	open map[string]int // entry name -> connections left open; guarded by mu
}

// runGarbage makes one hostile client: until ctx ends it opens a
// connection, writes an entry, reads until the server ends the connection
// (or holdFor passes) and starts again with the next entry.
func runGarbage(ctx context.Context, addr string, first int, holdFor time.Duration, st *garbageStats) {
	for i := first; ctx.Err() == nil; i++ {
		g := garbage[i%len(garbage)]
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			continue
		}
		if b := g.data(); len(b) > 0 {
			_ = c.SetWriteDeadline(time.Now().Add(holdFor))
			_, _ = c.Write(b)
		}
		st.sent.Add(1)
		_ = c.SetReadDeadline(time.Now().Add(holdFor))
		n, err := io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() && n == 0 && !waits[g.name] {
			st.timedOut.Add(1)
			st.mu.Lock()
			if st.open == nil {
				st.open = map[string]int{}
			}
			st.open[g.name]++
			st.mu.Unlock()
		} else {
			st.answered.Add(1)
		}
		_ = c.Close()
	}
}
