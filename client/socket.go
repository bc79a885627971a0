package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/sioloop/sioloop/internal/packet"
)

// Errors of Socket methods.
var (
	// ErrReservedEvent is returned when emitting a name socket.io reserves.
	ErrReservedEvent = errors.New("client: reserved event name")
	// ErrAlreadyAcked is returned by a second Event.Ack.
	ErrAlreadyAcked = errors.New("client: event already acknowledged")
	// ErrBufferFull is returned by Emit when SocketOptions.MaxBuffered
	// packets already wait for a connection.
	ErrBufferFull = errors.New("client: send buffer full")
	// ErrDisconnected ends EmitWithAck calls whose event was sent when the
	// socket disconnected before the answer came.
	ErrDisconnected = errors.New("client: socket has been disconnected")
	// ErrNotConnected is returned by Event.Ack when the socket is not
	// connected any more.
	ErrNotConnected = errors.New("client: socket not connected")
	// ErrClosed ends ConnectContext when Disconnect is called meanwhile.
	ErrClosed = errors.New("client: socket closed by the client")
)

// Client-side disconnect reasons, besides the engine's (ReasonTransportClose
// and the others).
const (
	// ReasonServerDisconnect: the server disconnected the socket; there
	// is no automatic reconnection.
	ReasonServerDisconnect = "io server disconnect"
	// ReasonClientDisconnect: Disconnect or Manager.Close was called.
	ReasonClientDisconnect = "io client disconnect"
)

var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true, "disconnecting": true,
	"newListener": true, "removeListener": true,
}

type handlerEntry struct {
	f    func(*Event)
	once bool
}

// ackEntry is an EmitWithAck waiting for its answer.
type ackEntry struct {
	f    func(Message, error)
	sent bool // the event left; false while it waits in the send buffer
}

// outPacket is an encoded packet waiting for a connection.
type outPacket struct {
	text []byte
	atts [][]byte
	id   int64
}

// Socket is a connection to one namespace (socket.io-client's Socket).
// Its methods are safe from any goroutine. Callbacks (event handlers,
// OnConnect, OnConnectError, OnDisconnect) run one at a time, in the order
// things happened, on a goroutine that exists only while callbacks are
// pending; a slow callback delays only its own socket.
type Socket struct {
	m    *Manager
	nsp  string
	opts SocketOptions
	mb   mailbox

	mu         sync.Mutex
	eng        *engine                   // the connection the socket is connected on; guarded by mu
	connected  bool                      // guarded by mu
	id         string                    // guarded by mu
	pid        string                    // private id for connection state recovery; guarded by mu
	lastOffset string                    // last offset seen (recovery); guarded by mu
	recovered  bool                      // guarded by mu
	ids        int64                     // next ack id; guarded by mu
	acks       map[int64]*ackEntry       // guarded by mu
	sendBuf    []outPacket               // guarded by mu
	recvBuf    []packetWithAtt           // events that arrived before the CONNECT reply; guarded by mu
	waiters    []chan error              // ConnectContext calls; guarded by mu
	handlers   map[string][]handlerEntry // guarded by mu
	anyIn      []func(*Event)            // guarded by mu
	onConn     []func()                  // guarded by mu
	onConnErr  []func(error)             // guarded by mu
	onDisc     []func(reason string)     // guarded by mu
}

type packetWithAtt struct {
	p    packet.Packet
	atts [][]byte
}

func newSocket(m *Manager, nsp string, opts SocketOptions) *Socket {
	if opts.MaxBuffered <= 0 {
		opts.MaxBuffered = 1024
	}
	return &Socket{m: m, nsp: nsp, opts: opts}
}

// Namespace is the socket's namespace, e.g. "/admin".
func (s *Socket) Namespace() string { return s.nsp }

// Manager is the connection the socket belongs to.
func (s *Socket) Manager() *Manager { return s.m }

// ID is the socket id the server assigned (not the Engine.IO session
// id), "" while disconnected.
func (s *Socket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Connected reports whether the socket is connected to its namespace.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Active reports whether the socket is connected or trying to be (it was
// connected and not disconnected by either side).
func (s *Socket) Active() bool { return s.m.isActive(s) }

// Recovered reports whether the last connection resumed the previous
// session through connection state recovery: same id, rooms, and the
// events missed meanwhile delivered.
func (s *Socket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// On registers f for event name (socket.on).
func (s *Socket) On(name string, f func(*Event)) { s.addHandler(name, f, false) }

// Once registers f for the next event name only (socket.once).
func (s *Socket) Once(name string, f func(*Event)) { s.addHandler(name, f, true) }

func (s *Socket) addHandler(name string, f func(*Event), once bool) {
	s.mu.Lock()
	if s.handlers == nil {
		s.handlers = make(map[string][]handlerEntry)
	}
	s.handlers[name] = append(s.handlers[name], handlerEntry{f: f, once: once})
	s.mu.Unlock()
}

// Off removes every handler of event name.
func (s *Socket) Off(name string) {
	s.mu.Lock()
	delete(s.handlers, name)
	s.mu.Unlock()
}

// OnAny registers f for every event, run before the named handlers.
func (s *Socket) OnAny(f func(*Event)) {
	s.mu.Lock()
	s.anyIn = append(s.anyIn, f)
	s.mu.Unlock()
}

// OnConnect registers f, run each time the socket connects (again).
func (s *Socket) OnConnect(f func()) {
	s.mu.Lock()
	s.onConn = append(s.onConn, f)
	s.mu.Unlock()
}

// OnConnectError registers f, told why a connection attempt failed: a
// *ConnectError when the server refused the namespace (no retry follows),
// otherwise a transport error (retried when Options.Reconnection is set).
func (s *Socket) OnConnectError(f func(err error)) {
	s.mu.Lock()
	s.onConnErr = append(s.onConnErr, f)
	s.mu.Unlock()
}

// OnDisconnect registers f, told the reason when a connected socket
// disconnects: "io server disconnect", "io client disconnect", "ping
// timeout", "transport close", "transport error", "parse error".
func (s *Socket) OnDisconnect(f func(reason string)) {
	s.mu.Lock()
	s.onDisc = append(s.onDisc, f)
	s.mu.Unlock()
}

// Connect starts connecting (socket.connect()) and returns at once;
// OnConnect or OnConnectError tell the outcome. Calling it on an active
// socket does nothing.
func (s *Socket) Connect() {
	e, open, err := s.m.activate(s)
	switch {
	case err != nil:
		s.mb.post(func() { s.onConnectFailure(err, true) })
	case open:
		s.mb.post(func() { s.sendConnect(e) })
	}
}

// ConnectContext connects and waits until the socket is connected (nil),
// the server refuses it (*ConnectError), the attempt fails with no retry
// to follow (reconnection off, or ErrReconnectFailed), or ctx ends. In the
// last case the socket is disconnected and ctx's error returned. With
// Options.Reconnection, transport failures are retried until then.
func (s *Socket) ConnectContext(ctx context.Context) error {
	ch := make(chan error, 1)
	s.mu.Lock()
	if s.connected {
		s.mu.Unlock()
		return nil
	}
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	s.Connect()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		s.mu.Lock()
		for i, w := range s.waiters {
			if w == ch {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		select {
		case err := <-ch:
			return err
		default:
		}
		s.Disconnect()
		return ctx.Err()
	}
}

// Disconnect leaves the namespace (socket.disconnect()): a connected
// socket tells the server and reports "io client disconnect"; the
// connection closes when no other socket uses it. There is no automatic
// reconnection; Connect starts again.
func (s *Socket) Disconnect() {
	s.mu.Lock()
	e, was := s.eng, s.connected
	s.eng, s.connected, s.id = nil, false, ""
	waiters := s.waiters
	s.waiters = nil
	s.mu.Unlock()
	if was && e != nil {
		b := bufPool.Get()
		b.B = packet.AppendEncode(b.B[:0], &packet.Packet{Type: packet.Disconnect, Namespace: s.nsp, ID: packet.NoID})
		_ = e.send(b.B, nil)
		bufPool.Put(b)
	}
	s.m.deactivate(s)
	for _, w := range waiters {
		w <- ErrClosed
	}
	if was {
		s.mb.post(func() { s.fireDisconnect(ReasonClientDisconnect) })
	}
}

// Close is Disconnect (socket.close()).
func (s *Socket) Close() { s.Disconnect() }

// Emit sends event name with args. []byte values anywhere in args (also
// inside []any and maps, struct fields, pointers and slices of structs)
// travel as binary attachments; json.RawMessage passes through; other
// values are written as encoding/json writes them. While the socket is not connected the event waits in
// a buffer (SocketOptions.MaxBuffered) and leaves once it connects.
func (s *Socket) Emit(name string, args ...any) error {
	_, err := s.emit(name, args, false, nil)
	return err
}

// EmitWithAck sends event name and waits for the server's
// acknowledgement or the end of ctx (socket.timeout(ms).emitWithAck). It
// fails with ErrDisconnected when the socket disconnects after sending.
// Do not call it from a handler of the same socket: the answer is
// delivered by the goroutine the handler would be blocking.
func (s *Socket) EmitWithAck(ctx context.Context, name string, args ...any) (Message, error) {
	type result struct {
		m   Message
		err error
	}
	ch := make(chan result, 1)
	id, err := s.emit(name, args, false, func(m Message, err error) { ch <- result{m, err} })
	if err != nil {
		return Message{}, err
	}
	select {
	case r := <-ch:
		return r.m, r.err
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.acks, id)
		for i, p := range s.sendBuf {
			if p.id == id {
				s.sendBuf = append(s.sendBuf[:i], s.sendBuf[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		return Message{}, ctx.Err()
	}
}

// Volatile returns an emitter whose events are dropped, not buffered, when
// they cannot leave at once (socket.volatile).
func (s *Socket) Volatile() VolatileEmitter { return VolatileEmitter{s: s} }

// VolatileEmitter emits volatile events on a socket.
type VolatileEmitter struct{ s *Socket }

// Emit sends the event if the socket is connected and its transport
// writable now; otherwise the event is dropped and nil returned.
func (v VolatileEmitter) Emit(name string, args ...any) error {
	_, err := v.s.emit(name, args, true, nil)
	return err
}

// emit encodes and sends (or buffers) an event; with ack it registers the
// answer's callback and returns the ack id.
func (s *Socket) emit(name string, args []any, volatile bool, ack func(Message, error)) (int64, error) {
	if reservedEvents[name] {
		return packet.NoID, ErrReservedEvent
	}
	b := bufPool.Get()
	defer bufPool.Put(b)
	if name == "" {
		// AppendArgs takes "" for "no name" (an ack); an event named ""
		// still carries it, as socket.io-client sends it.
		args = append([]any{""}, args...)
	}
	body, atts, err := packet.AppendArgs(b.B[:0], name, args)
	if err != nil {
		return packet.NoID, err
	}
	b.B = body
	s.mu.Lock()
	defer s.mu.Unlock()
	p := packet.Packet{Type: packet.Event, Namespace: s.nsp, ID: packet.NoID, Data: body}
	if ack != nil {
		p.ID = s.ids
		s.ids++
	}
	if len(atts) > 0 {
		p.Type, p.Attachments = packet.BinaryEvent, len(atts)
	}
	text := packet.AppendEncode(nil, &p)
	if volatile {
		if s.connected && s.eng != nil && s.eng.writable() {
			_ = s.eng.send(text, atts)
		}
		return packet.NoID, nil
	}
	if s.connected && s.eng != nil {
		if err := s.eng.send(text, atts); err == nil {
			if ack != nil {
				s.addAck(p.ID, &ackEntry{f: ack, sent: true})
			}
			return p.ID, nil
		}
		// The connection just ended; the disconnect is on its way to the
		// mailbox. Keep the packet for the next connection.
	}
	if len(s.sendBuf) >= s.opts.MaxBuffered {
		return packet.NoID, ErrBufferFull
	}
	if ack != nil {
		s.addAck(p.ID, &ackEntry{f: ack})
	}
	// The attachments alias the caller's slices, which may change once
	// Emit returns: copy them.
	for i, a := range atts {
		atts[i] = bytes.Clone(a)
	}
	s.sendBuf = append(s.sendBuf, outPacket{text: text, atts: atts, id: p.ID})
	return p.ID, nil
}

// addAck registers an ack callback. Called with mu held.
func (s *Socket) addAck(id int64, a *ackEntry) {
	if s.acks == nil {
		s.acks = make(map[int64]*ackEntry)
	}
	s.acks[id] = a
}

// sendAck answers a server's acknowledgement request.
func (s *Socket) sendAck(id int64, args []any) error {
	b := bufPool.Get()
	defer bufPool.Put(b)
	body, atts, err := packet.AppendArgs(b.B[:0], "", args)
	if err != nil {
		return err
	}
	p := packet.Packet{Type: packet.Ack, Namespace: s.nsp, ID: id, Data: body}
	if len(atts) > 0 {
		p.Type, p.Attachments = packet.BinaryAck, len(atts)
	}
	text := packet.AppendEncode(nil, &p)
	b.B = body
	s.mu.Lock()
	e, ok := s.eng, s.connected
	s.mu.Unlock()
	if !ok || e == nil {
		return ErrNotConnected
	}
	return e.send(text, atts)
}

// The methods below run in the socket's mailbox.

// sendConnect sends CONNECT on e, with the auth payload merged with the
// recovery state (pid and offset) as socket.io-client does.
func (s *Socket) sendConnect(e *engine) {
	if !s.m.isActive(s) {
		return // disconnected meanwhile
	}
	var auth any
	switch {
	case s.opts.AuthFunc != nil:
		auth = s.opts.AuthFunc()
	case s.opts.Auth != nil:
		auth = s.opts.Auth
	default:
		auth = s.m.opts.Auth
	}
	var data []byte
	if auth != nil {
		// Encoded as a one-element argument array, brackets dropped.
		b, atts, err := packet.AppendArgs(nil, "", []any{auth})
		if err == nil {
			b = bytes.TrimSpace(b[1 : len(b)-1])
		}
		if err != nil || len(b) == 0 || b[0] != '{' || len(atts) > 0 {
			if err == nil {
				err = errors.New("client: auth must encode to a JSON object without binary")
			}
			s.onConnectFailure(err, true)
			s.m.deactivate(s)
			return
		}
		data = b
	}
	s.mu.Lock()
	pid, offset := s.pid, s.lastOffset
	s.mu.Unlock()
	if pid != "" {
		// Object.assign({pid, offset}, auth): the recovery fields first, so
		// that auth's own keys win, as with the JS client.
		m := packet.AppendQuote(append([]byte(nil), `{"pid":`...), pid)
		if offset != "" {
			m = packet.AppendQuote(append(m, `,"offset":`...), offset)
		}
		if data != nil {
			if inner := bytes.TrimSpace(data[1 : len(data)-1]); len(inner) > 0 {
				m = append(append(m, ','), inner...)
			}
		}
		data = append(m, '}')
	}
	p := packet.Packet{Type: packet.Connect, Namespace: s.nsp, ID: packet.NoID, Data: data}
	_ = e.send(packet.AppendEncode(nil, &p), nil)
}

// onPacket handles one packet for this namespace from connection e.
func (s *Socket) onPacket(e *engine, p packet.Packet, atts [][]byte) {
	switch p.Type {
	case packet.Connect:
		var d struct {
			SID string `json:"sid"`
			PID string `json:"pid"`
		}
		if p.Data == nil || json.Unmarshal(p.Data, &d) != nil || d.SID == "" {
			s.onConnectFailure(errors.New("client: CONNECT answer without sid (a Socket.IO v2 server?)"), false)
			return
		}
		s.onConnect(e, d.SID, d.PID)
	case packet.Event, packet.BinaryEvent:
		s.mu.Lock()
		if !s.connected {
			s.recvBuf = append(s.recvBuf, packetWithAtt{p, atts})
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		s.onEvent(p, atts)
	case packet.Ack, packet.BinaryAck:
		s.mu.Lock()
		a := s.acks[p.ID]
		delete(s.acks, p.ID)
		s.mu.Unlock()
		if a == nil {
			return // unknown id: ignored, as socket.io-client does
		}
		m, err := newMessage(p.Data, atts)
		a.f(m, err)
	case packet.Disconnect:
		s.mu.Lock()
		was := s.connected
		s.eng, s.connected, s.id = nil, false, ""
		s.mu.Unlock()
		s.m.deactivate(s)
		if was {
			s.fireDisconnect(ReasonServerDisconnect)
		}
	case packet.ConnectError:
		ce := &ConnectError{}
		if len(p.Data) > 0 && p.Data[0] == '"' {
			_ = json.Unmarshal(p.Data, &ce.Message)
		} else if p.Data != nil {
			var d struct {
				Message string          `json:"message"`
				Data    json.RawMessage `json:"data"`
			}
			_ = json.Unmarshal(p.Data, &d)
			ce.Message, ce.Data = d.Message, d.Data
		}
		s.m.deactivate(s)
		s.onConnectFailure(ce, true)
	}
}

// onConnect completes a namespace connection: buffered events first, then
// buffered emits, then OnConnect, as socket.io-client orders them.
func (s *Socket) onConnect(e *engine, sid, pid string) {
	if !s.m.isActive(s) {
		return // Disconnect was called while the answer was on its way
	}
	s.mu.Lock()
	s.id = sid
	s.recovered = pid != "" && s.pid == pid
	s.pid = pid
	s.connected = true
	s.eng = e
	recv := s.recvBuf
	s.recvBuf = nil
	waiters := s.waiters
	s.waiters = nil
	s.mu.Unlock()
	for _, r := range recv {
		s.onEvent(r.p, r.atts)
	}
	s.mu.Lock()
	if s.eng == e {
		// Under mu, so that no Emit overtakes the buffered events.
		for _, p := range s.sendBuf {
			if e.send(p.text, p.atts) != nil {
				break
			}
			if a := s.acks[p.id]; p.id != packet.NoID && a != nil {
				a.sent = true
			}
			s.sendBuf = s.sendBuf[1:]
		}
		if len(s.sendBuf) == 0 {
			s.sendBuf = nil
		}
	}
	fs := s.onConn
	s.mu.Unlock()
	for _, w := range waiters {
		w <- nil
	}
	for _, f := range fs {
		f()
	}
}

// onEvent runs the handlers of one event.
func (s *Socket) onEvent(p packet.Packet, atts [][]byte) {
	m, err := newMessage(p.Data, atts)
	if err != nil || len(m.a.Raw) == 0 {
		return
	}
	name, err := packet.EventName(m.a.Raw[0])
	if err != nil {
		return
	}
	m.a.Raw = m.a.Raw[1:]
	ev := &Event{Message: m, Name: name, socket: s, id: p.ID}
	s.mu.Lock()
	if s.pid != "" && len(m.a.Raw) > 0 {
		// Connection state recovery: the server appends an offset to its
		// events; remember the last one to resume from.
		if last := m.a.Raw[len(m.a.Raw)-1]; len(last) > 0 && last[0] == '"' {
			var off string
			if json.Unmarshal(last, &off) == nil {
				s.lastOffset = off
			}
		}
	}
	anyIn := s.anyIn
	hs := s.handlers[name]
	if len(hs) > 0 {
		kept := hs[:0:0]
		for _, h := range hs {
			if !h.once {
				kept = append(kept, h)
			}
		}
		if len(kept) != len(hs) {
			s.handlers[name] = kept
		}
	}
	s.mu.Unlock()
	for _, f := range anyIn {
		f(ev)
	}
	for _, h := range hs {
		h.f(ev)
	}
}

// onEngineClose handles the end of connection e.
func (s *Socket) onEngineClose(e *engine, reason string, final bool) {
	s.mu.Lock()
	was := s.connected && s.eng == e
	if s.eng == e {
		s.eng, s.connected, s.id = nil, false, ""
	}
	var waiters []chan error
	if final {
		waiters = s.waiters
		s.waiters = nil
	}
	s.mu.Unlock()
	if was {
		s.fireDisconnect(reason)
		return
	}
	err := errors.New("client: connection closed before the namespace connected: " + reason)
	s.fireConnectError(err)
	for _, w := range waiters {
		w <- err
	}
}

// onConnectFailure reports a failed attempt; final wakes ConnectContext.
func (s *Socket) onConnectFailure(err error, final bool) {
	s.mu.Lock()
	connected := s.connected
	var waiters []chan error
	if final {
		waiters = s.waiters
		s.waiters = nil
	}
	s.mu.Unlock()
	if connected {
		return
	}
	s.fireConnectError(err)
	for _, w := range waiters {
		w <- err
	}
}

func (s *Socket) fireConnectError(err error) {
	s.mu.Lock()
	fs := s.onConnErr
	s.mu.Unlock()
	for _, f := range fs {
		f(err)
	}
}

// fireDisconnect fails the acks of events already sent and runs the
// OnDisconnect handlers.
func (s *Socket) fireDisconnect(reason string) {
	s.mu.Lock()
	var failed []*ackEntry
	for id, a := range s.acks {
		if a.sent {
			failed = append(failed, a)
			delete(s.acks, id)
		}
	}
	fs := s.onDisc
	s.mu.Unlock()
	for _, a := range failed {
		a.f(Message{}, ErrDisconnected)
	}
	for _, f := range fs {
		f(reason)
	}
}
