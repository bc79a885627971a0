package main

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestPublishClosesAfterAFailedWrite gives publish a connection nobody
// reads (a net.Pipe): its write times out after pacing.writeTimeout, and
// publish must then close the connection, since the timed-out write may
// have left part of a frame on the stream.
func TestPublishClosesAfterAFailedWrite(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	c := &conn{nc: client}
	cfg := &config{Proto: "sio", Pad: 64}
	var sent atomic.Int64
	pr := publish(context.Background(), cfg, []*conn{c}, 1, 100, time.Second, 1,
		pacing{writeTimeout: 50 * time.Millisecond, sent: &sent})
	var ne net.Error
	if !errors.As(pr.err, &ne) || !ne.Timeout() {
		t.Fatalf("publish error %v, want a write timeout", pr.err)
	}
	if pr.sent != 0 || sent.Load() != 0 {
		t.Errorf("sent %d (live %d) with no write done", pr.sent, sent.Load())
	}
	// The far end sees the close, not a stream that stops mid-frame.
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("far end read %v, want EOF: the publisher's connection was left open", err)
	}
}
