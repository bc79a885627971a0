package eio_test

import (
	"context"
	"testing"
	"time"

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

// Shutdown closes a polling session that is between two polls and waits
// for the client's next poll to take the close packet, so that the client
// sees a "transport close" rather than a refused connection once the
// server stops.
func TestShutdownWaitsForNextPoll(t *testing.T) {
	e := startEngine(t, eio.Config{}, nil)
	p := e.openPolling(t)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- e.Shutdown(ctx)
	}()
	ss := e.Session(p.sid)
	eventually(t, "session closing", func() bool { return eio.IsClosing(ss) })
	// Shutdown must not return while the client has not been told.
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v before the client's next poll", err)
	default:
	}
	if status, body := p.get(t); status != 200 || body != "1" {
		t.Fatalf("poll during shutdown: %d %q, want 200 \"1\"", status, body)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if ev := e.closed(t, p.sid); ev.reason != eio.ReasonForcedClose {
		t.Fatalf("reason %q", ev.reason)
	}
}

// Shutdown gives up when its context ends before a silent client polls.
func TestShutdownGivesUpAtDeadline(t *testing.T) {
	e := startEngine(t, eio.Config{}, nil)
	e.openPolling(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown: %v, want %v", err, context.DeadlineExceeded)
	}
}

// Without a deadline, Shutdown waits for a client that left between two
// polls no longer than ShutdownGrace (not a ping timeout).
func TestShutdownGraceForGoneClient(t *testing.T) {
	e := startEngine(t, eio.Config{PingTimeout: time.Minute}, nil)
	e.openPolling(t)
	start := time.Now()
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < eio.ShutdownGrace/2 || d > eio.ShutdownGrace+10*time.Second {
		t.Fatalf("Shutdown took %v, want about %v", d, eio.ShutdownGrace)
	}
}
