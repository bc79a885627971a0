package eio_test

import (
	"testing"
	"time"

	"github.com/sioloop/sioloop/eio"
)

// B14: handshakes that are never followed up are bounded per address and
// globally; a follow-up (a poll, a POST) or the session's end
// frees a slot.
func TestPendingSessionsBound(t *testing.T) {
	const refused = `{"code":4,"message":"Too many pending sessions"}`
	t.Run("per address, freed by a poll", func(t *testing.T) {
		e := startEngine(t, eio.Config{MaxPendingSessionsPerIP: 3}, nil)
		var ps []*poll
		for i := 0; i < 3; i++ {
			ps = append(ps, e.openPolling(t))
		}
		if status, body := e.do(t, "GET", e.url("http", "EIO=4&transport=polling"), ""); status != 503 || body != refused {
			t.Fatalf("4th handshake: %d %q, want 503 %s", status, body, refused)
		}
		// Following one session up frees its slot.
		if status, _ := ps[0].post(t, "4hello"); status != 200 {
			t.Fatalf("POST: %d", status)
		}
		e.openPolling(t)
		if status, _ := e.do(t, "GET", e.url("http", "EIO=4&transport=polling"), ""); status != 503 {
			t.Fatalf("handshake past the bound again: %d, want 503", status)
		}
	})
	t.Run("global, not taken by WebSocket sessions", func(t *testing.T) {
		e := startEngine(t, eio.Config{MaxPendingSessions: 2, MaxPendingSessionsPerIP: -1}, nil)
		// WebSocket sessions that have sent nothing yet (a listener-only
		// client speaks first at its first pong) hold their connection,
		// not a pending slot.
		for i := 0; i < 3; i++ {
			e.openWS(t)
		}
		p := e.openPolling(t)
		e.openPolling(t)
		if status, body := e.do(t, "GET", e.url("http", "EIO=4&transport=polling"), ""); status != 503 || body != refused {
			t.Fatalf("3rd polling handshake: %d %q, want 503 %s", status, body, refused)
		}
		if status, _ := p.post(t, "4hi"); status != 200 {
			t.Fatalf("POST: %d", status)
		}
		if status, _ := e.do(t, "GET", e.url("http", "EIO=4&transport=polling"), ""); status != 200 {
			t.Fatalf("handshake after a follow-up: %d, want 200", status)
		}
	})
	t.Run("freed when the session times out", func(t *testing.T) {
		cfg := fastPing
		cfg.MaxPendingSessionsPerIP = 1
		e := startEngine(t, cfg, nil)
		p := e.openPolling(t)
		if status, _ := e.do(t, "GET", e.url("http", "EIO=4&transport=polling"), ""); status != 503 {
			t.Fatalf("2nd handshake: %d, want 503", status)
		}
		e.closed(t, p.sid)
		deadline := time.Now().Add(5 * time.Second)
		for {
			status, _ := e.do(t, "GET", e.url("http", "EIO=4&transport=polling"), "")
			if status == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("handshake still refused after the pending session closed: %d", status)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
