package sio

import (
	"time"

	"github.com/sioloop/sioloop/internal/packet"
	"github.com/sioloop/sioloop/message"
)

// listenerKind says which of a socket's callbacks a listener is; the
// type of its f says it (listener.kind).
type listenerKind uint8

const (
	useKind           listenerKind = iota // func(*Event) error: Use
	anyKind                               // func(*Event): OnAny
	eventKind                             // func(*Event): On, for the listener's name
	onceEventKind                         // func(*Event): Once, removed when its event comes
	anyOutgoingKind                       // func(name string, args []any): OnAnyOutgoing
	errorKind                             // func(error): OnError
	disconnectKind                        // func(reason string): OnDisconnect
	disconnectingKind                     // func(reason string): OnDisconnecting
	upgradeKind                           // func(transport string): Conn.OnUpgrade
)

// bit is the kind's bit in Socket.kinds.
func (k listenerKind) bit() uint16 { return 1 << k }

// phase is where an incoming event runs the kind: its Use middleware
// first, then its OnAny listeners, then its named handlers. The registry
// is kept in phase order (listen), so one walk of it dispatches an event
// (onEvent); the kinds an event does not run come last.
func (k listenerKind) phase() int {
	switch k {
	case useKind:
		return 0
	case anyKind:
		return 1
	case eventKind, onceEventKind:
		return 2
	}
	return 3
}

// The func types of the kinds: a listener's kind is the dynamic type of
// its f, so a listener is two words smaller than with a kind field (a
// Socket's first four listeners take 128 bytes, not 160).
type (
	useFunc           func(*Event) error
	anyFunc           func(*Event)
	eventFunc         func(*Event)
	onceEventFunc     func(*Event)
	anyOutgoingFunc   func(name string, args []any)
	errorFunc         func(error)
	disconnectFunc    func(reason string)
	disconnectingFunc func(reason string)
	upgradeFunc       func(transport string)
)

// listener is one registered callback. Every kind lives in one slice: a
// socket usually has a few, and a slice per kind would cost the Socket
// nine slice headers. Storing a func in f does not allocate.
type listener struct {
	name string // the event name (eventKind, onceEventKind)
	f    any    // one of the kinds' func types above
}

// kind is the listener's kind, from the type of its f.
func (l *listener) kind() listenerKind {
	switch l.f.(type) {
	case useFunc:
		return useKind
	case anyFunc:
		return anyKind
	case eventFunc:
		return eventKind
	case onceEventFunc:
		return onceEventKind
	case anyOutgoingFunc:
		return anyOutgoingKind
	case errorFunc:
		return errorKind
	case disconnectFunc:
		return disconnectKind
	case disconnectingFunc:
		return disconnectingKind
	}
	return upgradeKind
}

// On registers f for event name (socket.on).
func (s *Socket) On(name string, f func(*Event)) {
	s.listen(listener{name: name, f: eventFunc(f)})
}

// Once registers f for the next event name only (socket.once).
func (s *Socket) Once(name string, f func(*Event)) {
	s.listen(listener{name: name, f: onceEventFunc(f)})
}

// Off removes every handler of event name (socket.removeAllListeners(name)).
func (s *Socket) Off(name string) {
	s.mu.Lock()
	s.removeLocked(func(l *listener) bool { k := l.kind(); return (k == eventKind || k == onceEventKind) && l.name == name })
	s.mu.Unlock()
}

// OnAny registers f for every incoming event, before the named handlers.
func (s *Socket) OnAny(f func(*Event)) { s.listen(listener{f: anyFunc(f)}) }

// OffAny removes every OnAny handler.
func (s *Socket) OffAny() {
	s.mu.Lock()
	s.removeLocked(func(l *listener) bool { return l.kind() == anyKind })
	s.mu.Unlock()
}

// OnAnyOutgoing registers f for every event emitted to this socket.
func (s *Socket) OnAnyOutgoing(f func(name string, args []any)) {
	s.listen(listener{f: anyOutgoingFunc(f)})
}

// Use adds a per-packet middleware (socket.use): it runs before the
// handlers of every incoming event; an error stops the event and is passed
// to the OnError handlers.
func (s *Socket) Use(f func(*Event) error) { s.listen(listener{f: useFunc(f)}) }

// OnError registers f for errors returned by Use middleware.
func (s *Socket) OnError(f func(error)) { s.listen(listener{f: errorFunc(f)}) }

// OnDisconnect registers f, told the disconnect reason once the socket has
// left its rooms (the "disconnect" event).
func (s *Socket) OnDisconnect(f func(reason string)) {
	s.listen(listener{f: disconnectFunc(f)})
}

// OnDisconnecting registers f, run before the socket leaves its rooms (the
// "disconnecting" event; Rooms still lists them).
func (s *Socket) OnDisconnecting(f func(reason string)) {
	s.listen(listener{f: disconnectingFunc(f)})
}

// listen registers l after every listener of its phase or an earlier one,
// so that the registry stays in phase order and each kind in registration
// order.
func (s *Socket) listen(l listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := l.kind()
	phase := k.phase()
	s.kinds |= k.bit()
	at := len(s.listeners)
	for at > 0 && s.listeners[at-1].kind().phase() > phase {
		at--
	}
	if at == len(s.listeners) {
		if s.listeners == nil {
			// Sockets usually get a few handlers at once: one array for
			// the first four instead of three that become garbage as it
			// grows.
			s.listeners = make([]listener, 0, 4)
		}
		// Appending leaves the entries that snapshots see untouched.
		s.listeners = append(s.listeners, l)
		return
	}
	// An insertion goes into a new array: snapshots taken before are
	// being walked without the lock.
	ls := make([]listener, 0, max(4, 2*len(s.listeners)))
	ls = append(ls, s.listeners[:at]...)
	ls = append(ls, l)
	s.listeners = append(ls, s.listeners[at:]...)
}

// removeLocked drops the listeners drop selects, into a new array so that
// snapshots taken before stay intact, and recounts the kinds left. With
// nothing to drop it changes nothing, and allocates nothing. Called with
// mu held.
func (s *Socket) removeLocked(drop func(l *listener) bool) {
	var kept []listener // nil until the first listener is dropped
	for i := range s.listeners {
		switch {
		case !drop(&s.listeners[i]):
			if kept != nil {
				kept = append(kept, s.listeners[i])
			}
		case kept == nil:
			kept = append(make([]listener, 0, len(s.listeners)), s.listeners[:i]...)
		}
	}
	if kept == nil {
		return
	}
	s.listeners = kept
	s.kinds = 0
	for i := range kept {
		s.kinds |= kept[i].kind().bit()
	}
}

// snapshot returns the listeners as of now; the slice is never modified.
func (s *Socket) snapshot() []listener {
	s.mu.Lock()
	ls := s.listeners
	s.mu.Unlock()
	return ls
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
	ev.Message = message.FromArgs(args[1:], atts)
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	// ls is this event's view: a once handler removed below still runs.
	ls := s.listeners
	if s.kinds&onceEventKind.bit() != 0 {
		s.removeLocked(func(l *listener) bool { _, once := l.f.(onceEventFunc); return once && l.name == name })
	}
	s.mu.Unlock()
	// One walk, in phase order: the Use middleware are the list's head.
	i := 0
	for ; i < len(ls); i++ {
		use, ok := ls[i].f.(useFunc)
		if !ok {
			break
		}
		if err := use(ev); err != nil {
			s.fireError(err)
			return
		}
	}
	if st := s.nsp.srv.stats.Load(); st != nil {
		start := time.Now()
		defer func() { st.observeHandler(time.Since(start)) }()
	}
	for ; i < len(ls); i++ {
		switch f := ls[i].f.(type) {
		case anyFunc:
			f(ev)
		case eventFunc:
			if ls[i].name == name {
				f(ev)
			}
		case onceEventFunc:
			if ls[i].name == name {
				f(ev)
			}
		default:
			return // the kinds an event does not run come last
		}
	}
}

// fireError passes a Use middleware's error to the OnError listeners,
// those registered by then included.
func (s *Socket) fireError(err error) {
	for _, l := range s.snapshot() {
		if f, ok := l.f.(errorFunc); ok {
			f(err)
		}
	}
}

// fireOutgoing runs the OnAnyOutgoing listeners for an event emitted to
// the socket.
func (s *Socket) fireOutgoing(name string, args []any) {
	for _, l := range s.snapshot() {
		if f, ok := l.f.(anyOutgoingFunc); ok {
			f(name, args)
		}
	}
}

// fireReason calls the kind's func(reason string) listeners of ls, each
// contained on its own: onclose must go on to leave the rooms and forget
// the socket whatever a listener does.
func (s *Socket) fireReason(ls []listener, kind listenerKind, reason string) {
	for i := range ls {
		if ls[i].kind() == kind {
			s.fireOne(reasonFunc(ls[i].f), reason)
		}
	}
}

// reasonFunc returns a disconnect or disconnecting listener's func.
func reasonFunc(f any) func(reason string) {
	if f, ok := f.(disconnectFunc); ok {
		return f
	}
	return f.(disconnectingFunc)
}

func (s *Socket) fireOne(f func(reason string), reason string) {
	defer s.containPanic()
	f(reason)
}
