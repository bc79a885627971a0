package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/internal/packet"
	"github.com/sioloop/sioloop/internal/timer"
	"github.com/sioloop/sioloop/loop"
)

// Engine.IO v4 packet types (one ASCII digit).
const (
	eOpen    = '0'
	eClose   = '1'
	ePing    = '2'
	ePong    = '3'
	eMessage = '4'
	eUpgrade = '5'
	eNoop    = '6'
)

// Engine close reasons, as engine.io-client names them; the Manager hands
// them to the sockets' OnDisconnect.
const (
	ReasonTransportClose = "transport close"
	ReasonTransportError = "transport error"
	ReasonPingTimeout    = "ping timeout"
	ReasonParseError     = "parse error"
	ReasonForcedClose    = "forced close"
)

type engineState uint8

const (
	stateOpening engineState = iota
	stateOpen
	stateClosed
)

// engineEvents receives what happens to an engine. Calls come from the
// transport goroutines (an event loop, a polling goroutine, the timer
// wheel), never with the engine's lock held; they must not block.
type engineEvents interface {
	// engineOpen: the handshake completed; messages may follow.
	engineOpen(e *engine)
	// engineMessage: one message; data is valid only during the call.
	// Calls are sequential for an engine.
	engineMessage(e *engine, data []byte, binary bool)
	// engineFail: the connection could not be opened.
	engineFail(e *engine, err error)
	// engineClose: an open connection ended for reason (not called after
	// engine.close).
	engineClose(e *engine, reason string, err error)
}

// wheel runs every client timer: heartbeats, connection and probe
// timeouts, reconnection delays. One runtime timer serves them all.
var wheel = sync.OnceValue(timer.NewWheel)

// ErrTimeout is the connect error of an attempt that took longer than
// Options.Timeout.
var ErrTimeout = errors.New("client: timeout")

// HandshakeError is an Engine.IO handshake refused or malformed.
type HandshakeError struct {
	// Status is the HTTP status of a refused request, 0 otherwise.
	Status int
	// Message is the server's explanation (the JSON error message of a
	// refusal) or what was wrong with the answer.
	Message string
}

// Error describes the refusal.
func (e *HandshakeError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("client: handshake refused (HTTP %d): %s", e.Status, e.Message)
	}
	return "client: bad handshake: " + e.Message
}

// engine is one Engine.IO v4 client connection.
type engine struct {
	ev    engineEvents
	opts  *Options
	base  *url.URL // scheme and host of the server
	reasm packet.Reassembler

	// Handshake values: written before state becomes stateOpen (under mu),
	// read-only afterwards.
	sid          string
	pingInterval time.Duration
	pingTimeout  time.Duration
	maxPayload   int
	upgrades     []string

	hb *timer.Timer // heartbeat: pingInterval+pingTimeout, re-armed on ping
	ot *timer.Timer // open timeout

	mu        sync.Mutex
	state     engineState // guarded by mu
	transport string      // guarded by mu
	ws        eio.WSConn  // the WebSocket transport; guarded by mu
	probe     eio.WSConn  // a WebSocket being probed for upgrade; guarded by mu
	probeOK   bool        // the probe answered 3probe; guarded by mu
	poll      *poller     // the polling transport; guarded by mu
	done      bool        // an outcome was reported to ev; guarded by mu
	// cancel aborts the connect attempt (dial, handshake request); nil
	// once it is over, so an open connection keeps no context alive.
	cancel context.CancelFunc // guarded by mu
	pt     *timer.Timer       // upgrade probe timeout, made on first probe; guarded by mu
}

func newEngine(ev engineEvents, opts *Options, base *url.URL) *engine {
	e := &engine{ev: ev, opts: opts, base: base}
	// Each attachment is one message of at most MaxMessageBytes, so this
	// total only guards against overflow; it adds no tighter limit.
	e.reasm.MaxAttachmentBytes = math.MaxInt64
	if n := int64(opts.MaxAttachments); n > 0 && opts.MaxMessageBytes <= math.MaxInt64/n {
		e.reasm.MaxAttachmentBytes = n * opts.MaxMessageBytes
	}
	w := wheel()
	e.hb = w.NewTimer(func() { e.terminate(ReasonPingTimeout, nil) })
	e.ot = w.NewTimer(func() { e.fail(ErrTimeout) })
	return e
}

// start opens the connection on a goroutine of its own that ends once the
// handshake is done.
func (e *engine) start() {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.Timeout)
	e.mu.Lock()
	e.cancel = cancel
	e.transport = e.opts.Transports[0]
	e.mu.Unlock()
	e.ot.Reset(e.opts.Timeout)
	go func() {
		if e.opts.Transports[0] == WebSocket {
			e.openWebSocket(ctx)
		} else {
			e.openPolling(ctx)
		}
		cancel()
		e.mu.Lock()
		e.cancel = nil
		e.mu.Unlock()
	}()
}

// url builds the address of a request for transport.
func (e *engine) url(transport string, sid string) string {
	u := *e.base
	if transport == WebSocket {
		if u.Scheme == "https" || u.Scheme == "wss" {
			u.Scheme = "wss"
		} else {
			u.Scheme = "ws"
		}
	} else if u.Scheme == "ws" {
		u.Scheme = "http"
	} else if u.Scheme == "wss" {
		u.Scheme = "https"
	}
	u.Path = e.opts.Path
	q := url.Values{}
	for k, v := range e.opts.Query {
		q[k] = v
	}
	q.Set("EIO", "4")
	q.Set("transport", transport)
	if sid != "" {
		q.Set("sid", sid)
	}
	if transport == Polling {
		// The cache buster engine.io-client adds to polling requests.
		q.Set("t", strconv.FormatInt(time.Now().UnixNano(), 36))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (e *engine) dialer() (*loop.Dialer, error) {
	if e.opts.Dialer != nil {
		return e.opts.Dialer, nil
	}
	return defaultDialer(e.opts.MaxMessageBytes)
}

// handshake reads the open packet's JSON.
func (e *engine) handshake(data []byte) error {
	var hs struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int64    `json:"maxPayload"`
	}
	if err := json.Unmarshal(data, &hs); err != nil {
		return &HandshakeError{Message: "open packet: " + err.Error()}
	}
	if hs.SID == "" || hs.PingInterval <= 0 || hs.PingTimeout <= 0 {
		return &HandshakeError{Message: "open packet without sid or heartbeat: " + string(data)}
	}
	e.mu.Lock()
	e.sid = hs.SID
	e.upgrades = hs.Upgrades
	e.pingInterval = time.Duration(hs.PingInterval) * time.Millisecond
	e.pingTimeout = time.Duration(hs.PingTimeout) * time.Millisecond
	e.maxPayload = int(min(hs.MaxPayload, 1<<40))
	if e.maxPayload <= 0 {
		e.maxPayload = 1e6
	}
	e.mu.Unlock()
	return nil
}

// opened marks the engine open after the handshake and reports it.
func (e *engine) opened() bool {
	e.mu.Lock()
	if e.state != stateOpening {
		e.mu.Unlock()
		return false
	}
	e.state = stateOpen
	e.mu.Unlock()
	e.ot.Stop()
	e.hb.Reset(e.pingInterval + e.pingTimeout)
	e.ev.engineOpen(e)
	return true
}

// onText handles one text packet of the main transport.
func (e *engine) onText(p []byte) {
	if len(p) == 0 {
		e.terminate(ReasonParseError, errors.New("client: empty Engine.IO packet"))
		return
	}
	switch p[0] {
	case eMessage:
		e.ev.engineMessage(e, p[1:], false)
	case ePing:
		// v4: the server pings; the client answers and re-arms its timer
		// only here, as engine.io-client does.
		e.hb.Reset(e.pingInterval + e.pingTimeout)
		e.sendControl(ePong, p[1:])
	case eClose:
		e.terminate(ReasonTransportClose, nil)
	case ePong, eNoop, eOpen:
	default:
		e.terminate(ReasonParseError, fmt.Errorf("client: unknown Engine.IO packet type %q", p[0]))
	}
}

// sendControl sends an Engine.IO packet of type t with data.
func (e *engine) sendControl(t byte, data []byte) {
	b := make([]byte, 0, 1+len(data))
	b = append(append(b, t), data...)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateOpen {
		return
	}
	switch {
	case e.ws != nil:
		e.ws.WriteMessage(false, b)
	case e.poll != nil:
		e.poll.enqueue(record{data: b})
		e.kickPost()
	}
}

// errNotOpen is returned by send when the connection is not open.
var errNotOpen = errors.New("client: connection not open")

// send sends one Socket.IO packet (text, without the Engine.IO '4') and
// its attachments, back to back. text and atts are copied.
func (e *engine) send(text []byte, atts [][]byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateOpen {
		return errNotOpen
	}
	switch {
	case e.ws != nil:
		b := bufPool.Get()
		b.B = append(append(b.B[:0], eMessage), text...)
		e.ws.WriteMessage(false, b.B)
		bufPool.Put(b)
		for _, a := range atts {
			e.ws.WriteMessage(true, a)
		}
	case e.poll != nil:
		b := make([]byte, 0, 1+len(text))
		e.poll.enqueue(record{data: append(append(b, eMessage), text...)})
		for _, a := range atts {
			e.poll.enqueue(record{binary: true, data: append([]byte(nil), a...)})
		}
		e.kickPost()
	default:
		return errNotOpen
	}
	return nil
}

// writable reports whether a packet sent now would leave at once: the
// connection is open and no upgrade holds writes back (volatile emits).
func (e *engine) writable() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state == stateOpen && (e.ws != nil || (e.poll != nil && !e.poll.paused))
}

// Transport names the transport in use, "" when not open.
func (e *engine) currentTransport() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateOpen {
		return ""
	}
	return e.transport
}

// fail ends an attempt that has not opened (yet).
func (e *engine) fail(err error) { e.shutdown(false, true, "", err) }

// terminate ends the connection for a transport reason.
func (e *engine) terminate(reason string, err error) { e.shutdown(false, false, reason, err) }

// close ends the connection at the client's request; nothing is reported.
func (e *engine) close() { e.shutdown(true, false, ReasonForcedClose, nil) }

// shutdown closes everything once and reports the outcome unless quiet.
// With onlyOpening it does nothing once the handshake completed (a timeout
// racing with the open packet).
func (e *engine) shutdown(quiet, onlyOpening bool, reason string, err error) {
	e.mu.Lock()
	if e.state == stateClosed || (onlyOpening && e.state != stateOpening) {
		e.mu.Unlock()
		return
	}
	wasOpen := e.state == stateOpen
	e.state = stateClosed
	ws, probe, ps := e.ws, e.probe, e.poll
	e.probe = nil
	report := !quiet && !e.done
	e.done = true
	cancel, pt := e.cancel, e.pt
	if ps != nil {
		if quiet && wasOpen {
			// Flush what is queued (a DISCONNECT, typically), then tell the
			// server with a close packet, as engine.io-client does.
			ps.enqueue(record{data: []byte{eClose}})
			ps.closing = true
			ps.paused = false
			e.kickPostLocked(ps)
		} else {
			ps.stop()
		}
	}
	e.mu.Unlock()
	e.hb.Stop()
	e.ot.Stop()
	if pt != nil {
		pt.Stop()
	}
	if cancel != nil {
		cancel()
	}
	if ws != nil {
		ws.Close(1000)
	}
	if probe != nil {
		probe.Close(1000)
	}
	if !report {
		return
	}
	if !wasOpen {
		if err == nil {
			err = errors.New("client: " + reason)
		}
		e.ev.engineFail(e, err)
		return
	}
	e.ev.engineClose(e, reason, err)
}
