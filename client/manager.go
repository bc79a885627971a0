package client

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/sioloop/sioloop/internal/packet"
	"github.com/sioloop/sioloop/internal/timer"
)

// ErrReconnectFailed is the final connect error once
// Options.ReconnectionAttempts consecutive attempts failed.
var ErrReconnectFailed = errors.New("client: reconnection failed")

// Manager is one connection to a Socket.IO server, shared by the sockets
// of every namespace opened on it (socket.io-client's Manager). It opens
// the connection when the first socket connects, closes it when the last
// one disconnects, and reconnects after losses when Options.Reconnection
// is set. Its methods are safe from any goroutine.
type Manager struct {
	opts   Options
	base   *url.URL
	urlErr error
	rt     *timer.Timer // reconnection delay

	mu            sync.Mutex
	eng           *engine              // opening or open; nil when closed; guarded by mu
	open          bool                 // eng completed its handshake; guarded by mu
	sockets       map[string]*Socket   // every socket, by namespace; guarded by mu
	active        map[*Socket]struct{} // sockets that want a connection; guarded by mu
	skipReconnect bool                 // guarded by mu
	reconnecting  bool                 // a reconnection is scheduled or running; guarded by mu
	bo            backoff              // guarded by mu
}

// NewManager returns a Manager for the server at rawURL ("http://host:port";
// https, ws and wss work too; the path is not used: see Options.Path and
// Manager.Socket). Nothing is opened before a socket connects. An invalid
// URL is reported as the sockets' connect error.
func NewManager(rawURL string, opts Options) *Manager {
	opts.withDefaults()
	opts.Transports = slices.Clone(opts.Transports)
	m := &Manager{
		opts:    opts,
		sockets: make(map[string]*Socket),
		active:  make(map[*Socket]struct{}),
		bo: backoff{
			min:    opts.ReconnectionDelay,
			max:    opts.ReconnectionDelayMax,
			jitter: opts.RandomizationFactor,
		},
	}
	m.base, m.urlErr = parseBase(rawURL)
	if m.urlErr == nil {
		for _, t := range opts.Transports {
			if t != Polling && t != WebSocket {
				m.urlErr = fmt.Errorf("client: unknown transport %q", t)
			}
		}
	}
	m.rt = wheel().NewTimer(m.reconnectNow)
	return m
}

func parseBase(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return nil, fmt.Errorf("client: unsupported URL scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("client: URL %q has no host", rawURL)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host, User: u.User}, nil
}

// Socket returns the socket for namespace nsp ("/" when empty), creating
// it unconnected: register its handlers, then call Connect. A second call
// for the same namespace returns the same socket and ignores opts.
func (m *Manager) Socket(nsp string, opts SocketOptions) *Socket {
	nsp = normalizeNamespace(nsp)
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sockets[nsp]; ok {
		return s
	}
	s := newSocket(m, nsp, opts)
	m.sockets[nsp] = s
	return s
}

func normalizeNamespace(nsp string) string {
	if nsp == "" {
		return "/"
	}
	if nsp[0] != '/' {
		nsp = "/" + nsp
	}
	return nsp
}

// Transport names the transport in use ("polling" or "websocket"), or ""
// while no connection is open.
func (m *Manager) Transport() string {
	m.mu.Lock()
	e := m.eng
	m.mu.Unlock()
	if e == nil {
		return ""
	}
	return e.currentTransport()
}

// Close disconnects every socket ("io client disconnect") and closes the
// connection; it stays closed until a socket connects again.
func (m *Manager) Close() {
	m.mu.Lock()
	socks := make([]*Socket, 0, len(m.sockets))
	for _, s := range m.sockets {
		socks = append(socks, s)
	}
	m.mu.Unlock()
	for _, s := range socks {
		s.Disconnect()
	}
	m.mu.Lock()
	e := m.closeLocked()
	m.mu.Unlock()
	if e != nil {
		e.close()
	}
}

// activate makes s want a connection; it reports whether the connection
// is already open (the caller then sends CONNECT itself) and the engine.
func (m *Manager) activate(s *Socket) (*engine, bool, error) {
	if m.urlErr != nil {
		return nil, false, m.urlErr
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.active[s]; ok {
		return nil, false, nil
	}
	m.active[s] = struct{}{}
	if m.eng == nil {
		if !m.reconnecting {
			m.openLocked()
		}
		return nil, false, nil
	}
	return m.eng, m.open, nil
}

// deactivate forgets s; the connection closes once no socket is active
// (socket.io-client's _destroy).
func (m *Manager) deactivate(s *Socket) {
	m.mu.Lock()
	delete(m.active, s)
	var e *engine
	if len(m.active) == 0 {
		e = m.closeLocked()
	}
	m.mu.Unlock()
	if e != nil {
		e.close()
	}
}

// isActive reports whether s wants a connection.
func (m *Manager) isActive(s *Socket) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.active[s]
	return ok
}

// closeLocked stops reconnecting and detaches the engine, which the
// caller closes after unlocking. Called with mu held.
func (m *Manager) closeLocked() *engine {
	m.skipReconnect = true
	m.reconnecting = false
	m.rt.Stop()
	e := m.eng
	m.eng, m.open = nil, false
	return e
}

// openLocked starts a connection attempt. Called with mu held.
func (m *Manager) openLocked() {
	m.skipReconnect = false
	e := newEngine(m, &m.opts, m.base)
	m.eng, m.open = e, false
	e.start()
}

func (m *Manager) activeSockets() []*Socket {
	socks := make([]*Socket, 0, len(m.active))
	for s := range m.active {
		socks = append(socks, s)
	}
	return socks
}

// engineOpen implements engineEvents.
func (m *Manager) engineOpen(e *engine) {
	m.mu.Lock()
	if m.eng != e {
		m.mu.Unlock()
		return
	}
	m.open = true
	m.reconnecting = false
	m.bo.reset()
	socks := m.activeSockets()
	m.mu.Unlock()
	for _, s := range socks {
		s.mb.post(func() { s.sendConnect(e) })
	}
}

// errPendingText is the client-side rule packet.Reassembler leaves to its
// caller: socket.io-parser throws (a parse error) on a text packet while a
// binary packet still waits for attachments.
var errPendingText = fmt.Errorf("%w: text packet while attachments are pending", packet.ErrInvalid)

// engineMessage implements engineEvents: it decodes a Socket.IO packet,
// reassembling binary ones, and queues it for its socket. It runs on the
// transport's goroutine.
func (m *Manager) engineMessage(e *engine, data []byte, binary bool) {
	if binary {
		done, p, atts, err := e.reasm.Add(data)
		if err != nil {
			e.terminate(ReasonParseError, err)
			return
		}
		if done {
			m.dispatch(e, p, atts)
		}
		return
	}
	if e.reasm.Pending() {
		e.terminate(ReasonParseError, errPendingText)
		return
	}
	p, err := packet.Decode(data, m.opts.MaxAttachments)
	if err != nil {
		e.terminate(ReasonParseError, err)
		return
	}
	if p.Type.IsBinary() {
		// Start refuses bad placeholders, as socket.io-parser's
		// reconstructPacket does ("illegal attachments").
		if err := e.reasm.Start(p); err != nil {
			e.terminate(ReasonParseError, err)
		}
		return
	}
	p.Data = slices.Clone(p.Data)
	m.dispatch(e, p, nil)
}

func (m *Manager) dispatch(e *engine, p packet.Packet, atts [][]byte) {
	m.mu.Lock()
	s := m.sockets[p.Namespace]
	_, active := m.active[s]
	m.mu.Unlock()
	if s == nil || !active {
		return // socket.io-client ignores packets for other namespaces
	}
	s.mb.post(func() { s.onPacket(e, p, atts) })
}

// engineFail implements engineEvents.
func (m *Manager) engineFail(e *engine, err error) {
	m.mu.Lock()
	if m.eng != e {
		m.mu.Unlock()
		return
	}
	m.eng, m.open = nil, false
	m.reconnecting = false
	retry, failed := m.retryLocked()
	socks := m.activeSockets()
	m.mu.Unlock()
	m.opts.Logger.Debug("client: connection attempt failed", "err", err, "retry", retry)
	for _, s := range socks {
		// Final unless a retry follows or the exhausted attempts are
		// reported next.
		s.mb.post(func() { s.onConnectFailure(err, !retry && !failed) })
		if failed {
			s.mb.post(func() { s.onConnectFailure(ErrReconnectFailed, true) })
		}
	}
}

// engineClose implements engineEvents.
func (m *Manager) engineClose(e *engine, reason string, err error) {
	m.mu.Lock()
	if m.eng != e {
		m.mu.Unlock()
		return
	}
	m.eng, m.open = nil, false
	m.bo.reset()
	retry, failed := m.retryLocked()
	socks := m.activeSockets()
	m.mu.Unlock()
	m.opts.Logger.Debug("client: connection closed", "reason", reason, "err", err, "retry", retry)
	for _, s := range socks {
		s.mb.post(func() { s.onEngineClose(e, reason, !retry && !failed) })
		if failed {
			s.mb.post(func() { s.onConnectFailure(ErrReconnectFailed, true) })
		}
	}
}

// retryLocked schedules a reconnection if enabled. retry reports that one
// is scheduled; failed that attempts are exhausted. Called with mu held.
func (m *Manager) retryLocked() (retry, failed bool) {
	if !m.opts.Reconnection || m.skipReconnect {
		return false, false
	}
	if m.reconnecting {
		return true, false
	}
	if n := m.opts.ReconnectionAttempts; n > 0 && m.bo.attempts >= n {
		m.bo.reset()
		return false, true
	}
	m.reconnecting = true
	m.rt.Reset(m.bo.next())
	return true, false
}

// reconnectNow runs on the timer wheel when a reconnection delay ends.
func (m *Manager) reconnectNow() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.reconnecting || m.skipReconnect || m.eng != nil {
		return
	}
	if len(m.active) == 0 {
		m.reconnecting = false
		return
	}
	m.openLocked()
}

// ConnectError is a namespace connection refused by the server (a
// CONNECT_ERROR packet): an unknown namespace, or a middleware error.
type ConnectError struct {
	// Message is the error message, e.g. "Invalid namespace".
	Message string
	// Data is the error's data as raw JSON, nil when none was sent.
	Data []byte
}

// Error formats the message and data.
func (e *ConnectError) Error() string {
	var b strings.Builder
	b.WriteString("client: connection refused: ")
	b.WriteString(e.Message)
	if len(e.Data) > 0 {
		b.WriteString(" (")
		b.Write(e.Data)
		b.WriteString(")")
	}
	return b.String()
}
