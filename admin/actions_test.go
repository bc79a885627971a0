package admin_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sioloop/sioloop/admin"
	"github.com/sioloop/sioloop/sio"
)

// disconnected returns a channel told the reason once r's socket
// disconnects.
func disconnected(r *recorder) <-chan string {
	ch := make(chan string, 1)
	r.s.OnDisconnect(func(reason string) {
		select {
		case ch <- reason:
		default:
		}
	})
	return ch
}

// TestActions: the UI's join, leave, emit and _disconnect act on one
// socket (filter: its id), a room, or a whole namespace.
func TestActions(t *testing.T) {
	srv, _, base := startServer(t, sio.Config{}, admin.Options{NoAuth: true}, chatServer)
	ui := mustDial(t, base, "/admin", nil, "websocket")
	ui.next("all_sockets", nil)
	a := mustDial(t, base, "/", nil, "websocket")
	b := mustDial(t, base, "/", nil, "websocket")
	idA, idB := a.s.ID(), b.s.ID()
	roomsOf := func(id string) []string {
		s := srv.Of("/").Socket(id)
		if s == nil {
			return nil
		}
		return s.Rooms()
	}
	joinedBy := func(room, id string) func([]json.RawMessage) bool {
		return func(args []json.RawMessage) bool { return isString(args, 1, room) && isString(args, 2, id) }
	}

	// join, one socket.
	_ = ui.s.Emit("join", "/", "vip", idA)
	ui.next("room_joined", joinedBy("vip", idA))
	if !slices.Contains(roomsOf(idA), "vip") || slices.Contains(roomsOf(idB), "vip") {
		t.Fatalf("join vip: rooms %v and %v", roomsOf(idA), roomsOf(idB))
	}
	// join, the whole namespace (MJOIN).
	_ = ui.s.Emit("join", "/", "all")
	for got := map[string]bool{}; len(got) < 2; {
		ev := ui.next("room_joined", func(args []json.RawMessage) bool { return isString(args, 1, "all") })
		got[str(t, ev.args[2])] = true
	}
	if !slices.Contains(roomsOf(idA), "all") || !slices.Contains(roomsOf(idB), "all") {
		t.Fatalf("join all: rooms %v and %v", roomsOf(idA), roomsOf(idB))
	}
	// emit to a room.
	_ = ui.s.Emit("emit", "/", "vip", "greet", "hello", map[string]int{"n": 1})
	greet := a.next("greet", nil)
	if len(greet.args) != 2 || str(t, greet.args[0]) != "hello" || string(greet.args[1]) != `{"n":1}` {
		t.Errorf("greet %s", greet.args)
	}
	// leave, a room's sockets (MLEAVE with a filter).
	_ = ui.s.Emit("leave", "/", "all", "vip")
	ui.next("room_left", joinedBy("all", idA))
	if slices.Contains(roomsOf(idA), "all") || !slices.Contains(roomsOf(idB), "all") {
		t.Fatalf("leave all from vip: rooms %v and %v", roomsOf(idA), roomsOf(idB))
	}
	// emit to the whole namespace: b gets it after a's greet.
	_ = ui.s.Emit("emit", "/", nil, "news", 1)
	b.next("news", nil)
	if slices.Contains(b.names(), "greet") {
		t.Errorf("b got the vip greeting: %v", b.names())
	}

	// _disconnect one socket, without closing its connection.
	goneA := disconnected(a)
	_ = ui.s.Emit("_disconnect", "/", false, idA)
	if r := <-goneA; r != "io server disconnect" {
		t.Errorf("a disconnected with %q", r)
	}
	ev := ui.next("socket_disconnected", func(args []json.RawMessage) bool { return isString(args, 1, idA) })
	if !isString(ev.args, 2, "server namespace disconnect") {
		t.Errorf("socket_disconnected %s", ev.args)
	}
	if b.s.Connected() != true {
		t.Fatal("b was disconnected too")
	}

	// _disconnect the whole namespace, closing the connections (MDISCONNECT).
	goneB := disconnected(b)
	_ = ui.s.Emit("_disconnect", "/", true)
	// As socket.disconnect(true) does: DISCONNECT for each socket, then
	// the connection closes.
	if r := <-goneB; r != "io server disconnect" {
		t.Errorf("b disconnected with %q", r)
	}
	ev = ui.next("socket_disconnected", func(args []json.RawMessage) bool { return isString(args, 1, idB) })
	if !isString(ev.args, 2, "server namespace disconnect") {
		t.Errorf("socket_disconnected %s", ev.args)
	}
	ui.next("server_stats", func(args []json.RawMessage) bool {
		return strings.Contains(string(args[0]), `"clientsCount":1,`) // b's connection is gone
	})
	if !ui.s.Connected() {
		t.Error("the UI lost its connection")
	}
}
