package eio_test

import (
	"testing"

	"github.com/sioloop/sioloop/eio"
)

// A polling session that the server closes while none of its polls is
// parked (the client was between two polls at its ping timeout) answers
// the client's next poll with the close packet, as a parked poll would
// have been: the client sees a "transport close", not the 400 of an
// unknown sid (a "transport error").
func TestPollAfterServerCloseGetsClosePacket(t *testing.T) {
	e := startEngine(t, fastPing, nil)
	p := e.openPolling(t)
	if status, body := p.get(t); status != 200 || body != "2" {
		t.Fatalf("GET: %d %q, want the ping", status, body)
	}
	// No pong, and no poll until the session is gone.
	if ev := e.closed(t, p.sid); ev.reason != eio.ReasonPingTimeout {
		t.Fatalf("reason %q", ev.reason)
	}
	if status, body := p.get(t); status != 200 || body != "1" {
		t.Fatalf("poll after the ping timeout: %d %q, want 200 \"1\"", status, body)
	}
	// Only once: the sid is gone after that.
	if status, _ := p.get(t); status != 400 {
		t.Fatalf("second poll: %d, want 400", status)
	}
}
