package sio

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"sync"
	"sync/atomic"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/internal/packet"
)

// ConnectError refuses a connection from namespace middleware; the client
// receives it as a connect_error with err.message and err.data.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }

// connectErrorData encodes a middleware error as the CONNECT_ERROR payload.
func connectErrorData(err error) []byte {
	body := struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{Message: err.Error()}
	var ce *ConnectError
	if errors.As(err, &ce) {
		body.Data = ce.Data
	}
	b, mErr := json.Marshal(body)
	if mErr != nil {
		return []byte(`{"message":"connection refused"}`)
	}
	return b
}

// Namespace is a communication channel that splits the logic of an
// application over one shared connection (socket.io's Namespace).
type Namespace struct {
	srv     *Server
	name    string
	adapter Adapter
	parent  *ParentNamespace
	ackIDs  atomic.Int64
	rooms   roomListeners

	// members counts the sockets of a dynamic child that are connected or
	// about to be (attach to leaveChild); guarded by srv.mu
	members int

	handlers connHandlers

	mu      sync.RWMutex
	sockets map[string]*Socket                  // connected sockets by id; guarded by mu
	sse     map[string][]func(*ServerSideEvent) // OnServerSideEmit handlers; guarded by mu
}

func newNamespace(srv *Server, name string) *Namespace {
	ns := &Namespace{srv: srv, name: name, sockets: make(map[string]*Socket)}
	ns.adapter = ns.newAdapter()
	return ns
}

// newAdapter makes the namespace's adapter: Config.Adapter's, or the
// in-memory one.
func (n *Namespace) newAdapter() Adapter {
	if n.srv.cfg.Adapter != nil {
		return n.srv.cfg.Adapter(n)
	}
	return NewMemoryAdapter(n)
}

// Name is the namespace name, e.g. "/" or "/admin".
func (n *Namespace) Name() string { return n.name }

// Adapter is the namespace's adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// Server is the server the namespace belongs to.
func (n *Namespace) Server() *Server { return n.srv }

// Use adds a connection middleware: it runs, in order, for every socket
// before it connects; a non-nil error refuses the connection with a
// connect_error (use *ConnectError to send data along).
func (n *Namespace) Use(f func(*Socket) error) *Namespace {
	n.handlers.use(f)
	return n
}

// OnConnection registers f for every socket that connects (io.on("connection")).
// f runs in the socket's handler order, before any of its events. The
// client is told it is connected once the connection handlers return, as
// in socket.io, where the reply is written after the handler's synchronous
// part: rooms the handler joins are joined before the client can act, and
// what the socket is sent meanwhile (its handler's emits, broadcasts that
// reach it) follows the reply, in order. A handler that calls EmitWithAck
// on its socket sends the reply then, so that the client can answer; long
// work belongs in a goroutine (the reply waits for f, as it waits for
// middleware).
func (n *Namespace) OnConnection(f func(*Socket)) { n.handlers.onConnection(f) }

// runMiddlewares runs the parent's middleware, then the namespace's.
func (n *Namespace) runMiddlewares(s *Socket) error {
	mws := n.handlers.middlewares()
	if n.parent != nil {
		if err := runMiddlewares(n.parent.handlers.middlewares(), s); err != nil {
			return err
		}
	}
	return runMiddlewares(mws, s)
}

func (n *Namespace) add(s *Socket) {
	s.mu.Lock()
	s.connected = true
	s.mu.Unlock()
	n.mu.Lock()
	n.sockets[s.id] = s
	n.mu.Unlock()
	n.adapter.AddAll(s, []string{s.id})
	// The socket's own room is not stored in the hub; announce it here.
	n.rooms.fire(&n.rooms.create, s.id, "")
	n.rooms.fire(&n.rooms.join, s.id, s.id)
}

// fireConnection runs the parent's connection handlers, then the
// namespace's.
func (n *Namespace) fireConnection(s *Socket) {
	fs := n.handlers.connectionHandlers()
	if n.parent != nil {
		fireConnection(n.parent.handlers.connectionHandlers(), s)
	}
	fireConnection(fs, s)
}

func (n *Namespace) remove(s *Socket) {
	n.adapter.DelAll(s)
	n.rooms.fire(&n.rooms.leave, s.id, s.id)
	n.rooms.fire(&n.rooms.del, s.id, "")
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	n.mu.Unlock()
	n.leaveChild()
}

// Socket returns the connected socket with id, or nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

// Sockets returns the connected sockets of this server.
func (n *Namespace) Sockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

func (n *Namespace) nextAckID() int64 { return n.ackIDs.Add(1) - 1 }

// emitTo encodes and sends an event to one socket. With record, a plain
// event is kept for connection state recovery, addressed to the socket's
// own room as socket.io does, and is stored even if the socket is away
// (send false) so that it is replayed when the client comes back.
func (n *Namespace) emitTo(s *Socket, name string, args []any, id int64, record, send bool) error {
	if send && !(record && id == packet.NoID && (n.sessionStore() != nil || n.srv.store != nil)) {
		// Encoded in place, once: the common case.
		b := getBuf()
		defer putBuf(b)
		p := packet.Packet{Type: packet.Event, Namespace: n.name, ID: id}
		var atts [][]byte
		var err error
		if b.B, atts, err = packet.AppendArgsPacket(eio.BeginBuild(b.B[:0]), &p, name, args); err != nil {
			return err
		}
		s.send(b.B, atts...)
		return nil
	}
	body, atts, err := packet.AppendArgs(nil, name, args)
	if err != nil {
		return err
	}
	if record && id == packet.NoID && n.sessionStore() != nil {
		// The adapter logs it and gives its offset (session_store.go).
		n.adapter.Broadcast(&Packet{Data: body, Attachments: atts}, &BroadcastOptions{Rooms: []string{s.id}})
		return nil
	}
	if st := n.srv.store; record && id == packet.NoID && st != nil {
		st.gate.RLock()
		defer st.gate.RUnlock()
		body = st.record(n, body, atts, &BroadcastOptions{Rooms: []string{s.id}}, true)
	}
	if send {
		s.send(n.encodeEvent(body, atts, id), atts...)
	}
	return nil
}

// encodeEvent encodes an EVENT or BINARY_EVENT packet of this namespace
// with arguments body (a JSON array, the event name first) and ack id, as
// a message built after eio.BeginBuild in a new buffer.
func (n *Namespace) encodeEvent(body []byte, atts [][]byte, id int64) []byte {
	p := packet.Packet{Type: packet.Event, Namespace: n.name, ID: id, Data: body}
	if len(atts) > 0 {
		p.Type = packet.BinaryEvent
		p.Attachments = len(atts)
	}
	return packet.AppendEncode(eio.BeginBuild(make([]byte, 0, eio.BuildCap(len(body)+len(n.name)+24, atts))), &p)
}

// To selects the sockets in rooms (io.to).
func (n *Namespace) To(rooms ...string) BroadcastOperator {
	return BroadcastOperator{nsp: n}.To(rooms...)
}

// In is an alias of To.
func (n *Namespace) In(rooms ...string) BroadcastOperator { return n.To(rooms...) }

// Except selects every socket but those in rooms.
func (n *Namespace) Except(rooms ...string) BroadcastOperator {
	return BroadcastOperator{nsp: n}.Except(rooms...)
}

// Volatile marks the broadcast as droppable.
func (n *Namespace) Volatile() BroadcastOperator { return BroadcastOperator{nsp: n}.Volatile() }

// Local restricts the broadcast to this server (no effect with the
// in-memory adapter).
func (n *Namespace) Local() BroadcastOperator { return BroadcastOperator{nsp: n}.Local() }

// Emit sends an event to every socket of the namespace (io.emit).
func (n *Namespace) Emit(name string, args ...any) error {
	return BroadcastOperator{nsp: n}.Emit(name, args...)
}

// FetchSockets returns the namespace's sockets on every node of a
// cluster (see BroadcastOperator.FetchSockets).
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return BroadcastOperator{nsp: n}.FetchSockets(ctx)
}

// SocketsJoin makes every socket of the namespace, on every node, join rooms.
func (n *Namespace) SocketsJoin(ctx context.Context, rooms ...string) error {
	return BroadcastOperator{nsp: n}.SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the namespace, on every node, leave rooms.
func (n *Namespace) SocketsLeave(ctx context.Context, rooms ...string) error {
	return BroadcastOperator{nsp: n}.SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the namespace, on every node.
func (n *Namespace) DisconnectSockets(ctx context.Context, closeConn bool) error {
	return BroadcastOperator{nsp: n}.DisconnectSockets(ctx, closeConn)
}

// AllRooms lists the rooms of the namespace on every node (socket.io's
// adapter.allRooms()), socket id rooms included.
func (n *Namespace) AllRooms(ctx context.Context) ([]string, error) {
	return n.adapter.AllRooms(ctx, &BroadcastOptions{})
}

// ServerCount is the number of nodes serving the namespace (1 without a
// cluster).
func (n *Namespace) ServerCount(ctx context.Context) (int, error) {
	return n.adapter.ServerCount(ctx)
}

// ParentNamespace matches namespace names dynamically (io.of(regexp) or
// io.of(func)); each matching name becomes a child Namespace sharing the
// parent's middleware and connection handlers, present and future.
//
// A child is created when a socket connects to a matching name and passes
// the middleware: a refused CONNECT leaves nothing behind. With
// Config.CleanupEmptyChildNamespaces, a child is removed again (from
// Children and from the server) when its last socket leaves; otherwise it
// stays, as in socket.io.
type ParentNamespace struct {
	srv   *Server
	match func(name string, auth json.RawMessage) bool

	children map[string]*Namespace // registered children; guarded by srv.mu

	handlers connHandlers
}

// Use adds a middleware run for sockets of every child namespace.
func (p *ParentNamespace) Use(f func(*Socket) error) *ParentNamespace {
	p.handlers.use(f)
	return p
}

// OnConnection registers f for sockets of every child namespace.
func (p *ParentNamespace) OnConnection(f func(*Socket)) { p.handlers.onConnection(f) }

// Emit sends an event to every socket of every child namespace.
func (p *ParentNamespace) Emit(name string, args ...any) error {
	var first error
	for _, c := range p.Children() {
		if err := c.Emit(name, args...); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Children lists the child namespaces that exist: those a socket joined,
// minus, with Config.CleanupEmptyChildNamespaces, those left empty since.
func (p *ParentNamespace) Children() []*Namespace {
	p.srv.mu.RLock()
	defer p.srv.mu.RUnlock()
	out := make([]*Namespace, 0, len(p.children))
	for _, c := range p.children {
		out = append(out, c)
	}
	return out
}

// newChild returns a namespace name under p that is not registered: the
// middleware of a connecting socket runs on it, and attach registers it
// only if the socket is accepted. Until then it has no socket, and its
// adapter is a pendingAdapter, so that a refused CONNECT costs no room
// index (~16 KB with the in-memory adapter) and no Config.Adapter call.
func (p *ParentNamespace) newChild(name string) *Namespace {
	return &Namespace{srv: p.srv, name: name, parent: p, sockets: make(map[string]*Socket), adapter: pendingAdapter{}}
}

// pendingAdapter is the adapter of a dynamic namespace that does not exist
// yet (newChild): it has no socket, so every selection is empty.
type pendingAdapter struct{}

func (pendingAdapter) AddAll(*Socket, []string)                 {}
func (pendingAdapter) Del(*Socket, string)                      {}
func (pendingAdapter) DelAll(*Socket)                           {}
func (pendingAdapter) SocketRooms(*Socket) []string             { return nil }
func (pendingAdapter) Broadcast(*Packet, *BroadcastOptions)     {}
func (pendingAdapter) ServerCount(context.Context) (int, error) { return 1, nil }
func (pendingAdapter) BroadcastWithAck(_ context.Context, _ *Packet, _ *BroadcastOptions, onCount func(int), _ func(Message, error)) {
	onCount(0)
}
func (pendingAdapter) AllRooms(context.Context, *BroadcastOptions) ([]string, error) {
	return nil, nil
}
func (pendingAdapter) FetchSockets(context.Context, *BroadcastOptions) ([]*RemoteSocket, error) {
	return nil, nil
}
func (pendingAdapter) AddSockets(context.Context, *BroadcastOptions, []string) error { return nil }
func (pendingAdapter) DelSockets(context.Context, *BroadcastOptions, []string) error { return nil }
func (pendingAdapter) DisconnectSockets(context.Context, *BroadcastOptions, bool) error {
	return nil
}
func (pendingAdapter) ServerSideEmit(context.Context, *Packet) error { return ErrNoCluster }
func (pendingAdapter) ServerSideEmitWithAck(context.Context, *Packet) ([]Message, error) {
	return nil, ErrNoCluster
}
func (pendingAdapter) Close() error { return nil }

// attach registers ns, a namespace of p that a socket passed the
// middleware of, and counts the socket as a member until leaveChild. If a
// namespace of that name was registered meanwhile (another client
// connected to the same name at the same time), that one is returned
// instead and ns is dropped.
func (p *ParentNamespace) attach(ns *Namespace) *Namespace {
	if _, pending := ns.adapter.(pendingAdapter); pending {
		// Not published yet; made outside the lock, as it may run
		// Config.Adapter.
		ns.adapter = ns.newAdapter()
	}
	srv := p.srv
	srv.mu.Lock()
	defer srv.mu.Unlock()
	cur := srv.nsps[ns.name]
	if cur == nil {
		cur = ns
		srv.nsps[ns.name] = ns
		p.children[ns.name] = ns
		for _, f := range srv.onNew {
			go srv.newNamespace(f, ns)
		}
	}
	if cur.parent != nil {
		cur.members++
	}
	return cur
}

// leaveChild ends the membership attach counted and, with
// Config.CleanupEmptyChildNamespaces, removes a dynamic child left with no
// socket. Connections that found it registered just before still join
// it: attach registers it again.
func (n *Namespace) leaveChild() {
	p := n.parent
	if p == nil {
		return
	}
	srv := n.srv
	srv.mu.Lock()
	n.members--
	if n.members == 0 && srv.cfg.CleanupEmptyChildNamespaces && srv.nsps[n.name] == n {
		delete(srv.nsps, n.name)
		delete(p.children, n.name)
	}
	srv.mu.Unlock()
}

func regexpMatcher(re *regexp.Regexp) func(string, json.RawMessage) bool {
	return func(name string, _ json.RawMessage) bool { return re.MatchString(name) }
}
