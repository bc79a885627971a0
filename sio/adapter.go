package sio

import (
	"context"
	"errors"
	"sync"

	"github.com/sioloop/sioloop/hub"
	"github.com/sioloop/sioloop/internal/packet"
)

// Adapter keeps the room membership of one namespace and carries its
// broadcasts and cluster-wide operations, like socket.io-adapter. The
// default, MemoryAdapter, keeps everything in this process. A cluster
// adapter (adapter/redis, ...) embeds a *MemoryAdapter for this node's
// sockets and forwards to the other nodes what crosses them: it overrides
// the cluster-wide methods and calls the embedded ones for its local part,
// and the MemoryAdapter's methods are also what it calls for requests that
// arrive from other nodes.
//
// sio calls the membership methods (AddAll, Del, DelAll, SocketRooms) on
// the socket's goroutines with no lock held; they must not block. The
// cluster-wide methods may be called from any goroutine, handlers
// included: Broadcast and BroadcastWithAck must not block on the network
// (a failed publish is the adapter's to count and log); the methods that
// take a context wait at most until it ends, for the answers of other
// nodes, and return what came with an error when some did not.
type Adapter interface {
	// AddAll adds this node's socket s to rooms.
	AddAll(s *Socket, rooms []string)
	// Del removes s from room.
	Del(s *Socket, room string)
	// DelAll removes s from every room.
	DelAll(s *Socket)
	// SocketRooms lists the rooms of s, its own id room first.
	SocketRooms(s *Socket) []string

	// Broadcast sends p to the sockets opts selects on every node (only
	// this one with opts.Local).
	Broadcast(p *Packet, opts *BroadcastOptions)
	// BroadcastWithAck sends p to the sockets opts selects, each asked for
	// an acknowledgement. Every node that received it calls onCount once
	// with the number of its sockets p was sent to, then onAck for each of
	// their answers; onAck with an error reports a socket of this node that
	// disconnected before answering. Both may be called from any goroutine
	// and must not block. Once ctx ends, later answers are dropped and the
	// adapter forgets the request.
	BroadcastWithAck(ctx context.Context, p *Packet, opts *BroadcastOptions, onCount func(clients int), onAck func(Message, error))
	// ServerCount is the number of nodes serving the namespace, this one
	// included (1 without a cluster).
	ServerCount(ctx context.Context) (int, error)
	// AllRooms lists the rooms of every node (socket id rooms included),
	// each once.
	AllRooms(ctx context.Context, opts *BroadcastOptions) ([]string, error)
	// FetchSockets returns the sockets opts selects on every node; with
	// opts.Local, those of this node only, without waiting.
	FetchSockets(ctx context.Context, opts *BroadcastOptions) ([]*RemoteSocket, error)
	// AddSockets makes the sockets opts selects on every node join rooms.
	AddSockets(ctx context.Context, opts *BroadcastOptions, rooms []string) error
	// DelSockets makes the sockets opts selects on every node leave rooms.
	DelSockets(ctx context.Context, opts *BroadcastOptions, rooms []string) error
	// DisconnectSockets disconnects the sockets opts selects on every node
	// (closing their connections with closeConn).
	DisconnectSockets(ctx context.Context, opts *BroadcastOptions, closeConn bool) error
	// ServerSideEmit sends p, an event for Namespace.OnServerSideEmit
	// handlers, to the other nodes.
	ServerSideEmit(ctx context.Context, p *Packet) error
	// ServerSideEmitWithAck is ServerSideEmit asking each other node for
	// one answer (the first argument its handler acknowledged with); it
	// returns when every node answered or ctx ended (then with
	// ErrAckTimeout and the answers that came).
	ServerSideEmitWithAck(ctx context.Context, p *Packet) ([]Message, error)
	// Close stops the adapter's work for the namespace (its subscriptions,
	// timers); called when the server shuts down.
	Close() error
}

// Packet is an event as adapters carry it: its arguments as socket.io
// JSON, the event name first (["news",{"a":1}]), binary arguments as
// {"_placeholder":true,"num":n} placeholders for Attachments[n]. A Packet
// is shared by every delivery of a broadcast: nobody modifies Data or
// Attachments once it is handed to an adapter.
type Packet struct {
	Data        []byte
	Attachments [][]byte
	// sole: nothing but this node's MemoryAdapter sees Data, which may
	// then take the recovery offset in place.
	sole bool
}

// NewPacket encodes event name and args as a Packet, as Emit does: []byte
// values anywhere in args become binary attachments. With name "", only
// args are encoded (an acknowledgement's answer).
func NewPacket(name string, args ...any) (*Packet, error) {
	body, atts, err := packet.AppendArgs(nil, name, args)
	if err != nil {
		return nil, err
	}
	return &Packet{Data: body, Attachments: atts}, nil
}

// Message returns the packet's arguments as a Message. With skipName the
// first element (the event name) is left out.
func (p *Packet) Message(skipName bool) (Message, error) {
	return newMessage(p.Data, p.Attachments, skipName)
}

// ErrNoCluster is returned by ServerSideEmit on the in-memory adapter,
// which has no other servers (socket.io throws the same way).
var ErrNoCluster = errors.New("sio: this adapter does not support the serverSideEmit() functionality")

// MemoryAdapter is the default Adapter, for one process: membership in a
// sharded hub, and broadcasts encoded once and handed to each event loop's
// share of the recipients. Cluster adapters embed it for their node's
// sockets.
type MemoryAdapter struct {
	nsp *Namespace
	hub *hub.Hub[*Socket]
}

// NewMemoryAdapter returns the in-memory adapter of ns.
func NewMemoryAdapter(ns *Namespace) *MemoryAdapter {
	hooks := hub.Hooks[*Socket]{
		// create and delete carry the id of the socket whose change it was,
		// for the panic report only: OnCreateRoom/OnDeleteRoom do not pass it.
		OnCreateRoom: func(room string, s *Socket) { ns.rooms.fire(&ns.rooms.create, room, s.id) },
		OnDeleteRoom: func(room string, s *Socket) { ns.rooms.fire(&ns.rooms.del, room, s.id) },
		OnJoinRoom:   func(room string, s *Socket) { ns.rooms.fire(&ns.rooms.join, room, s.id) },
		OnLeaveRoom:  func(room string, s *Socket) { ns.rooms.fire(&ns.rooms.leave, room, s.id) },
	}
	return &MemoryAdapter{nsp: ns, hub: hub.NewWithHooks(ns.srv.groups, (*Socket).group, hooks)}
}

// Namespace is the namespace the adapter serves.
func (a *MemoryAdapter) Namespace() *Namespace { return a.nsp }

// Each socket is in a room named by its id (socket.io's default). Those
// rooms are not stored in the hub: a room per socket would cost hundreds
// of bytes per connection, and the namespace's socket map already finds a
// socket by id. Selections that name socket ids take a slower general path.

func (a *MemoryAdapter) AddAll(s *Socket, rooms []string) {
	kept := rooms[:0:0]
	for _, r := range rooms {
		if r != s.id {
			kept = append(kept, r)
		}
	}
	a.hub.Join(s, kept...) // with no rooms left, this registers s
}

func (a *MemoryAdapter) Del(s *Socket, room string) {
	if room != s.id {
		a.hub.Leave(s, room)
	}
}

func (a *MemoryAdapter) DelAll(s *Socket) { a.hub.LeaveAll(s) }

func (a *MemoryAdapter) SocketRooms(s *Socket) []string {
	return append([]string{s.id}, a.hub.Rooms(s)...)
}

func (a *MemoryAdapter) Rooms() []string {
	rooms := a.hub.AllRooms()
	for _, s := range a.nsp.Sockets() {
		rooms = append(rooms, s.id)
	}
	return rooms
}

// plain reports whether opts names no socket-id room, so that the hub alone
// can select the recipients.
func (a *MemoryAdapter) plain(opts *BroadcastOptions) bool {
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
func (a *MemoryAdapter) forEach(opts *BroadcastOptions, fn func(*Socket)) {
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

func (a *MemoryAdapter) selector(opts *BroadcastOptions) *hub.Selector[*Socket] {
	sel := &hub.Selector[*Socket]{Rooms: opts.Rooms, Except: opts.Except}
	if opts.ExceptSocket != nil {
		sel.ExceptMember = opts.ExceptSocket
		sel.HasExceptMember = true
	}
	return sel
}

// Broadcast delivers p to this node's sockets opts selects (a
// MemoryAdapter has no other node). With connection state recovery, a
// packet that is not volatile is recorded and gets its offset here, as
// socket.io's session-aware adapter does; p itself is left unchanged.
func (a *MemoryAdapter) Broadcast(p *Packet, opts *BroadcastOptions) {
	a.traceBroadcast(p, opts)
	a.nsp.srv.fireBroadcast(a, p, opts)
	if st := a.nsp.srv.stats.Load(); st != nil {
		st.broadcasts.add(0, 1)
	}
	body := p.Data
	if st := a.nsp.srv.store; st != nil && !opts.Volatile && a.nsp.sessionStore() == nil {
		// Held from recording to queuing, so that a resume sees either
		// the event in the log or the socket in its rooms (recovery.go).
		st.gate.RLock()
		defer st.gate.RUnlock()
		body = st.record(a.nsp, body, p.Attachments, opts, p.sole)
	}
	d := a.nsp.srv.newDelivery(a.nsp.srv.prepare(a.nsp.encodeEvent(body, p.Attachments, packet.NoID), p.Attachments), opts)
	if a.plain(opts) {
		if groups, ok := a.hub.Snapshot(a.selector(opts)); ok {
			// One room or everyone: each group's executor walks its share.
			d.toGroups(groups)
			return
		}
	}
	a.forEach(opts, d.to)
}

// BroadcastWithAck delivers p to this node's sockets opts selects, each
// with an ack id of this namespace, and reports their number to onCount
// before it returns. If ctx ends before every socket answered, the
// sockets that did not forget the ack.
func (a *MemoryAdapter) BroadcastWithAck(ctx context.Context, p *Packet, opts *BroadcastOptions, onCount func(int), onAck func(Message, error)) {
	a.nsp.srv.fireBroadcast(a, p, opts)
	id := a.nsp.nextAckID()
	prep := a.nsp.srv.prepare(a.nsp.encodeEvent(p.Data, p.Attachments, id), p.Attachments)
	var (
		mu      sync.Mutex
		pending = -1 // sockets yet to answer, once counted
		stop    func() bool
	)
	answered := func() {
		// Called with mu held.
		if pending--; pending == 0 && stop != nil {
			stop()
		}
	}
	ack := func(m Message, err error) {
		mu.Lock()
		answered()
		mu.Unlock()
		onAck(m, err)
	}
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
		s.acks[id] = ack
		s.mu.Unlock()
		n++
		s.sendPrepared(prep)
	})
	mu.Lock()
	pending += n + 1 // the answers that came meanwhile were counted from -1
	if pending > 0 {
		// Sockets that never answer would keep the callback (and what it
		// holds) until they disconnect.
		stop = context.AfterFunc(ctx, func() { a.nsp.dropAcks(id) })
	}
	mu.Unlock()
	onCount(n)
}

// ServerCount is 1: a MemoryAdapter serves this process only.
func (a *MemoryAdapter) ServerCount(context.Context) (int, error) { return 1, nil }

// AllRooms lists this node's rooms.
func (a *MemoryAdapter) AllRooms(context.Context, *BroadcastOptions) ([]string, error) {
	return a.Rooms(), nil
}

// LocalSockets returns this node's sockets opts selects.
func (a *MemoryAdapter) LocalSockets(opts *BroadcastOptions) []*Socket {
	var out []*Socket
	a.forEach(opts, func(s *Socket) { out = append(out, s) })
	return out
}

// FetchSockets returns this node's sockets opts selects.
func (a *MemoryAdapter) FetchSockets(_ context.Context, opts *BroadcastOptions) ([]*RemoteSocket, error) {
	var out []*RemoteSocket
	a.forEach(opts, func(s *Socket) { out = append(out, s.remote()) })
	return out, nil
}

// AddSockets makes this node's sockets opts selects join rooms.
func (a *MemoryAdapter) AddSockets(_ context.Context, opts *BroadcastOptions, rooms []string) error {
	for _, s := range a.LocalSockets(opts) {
		s.Join(rooms...)
	}
	return nil
}

// DelSockets makes this node's sockets opts selects leave rooms.
func (a *MemoryAdapter) DelSockets(_ context.Context, opts *BroadcastOptions, rooms []string) error {
	for _, s := range a.LocalSockets(opts) {
		for _, r := range rooms {
			a.Del(s, r)
		}
	}
	return nil
}

// DisconnectSockets disconnects this node's sockets opts selects.
func (a *MemoryAdapter) DisconnectSockets(_ context.Context, opts *BroadcastOptions, closeConn bool) error {
	for _, s := range a.LocalSockets(opts) {
		s.Disconnect(closeConn)
	}
	return nil
}

// ServerSideEmit returns ErrNoCluster.
func (a *MemoryAdapter) ServerSideEmit(context.Context, *Packet) error { return ErrNoCluster }

// ServerSideEmitWithAck returns ErrNoCluster.
func (a *MemoryAdapter) ServerSideEmitWithAck(context.Context, *Packet) ([]Message, error) {
	return nil, ErrNoCluster
}

// HasRoom reports whether room has a member on this node (a socket id
// counts as its socket's room). Cluster adapters use it to drop messages
// for rooms this node does not have before decoding them.
func (a *MemoryAdapter) HasRoom(room string) bool {
	return a.nsp.Socket(room) != nil || a.hub.Size(room) > 0
}

// Close does nothing: a MemoryAdapter holds no outside resource.
func (a *MemoryAdapter) Close() error { return nil }
