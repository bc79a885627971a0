package sio

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestJoinRacingDisconnectLeavesNoDeadSocket joins rooms in a loop from
// another goroutine while each socket disconnects. Join runs the room
// hooks with no lock of the socket held, so it no longer excludes the
// disconnect: it must undo a join that lands after the disconnect left
// every room. Afterwards no room holds a socket and the hub holds no
// member.
func TestJoinRacingDisconnectLeavesNoDeadSocket(t *testing.T) {
	const sockets = 64
	srv := NewServer(Config{Loops: 2})
	ns := srv.Of("/")
	var mu sync.Mutex
	connected := make([]*Socket, 0, sockets)
	gone := make(chan *Socket, sockets)
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(string) { gone <- s })
		mu.Lock()
		connected = append(connected, s)
		mu.Unlock()
	})
	for i := 0; i < sockets; i++ {
		connectFake(t, srv, i%2)
	}
	var socks []*Socket
	deadline := time.Now().Add(10 * time.Second)
	for len(socks) < sockets {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sockets connected", len(socks), sockets)
		}
		time.Sleep(time.Millisecond)
		mu.Lock()
		socks = append(socks[:0], connected...)
		mu.Unlock()
	}

	// Each joiner keeps joining until it has seen the disconnect, and a
	// few times more.
	var joiners sync.WaitGroup
	for _, s := range socks {
		joiners.Add(1)
		go func() {
			defer joiners.Done()
			for after := 0; after < 3; {
				s.Join("r", "r2")
				s.Leave("r2")
				if !s.Connected() {
					after++
				}
				runtime.Gosched()
			}
		}()
	}
	for i, s := range socks {
		if i%2 == 0 {
			s.Disconnect(true)
		} else {
			s.client.closeSession() // the transport goes away
		}
	}
	timeout := time.After(30 * time.Second)
	for range socks {
		select {
		case <-gone:
		case <-timeout:
			t.Fatal("not every socket disconnected")
		}
	}
	joiners.Wait()

	h := ns.adapter.(*MemoryAdapter).hub
	for _, s := range socks {
		if h.Registered(s) {
			t.Fatalf("socket %s is still in the hub after its disconnect (rooms %q)", s.id, h.Rooms(s))
		}
	}
	if n := h.Size("r"); n != 0 {
		t.Fatalf("room r holds %d sockets after every disconnect", n)
	}
	if n := h.Len(); n != 0 {
		t.Fatalf("the hub holds %d members after every disconnect", n)
	}
}
