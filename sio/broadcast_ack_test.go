package sio

import (
	"context"
	"errors"
	"testing"
	"time"
)

// ackServer connects n fake clients, which never answer an ack, to room r.
func ackServer(t *testing.T, n int) (*Server, []*Socket) {
	t.Helper()
	srv := NewServer(Config{Loops: 1})
	srv.OnConnection(func(s *Socket) { s.Join("r") })
	for i := 0; i < n; i++ {
		connectFake(t, srv, 0)
	}
	waitSockets(t, srv.root, n)
	// A socket is in the namespace before its OnConnection has joined it
	// to r: wait for the joins too.
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.To("r").LocalSockets()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sockets joined r", len(srv.To("r").LocalSockets()), n)
		}
		time.Sleep(time.Millisecond)
	}
	return srv, srv.root.Sockets()
}

// pendingAcks counts the ack entries the sockets hold.
func pendingAcks(socks []*Socket) int {
	n := 0
	for _, s := range socks {
		s.mu.Lock()
		n += len(s.acks)
		s.mu.Unlock()
	}
	return n
}

// TestBroadcastAckTimeoutLeavesNoEntries broadcasts with acks to sockets
// that never answer: once the deadline passed, no socket may keep the
// broadcast's callback.
func TestBroadcastAckTimeoutLeavesNoEntries(t *testing.T) {
	srv, socks := ackServer(t, 3)
	for i := 0; i < 5; i++ {
		replies, err := srv.To("r").Timeout(50*time.Millisecond).EmitWithAck(context.Background(), "q", i)
		if !errors.Is(err, ErrAckTimeout) || len(replies) != 0 {
			t.Fatalf("EmitWithAck: %d replies, %v; want none and ErrAckTimeout", len(replies), err)
		}
	}
	// The adapter forgets a request once its context ends, on the
	// context's AfterFunc goroutine: right after EmitWithAck returned.
	deadline := time.Now().Add(10 * time.Second)
	for pendingAcks(socks) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d ack entries left in the sockets after the timeouts", pendingAcks(socks))
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBroadcastAckDisconnectLeavesNoEntries disconnects every recipient of
// a broadcast waiting for acks: it returns without waiting for its
// deadline, and no entry is left.
func TestBroadcastAckDisconnectLeavesNoEntries(t *testing.T) {
	srv, socks := ackServer(t, 3)
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		replies, err := srv.To("r").EmitWithAck(context.Background(), "q")
		done <- result{len(replies), err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for pendingAcks(socks) < len(socks) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sockets got the broadcast", pendingAcks(socks), len(socks))
		}
		time.Sleep(time.Millisecond)
	}
	for _, s := range socks {
		s.Disconnect(true)
	}
	select {
	case r := <-done:
		if r.err != nil || r.n != 0 {
			t.Fatalf("EmitWithAck: %d replies, %v; want none and no error", r.n, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("EmitWithAck still waits after every recipient disconnected")
	}
	if n := pendingAcks(socks); n != 0 {
		t.Fatalf("%d ack entries left after the disconnects", n)
	}
}
