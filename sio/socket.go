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
	kinds     uint16            // a bit for each listenerKind in listeners; guarded by mu
	extra     *socketExtra      // nil until needed; guarded by mu (set before publication for recovery)
	listeners []listener        // in phase order (listeners.go); guarded by mu (append-only, or replaced)
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
	s.fireReason(ls, disconnectingKind, reason)
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
	s.fireReason(ls, disconnectKind, reason)
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
