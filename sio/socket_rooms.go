package sio

import "github.com/sioloop/sioloop/internal/packet"

// A socket's rooms and the operators it starts: joining and leaving
// through the namespace's adapter, and broadcasts that exclude the socket.

// Join adds the socket to rooms (socket.join). It does nothing once the
// socket is disconnected, and a Join racing the disconnect cannot leave a
// dead socket in a room.
//
// No lock of the socket is held while the adapter runs the room hooks, so
// a hook may call any method of the socket. Join stays safe against the
// disconnect by checking again after joining: onclose clears connected
// before it leaves every room, so either that leave comes after this join
// and removes it, or the second check sees the disconnect and Join undoes
// its own join. In that second case the hooks report the join and then the
// leave of a socket already disconnected.
func (s *Socket) Join(rooms ...string) {
	if !s.Connected() {
		return
	}
	s.nsp.adapter.AddAll(s, rooms)
	if !s.Connected() {
		s.nsp.adapter.DelAll(s)
	}
}

// Leave removes the socket from room (socket.leave).
func (s *Socket) Leave(room string) { s.nsp.adapter.Del(s, room) }

// Rooms lists the socket's rooms, its own id room first; none once it is
// disconnected.
func (s *Socket) Rooms() []string {
	s.mu.Lock()
	left := s.left
	s.mu.Unlock()
	if left {
		return nil
	}
	return s.nsp.adapter.SocketRooms(s)
}

// To selects rooms for a broadcast that excludes this socket (socket.to).
func (s *Socket) To(rooms ...string) BroadcastOperator {
	return s.Broadcast().To(rooms...)
}

// In is an alias of To.
func (s *Socket) In(rooms ...string) BroadcastOperator { return s.To(rooms...) }

// Except selects everyone but rooms and this socket.
func (s *Socket) Except(rooms ...string) BroadcastOperator {
	return s.Broadcast().Except(rooms...)
}

// Broadcast targets every socket of the namespace but this one
// (socket.broadcast).
func (s *Socket) Broadcast() BroadcastOperator {
	return BroadcastOperator{nsp: s.nsp, exceptSocket: s}
}

// Volatile sends an event that may be dropped if the client is not ready.
func (s *Socket) Volatile() *VolatileSocket { return &VolatileSocket{s: s} }

// VolatileSocket emits volatile events to one socket.
type VolatileSocket struct{ s *Socket }

// Emit sends the event unless the transport is backed up or not writable.
func (v *VolatileSocket) Emit(name string, args ...any) error {
	if !v.s.client.sess.Writable() {
		return nil
	}
	if !v.s.Connected() {
		return ErrDisconnected
	}
	v.s.fireOutgoing(name, args)
	return v.s.nsp.emitTo(v.s, name, args, packet.NoID, false, true)
}
