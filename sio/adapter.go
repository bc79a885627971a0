package sio

import (
	"errors"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/hub"
)

// Adapter stores room membership and delivers broadcasts for one
// namespace, like socket.io-adapter. The default keeps everything in
// memory; a cluster adapter (Redis, ...) implements the same methods and
// forwards to its peers.
type Adapter interface {
	// AddAll adds s to rooms.
	AddAll(s *Socket, rooms []string)
	// Del removes s from room.
	Del(s *Socket, room string)
	// DelAll removes s from every room.
	DelAll(s *Socket)
	// SocketRooms lists the rooms of s.
	SocketRooms(s *Socket) []string
	// Rooms lists every room with members.
	Rooms() []string
	// Broadcast sends an encoded packet (text and attachments) to the
	// sockets opts selects.
	Broadcast(text []byte, atts [][]byte, opts *BroadcastOptions)
	// BroadcastWithAck is Broadcast for a packet with ack id; onAck is
	// called once per answering socket, and the number of recipients is
	// returned.
	BroadcastWithAck(text []byte, atts [][]byte, opts *BroadcastOptions, id int64, onAck func(Message, error)) int
	// FetchSockets returns the sockets opts selects.
	FetchSockets(opts *BroadcastOptions) []*Socket
	// AddSockets makes the selected sockets join rooms.
	AddSockets(opts *BroadcastOptions, rooms []string)
	// DelSockets makes the selected sockets leave rooms.
	DelSockets(opts *BroadcastOptions, rooms []string)
	// DisconnectSockets disconnects the selected sockets.
	DisconnectSockets(opts *BroadcastOptions, closeConn bool)
	// ServerSideEmit sends an event to the other servers of a cluster.
	ServerSideEmit(name string, args ...any) error
}

// ErrNoCluster is returned by ServerSideEmit on the in-memory adapter,
// which has no other servers (socket.io throws the same way).
var ErrNoCluster = errors.New("sio: this adapter does not support the serverSideEmit() functionality")

// memoryAdapter is the default Adapter, on a hub.Hub of sockets.
type memoryAdapter struct {
	nsp *Namespace
	hub *hub.Hub[*Socket]
}

// NewMemoryAdapter returns the default adapter of ns: membership in a
// sharded hub, broadcasts encoded once and written to every local recipient.
func NewMemoryAdapter(ns *Namespace) Adapter { return newMemoryAdapter(ns) }

func newMemoryAdapter(ns *Namespace) *memoryAdapter {
	hooks := hub.Hooks[*Socket]{
		// create and delete carry the id of the socket whose change it was,
		// for the panic report only: OnCreateRoom/OnDeleteRoom do not pass it.
		OnCreateRoom: func(room string, s *Socket) { ns.rooms.fire(&ns.rooms.create, room, s.id) },
		OnDeleteRoom: func(room string, s *Socket) { ns.rooms.fire(&ns.rooms.del, room, s.id) },
		OnJoinRoom:   func(room string, s *Socket) { ns.rooms.fire(&ns.rooms.join, room, s.id) },
		OnLeaveRoom:  func(room string, s *Socket) { ns.rooms.fire(&ns.rooms.leave, room, s.id) },
	}
	return &memoryAdapter{nsp: ns, hub: hub.NewWithHooks[*Socket](ns.srv.groups, hooks)}
}

// Each socket is in a room named by its id (socket.io's default). Those
// rooms are not stored in the hub: a room per socket would cost hundreds
// of bytes per connection, and the namespace's socket map already finds a
// socket by id. Selections that name socket ids take a slower general path.

func (a *memoryAdapter) AddAll(s *Socket, rooms []string) {
	kept := rooms[:0:0]
	for _, r := range rooms {
		if r != s.id {
			kept = append(kept, r)
		}
	}
	a.hub.Join(s, kept...) // with no rooms left, this registers s
}

func (a *memoryAdapter) Del(s *Socket, room string) {
	if room != s.id {
		a.hub.Leave(s, room)
	}
}

func (a *memoryAdapter) DelAll(s *Socket) { a.hub.LeaveAll(s) }

func (a *memoryAdapter) SocketRooms(s *Socket) []string {
	return append([]string{s.id}, a.hub.Rooms(s)...)
}

func (a *memoryAdapter) Rooms() []string {
	rooms := a.hub.AllRooms()
	for _, s := range a.nsp.Sockets() {
		rooms = append(rooms, s.id)
	}
	return rooms
}

// plain reports whether opts names no socket-id room, so that the hub alone
// can select the recipients.
func (a *memoryAdapter) plain(opts *BroadcastOptions) bool {
	for _, r := range opts.Rooms {
		if a.nsp.Socket(r) != nil {
			return false
		}
	}
	for _, r := range opts.Except {
		if a.nsp.Socket(r) != nil {
			return false
		}
	}
	return true
}

// forEach calls fn for every socket opts selects, each once.
func (a *memoryAdapter) forEach(opts *BroadcastOptions, fn func(*Socket)) {
	if a.plain(opts) {
		a.hub.ForEachGroup(a.selector(opts), func(_ int, members []*Socket) {
			for _, s := range members {
				fn(s)
			}
		})
		return
	}
	// io.to(socketID).emit with nothing else: one socket, no set needed.
	if len(opts.Rooms) == 1 && len(opts.Except) == 0 {
		if s := a.nsp.Socket(opts.Rooms[0]); s != nil && s != opts.ExceptSocket {
			fn(s)
		}
		return
	}
	set := make(map[*Socket]struct{})
	add := func(_ int, members []*Socket) {
		for _, s := range members {
			set[s] = struct{}{}
		}
	}
	if len(opts.Rooms) == 0 {
		a.hub.ForEachGroup(nil, add)
	}
	for _, r := range opts.Rooms {
		if s := a.nsp.Socket(r); s != nil {
			set[s] = struct{}{}
		} else {
			a.hub.ForEachGroup(&hub.Selector[*Socket]{Rooms: []string{r}}, add)
		}
	}
	for _, r := range opts.Except {
		if s := a.nsp.Socket(r); s != nil {
			delete(set, s)
			continue
		}
		a.hub.ForEachGroup(&hub.Selector[*Socket]{Rooms: []string{r}}, func(_ int, members []*Socket) {
			for _, s := range members {
				delete(set, s)
			}
		})
	}
	if opts.ExceptSocket != nil {
		delete(set, opts.ExceptSocket)
	}
	for s := range set {
		fn(s)
	}
}

func (a *memoryAdapter) selector(opts *BroadcastOptions) *hub.Selector[*Socket] {
	sel := &hub.Selector[*Socket]{Rooms: opts.Rooms, Except: opts.Except}
	if opts.ExceptSocket != nil {
		sel.ExceptMember = opts.ExceptSocket
		sel.HasExceptMember = true
	}
	return sel
}

func (a *memoryAdapter) Broadcast(text []byte, atts [][]byte, opts *BroadcastOptions) {
	p := eio.Prepare(text, atts...)
	if a.plain(opts) {
		if groups, ok := a.hub.Snapshot(a.selector(opts)); ok {
			// One room or everyone: hand each loop its share (ordered.go).
			for g, ms := range groups {
				if len(ms) == 0 {
					continue
				}
				op := newBroadcastOp(ms[:len(ms):len(ms)], opts.ExceptSocket, opts.Volatile, p)
				if l := a.nsp.srv.loopOf(g); l != nil {
					deferBroadcast(l, op)
				} else {
					op.Run()
				}
			}
			return
		}
	}
	volatile := opts.Volatile
	a.forEach(opts, func(s *Socket) {
		if volatile && !s.client.sess.Writable() {
			return
		}
		s.client.sendPrepared(p)
	})
}

func (a *memoryAdapter) BroadcastWithAck(text []byte, atts [][]byte, opts *BroadcastOptions, id int64, onAck func(Message, error)) int {
	p := eio.Prepare(text, atts...)
	n := 0
	a.forEach(opts, func(s *Socket) {
		s.mu.Lock()
		if !s.connected {
			s.mu.Unlock()
			return
		}
		if s.acks == nil {
			s.acks = make(map[int64]ackFunc)
		}
		s.acks[id] = ackFunc(onAck)
		s.mu.Unlock()
		n++
		s.client.sendPrepared(p)
	})
	return n
}

func (a *memoryAdapter) FetchSockets(opts *BroadcastOptions) []*Socket {
	var out []*Socket
	a.forEach(opts, func(s *Socket) { out = append(out, s) })
	return out
}

func (a *memoryAdapter) AddSockets(opts *BroadcastOptions, rooms []string) {
	for _, s := range a.FetchSockets(opts) {
		s.Join(rooms...)
	}
}

func (a *memoryAdapter) DelSockets(opts *BroadcastOptions, rooms []string) {
	for _, s := range a.FetchSockets(opts) {
		for _, r := range rooms {
			a.Del(s, r)
		}
	}
}

func (a *memoryAdapter) DisconnectSockets(opts *BroadcastOptions, closeConn bool) {
	for _, s := range a.FetchSockets(opts) {
		s.Disconnect(closeConn)
	}
}

func (a *memoryAdapter) ServerSideEmit(string, ...any) error { return ErrNoCluster }
