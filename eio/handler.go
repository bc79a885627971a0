package eio

// A session's handler: the Handler interface sio implements, and the
// funcs set one by one (OnMessage, OnClose, OnUpgrade) that stand in for
// its methods.

// Handler receives a session's events; set it with Session.SetHandler.
// A Handler that also implements UpgradeHandler is told when the transport
// changes.
//
// OnMessage runs one message at a time per session, never on two
// goroutines at once, in the order the client sent them; data is valid
// only during the call. It usually runs on the transport's goroutine; a
// message that arrived while another goroutine had input of the session
// to deliver (held.go) runs on that goroutine. binary tells a binary
// message from a text one. OnClose runs once, with one of the Reason
// constants, when the session has ended.
type Handler interface {
	OnMessage(data []byte, binary bool)
	OnClose(reason string)
}

// UpgradeHandler may be implemented by a Handler to be told when the
// session's transport changes: OnUpgrade runs with the new transport's
// name (WebSocket) once a polling session has upgraded.
type UpgradeHandler interface {
	OnUpgrade(transport string)
}

// SetHandler sets the handler of the session's messages, close and (if h
// implements UpgradeHandler) transport change, replacing any handler or
// handler funcs set before. Set it inside Server.OnConnection, so that no
// message or close is missed. Storing a pointer in h costs the session no
// allocation, unlike OnMessage, OnClose and OnUpgrade; prefer it when every
// connection has a handler.
func (s *Session) SetHandler(h Handler) {
	s.mu.Lock()
	s.h = h
	s.mu.Unlock()
}

// OnMessage sets the message handler: f takes the place of the OnMessage
// method of the Handler set with SetHandler, if any (nil restores it). Set
// it inside Server.OnConnection. It runs on the transport's goroutine, one
// message at a time; data is valid only during the call.
func (s *Session) OnMessage(f func(data []byte, binary bool)) {
	s.mu.Lock()
	fh := s.funcHandlerLocked()
	fh.message = f
	s.h = fh
	s.mu.Unlock()
}

// OnClose sets the handler told the close reason, once: f takes the place
// of the OnClose method of the Handler set with SetHandler, if any (nil
// restores it). Set it inside Server.OnConnection.
func (s *Session) OnClose(f func(reason string)) {
	s.mu.Lock()
	fh := s.funcHandlerLocked()
	fh.close = f
	s.h = fh
	s.mu.Unlock()
}

// OnUpgrade sets the handler told when the transport changes: f takes the
// place of the OnUpgrade method of the Handler set with SetHandler, if it
// has one (nil restores it).
func (s *Session) OnUpgrade(f func(transport string)) {
	s.mu.Lock()
	fh := s.funcHandlerLocked()
	fh.upgrade = f
	s.h = fh
	s.mu.Unlock()
}

// funcHandler is the Handler behind OnMessage, OnClose and OnUpgrade: the
// funcs set, falling back on the Handler set with SetHandler. It is never
// changed once stored in a session (handlers run without the session lock),
// so each setter stores a changed copy.
type funcHandler struct {
	next    Handler // set with SetHandler, or nil
	message func(data []byte, binary bool)
	close   func(reason string)
	upgrade func(transport string)
}

// funcHandlerLocked returns a new funcHandler equal to the session's
// handler, for a setter to change and store.
func (s *Session) funcHandlerLocked() *funcHandler {
	if fh, ok := s.h.(*funcHandler); ok {
		c := *fh
		return &c
	}
	return &funcHandler{next: s.h}
}

func (fh *funcHandler) OnMessage(data []byte, binary bool) {
	if fh.message != nil {
		fh.message(data, binary)
	} else if fh.next != nil {
		fh.next.OnMessage(data, binary)
	}
}

func (fh *funcHandler) OnClose(reason string) {
	if fh.close != nil {
		fh.close(reason)
	} else if fh.next != nil {
		fh.next.OnClose(reason)
	}
}

func (fh *funcHandler) OnUpgrade(transport string) {
	if fh.upgrade != nil {
		fh.upgrade(transport)
	} else if u, ok := fh.next.(UpgradeHandler); ok {
		u.OnUpgrade(transport)
	}
}
