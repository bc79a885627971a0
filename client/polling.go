package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/valyala/bytebufferpool"
)

// HTTP long-polling: one GET at a time waits for the server's packets, one
// POST at a time carries ours. Each runs on a goroutine of its own while
// it is in flight; polling connections are transient (they upgrade) or
// few, so goroutines are acceptable here, unlike for WebSocket.

// recordSep separates packets in a polling payload.
const recordSep = 0x1E

// bufPool holds scratch buffers for encoding outgoing packets.
var bufPool bytebufferpool.Pool

// record is one outgoing Engine.IO packet: text with its type digit, or
// raw binary.
type record struct {
	binary bool
	data   []byte
}

// poller is the polling transport of an engine. Fields without a guard
// note are immutable; the others are guarded by the engine's mu.
type poller struct {
	e      *engine
	ctx    context.Context // ends every request of the transport
	cancel context.CancelFunc

	getting bool     // the GET loop runs
	posting bool     // a POST is in flight
	paused  bool     // an upgrade is under way: no new GET or POST
	closing bool     // flush the queue (ending in a close packet), then stop
	queue   []record // packets waiting for a POST
}

func newPoller(e *engine) *poller {
	ctx, cancel := context.WithCancel(context.Background())
	return &poller{e: e, ctx: ctx, cancel: cancel}
}

func (ps *poller) enqueue(r record) { ps.queue = append(ps.queue, r) }

// stop abandons the transport: requests in flight are cancelled.
func (ps *poller) stop() {
	ps.queue = nil
	ps.cancel()
}

// maxPollBody bounds a polling response: it may batch many messages.
func (e *engine) maxPollBody() int64 { return 32 * e.opts.MaxMessageBytes }

// request sends one polling request and returns the body of a 200 answer.
func (ps *poller) request(ctx context.Context, method, url string, body []byte) ([]byte, error) {
	e := ps.e
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range e.opts.Header {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := e.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	limit := e.maxPollBody()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg := string(bytes.TrimSpace(data))
		var je struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &je) == nil && je.Message != "" {
			msg = je.Message
		}
		return nil, &HandshakeError{Status: resp.StatusCode, Message: msg}
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("client: polling response over %d bytes", limit)
	}
	return data, nil
}

// openPolling performs the handshake GET, then starts the GET loop.
func (e *engine) openPolling(ctx context.Context) {
	ps := newPoller(e)
	e.mu.Lock()
	if e.state != stateOpening {
		e.mu.Unlock()
		return
	}
	e.poll = ps
	e.mu.Unlock()
	body, err := ps.request(ctx, http.MethodGet, e.url(Polling, ""), nil)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
			err = ErrTimeout
		}
		e.fail(err)
		return
	}
	first, rest, _ := bytes.Cut(body, []byte{recordSep})
	if len(first) == 0 || first[0] != eOpen {
		e.fail(&HandshakeError{Message: "first packet is not open: " + truncate(first)})
		return
	}
	if err := e.handshake(first[1:]); err != nil {
		e.fail(err)
		return
	}
	if !e.opened() {
		return
	}
	if len(rest) > 0 && !e.onPayload(rest) {
		return
	}
	e.mu.Lock()
	if e.state != stateOpen || e.poll != ps {
		e.mu.Unlock()
		return
	}
	ps.getting = true
	probe := !e.opts.DisableUpgrade && e.opts.allows(WebSocket) && slices.Contains(e.upgrades, WebSocket)
	e.mu.Unlock()
	if probe {
		go e.runProbe()
	}
	go e.pollLoop(ps)
}

// pollLoop runs GETs until the transport closes or pauses for an upgrade.
func (e *engine) pollLoop(ps *poller) {
	for {
		body, err := ps.request(ps.ctx, http.MethodGet, e.url(Polling, e.sid), nil)
		if err != nil {
			e.mu.Lock()
			ps.getting = false
			e.mu.Unlock()
			if ps.ctx.Err() == nil {
				e.terminate(ReasonTransportError, err)
			}
			return
		}
		if !e.onPayload(body) {
			e.mu.Lock()
			ps.getting = false
			e.mu.Unlock()
			return
		}
		e.mu.Lock()
		if e.state != stateOpen || e.poll != ps || ps.paused {
			ps.getting = false
			e.mu.Unlock()
			e.maybeUpgrade()
			return
		}
		e.mu.Unlock()
	}
}

// onPayload delivers the packets of a polling response; false if the
// engine closed meanwhile.
func (e *engine) onPayload(body []byte) bool {
	for len(body) > 0 {
		var rec []byte
		rec, body, _ = bytes.Cut(body, []byte{recordSep})
		e.mu.Lock()
		open := e.state == stateOpen
		e.mu.Unlock()
		if !open {
			return false
		}
		if len(rec) > 0 && rec[0] == 'b' {
			raw, err := base64.StdEncoding.AppendDecode(nil, rec[1:])
			if err != nil {
				e.terminate(ReasonParseError, fmt.Errorf("client: bad base64 in polling payload: %w", err))
				return false
			}
			e.ev.engineMessage(e, raw, true)
			continue
		}
		e.onText(rec)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state == stateOpen
}

// kickPost starts a POST if packets wait and none is in flight. Called
// with e.mu held.
func (e *engine) kickPost() {
	if e.poll != nil {
		e.kickPostLocked(e.poll)
	}
}

// kickPostLocked is kickPost for ps, which may be a closing transport no
// longer attached. Called with e.mu held.
func (e *engine) kickPostLocked(ps *poller) {
	if ps.posting || ps.paused || len(ps.queue) == 0 {
		return
	}
	if e.state != stateOpen && !ps.closing {
		return
	}
	// As many records as fit maxPayload, at least one (engine.io-client
	// splits its payloads the same way).
	n, size := 0, 0
	for n < len(ps.queue) {
		r := ps.queue[n]
		sz := len(r.data) + 1
		if r.binary {
			sz = 2 + base64.StdEncoding.EncodedLen(len(r.data))
		}
		if n > 0 && size+sz > e.maxPayload {
			break
		}
		size += sz
		n++
	}
	body := make([]byte, 0, size)
	for i, r := range ps.queue[:n] {
		if i > 0 {
			body = append(body, recordSep)
		}
		if r.binary {
			body = append(body, 'b')
			body = base64.StdEncoding.AppendEncode(body, r.data)
		} else {
			body = append(body, r.data...)
		}
	}
	clear(ps.queue[:n])
	ps.queue = ps.queue[n:]
	if len(ps.queue) == 0 {
		ps.queue = nil
	}
	ps.posting = true
	go e.post(ps, body, ps.closing)
}

// post sends one POST and starts the next.
func (e *engine) post(ps *poller, body []byte, closing bool) {
	ctx := ps.ctx
	if closing {
		// The transport is going away: do not let a dead server hold it.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, min(e.opts.Timeout, 5*time.Second))
		defer cancel()
	}
	_, err := ps.request(ctx, http.MethodPost, e.url(Polling, e.sid), body)
	e.mu.Lock()
	ps.posting = false
	if err != nil {
		attached := e.poll == ps && e.state == stateOpen
		if ps.closing {
			ps.stop()
		}
		e.mu.Unlock()
		if attached && ps.ctx.Err() == nil {
			e.terminate(ReasonTransportError, err)
		}
		return
	}
	e.kickPostLocked(ps)
	if ps.closing && !ps.posting {
		ps.stop()
	}
	e.mu.Unlock()
	e.maybeUpgrade()
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
