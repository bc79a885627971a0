package client

import (
	"context"
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

// takeWaitersLocked hands over the ConnectContext calls waiting for the
// namespace when the attempt is final (none otherwise). Called with mu
// held.
func (s *Socket) takeWaitersLocked(final bool) []chan error {
	if !final {
		return nil
	}
	w := s.waiters
	s.waiters = nil
	return w
}

// wake answers each ConnectContext call taken by takeWaitersLocked (its
// channel has room for the answer).
func wake(waiters []chan error, err error) {
	for _, w := range waiters {
		w <- err
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
	waiters := s.takeWaitersLocked(true)
	s.mu.Unlock()
	if was && e != nil {
		b := bufPool.Get()
		b.B = packet.AppendEncode(b.B[:0], &packet.Packet{Type: packet.Disconnect, Namespace: s.nsp, ID: packet.NoID})
		_ = e.send(b.B, nil)
		bufPool.Put(b)
	}
	s.m.deactivate(s)
	wake(waiters, ErrClosed)
	if was {
		s.mb.post(func() { s.fireDisconnect(ReasonClientDisconnect) })
	}
}

// Close is Disconnect (socket.close()).
func (s *Socket) Close() { s.Disconnect() }
