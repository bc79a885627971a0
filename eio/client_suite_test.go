package eio_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sioloop/sioloop/eio"
)

// Behaviours engine.io-client's own test suite relies on that the official
// protocol suite does not check (interop/clientsuite runs the whole suite).

// A client with forceBase64 sends binary as "b" + base64 in a WebSocket text
// frame once upgraded; engine.io-parser decodes it on every transport.
func TestWebSocketBase64Binary(t *testing.T) {
	e := startEngine(t, eio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}, nil)
	c, sid := e.openWS(t)
	c.send(t, "bAAECAwQ=") // 00 01 02 03 04
	c.send(t, "4after")
	eventually(t, "both messages", func() bool { return len(e.messages(sid)) == 2 })
	if got, want := e.messages(sid), []string{"b:\x00\x01\x02\x03\x04", "after"}; !slices.Equal(got, want) {
		t.Fatalf("messages %q, want %q", got, want)
	}
	if e.isClosed(sid) {
		t.Fatal("session closed by a base64 binary frame")
	}
}

// Invalid base64 is a parse error, as any malformed packet.
func TestWebSocketBadBase64Closes(t *testing.T) {
	e := startEngine(t, eio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}, nil)
	c, sid := e.openWS(t)
	c.send(t, "b!!!")
	if ev := e.closed(t, sid); ev.reason != "parse error" {
		t.Fatalf("close reason %q, want parse error", ev.reason)
	}
	if got := e.messages(sid); len(got) != 0 {
		t.Fatalf("delivered %q", got)
	}
}

// MaxPayload holds whatever the provider's limits are (loop's default
// MaxBodyBytes and MaxMessageBytes are 1e6): a larger POST body is answered
// 413, a larger WebSocket message closes the connection with 1009, and
// nothing of either is delivered.
func TestMaxPayloadBelowProviderLimits(t *testing.T) {
	cfg := eio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second, MaxPayload: 100}
	t.Run("polling", func(t *testing.T) {
		e := startEngine(t, cfg, nil)
		p := e.openPolling(t)
		if status, body := p.post(t, "4"+strings.Repeat("a", 99)); status != 200 || body != "ok" {
			t.Fatalf("POST of 100 bytes: %d %q", status, body)
		}
		if status, body := p.post(t, "4"+strings.Repeat("a", 100)); status != 413 || body != "" {
			t.Fatalf("POST of 101 bytes: %d %q, want 413 and no body", status, body)
		}
		if ev := e.closed(t, p.sid); ev.reason != "transport error" {
			t.Fatalf("close reason %q, want transport error", ev.reason)
		}
		if got := e.messages(p.sid); len(got) != 1 || len(got[0]) != 99 {
			t.Fatalf("delivered %d messages, want only the first", len(got))
		}
	})
	t.Run("websocket", func(t *testing.T) {
		e := startEngine(t, cfg, nil)
		c, sid := e.openWS(t)
		c.send(t, "4"+strings.Repeat("a", 99))
		c.send(t, "4"+strings.Repeat("a", 100))
		c.expectClose(t, 1009)
		e.closed(t, sid)
		if got := e.messages(sid); len(got) != 1 || len(got[0]) != 99 {
			t.Fatalf("delivered %d messages, want only the first", len(got))
		}
	})
}
