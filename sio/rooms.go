package sio

import (
	"log/slog"
	"sync"
)

// roomListeners holds the namespace's room lifecycle listeners, socket.io's
// adapter events create-room, delete-room, join-room and leave-room.
type roomListeners struct {
	mu     sync.RWMutex
	create []func(room, id string) // guarded by mu
	del    []func(room, id string) // guarded by mu
	join   []func(room, id string) // guarded by mu
	leave  []func(room, id string) // guarded by mu
}

func (l *roomListeners) add(list *[]func(room, id string), f func(room, id string)) {
	l.mu.Lock()
	*list = append(*list, f)
	l.mu.Unlock()
}

// addRoomHook registers f, contained: the hub delivers room hooks on
// whatever goroutine changed the membership (a handler, a broadcast, the
// mailbox during a disconnect), so a panic there is stopped here, where
// the hook is known, instead of at each caller.
func (n *Namespace) addRoomHook(list *[]func(room, id string), f func(room, id string)) {
	n.rooms.add(list, func(room, id string) {
		defer n.containRoomHookPanic(room, id)
		f(room, id)
	})
}

// containRoomHookPanic logs a panic of a room hook and closes the
// connection of the socket whose change fired it: id, which the adapter
// gives for every hook, or the room itself for the create-room and
// delete-room of a socket's own room (namespace.go fires those with no id).
func (n *Namespace) containRoomHookPanic(room, id string) {
	v := recover()
	if v == nil {
		return
	}
	if id == "" {
		id = n.roomOwner(room)
	}
	n.srv.logPanic(v, slog.String("sid", id), slog.String("namespace", n.name), slog.String("room", room))
	if s := n.Socket(id); s != nil {
		s.Disconnect(true)
	}
}

// roomOwner returns room if it is a connected socket's own room, else "".
func (n *Namespace) roomOwner(room string) string {
	if n.Socket(room) != nil {
		return room
	}
	return ""
}

func (l *roomListeners) fire(list *[]func(room, id string), room, id string) {
	l.mu.RLock()
	fs := *list
	l.mu.RUnlock()
	for _, f := range fs {
		f(room, id)
	}
}

// OnCreateRoom registers f, told when a room gets its first member
// (adapter.on("create-room")). Each socket's own room counts, as in
// socket.io. Listeners run on the goroutine that changed the membership, or
// on one delivering earlier changes, in the order of the changes; they must
// not block.
func (n *Namespace) OnCreateRoom(f func(room string)) {
	n.addRoomHook(&n.rooms.create, func(room, _ string) { f(room) })
}

// OnDeleteRoom registers f, told when a room loses its last member
// (adapter.on("delete-room")).
func (n *Namespace) OnDeleteRoom(f func(room string)) {
	n.addRoomHook(&n.rooms.del, func(room, _ string) { f(room) })
}

// OnJoinRoom registers f, told when socket id joins room
// (adapter.on("join-room")).
func (n *Namespace) OnJoinRoom(f func(room, id string)) { n.addRoomHook(&n.rooms.join, f) }

// OnLeaveRoom registers f, told when socket id leaves room
// (adapter.on("leave-room")).
func (n *Namespace) OnLeaveRoom(f func(room, id string)) { n.addRoomHook(&n.rooms.leave, f) }
