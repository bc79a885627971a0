package sio

import (
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/internal/packet"
	"github.com/sioloop/sioloop/internal/timer"
)

// client is one Engine.IO connection and the sockets it opened, one per
// namespace (socket.io's Client).
type client struct {
	srv   *Server
	sess  *eio.Session
	reasm *packet.Reassembler // while a binary packet is incomplete; transport goroutine only
	ct    *timer.Timer        // connect timeout, nil once stopped; guarded by mu after newClient
	mb    mailbox             // the callbacks waiting to run (mailbox.go)

	mu      sync.Mutex
	sockets []*Socket                  // one per namespace, usually one; guarded by mu
	group   atomic.Int32               // the event loop ordering its writes; changes once, at the upgrade (relocate.go)
	reloc   atomic.Pointer[relocation] // set when group changed (relocate.go)
	closed  bool                       // guarded by mu
	v3      bool                       // Engine.IO v3, Socket.IO protocol v4 (client_v3.go); immutable
	mbState mailboxState               // the mailbox's flags (mailbox.go); guarded by mb.mu
}

// socketLocked returns the client's socket in namespace name, or nil.
func (c *client) socketLocked(name string) *Socket {
	for _, s := range c.sockets {
		if s.nsp.name == name {
			return s
		}
	}
	return nil
}

func newClient(srv *Server, sess *eio.Session) *client {
	c := &client{srv: srv, sess: sess}
	c.group.Store(int32(sess.Group() % srv.groups))
	c.ct = srv.wheel.NewTimer(c.connectTimedOut)
	c.ct.Reset(srv.cfg.ConnectTimeout)
	sess.SetHandler(c) // no closure per connection, unlike method values
	srv.fireEngineOpen(sess.ID(), sess.Transport())
	if srv.cfg.AllowEIO3 && sess.Protocol() == 3 {
		c.startV3()
	}
	return c
}

func (c *client) connectTimedOut() {
	c.mu.Lock()
	idle := len(c.sockets) == 0 && !c.closed
	c.mu.Unlock()
	if idle {
		c.closeSession()
	}
}

// stopConnectTimer stops the connect timeout and drops it: a connected
// client does not keep it.
func (c *client) stopConnectTimer() {
	c.mu.Lock()
	t := c.ct
	c.ct = nil
	c.mu.Unlock()
	if t != nil {
		t.Stop()
	}
}

// OnMessage implements eio.Handler: it decodes one Engine.IO message on
// the transport goroutine and queues its handling; data is copied since
// the transport reuses it.
func (c *client) OnMessage(data []byte, binary bool) {
	if st := c.srv.stats.Load(); st != nil {
		st.bytesIn.add(c.group.Load(), uint64(len(data)))
	}
	if c.srv.cfg.Parser == MsgpackParser {
		c.onMsgpack(data, binary)
		return
	}
	if binary {
		if c.reasm == nil {
			c.protocolError(errUnannounced)
			return
		}
		done, p, atts, err := c.reasm.Add(data)
		if err != nil {
			c.protocolError(err)
			return
		}
		if done {
			c.reasm = nil
			c.postPacket(p, atts)
		}
		return
	}
	if c.reasm != nil {
		c.protocolError(errAwaitingAttachments)
		return
	}
	p, err := packet.Decode(data, c.srv.cfg.MaxAttachments)
	if err != nil {
		c.protocolError(err)
		return
	}
	if p.Type.IsBinary() {
		// Binary packets are rare: the reassembler exists only while one
		// is incomplete, so idle connections do not carry it.
		c.reasm = &packet.Reassembler{MaxAttachmentBytes: c.srv.cfg.MaxHTTPBufferSize}
		if err := c.reasm.Start(p); err != nil {
			c.protocolError(err)
		}
		return
	}
	if p.Data != nil {
		p.Data = append([]byte(nil), p.Data...)
	}
	c.postPacket(p, nil)
}

var (
	errUnannounced         = errors.New("a binary message no packet announced")
	errAwaitingAttachments = errors.New("a text message while attachments were awaited")
)

// onMsgpack is OnMessage for MsgpackParser: every packet is one binary
// message, but for v3 clients, whose CONNECT, DISCONNECT and ERROR are
// JSON text (parser.go).
func (c *client) onMsgpack(data []byte, binary bool) {
	if !binary {
		if !c.v3 {
			c.protocolError(errMsgpackText)
			return
		}
		p, err := decodeJSONV3(data, c.srv.cfg.MaxAttachments)
		if err != nil {
			c.protocolError(err)
			return
		}
		c.postPacket(p, nil)
		return
	}
	p, atts, err := decodeMsgpack(data, c.srv.cfg.MaxAttachments, c.v3)
	if err != nil {
		c.protocolError(err)
		return
	}
	c.postPacket(p, atts)
}

// protocolError closes the connection, as socket.io does on any decode
// error or invalid state.
func (c *client) protocolError(err error) {
	c.reasm = nil
	c.srv.logDebug("sio: protocol error, connection closed", slog.String("eio", c.sess.ID()),
		slog.String("remote", c.sess.RemoteAddr()), slog.String("error", err.Error()))
	c.closeSession()
}

// handle runs one packet in the mailbox.
func (c *client) handle(p packet.Packet, atts [][]byte) {
	c.traceIn(&p, len(atts))
	if c.v3 && p.Type == packet.Connect {
		p.Namespace, p.Data = namespaceV3(p.Namespace)
	}
	c.mu.Lock()
	s := c.socketLocked(p.Namespace)
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return
	}
	if p.Type == packet.Connect {
		if s != nil {
			c.closeSession()
			return
		}
		c.connect(p.Namespace, p.Data)
		return
	}
	if s == nil {
		c.closeSession()
		return
	}
	switch p.Type {
	case packet.Disconnect:
		s.onclose(ReasonClientNamespaceDisconnect)
	case packet.Event, packet.BinaryEvent:
		s.onEvent(p, atts)
	case packet.Ack, packet.BinaryAck:
		s.onAck(p, atts)
	default:
		c.closeSession()
	}
}

// connect admits the client into namespace name. Mailbox only.
func (c *client) connect(name string, auth []byte) {
	if len(auth) == 0 {
		auth = []byte("{}")
	}
	ns := c.srv.namespaceFor(name, auth)
	if ns == nil {
		data := []byte(`{"message":"Invalid namespace"}`)
		if c.v3 {
			// socket.io 2.x's ERROR carries the bare string
			// (lib/client.js, Client.prototype.connect), which
			// socket.io-msgpack-parser 2.x requires.
			data = []byte(`"Invalid namespace"`)
		}
		c.sendPacket(&packet.Packet{Type: packet.ConnectError, Namespace: name, ID: packet.NoID, Data: data})
		return
	}
	s := newSocket(ns, c, json.RawMessage(auth))
	if c.v3 {
		s.id = socketIDV3(name, c.sess.ID())
	}
	defer s.containPanic() // middleware, connection handlers (socket.go)
	claim := c.srv.claimSession(s, auth)
	if claim == nil || !c.srv.skipMiddlewares() {
		if err := ns.runMiddlewares(s); err != nil {
			c.srv.logDebug("sio: connection refused by middleware", slog.String("eio", c.sess.ID()),
				slog.String("namespace", name), slog.String("error", err.Error()))
			data := connectErrorData
			if c.v3 {
				data = connectErrorDataV3
			}
			c.sendPacket(&packet.Packet{Type: packet.ConnectError, Namespace: name, ID: packet.NoID,
				Data: data(err)})
			return
		}
	}
	if ns.parent != nil {
		// A dynamic namespace exists once it has a socket: this one.
		ns = ns.parent.attach(ns)
		s.nsp = ns // not published yet
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		ns.leaveChild()
		return
	}
	c.sockets = append(c.sockets, s)
	c.mu.Unlock()
	c.stopConnectTimer()
	// What the socket is sent waits until its connection handlers have
	// run (output_hold.go), the CONNECT reply first.
	defer s.releaseOutput()
	if claim != nil {
		// The missed events, then CONNECT, as socket.io replays them.
		s.holdOutput()
		c.srv.resume(s, claim)
		c.srv.sendConnect(s)
	} else {
		s.holdConnect()
		ns.add(s)
	}
	c.srv.trackLive(s)
	c.srv.logDebug("sio: socket connected", slog.String("sid", s.id), slog.String("namespace", ns.name),
		slog.String("eio", c.sess.ID()))
	c.srv.fireAnyConnection(s)
	ns.fireConnection(s)
}

// sendPacket encodes and sends a packet without attachments.
func (c *client) sendPacket(p *packet.Packet) {
	b := getBuf()
	b.B = packet.AppendEncode(eio.BeginBuild(b.B[:0]), p)
	c.send(b.B)
	putBuf(b)
}

// sendPacket encodes and sends a packet of s without attachments.
func (s *Socket) sendPacket(p *packet.Packet) {
	b := getBuf()
	b.B = packet.AppendEncode(eio.BeginBuild(b.B[:0]), p)
	s.send(b.B)
	putBuf(b)
}

// remove forgets the socket of a namespace.
func (c *client) remove(s *Socket) {
	c.mu.Lock()
	for i, x := range c.sockets {
		if x == s {
			c.sockets = append(c.sockets[:i:i], c.sockets[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
}

// OnClose implements eio.Handler. It runs when the Engine.IO session
// ended: every socket disconnects with the engine's reason, in the mailbox
// so that queued events run first.
func (c *client) OnClose(reason string) {
	c.srv.fireEngineClose(c.sess.ID(), reason)
	c.stopConnectTimer()
	c.cancelContexts()
	c.post(func() {
		c.mu.Lock()
		c.closed = true
		socks := c.sockets
		c.mu.Unlock()
		for _, s := range socks {
			s.onclose(reason)
		}
	})
}

// socketsNow returns the client's sockets; the slice is never modified in
// place (remove copies), so it may be walked without the lock.
func (c *client) socketsNow() []*Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sockets
}

// cancelContexts ends every socket's Context (Socket.cancelContext).
func (c *client) cancelContexts() {
	for _, s := range c.socketsNow() {
		s.cancelContext()
	}
}

// disconnectAll sends DISCONNECT for every namespace, then closes the
// connection (socket.disconnect(true)).
func (c *client) disconnectAll() {
	for _, s := range c.socketsNow() {
		s.disconnectNamespace()
		s.releaseOutput() // CONNECT, then DISCONNECT, before the close
	}
	c.closeSession()
}
