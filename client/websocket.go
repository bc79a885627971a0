package client

import (
	"context"
	"errors"
	"sync"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

// WebSocket connections run on the event loops of a loop.Dialer: their
// messages reach wsHandler on a loop goroutine, and writes are queued
// without blocking. No goroutine is held per connection.

var (
	dialersMu sync.Mutex
	dialers   = map[int64]*loop.Dialer{} // by MaxMessageBytes; guarded by dialersMu
)

// defaultDialer returns the process-wide Dialer for a message size limit,
// creating it on first use. It lives as long as the process, like
// http.DefaultTransport.
func defaultDialer(maxMessage int64) (*loop.Dialer, error) {
	dialersMu.Lock()
	defer dialersMu.Unlock()
	if d, ok := dialers[maxMessage]; ok {
		return d, nil
	}
	d, err := loop.NewDialer(loop.DialerConfig{MaxMessageBytes: maxMessage})
	if err != nil {
		return nil, err
	}
	dialers[maxMessage] = d
	return d, nil
}

// openWebSocket opens a connection directly over WebSocket; the open
// packet arrives on the loop.
func (e *engine) openWebSocket(ctx context.Context) {
	d, err := e.dialer()
	if err != nil {
		e.fail(err)
		return
	}
	c, err := d.DialWebSocket(ctx, e.url(WebSocket, ""), e.opts.Header, &wsHandler{e: e})
	if err != nil {
		var he *loop.HandshakeError
		switch {
		case errors.As(err, &he):
			err = &HandshakeError{Status: he.Status, Message: "websocket upgrade refused"}
		case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
			err = ErrTimeout
		}
		e.fail(err)
		return
	}
	e.mu.Lock()
	stale := e.state == stateClosed || (e.ws != nil && e.ws != c)
	if !stale {
		e.ws = c
	}
	e.mu.Unlock()
	if stale {
		c.Close(1000)
	}
}

// wsHandler receives the messages of the engine's WebSocket connections:
// the transport itself, or an upgrade probe (which becomes the transport
// when the upgrade completes).
type wsHandler struct {
	e     *engine
	probe bool
}

type wsRole uint8

const (
	roleNone wsRole = iota
	roleMain
	roleProbe
)

func (h *wsHandler) role(c eio.WSConn) (wsRole, engineState) {
	e := h.e
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.ws == c:
		return roleMain, e.state
	case !h.probe && e.ws == nil && e.state == stateOpening:
		// A message before DialWebSocket returned: this is the connection
		// being opened.
		e.ws = c
		return roleMain, e.state
	case h.probe && e.probe == c:
		return roleProbe, e.state
	}
	return roleNone, e.state
}

// OnMessage implements eio.FrameHandler.
func (h *wsHandler) OnMessage(c eio.WSConn, binary bool, p []byte) {
	e := h.e
	role, state := h.role(c)
	switch role {
	case roleMain:
		switch state {
		case stateOpening:
			if binary || len(p) == 0 || p[0] != eOpen {
				e.fail(&HandshakeError{Message: "first packet is not open: " + truncate(p)})
				return
			}
			if err := e.handshake(p[1:]); err != nil {
				e.fail(err)
				return
			}
			e.opened()
		case stateOpen:
			if binary {
				e.ev.engineMessage(e, p, true)
				return
			}
			e.onText(p)
		}
	case roleProbe:
		if !binary && string(p) == "3probe" {
			e.mu.Lock()
			e.probeOK = true
			e.mu.Unlock()
			e.maybeUpgrade()
			return
		}
		e.abortProbe(c)
	case roleNone:
		c.Close(1000)
	}
}

// OnClose implements eio.FrameHandler.
func (h *wsHandler) OnClose(c eio.WSConn, err error) {
	e := h.e
	role, state := h.role(c)
	switch role {
	case roleMain:
		if state == stateOpening {
			if err == nil {
				err = errors.New("client: websocket closed before the handshake")
			}
			e.fail(err)
			return
		}
		reason := ReasonTransportClose
		if err != nil {
			reason = ReasonTransportError
		}
		e.terminate(reason, err)
	case roleProbe:
		e.abortProbe(c)
	}
}

// runProbe opens a WebSocket with the session id and sends 2probe. Until
// the probe ends, polling starts no new request, so that the server's
// answer to the parked GET (a noop once it sees the probe) ends the GET
// loop and the upgrade can complete as soon as 3probe arrives.
func (e *engine) runProbe() {
	d, err := e.dialer()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.Timeout)
	defer cancel()
	c, err := d.DialWebSocket(ctx, e.url(WebSocket, e.sid), e.opts.Header, &wsHandler{e: e, probe: true})
	if err != nil {
		e.opts.Logger.Debug("client: upgrade probe failed", "err", err)
		return
	}
	e.mu.Lock()
	if e.state != stateOpen || e.poll == nil || e.probe != nil {
		e.mu.Unlock()
		c.Close(1000)
		return
	}
	e.probe = c
	e.poll.paused = true
	if e.pt == nil {
		e.pt = wheel().NewTimer(e.probeTimedOut)
	}
	e.pt.Reset(e.opts.Timeout)
	e.mu.Unlock()
	c.WriteMessage(false, []byte("2probe"))
}

// maybeUpgrade switches to the probe once it answered and polling is idle:
// no GET running, no POST in flight.
func (e *engine) maybeUpgrade() {
	e.mu.Lock()
	ps, c := e.poll, e.probe
	if e.state != stateOpen || c == nil || !e.probeOK || ps == nil || ps.getting || ps.posting {
		e.mu.Unlock()
		return
	}
	e.probe, e.probeOK = nil, false
	e.ws, e.poll, e.transport = c, nil, WebSocket
	c.WriteMessage(false, []byte{eUpgrade})
	// Packets held back during the upgrade leave over the new transport,
	// in order.
	for _, r := range ps.queue {
		c.WriteMessage(r.binary, r.data)
	}
	ps.queue = nil
	e.pt.Stop()
	e.mu.Unlock()
	ps.cancel()
}

// abortProbe gives up an upgrade; polling resumes.
func (e *engine) abortProbe(c eio.WSConn) {
	e.mu.Lock()
	if e.probe != c {
		e.mu.Unlock()
		return
	}
	e.probe, e.probeOK = nil, false
	ps := e.poll
	restart := false
	if ps != nil && e.state == stateOpen {
		ps.paused = false
		if !ps.getting {
			ps.getting = true
			restart = true
		}
		e.kickPostLocked(ps)
	}
	if e.pt != nil {
		e.pt.Stop()
	}
	e.mu.Unlock()
	c.Close(1000)
	if restart {
		go e.pollLoop(ps)
	}
}

func (e *engine) probeTimedOut() {
	e.mu.Lock()
	c := e.probe
	e.mu.Unlock()
	if c != nil {
		e.abortProbe(c)
	}
}
