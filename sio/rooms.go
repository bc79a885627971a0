package sio

import "sync"

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
	n.rooms.add(&n.rooms.create, func(room, _ string) { f(room) })
}

// OnDeleteRoom registers f, told when a room loses its last member
// (adapter.on("delete-room")).
func (n *Namespace) OnDeleteRoom(f func(room string)) {
	n.rooms.add(&n.rooms.del, func(room, _ string) { f(room) })
}

// OnJoinRoom registers f, told when socket id joins room
// (adapter.on("join-room")).
func (n *Namespace) OnJoinRoom(f func(room, id string)) { n.rooms.add(&n.rooms.join, f) }

// OnLeaveRoom registers f, told when socket id leaves room
// (adapter.on("leave-room")).
func (n *Namespace) OnLeaveRoom(f func(room, id string)) { n.rooms.add(&n.rooms.leave, f) }
