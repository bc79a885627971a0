package sio_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/sio"
)

// TestNetHTTPTLSWebSocket: mounted in an http.Server with TLS, a wss://
// connection is served by the event loops through a bridge (before, the
// upgrade was refused and clients stayed on polling): the handshake, a
// CONNECT, events both ways, a broadcast of 256 KiB, and a clean close
// that frees the bridge.
func TestNetHTTPTLSWebSocket(t *testing.T) {
	srv := sio.NewServer(sio.Config{})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("echo", echo)
		s.On("big", func(*sio.Event) { _ = srv.Emit("big", strings.Repeat("x", 256<<10)) })
	})
	hs := httptest.NewTLSServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	url := "wss" + strings.TrimPrefix(hs.URL, "https") + "/socket.io/?EIO=4&transport=websocket"
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	d := ws.Dialer{TLSConfig: &tls.Config{InsecureSkipVerify: true}}
	conn, br, _, err := d.Dial(ctx, url)
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	c := &wsClient{conn: conn, rd: br}
	defer conn.Close()
	if open := c.next(t); openRE.FindStringSubmatch(open) == nil {
		t.Fatalf("open packet %q", open)
	}
	c.send(t, "40")
	if r := c.next(t); connectRE.FindStringSubmatch(r) == nil {
		t.Fatalf("CONNECT reply %q", r)
	}
	c.echoAck(t, 1, `"over tls"`)
	c.send(t, `42["big"]`)
	if got := c.next(t); len(got) != len(`42["big",""]`)+256<<10 {
		t.Fatalf("big broadcast: %d bytes", len(got))
	}
	c.send(t, "41")
	eventually(t, "the socket gone", func() bool { return len(srv.Of("/").Sockets()) == 0 })
}
