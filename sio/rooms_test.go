package sio

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestRoomEvents checks the adapter's room lifecycle events, including the
// socket's own room, in the order socket.io emits them.
func TestRoomEvents(t *testing.T) {
	srv := NewServer(Config{Loops: 1})
	var mu sync.Mutex
	var got []string
	rec := func(format string, args ...any) {
		mu.Lock()
		got = append(got, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	ns := srv.Of("/")
	ns.OnCreateRoom(func(room string) { rec("create %s", room) })
	ns.OnDeleteRoom(func(room string) { rec("delete %s", room) })
	ns.OnJoinRoom(func(room, id string) { rec("join %s %s", room, id) })
	ns.OnLeaveRoom(func(room, id string) { rec("leave %s %s", room, id) })
	joined := make(chan *Socket, 1)
	srv.OnConnection(func(s *Socket) {
		s.Join("r")
		s.Join("r") // already in: no event
		s.Leave("r")
		s.Join("r")
		joined <- s
	})
	c := connectFake(t, srv, 0)
	s := <-joined
	c.fh.OnClose(c, nil) // the transport closes: the socket leaves every room

	id := s.ID()
	want := []string{
		"create " + id, "join " + id + " " + id,
		"create r", "join r " + id, "leave r " + id, "delete r",
		"create r", "join r " + id,
		"leave r " + id, "delete r",
		"leave " + id + " " + id, "delete " + id,
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		done := len(got) >= len(want)
		snapshot := slices.Clone(got)
		mu.Unlock()
		if done {
			if !slices.Equal(snapshot, want) {
				t.Fatalf("events:\n got %q\nwant %q", snapshot, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events so far %q, want %q", snapshot, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
