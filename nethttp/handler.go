package nethttp

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
	"github.com/sioloop/sioloop/wsframe"
)

// Handler serves Engine.IO from a net/http server. Polling requests are
// answered by net/http, on the request's goroutine; WebSocket connections
// are hijacked and moved onto event loops. Its fields are set once, before
// the first request.
type Handler struct {
	// Serve answers one request, on the request's goroutine or one of
	// its own; it must call the exchange's Respond or Upgrade once.
	Serve func(eio.Exchange)
	// Enroller returns the event loops a hijacked WebSocket moves to. It
	// is called for each upgrade, so it can make them on first use.
	Enroller func() (*loop.Enroller, error)
	// MaxBodyBytes bounds a request body: a larger one is answered 413
	// without being served.
	MaxBodyBytes int64
}

// ServeHTTP serves r through h.Serve and writes the answer, or leaves the
// connection to the event loops once it is upgraded. A client that goes
// away first aborts the exchange (eio.Exchange.OnAbort).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, h.MaxBodyBytes+1))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if int64(len(body)) > h.MaxBodyBytes {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	}
	x := &exchange{enroller: h.Enroller, w: w, r: r, body: body, done: make(chan struct{})}
	h.Serve(x)
	select {
	case <-x.done:
	case <-r.Context().Done():
		x.abort()
		<-x.done
	}
	if x.hijacked {
		return
	}
	hd := w.Header()
	for k, v := range x.header {
		hd[k] = v
	}
	hd.Set("Content-Length", strconv.Itoa(len(x.respBody)))
	w.WriteHeader(x.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(x.respBody)
	}
}

// exchange adapts a net/http request to eio.Exchange.
type exchange struct {
	enroller func() (*loop.Enroller, error)
	w        http.ResponseWriter
	r        *http.Request
	body     []byte

	queryOnce sync.Once
	query     url.Values // r.URL.Query(), parsed on first use

	mu       sync.Mutex
	done     chan struct{} // closed once answered, upgraded or aborted
	finished bool          // guarded by mu
	onAbort  func()        // guarded by mu
	hijacked bool          // set before done is closed
	status   int
	header   http.Header
	respBody []byte
}

// Method implements eio.Exchange.
func (x *exchange) Method() string { return x.r.Method }

// Path implements eio.Exchange.
func (x *exchange) Path() string { return x.r.URL.Path }

// Query implements eio.Exchange; the query is parsed once.
func (x *exchange) Query(key string) string {
	x.queryOnce.Do(func() { x.query = x.r.URL.Query() })
	return x.query.Get(key)
}

// Header implements eio.Exchange.
func (x *exchange) Header(key string) string {
	vs := x.r.Header.Values(key)
	if len(vs) == 1 {
		return vs[0]
	}
	return strings.Join(vs, ", ")
}

// RemoteAddr implements eio.Exchange.
func (x *exchange) RemoteAddr() string { return x.r.RemoteAddr }

// Request implements eio.Exchange: net/http's own request.
func (x *exchange) Request() *http.Request { return x.r }

// Body implements eio.Exchange.
func (x *exchange) Body() []byte { return x.body }

// Respond implements eio.Exchange: the answer is kept for ServeHTTP,
// which writes it on the request's goroutine; only the first counts.
func (x *exchange) Respond(status int, header http.Header, body []byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.finished {
		return
	}
	x.finished = true
	x.onAbort = nil
	x.status, x.header = status, header.Clone()
	x.respBody = append([]byte(nil), body...)
	close(x.done)
}

// OnAbort implements eio.Exchange: f runs if the client goes away before
// the exchange is answered.
func (x *exchange) OnAbort(f func()) {
	x.mu.Lock()
	if !x.finished {
		x.onAbort = f
	}
	x.mu.Unlock()
}

// abort ends an exchange whose client went away, and runs its OnAbort
// func after releasing mu.
func (x *exchange) abort() {
	x.mu.Lock()
	if x.finished {
		x.mu.Unlock()
		return
	}
	x.finished = true
	f := x.onAbort
	x.onAbort = nil
	x.status = http.StatusBadRequest
	close(x.done)
	x.mu.Unlock()
	if f != nil {
		f()
	}
}

// Upgrade implements eio.Exchange: it hijacks the connection from
// net/http, writes the 101 and hands the connection to the event loops,
// through a crypto/tls bridge when it came over TLS.
func (x *exchange) Upgrade(header http.Header, h eio.FrameHandler) (eio.WSConn, error) {
	en, err := x.enroller()
	if err != nil {
		return nil, err
	}
	key, err := checkUpgrade(x.r)
	if err != nil {
		return nil, err
	}
	rc := http.NewResponseController(x.w)
	nc, brw, err := rc.Hijack()
	if err != nil {
		return nil, err
	}
	ext := en.Negotiate(x.Header("Sec-WebSocket-Extensions"))
	resp := appendUpgradeResponse(nil, key, header, ext.Header())
	if _, err := nc.Write(resp); err != nil {
		nc.Close()
		return nil, err
	}
	var c eio.WSConn
	if x.r.TLS != nil {
		// gnet cannot adopt a *tls.Conn: crypto/tls runs on two
		// goroutines that bridge it to the loop (loop.EnrollBridged).
		c, err = en.EnrollBridgedWith(nc, brw.Reader, h, ext)
	} else {
		c, err = en.EnrollWith(nc, brw.Reader, h, ext)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	x.mu.Lock()
	x.finished = true
	x.hijacked = true
	close(x.done)
	x.mu.Unlock()
	return c, nil
}

// checkUpgrade validates r as a WebSocket handshake and returns its key.
func checkUpgrade(r *http.Request) (string, error) {
	return wsframe.CheckHandshake(r.Method, func(name string) string {
		return strings.Join(r.Header.Values(name), ", ")
	})
}

// appendUpgradeResponse writes the 101 for key with header and, unless it
// is "", the extension line ext.
func appendUpgradeResponse(dst []byte, key string, header http.Header, ext string) []byte {
	var extra []string
	if ext != "" {
		extra = append(extra, ext)
	}
	for k, vs := range header {
		for _, v := range vs {
			extra = append(extra, k+": "+v)
		}
	}
	return wsframe.AppendUpgradeResponse(dst, key, extra...)
}
