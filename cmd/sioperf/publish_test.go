package main

import (
	"bytes"
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

// TestPublishBatchesAreShortWhenBehind holds a publisher back (its
// connection is not read for 100 ms, as a server that paused its input
// does not read it), so that far more messages fall due than one batch
// takes. Every message of a write carries the stamp of the write's start:
// no write may hold more than maxPublishBatch of them, or the last would
// be stamped long before it reached the socket.
func TestPublishBatchesAreShortWhenBehind(t *testing.T) {
	client, server := net.Pipe()
	c := &conn{nc: client}
	cfg := &config{Proto: "sio", Pad: 64}
	done := make(chan pubResult, 1)
	go func() {
		done <- publish(context.Background(), cfg, []*conn{c}, 1, 50000, 400*time.Millisecond, 1, pacing{writeTimeout: 10 * time.Second})
	}()
	time.Sleep(100 * time.Millisecond) // the publisher falls behind
	// net.Pipe hands a read the bytes of one write at most, so each read
	// below is (at most) one batch.
	var reads, full, most int
	buf := make([]byte, 1<<20)
	go func() { <-done; server.Close() }()
	for {
		n, err := server.Read(buf)
		if n > 0 {
			k := bytes.Count(buf[:n], []byte(`"bcast"`))
			reads++
			most = max(most, k)
			if k == maxPublishBatch {
				full++
			}
		}
		if err != nil {
			break
		}
	}
	if most > maxPublishBatch {
		t.Fatalf("a write held %d messages under one stamp, want at most %d", most, maxPublishBatch)
	}
	if full == 0 {
		t.Fatalf("no write of %d messages in %d reads: the publisher was never behind, so the test checked nothing", maxPublishBatch, reads)
	}
}
