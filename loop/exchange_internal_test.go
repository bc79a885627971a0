//go:build !race

package loop

import (
	"testing"

	"github.com/sioloop/sioloop/internal/http1"
)

// TestExchangeAllocs pins what a WebSocket handshake costs the provider:
// the exchange and its copy of the head, which the session keeps. Reading
// it through the accessors the engine uses allocates nothing more. The
// race detector allocates on its own, hence the build tag.
func TestExchangeAllocs(t *testing.T) {
	buf := []byte("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
		"Host: localhost:3000\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nOrigin: http://localhost:3000\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	var req http1.Request
	if n, err := http1.Parse(buf, &req, nil); n != len(buf) || err != nil {
		t.Fatalf("Parse = (%d, %v)", n, err)
	}
	c := &conn{remote: "127.0.0.1:1234"}
	var head string
	allocs := testing.AllocsPerRun(100, func() {
		x, err := newExchange(c, &req, buf)
		if err != nil {
			t.Fatal(err)
		}
		if x.Method() != "GET" || x.Path() != "/socket.io/" || x.Query("EIO") != "4" || x.Query("transport") != "websocket" ||
			x.Query("sid") != "" || x.Header("Origin") == "" || x.Header("upgrade") != "websocket" ||
			x.Header("Connection") != "Upgrade" || x.Header("Sec-WebSocket-Key") == "" || x.RemoteAddr() != c.remote {
			t.Fatal("accessors read the wrong values")
		}
		head = x.Head()
	})
	if allocs > 2 {
		t.Fatalf("%v allocations per handshake exchange, want at most 2 (the exchange and its head)", allocs)
	}
	if head != string(buf) {
		t.Fatalf("Head() = %q", head)
	}
}
