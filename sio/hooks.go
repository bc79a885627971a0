package sio

import "log/slog"

// Server-wide observation hooks, for packages that watch a server from the
// outside (package admin, the Admin UI's server side). None costs anything
// per recipient or per packet received: each is looked up once per
// connection, socket connect, SetData or broadcast, and while none is
// registered that lookup is one atomic load of a nil pointer (as the
// activity counters' in stats.go). A panic in a hook is logged through
// Config.Logger and stopped there; one in OnAnyConnection is contained as
// the connection handlers' are (the connection is closed).

// serverHooks is the registered hooks; a registration stores a changed
// copy, so the lists are read without a lock.
type serverHooks struct {
	connect     []func(*Socket)
	engineOpen  []func(id, transport string)
	engineClose []func(id, reason string)
	data        []func(*Socket)
	broadcast   []func(*MemoryAdapter, *Packet, *BroadcastOptions)
}

// addHook stores a copy of the hooks changed by f.
func (s *Server) addHook(f func(h *serverHooks)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var h serverHooks
	if cur := s.hooks.Load(); cur != nil {
		h = *cur
		// Never append into a slice a reader may hold.
		h.connect = h.connect[:len(h.connect):len(h.connect)]
		h.engineOpen = h.engineOpen[:len(h.engineOpen):len(h.engineOpen)]
		h.engineClose = h.engineClose[:len(h.engineClose):len(h.engineClose)]
		h.data = h.data[:len(h.data):len(h.data)]
		h.broadcast = h.broadcast[:len(h.broadcast):len(h.broadcast)]
	}
	f(&h)
	s.hooks.Store(&h)
}

// OnAnyConnection registers f, run for every socket that connects to any
// namespace of the server, dynamic namespaces included, before that
// namespace's OnConnection handlers: what socket.io code gets with
// nsp.prependListener("connection") on every namespace and on each new one
// (as @socket.io/admin-ui's instrument does). The socket has joined its own
// room already. f runs in the socket's handler order, like OnConnection
// handlers; a panic there is contained as theirs are.
func (s *Server) OnAnyConnection(f func(*Socket)) {
	s.addHook(func(h *serverHooks) { h.connect = append(h.connect, f) })
}

// OnEngineConnection registers f, told the id and the transport of every
// new Engine.IO connection (the engine's "connection" event), and
// OnEngineClose registers f, told the id and the reason when one closes
// (the raw socket's "close" event: "transport close", "ping timeout",
// "forced close", ...). Both may run on an event loop: they must be quick
// and never block (no Emit, no broadcast).
func (s *Server) OnEngineConnection(f func(id, transport string)) {
	s.addHook(func(h *serverHooks) { h.engineOpen = append(h.engineOpen, f) })
}

// OnEngineClose registers f, told when an Engine.IO connection closes; see
// OnEngineConnection.
func (s *Server) OnEngineClose(f func(id, reason string)) {
	s.addHook(func(h *serverHooks) { h.engineClose = append(h.engineClose, f) })
}

// OnSetData registers f, told after every Socket.SetData with the socket
// whose data changed (socket.io code sees it with a Proxy on socket.data).
// It runs on the goroutine that called SetData and must not block.
func (s *Server) OnSetData(f func(*Socket)) {
	s.addHook(func(h *serverHooks) { h.data = append(h.data, f) })
}

// OnBroadcast registers f, told of every broadcast this node's
// MemoryAdapter (or a cluster adapter embedding it) delivers to its
// sockets, emitted here or received from another node, before its
// delivery: the adapter (a.Namespace, and a.LocalSockets(opts) lists the
// recipients), the packet (Data is the event name and its arguments as a
// JSON array, with placeholders for Attachments) and the options. socket.io
// calls a socket's onAnyOutgoing listeners for broadcasts too; this hook
// observes them with one call per broadcast, not per recipient. f runs on
// the broadcasting goroutine, which may be an event loop's: it must be
// quick, must not block, and must neither modify nor keep p and opts.
func (s *Server) OnBroadcast(f func(a *MemoryAdapter, p *Packet, opts *BroadcastOptions)) {
	s.addHook(func(h *serverHooks) { h.broadcast = append(h.broadcast, f) })
}

// Namespaces returns the namespaces that exist, dynamic children included
// (socket.io's io._nsps), in no particular order.
func (s *Server) Namespaces() []*Namespace { return s.namespaces() }

// fireAnyConnection runs the OnAnyConnection hooks for sock.
func (s *Server) fireAnyConnection(sock *Socket) {
	if h := s.hooks.Load(); h != nil {
		for _, f := range h.connect {
			f(sock)
		}
	}
}

// fireEngineOpen runs the OnEngineConnection hooks.
func (s *Server) fireEngineOpen(id, transport string) {
	if h := s.hooks.Load(); h != nil && len(h.engineOpen) > 0 {
		defer s.containHookPanic("OnEngineConnection")
		for _, f := range h.engineOpen {
			f(id, transport)
		}
	}
}

// fireEngineClose runs the OnEngineClose hooks.
func (s *Server) fireEngineClose(id, reason string) {
	if h := s.hooks.Load(); h != nil && len(h.engineClose) > 0 {
		defer s.containHookPanic("OnEngineClose")
		for _, f := range h.engineClose {
			f(id, reason)
		}
	}
}

// fireSetData runs the OnSetData hooks.
func (s *Server) fireSetData(sock *Socket) {
	if h := s.hooks.Load(); h != nil && len(h.data) > 0 {
		defer s.containHookPanic("OnSetData")
		for _, f := range h.data {
			f(sock)
		}
	}
}

// fireBroadcast runs the OnBroadcast hooks.
func (s *Server) fireBroadcast(a *MemoryAdapter, p *Packet, opts *BroadcastOptions) {
	if h := s.hooks.Load(); h != nil && len(h.broadcast) > 0 {
		defer s.containHookPanic("OnBroadcast")
		for _, f := range h.broadcast {
			f(a, p, opts)
		}
	}
}

// containHookPanic logs a panic of a hook with the hook's name; the
// connection, data change or broadcast that ran it goes on (the hooks
// registered after the panicking one are skipped that time).
func (s *Server) containHookPanic(hook string) {
	if v := recover(); v != nil {
		s.logPanic(v, slog.String("hook", hook))
	}
}
