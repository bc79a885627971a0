package sio

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sioloop/sioloop/internal/packet"
)

// ErrDisconnected is returned when emitting on a disconnected socket.
var ErrDisconnected = errors.New("sio: socket disconnected")

// ErrReservedEvent is returned when emitting a name socket.io reserves.
var ErrReservedEvent = errors.New("sio: reserved event name")

var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true, "disconnecting": true,
	"newListener": true, "removeListener": true,
}

// listenerKind says which of a socket's callbacks a listener is.
type listenerKind uint8

const (
	onEventKind         listenerKind = iota // f is func(*Event), for event name
	onceEventKind                           // the same, removed when it fires
	onAnyKind                               // func(*Event)
	onAnyOutgoingKind                       // func(name string, args []any)
	useKind                                 // func(*Event) error
	onErrorKind                             // func(error)
	onDisconnectKind                        // func(reason string)
	onDisconnectingKind                     // func(reason string)
	onUpgradeKind                           // func(transport string)
)

// listener is one registered callback. Every kind lives in one slice: a
// socket usually has a few, and seven slice headers per connection cost
// more than the name an entry carries. The kind is the dynamic type of f
// (one of the func types below), so an entry is two words.
type listener struct {
	name string // event name (eventFunc, onceFunc)
	f    any
}

// The func types of the listener kinds. Converting a func to one of them
// and storing it in an interface does not allocate.
type (
	eventFunc         func(*Event)
	onceFunc          func(*Event)
	anyFunc           func(*Event)
	anyOutgoingFunc   func(name string, args []any)
	useFunc           func(*Event) error
	errorFunc         func(error)
	disconnectFunc    func(reason string)
	disconnectingFunc func(reason string)
	upgradeFunc       func(transport string)
)

func (l *listener) kind() listenerKind {
	switch l.f.(type) {
	case eventFunc:
		return onEventKind
	case onceFunc:
		return onceEventKind
	case anyFunc:
		return onAnyKind
	case anyOutgoingFunc:
		return onAnyOutgoingKind
	case useFunc:
		return useKind
	case errorFunc:
		return onErrorKind
	case disconnectFunc:
		return onDisconnectKind
	case disconnectingFunc:
		return onDisconnectingKind
	case upgradeFunc:
		return onUpgradeKind
	}
	panic("sio: unknown listener type")
}

// fireReason calls f (a disconnectFunc or disconnectingFunc) with reason.
func (l *listener) fireReason(reason string) {
	switch f := l.f.(type) {
	case disconnectFunc:
		f(reason)
	case disconnectingFunc:
		f(reason)
	}
}

// ackFunc receives a client's acknowledgement, or ErrDisconnected. It runs
// on the transport goroutine (resolveAck) or in the mailbox, so it must
// not block.
type ackFunc func(m Message, err error)

// Socket is a client's connection to one namespace (socket.io's Socket).
type Socket struct {
	nsp    *Namespace
	client *client
	// hold keeps the socket's output while its connection handlers run
	// (output_hold.go); nil otherwise. Next to client: a broadcast reads
	// both for every recipient.
	hold   atomic.Pointer[outputHold]
	id     string
	auth   string     // the CONNECT payload (a string: 8 bytes less per Socket)
	issued int64      // unix nanoseconds; a time.Time would take the Socket past 160 bytes
	hs     *Handshake // built on first use; guarded by mu

	mu        sync.Mutex
	connected bool              // guarded by mu
	left      bool              // rooms left after disconnect; guarded by mu
	recovered bool              // guarded by mu
	closed    bool              // disconnected (onclose began); guarded by mu
	extra     *socketExtra      // nil until needed; guarded by mu (set before publication for recovery)
	listeners []listener        // in registration order; guarded by mu (append-only, or replaced)
	acks      map[int64]ackFunc // guarded by mu
}

func newSocket(ns *Namespace, c *client, auth json.RawMessage) *Socket {
	s := &Socket{nsp: ns, client: c, id: newID(), auth: `{}`, issued: time.Now().UnixNano()}
	if string(auth) != `{}` {
		s.auth = string(auth)
	}
	if c.srv.cfg.ConnectionStateRecovery != nil {
		s.extra = &socketExtra{pid: newID()}
	}
	return s
}

// socketExtra holds what most sockets never set: the recovery id (only
// with ConnectionStateRecovery) and the application's value (SetData).
// Kept apart, they cost a Socket one pointer instead of four words.
type socketExtra struct {
	pid  string
	data any
	// ctx is Context's, made on first use and cancelled at disconnect.
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// recoveryID is the socket's private id for connection state recovery, ""
// when recovery is off.
func (s *Socket) recoveryID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.extra == nil {
		return ""
	}
	return s.extra.pid
}

// ID is the socket id (not the Engine.IO session id).
func (s *Socket) ID() string { return s.id }

// Namespace is the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake describes the connection request (socket.handshake). It is
// built on first use, so sockets that never ask cost no copy of the
// request; do not modify it.
func (s *Socket) Handshake() *Handshake {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hs == nil {
		r := s.client.sess.Request()
		h := r.Header.Clone()
		if h == nil {
			h = http.Header{}
		}
		if r.Host != "" {
			h.Set("Host", r.Host)
		}
		s.hs = &Handshake{
			Headers: h,
			Time:    time.Unix(0, s.issued),
			Address: remoteIP(s.client.sess.RemoteAddr()),
			XDomain: r.Header.Get("Origin") != "",
			Secure:  r.TLS != nil,
			Issued:  s.issued / int64(time.Millisecond),
			URL:     r.URL.RequestURI(),
			Query:   r.URL.Query(),
			Auth:    json.RawMessage(s.auth),
		}
	}
	return s.hs
}

// Conn is the socket's Engine.IO connection (socket.conn), shared by the
// client's sockets of every namespace.
func (s *Socket) Conn() Conn { return Conn{s} }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Recovered reports whether the socket resumed a previous session through
// connection state recovery.
func (s *Socket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// Data returns the application value attached with SetData (socket.data).
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.extra == nil {
		return nil
	}
	return s.extra.data
}

// SetData attaches an application value to the socket. It is kept across
// connection state recovery and visible through FetchSockets.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	if s.extra == nil {
		s.extra = new(socketExtra)
	}
	s.extra.data = v
	s.mu.Unlock()
	s.nsp.srv.fireSetData(s)
}

// group is the event loop that orders the socket's writes (the hub's
// grouping): its connection's, from the upgrade on (relocate.go).
func (s *Socket) group() int { return int(s.client.group.Load()) }

// On registers f for event name (socket.on).
func (s *Socket) On(name string, f func(*Event)) { s.listen(name, eventFunc(f)) }

// Once registers f for the next event name only (socket.once).
func (s *Socket) Once(name string, f func(*Event)) { s.listen(name, onceFunc(f)) }

// listen registers f, of one of the listener func types.
func (s *Socket) listen(name string, f any) {
	s.mu.Lock()
	if s.listeners == nil {
		// Sockets usually get a few handlers at once: one array for the
		// first four instead of three that become garbage as it grows.
		s.listeners = make([]listener, 0, 4)
	}
	s.listeners = append(s.listeners, listener{name: name, f: f})
	s.mu.Unlock()
}

// removeLocked drops the listeners drop selects, into a new array so that
// snapshots taken before stay intact. Called with mu held.
func (s *Socket) removeLocked(drop func(l *listener) bool) {
	kept := s.listeners[:0:0]
	for i := range s.listeners {
		if !drop(&s.listeners[i]) {
			kept = append(kept, s.listeners[i])
		}
	}
	s.listeners = kept
}

// snapshot returns the listeners as of now; the slice is never modified.
func (s *Socket) snapshot() []listener {
	s.mu.Lock()
	ls := s.listeners
	s.mu.Unlock()
	return ls
}

// Off removes every handler of event name (socket.removeAllListeners(name)).
func (s *Socket) Off(name string) {
	s.mu.Lock()
	s.removeLocked(func(l *listener) bool { return l.kind() <= onceEventKind && l.name == name })
	s.mu.Unlock()
}

// OnAny registers f for every incoming event, before the named handlers.
func (s *Socket) OnAny(f func(*Event)) { s.listen("", anyFunc(f)) }

// OffAny removes every OnAny handler.
func (s *Socket) OffAny() {
	s.mu.Lock()
	s.removeLocked(func(l *listener) bool { return l.kind() == onAnyKind })
	s.mu.Unlock()
}

// OnAnyOutgoing registers f for every event emitted to this socket.
func (s *Socket) OnAnyOutgoing(f func(name string, args []any)) { s.listen("", anyOutgoingFunc(f)) }

// Use adds a per-packet middleware (socket.use): it runs before the
// handlers of every incoming event; an error stops the event and is passed
// to the OnError handlers.
func (s *Socket) Use(f func(*Event) error) { s.listen("", useFunc(f)) }

// OnError registers f for errors returned by Use middleware.
func (s *Socket) OnError(f func(error)) { s.listen("", errorFunc(f)) }

// OnDisconnect registers f, told the disconnect reason once the socket has
// left its rooms (the "disconnect" event).
func (s *Socket) OnDisconnect(f func(reason string)) { s.listen("", disconnectFunc(f)) }

// OnDisconnecting registers f, run before the socket leaves its rooms (the
// "disconnecting" event; Rooms still lists them).
func (s *Socket) OnDisconnecting(f func(reason string)) { s.listen("", disconnectingFunc(f)) }

// fireReason calls the kind's func(reason string) listeners of ls, each
// contained on its own: onclose must go on to leave the rooms and forget
// the socket whatever a listener does.
func (s *Socket) fireReason(ls []listener, kind listenerKind, reason string) {
	for i := range ls {
		if ls[i].kind() == kind {
			s.fireOne(&ls[i], reason)
		}
	}
}

func (s *Socket) fireOne(l *listener, reason string) {
	defer s.containPanic()
	l.fireReason(reason)
}

// containPanic, deferred around application code run for the socket,
// stops a panic there from ending the process: it logs the panic with the
// socket id, the namespace and the stack, and closes the connection as
// Disconnect(true) does. The goroutine that ran the callback (a mailbox
// worker, a transport goroutine) goes on serving. A deferred call with no
// panic costs no allocation.
func (s *Socket) containPanic() {
	if v := recover(); v != nil {
		s.nsp.srv.logPanic(v, slog.String("sid", s.id), slog.String("namespace", s.nsp.name))
		s.Disconnect(true)
	}
}

// Emit sends event name with args to this socket. []byte values anywhere in
// args travel as binary attachments (Buffer/ArrayBuffer for the client):
// at the top level, in []any and maps, in struct fields (nested, behind
// pointers, in slices and maps of structs). A nil []byte struct field is
// null; a [N]byte array and the inside of a json.Marshaler or
// encoding.TextMarshaler (json.RawMessage included) are written as
// encoding/json writes them. Everything else follows encoding/json.
func (s *Socket) Emit(name string, args ...any) error {
	if reservedEvents[name] {
		return ErrReservedEvent
	}
	connected := s.Connected()
	if !connected && s.nsp.srv.store == nil {
		return ErrDisconnected
	}
	s.fireOutgoing(name, args)
	return s.nsp.emitTo(s, name, args, packet.NoID, true, connected)
}

// EmitWithAck sends event name and waits for the client's acknowledgement
// or the end of ctx (socket.timeout(ms).emitWithAck).
func (s *Socket) EmitWithAck(ctx context.Context, name string, args ...any) (Message, error) {
	if reservedEvents[name] {
		return Message{}, ErrReservedEvent
	}
	ch := make(chan ackResult, 1)
	id, err := s.registerAck(func(int64) ackFunc { return func(m Message, err error) { ch <- ackResult{m, err} } })
	if err != nil {
		return Message{}, err
	}
	s.fireOutgoing(name, args)
	if err := s.nsp.emitTo(s, name, args, id, false, true); err != nil {
		s.takeAck(id)
		return Message{}, err
	}
	// The client cannot answer what waits for the connection handler
	// that may be calling this.
	s.releaseOutput()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-ctx.Done():
		s.takeAck(id)
		return Message{}, ctx.Err()
	}
}

// registerAck draws an ack id and stores the function build makes for it
// (given the id), or returns ErrDisconnected. build runs under mu.
func (s *Socket) registerAck(build func(id int64) ackFunc) (int64, error) {
	id := s.nsp.nextAckID()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return 0, ErrDisconnected
	}
	if s.acks == nil {
		s.acks = map[int64]ackFunc{}
	}
	s.acks[id] = build(id)
	return id, nil
}

type ackResult struct {
	m   Message
	err error
}

func (s *Socket) fireOutgoing(name string, args []any) {
	for _, l := range s.snapshot() {
		if f, ok := l.f.(anyOutgoingFunc); ok {
			f(name, args)
		}
	}
}

// sendAck answers the client's ack id.
func (s *Socket) sendAck(id int64, args []any) error {
	b := getBuf()
	defer putBuf(b)
	body, atts, err := packet.AppendArgs(nil, "", args)
	if err != nil {
		return err
	}
	p := packet.Packet{Type: packet.Ack, Namespace: s.nsp.name, ID: id, Data: body}
	if len(atts) > 0 {
		p.Type = packet.BinaryAck
		p.Attachments = len(atts)
	}
	b.B = packet.AppendEncode(b.B, &p)
	s.send(b.B, atts...)
	return nil
}

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

// Disconnect disconnects the socket from its namespace; with closeConn the
// whole connection is closed too (socket.disconnect(close)).
func (s *Socket) Disconnect(closeConn bool) {
	if closeConn {
		s.client.cancelContexts()
	} else {
		s.cancelContext()
	}
	s.client.post(func() {
		if closeConn {
			s.client.disconnectAll()
			return
		}
		s.disconnectNamespace()
	})
}

// disconnectNamespace sends DISCONNECT and closes the socket. Mailbox only.
func (s *Socket) disconnectNamespace() {
	if !s.Connected() {
		return
	}
	s.sendPacket(&packet.Packet{Type: packet.Disconnect, Namespace: s.nsp.name, ID: packet.NoID})
	s.onclose(ReasonServerNamespaceDisconnect)
}

// onEvent dispatches one event: Use middleware, OnError, OnAny and the
// handlers, with a panic in any of them contained. Mailbox only.
func (s *Socket) onEvent(p packet.Packet, atts [][]byte) {
	defer s.containPanic()
	// The event and its argument views come in one allocation.
	ev := &Event{socket: s, id: p.ID}
	args, err := packet.AppendSplitArgs(ev.argBuf[:0], p.Data)
	if err != nil || len(args) == 0 {
		s.client.closeSession()
		return
	}
	name, err := packet.EventName(args[0])
	if err != nil {
		s.client.closeSession()
		return
	}
	ev.Name = name
	ev.args, ev.atts = args[1:], atts
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	// ls is this event's view: a once handler removed below still runs.
	ls := s.listeners
	for i := range ls {
		if _, once := ls[i].f.(onceFunc); once && ls[i].name == name {
			s.removeLocked(func(l *listener) bool { return l.kind() == onceEventKind && l.name == name })
			break
		}
	}
	s.mu.Unlock()
	for i := range ls {
		use, ok := ls[i].f.(useFunc)
		if !ok {
			continue
		}
		if err := use(ev); err != nil {
			for _, l := range s.snapshot() {
				if f, ok := l.f.(errorFunc); ok {
					f(err)
				}
			}
			return
		}
	}
	if st := s.nsp.srv.stats.Load(); st != nil {
		start := time.Now()
		defer func() { st.observeHandler(time.Since(start)) }()
	}
	for i := range ls {
		if f, ok := ls[i].f.(anyFunc); ok {
			f(ev)
		}
	}
	for i := range ls {
		if ls[i].name != name {
			continue
		}
		switch f := ls[i].f.(type) {
		case eventFunc:
			f(ev)
		case onceFunc:
			f(ev)
		}
	}
}

// resolveAck delivers an ACK or BINARY_ACK packet at once, on the
// transport goroutine, and reports whether it did. Queued in the mailbox,
// the answer to an EmitWithAck made by one of this socket's handlers would
// wait behind that very handler: with no deadline, the handler, its worker
// and every later event of the connection would hang. The waiters it wakes
// never block (a buffered channel, or the broadcast's counter under its
// mutex), and p.Data and atts are copies the transport no longer uses. A
// packet for a namespace the client has not joined goes through the
// mailbox, which closes the connection as before.
func (c *client) resolveAck(p *packet.Packet, atts [][]byte) bool {
	return (p.Type == packet.Ack || p.Type == packet.BinaryAck) && c.deliverAck(p, atts)
}

// deliverAck is resolveAck's slow path, kept apart so that the check for
// every other packet is inlined into the transport's hot path.
func (c *client) deliverAck(p *packet.Packet, atts [][]byte) bool {
	c.mu.Lock()
	s := c.socketLocked(p.Namespace)
	c.mu.Unlock()
	if s == nil {
		return false
	}
	s.onAck(*p, atts)
	return true
}

// onAck delivers a client's acknowledgement to its waiter (an EmitWithAck,
// one socket's or a broadcast's). Called on the transport goroutine by
// resolveAck, or in the mailbox; the ackFunc must not block.
func (s *Socket) onAck(p packet.Packet, atts [][]byte) {
	s.mu.Lock()
	f := s.acks[p.ID]
	delete(s.acks, p.ID)
	s.mu.Unlock()
	if f == nil {
		return // unknown id: ignored, as the reference does
	}
	m, err := newMessage(p.Data, atts, false)
	f(m, err)
}

// onclose closes the socket for reason. Mailbox only.
func (s *Socket) onclose(reason string) {
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	s.connected = false
	ls := s.listeners
	s.mu.Unlock()
	s.nsp.srv.logDebug("sio: socket disconnected", slog.String("sid", s.id), slog.String("namespace", s.nsp.name),
		slog.String("reason", reason))
	s.cancelContext()
	s.fireReason(ls, onDisconnectingKind, reason)
	s.nsp.srv.persist(s, reason)
	s.nsp.remove(s)
	s.client.remove(s)
	s.mu.Lock()
	s.left = true
	acks := s.acks
	s.acks = nil
	ls = s.listeners
	s.mu.Unlock()
	for _, f := range acks {
		f(Message{}, ErrDisconnected)
	}
	s.fireReason(ls, onDisconnectKind, reason)
}

// Context returns a context that is cancelled, with ErrDisconnected as
// its cause, when the socket disconnects (already cancelled if it has): a
// handler that waits on a database or another socket's answer can stop
// when its client has gone. It is made on first use.
func (s *Socket) Context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return disconnectedCtx
	}
	if s.extra == nil {
		s.extra = new(socketExtra)
	}
	if s.extra.ctx == nil {
		s.extra.ctx, s.extra.cancel = context.WithCancelCause(context.Background())
	}
	return s.extra.ctx
}

// cancelContext ends the socket's Context. The disconnect itself runs in
// the mailbox, behind the handler that may be waiting on that context, so
// this is called as soon as a disconnect is known (the session closed, a
// DISCONNECT packet arrived, Disconnect was called), from any goroutine,
// and again by onclose.
func (s *Socket) cancelContext() {
	s.mu.Lock()
	s.closed = true
	var cancel context.CancelCauseFunc
	if s.extra != nil {
		cancel = s.extra.cancel
	}
	s.mu.Unlock()
	if cancel != nil {
		cancel(ErrDisconnected)
	}
}

// disconnectedCtx is Context's answer once the socket has disconnected.
var disconnectedCtx = func() context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(ErrDisconnected)
	return ctx
}()

// Auth is the CONNECT payload the client sent ({} when none): the auth
// option of socket.io-client. Cheaper than Handshake().Auth.
func (s *Socket) Auth() json.RawMessage { return json.RawMessage(s.auth) }
