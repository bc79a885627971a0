package loop

import (
	"bytes"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/internal/http1"
	"github.com/sioloop/sioloop/wsframe"
)

// exchange is one request on a conn, awaiting its response. It owns a copy
// of the request head, so its accessors need nothing from the connection
// and work from any goroutine at any time; the *http.Request is built
// only if Request is called.
type exchange struct {
	c         *conn
	head      http1.Head // request line and headers, leading empty lines removed
	body      []byte
	keepAlive bool
	upgrade   bool
	// detached: handed to another goroutine (Detach), so Upgrade runs its
	// loop-only part as an op. Set on the loop before the handover.
	detached bool

	mu      sync.Mutex
	req     *http.Request // built by Request, or by newExchange for an unusual target; guarded by mu
	done    bool          // responded, upgraded or aborted; guarded by mu
	aborted bool          // the connection went away first; guarded by mu
	onAbort func()        // guarded by mu
}

// newExchange copies the request Parse just read from buf into an exchange.
// An origin-form target without escapes in its path (every Engine.IO
// request) is served from the head alone. Any other target is checked, and
// its path decoded, by building the *http.Request at once, which refuses
// exactly what net/http would.
func newExchange(c *conn, r *http1.Request, buf []byte) (*exchange, error) {
	head := buf[:r.HeaderLen]
	for len(head) >= 2 && head[0] == '\r' && head[1] == '\n' {
		head = head[2:] // empty lines before the request line (RFC 9112 §2.2)
	}
	x := &exchange{c: c, head: http1.Head(head), keepAlive: r.KeepAlive, upgrade: r.Upgrade}
	if len(r.Body) > 0 {
		x.body = bytes.Clone(r.Body)
	}
	if len(r.Path) == 0 || r.Path[0] != '/' || bytes.IndexByte(r.Path, '%') >= 0 {
		req, err := r.ToStd(c.remote)
		if err != nil {
			return nil, err
		}
		x.req = req
	}
	return x, nil
}

// Method implements eio.Exchange.
func (x *exchange) Method() string { return x.head.Method() }

// Path implements eio.Exchange.
func (x *exchange) Path() string {
	x.mu.Lock()
	req := x.req
	x.mu.Unlock()
	if req != nil {
		// Built by newExchange when the path needs decoding, or by
		// Request; URL.Path is then the decoded path.
		return req.URL.Path
	}
	return x.head.Path()
}

// Query implements eio.Exchange.
func (x *exchange) Query(key string) string {
	v, _ := x.head.Query(key)
	return v
}

// Header implements eio.Exchange.
func (x *exchange) Header(key string) string { return x.head.Combined(key) }

// RemoteAddr implements eio.Exchange.
func (x *exchange) RemoteAddr() string { return x.c.remote }

// Request implements eio.Exchange: the request is parsed again from the
// copied head and body on the first call.
func (x *exchange) Request() *http.Request {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.req == nil {
		buf := make([]byte, 0, len(x.head)+len(x.body))
		buf = append(append(buf, x.head...), x.body...)
		// The bytes were accepted once by Parse and, when the target was
		// unusual, by ToStd; under limits that admit their size they are
		// accepted again, so neither call can fail here.
		var r http1.Request
		lim := http1.Limits{MaxHeaderBytes: len(x.head) + 1, MaxBodyBytes: int64(len(x.body)) + 1}
		if _, err := http1.Parse(buf, &r, &lim); err != nil {
			panic("loop: request head no longer parses: " + err.Error())
		}
		req, err := r.ToStd(x.c.remote)
		if err != nil {
			panic("loop: request no longer converts: " + err.Error())
		}
		req.TLS = x.c.tlsState()
		x.req = req
	}
	return x.req
}

// Head implements eio.HeadCopier: sessions keep this string (a few hundred
// bytes) instead of the parsed request (a few kilobytes) for their
// lifetime. It is the exchange's own copy; strings are immutable.
func (x *exchange) Head() string {
	if x.c.tlsState() != nil {
		return "" // the head does not carry the TLS state: see Request
	}
	return string(x.head)
}

// Group implements eio.Grouper: the index of the loop serving x's
// connection.
func (x *exchange) Group() int { return x.c.lp.index }

// Body implements eio.Exchange.
func (x *exchange) Body() []byte { return x.body }

// OnAbort implements eio.Exchange. A detached exchange (Detach) may be
// registered on after its connection went away: f then runs at once.
func (x *exchange) OnAbort(f func()) {
	x.mu.Lock()
	if x.done {
		aborted := x.aborted
		x.mu.Unlock()
		if aborted {
			f()
		}
		return
	}
	x.onAbort = f
	x.mu.Unlock()
}

func (x *exchange) abort() {
	x.mu.Lock()
	f := x.onAbort
	already := x.done
	x.done = true
	x.aborted = x.aborted || !already
	x.onAbort = nil
	x.mu.Unlock()
	if !already && f != nil {
		f()
	}
}

// Respond implements eio.Exchange. Any goroutine.
func (x *exchange) Respond(status int, header http.Header, body []byte) {
	x.mu.Lock()
	if x.done {
		x.mu.Unlock()
		return
	}
	x.done = true
	x.onAbort = nil
	x.mu.Unlock()

	c := x.c
	keepAlive := x.keepAlive && header.Get("Connection") != "close"
	b := outPool.Get()
	b.B = appendResponse(b.B, status, header, body, !keepAlive)
	if x.Method() == http.MethodHead && bytes.HasSuffix(b.B, body) {
		// The head says how long a GET's body would be; none follows.
		b.B = b.B[:len(b.B)-len(body)]
	}
	if keepAlive {
		c.writeRaw(b.B)
		c.lp.Post(func() { c.resume(x) })
	} else {
		c.writeClose(b.B, nil)
	}
	outPool.Put(b)
}

// resume continues parsing after x was answered. Loop-only.
func (c *conn) resume(x *exchange) {
	if c.mode != modeHTTP || c.h.x != x {
		return
	}
	c.h.x = nil
	c.h.busy = false
	c.h.held = false
	c.h.idle.Reset(c.srv.cfg.IdleTimeout)
	c.lp.syncReading(c.gc, &c.readOff, c.readPaused())
	c.process()
}

// Detach implements eio.Detacher. Loop-only: called from Config.Handler,
// before x is handed to another goroutine.
func (x *exchange) Detach() { x.detached = true }

// Upgrade implements eio.Exchange: on the loop from Config.Handler, or,
// once x was detached, from any goroutine (it then waits for the loop).
func (x *exchange) Upgrade(header http.Header, h eio.FrameHandler) (eio.WSConn, error) {
	if !x.detached {
		return x.upgradeOnLoop(header, h)
	}
	type result struct {
		c   eio.WSConn
		err error
	}
	done := make(chan result, 1)
	lp := x.c.lp
	lp.Post(func() {
		c := x.c
		if c.mode != modeHTTP || c.h.x != x {
			done <- result{err: errors.New("loop: connection closed before the upgrade")}
			return
		}
		wc, err := x.upgradeOnLoop(header, h)
		if err == nil {
			// Reading resumes (it may have been paused while the
			// request waited), and frames already read are processed.
			lp.syncReading(c.gc, &c.readOff, c.readPaused())
			c.process()
		}
		done <- result{wc, err}
	})
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r := <-done:
			return r.c, r.err
		case <-tick.C:
			if lp.stopped.Load() {
				return nil, errors.New("loop: stopped before the upgrade")
			}
		}
	}
}

// upgradeOnLoop switches x's connection to WebSocket. Loop-only.
func (x *exchange) upgradeOnLoop(header http.Header, h eio.FrameHandler) (eio.WSConn, error) {
	c := x.c
	key, err := wsframe.CheckHandshake(x.Method(), x.Header)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	if x.done {
		x.mu.Unlock()
		return nil, errors.New("loop: exchange already answered")
	}
	x.done = true
	x.mu.Unlock()
	var extra []string
	for k, vs := range header {
		for _, v := range vs {
			extra = append(extra, k+": "+v)
		}
	}
	var defl *deflateState
	if cfg := c.srv.cfg.PerMessageDeflate; cfg != nil {
		if d, ok := wsframe.NegotiateDeflate(x.Header("Sec-WebSocket-Extensions")); ok {
			extra = append(extra, d.Response)
			defl = newDeflateState(cfg, d)
		}
	}
	b := outPool.Get()
	b.B = wsframe.AppendUpgradeResponse(b.B, key, extra...)
	c.writeRaw(b.B)
	outPool.Put(b)
	if defl != nil {
		// A new box: the pointer is set before c is handed on as a
		// WebSocket, and never changes after that.
		c.ext = &connExt{defl: defl, tls: c.tlsState()}
	}
	c.enterWS(h)
	if o, ok := h.(eio.FrameOpener); ok {
		o.OnOpen(c)
	}
	return c, nil
}

// appendResponse encodes an HTTP/1.1 response head and body.
func appendResponse(dst []byte, status int, header http.Header, body []byte, closeConn bool) []byte {
	hs := make([]string, 0, 2*len(header))
	for k, vs := range header {
		if k == "Content-Length" || k == "Connection" {
			continue
		}
		for _, v := range vs {
			hs = append(hs, k, v)
		}
	}
	return http1.AppendResponse(dst, status, hs, body, closeConn)
}
