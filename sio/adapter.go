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
	return &memoryAdapter{nsp: ns, hub: hub.New[*Socket](ns.srv.groups)}
}

func (a *memoryAdapter) AddAll(s *Socket, rooms []string) { a.hub.Join(s, rooms...) }
func (a *memoryAdapter) Del(s *Socket, room string)       { a.hub.Leave(s, room) }
func (a *memoryAdapter) DelAll(s *Socket)                 { a.hub.LeaveAll(s) }
func (a *memoryAdapter) SocketRooms(s *Socket) []string   { return a.hub.Rooms(s) }
func (a *memoryAdapter) Rooms() []string                  { return a.hub.AllRooms() }

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
	volatile := opts.Volatile
	a.hub.ForEachGroup(a.selector(opts), func(_ int, members []*Socket) {
		for _, s := range members {
			sess := s.client.sess
			if volatile && !sess.Writable() {
				continue
			}
			sess.SendPrepared(p)
		}
	})
}

func (a *memoryAdapter) BroadcastWithAck(text []byte, atts [][]byte, opts *BroadcastOptions, id int64, onAck func(Message, error)) int {
	p := eio.Prepare(text, atts...)
	n := 0
	a.hub.ForEachGroup(a.selector(opts), func(_ int, members []*Socket) {
		for _, s := range members {
			s.mu.Lock()
			if !s.connected {
				s.mu.Unlock()
				continue
			}
			if s.acks == nil {
				s.acks = make(map[int64]ackFunc)
			}
			s.acks[id] = ackFunc(onAck)
			s.mu.Unlock()
			n++
			s.client.sess.SendPrepared(p)
		}
	})
	return n
}

func (a *memoryAdapter) FetchSockets(opts *BroadcastOptions) []*Socket {
	var out []*Socket
	a.hub.ForEachGroup(a.selector(opts), func(_ int, members []*Socket) {
		out = append(out, members...)
	})
	return out
}

func (a *memoryAdapter) AddSockets(opts *BroadcastOptions, rooms []string) {
	for _, s := range a.FetchSockets(opts) {
		a.hub.Join(s, rooms...)
	}
}

func (a *memoryAdapter) DelSockets(opts *BroadcastOptions, rooms []string) {
	for _, s := range a.FetchSockets(opts) {
		for _, r := range rooms {
			a.hub.Leave(s, r)
		}
	}
}

func (a *memoryAdapter) DisconnectSockets(opts *BroadcastOptions, closeConn bool) {
	for _, s := range a.FetchSockets(opts) {
		s.Disconnect(closeConn)
	}
}

func (a *memoryAdapter) ServerSideEmit(string, ...any) error { return ErrNoCluster }
