package sio_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// TestRoomHooksMayCallTheSocket registers each kind of room hook alone and
// has it call back into the socket whose Join or Leave fired it
// (Connected, Emit, Rooms, Data). Join used to hold the socket's lock
// across the hooks, so such a hook deadlocked the handler, the connection
// and then Close. Join, Leave and the disconnect must all complete.
func TestRoomHooksMayCallTheSocket(t *testing.T) {
	tests := []struct {
		name     string
		register func(ns *sio.Namespace, hook func(room string))
	}{
		{name: "OnJoinRoom", register: func(ns *sio.Namespace, hook func(string)) {
			ns.OnJoinRoom(func(room, _ string) { hook(room) })
		}},
		{name: "OnCreateRoom", register: func(ns *sio.Namespace, hook func(string)) {
			ns.OnCreateRoom(hook)
		}},
		{name: "OnLeaveRoom", register: func(ns *sio.Namespace, hook func(string)) {
			ns.OnLeaveRoom(func(room, _ string) { hook(room) })
		}},
		{name: "OnDeleteRoom", register: func(ns *sio.Namespace, hook func(string)) {
			ns.OnDeleteRoom(hook)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var current atomic.Pointer[sio.Socket]
			var calls atomic.Int32
			ts := startServer(t, sio.Config{}, func(srv *sio.Server) {
				tt.register(srv.Of("/"), func(room string) {
					s := current.Load()
					if room != "r" || s == nil {
						return // the socket's own room
					}
					calls.Add(1)
					_ = s.Connected()
					_ = s.Rooms()
					_ = s.Data()
					_ = s.Emit("hook", room) // ErrDisconnected once it is gone
				})
				srv.OnConnection(func(s *sio.Socket) {
					s.SetData("d")
					current.Store(s)
					s.On("join", func(ev *sio.Event) { s.Join("r"); _ = ev.Ack("joined") })
					s.On("leave", func(ev *sio.Event) { s.Leave("r"); _ = ev.Ack("left") })
					s.On("bye", func(*sio.Event) {
						s.Join("r") // left again by the disconnect
						s.Disconnect(true)
					})
				})
			})
			c, id := ts.connectWS(t)
			c.send(t, `421["join"]`)
			waitAck(t, c, `431["joined"]`)
			c.send(t, `422["leave"]`)
			waitAck(t, c, `432["left"]`)
			c.send(t, `42["bye"]`)
			if r := ts.reason(t, id); r != sio.ReasonServerNamespaceDisconnect {
				t.Fatalf("disconnect reason %q, want %q", r, sio.ReasonServerNamespaceDisconnect)
			}
			if calls.Load() == 0 {
				t.Fatalf("the %s hook never ran for room r", tt.name)
			}
			if n := len(ts.To("r").LocalSockets()); n != 0 {
				t.Fatalf("room r has %d sockets after the disconnect", n)
			}
			done := make(chan struct{})
			go func() { _ = ts.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(wait):
				t.Fatal("Close did not return")
			}
		})
	}
}

// waitAck reads messages until want arrives, skipping the hooks' events.
func waitAck(t *testing.T, c *wsClient, want string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		m, err := c.readMessage(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		got := string(m.data)
		if got == want {
			return
		}
		if !strings.HasPrefix(got, `42["hook"`) {
			t.Fatalf("got %q, want %s", got, want)
		}
	}
}
