package eio_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/eio"
)

// overlapDetector is an OnMessage that records the messages and whether
// two calls ever ran at once.
type overlapDetector struct {
	active  atomic.Int32
	overlap atomic.Bool
	mu      sync.Mutex
	got     []string
	// block, when set, is called inside the call for that message.
	block map[string]func()
}

func (d *overlapDetector) onMessage(data []byte, binary bool) {
	if d.active.Add(1) > 1 {
		d.overlap.Store(true)
	}
	defer d.active.Add(-1)
	m := string(data)
	d.mu.Lock()
	d.got = append(d.got, m)
	f := d.block[m]
	d.mu.Unlock()
	if f != nil {
		f()
	}
}

func (d *overlapDetector) messages() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.got...)
}

// fakeWS is a WSConn whose client side the test drives: writes are
// recorded, and onWrite runs for each (without the session's lock held by
// the caller being released, so it must not call into the session).
type fakeWS struct {
	mu      sync.Mutex
	written []string
	onWrite func(p []byte)
	closed  atomic.Bool
}

func (c *fakeWS) WriteMessage(binary bool, p []byte) {
	c.mu.Lock()
	c.written = append(c.written, string(p))
	f := c.onWrite
	c.mu.Unlock()
	if f != nil {
		f(p)
	}
}
func (c *fakeWS) WriteFrames(b []byte) {}
func (c *fakeWS) Close(code int)       { c.closed.Store(true) }
func (c *fakeWS) Buffered() int        { return 0 }
func (c *fakeWS) Group() int           { return 0 }
func (c *fakeWS) RemoteAddr() string   { return "127.0.0.1:1" }

// fakeExchange is a request handed to the engine by a provider the test
// drives. Its WebSocket is read on another goroutine than the one that
// runs Handle, as sio.ServeHTTP's is once handed to an event loop, or as
// two connections are on two event loops: the test delivers the frames.
type fakeExchange struct {
	req  *http.Request
	body []byte
	conn *fakeWS
	h    eio.FrameHandler
	resp chan string // "status body", once
}

func newExchange(t testing.TB, method, query, body string) *fakeExchange {
	t.Helper()
	r, err := http.NewRequest(method, "http://x/engine.io/?EIO=4&"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.RemoteAddr = "127.0.0.1:1"
	if strings.Contains(query, "transport=websocket") {
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Upgrade", "websocket")
	}
	return &fakeExchange{req: r, body: []byte(body), conn: &fakeWS{}, resp: make(chan string, 1)}
}

func (x *fakeExchange) Method() string         { return x.req.Method }
func (x *fakeExchange) Path() string           { return x.req.URL.Path }
func (x *fakeExchange) Query(k string) string  { return x.req.URL.Query().Get(k) }
func (x *fakeExchange) Header(k string) string { return x.req.Header.Get(k) }
func (x *fakeExchange) RemoteAddr() string     { return x.req.RemoteAddr }
func (x *fakeExchange) Request() *http.Request { return x.req }
func (x *fakeExchange) Body() []byte           { return x.body }
func (x *fakeExchange) OnAbort(func())         {}
func (x *fakeExchange) Respond(status int, _ http.Header, body []byte) {
	x.resp <- strconv.Itoa(status) + " " + string(body)
}
func (x *fakeExchange) Upgrade(_ http.Header, h eio.FrameHandler) (eio.WSConn, error) {
	x.h = h
	if o, ok := h.(eio.FrameOpener); ok {
		o.OnOpen(x.conn)
	}
	return x.conn, nil
}

// frame delivers a text frame from the client.
func (x *fakeExchange) frame(text string) { x.h.OnMessage(x.conn, false, []byte(text)) }

// response waits for the answer to x.
func (x *fakeExchange) response(t testing.TB) string {
	t.Helper()
	select {
	case r := <-x.resp:
		return r
	case <-time.After(wait):
		t.Fatal("no response")
		return ""
	}
}

// Hole 4: a client completes the upgrade while the server still delivers
// the packets of its POST, and sends on the WebSocket. The WebSocket's
// message waits for the POST's packets: OnMessage never runs twice at
// once, and the order is the POST's packets, then the WebSocket's.
func TestUpgradeDuringPostDoesNotOverlap(t *testing.T) {
	entered := make(chan struct{})
	gate := make(chan struct{})
	openGate := sync.OnceFunc(func() { close(gate) })
	d := &overlapDetector{block: map[string]func(){
		"a": func() { close(entered); <-gate },
		// On the old code "c" runs while "a" is blocked: let "a" go on.
		"c": openGate,
	}}
	srv := eio.NewServer(quietPing)
	t.Cleanup(srv.Close)
	srv.OnConnection(func(s *eio.Session) { s.OnMessage(d.onMessage) })
	hs := newExchange(t, "GET", "transport=polling", "")
	srv.Handle(hs)
	m := openRE.FindStringSubmatch(strings.TrimPrefix(hs.response(t), "200 "))
	if m == nil {
		t.Fatal("no open packet")
	}
	sid := m[1]
	ws := newExchange(t, "GET", "transport=websocket&sid="+sid, "")
	srv.Handle(ws)
	ws.frame("2probe")
	get := newExchange(t, "GET", "transport=polling&sid="+sid, "")
	srv.Handle(get)
	if r := get.response(t); r != "200 6" {
		t.Fatalf("GET during the probe: %q", r)
	}

	post := newExchange(t, "POST", "transport=polling&sid="+sid, "4a\x1e4b")
	go srv.Handle(post)
	<-entered
	ws.frame("5")
	if tr := srv.Session(sid).Transport(); tr != eio.WebSocket {
		t.Fatalf("transport %q after the upgrade packet", tr)
	}
	ws.frame("4c") // returns once "c" is delivered or held
	if d.overlap.Load() {
		t.Fatal("OnMessage ran for the WebSocket while the POST's packet was delivered")
	}
	if n := eio.HeldFrames(srv.Session(sid)); n != 1 {
		t.Fatalf("%d frames held, want 1", n)
	}
	openGate()
	if r := post.response(t); r != "200 ok" {
		t.Fatalf("POST: %q", r)
	}
	eventually(t, "the three messages", func() bool { return len(d.messages()) == 3 })
	if got := strings.Join(d.messages(), ","); got != "a,b,c" {
		t.Fatalf("messages %s, want a,b,c", got)
	}
	if d.overlap.Load() {
		t.Fatal("OnMessage calls overlapped")
	}
	if n := eio.HeldFrames(srv.Session(sid)); n != 0 {
		t.Fatalf("%d frames still held", n)
	}
}

// net/http mode: the client's CONNECT may be read (on the event loop) as
// soon as the open packet was written, before OnConnection has set the
// session's handler. It reaches the handler all the same.
func TestEarlyMessageBeforeHandlerIsKept(t *testing.T) {
	srv := eio.NewServer(quietPing)
	t.Cleanup(srv.Close)
	x := newExchange(t, "GET", "transport=websocket", "")
	read := make(chan struct{})
	x.conn.onWrite = func(p []byte) {
		if p[0] != '0' {
			return
		}
		// The client answers the open packet at once; its frame is read
		// on another goroutine.
		go func() {
			x.h.OnMessage(x.conn, false, []byte("40"))
			close(read)
		}()
	}
	d := &overlapDetector{}
	srv.OnConnection(func(s *eio.Session) {
		select {
		case <-read:
		case <-time.After(wait):
			t.Error("the early frame was never read")
		}
		s.OnMessage(d.onMessage)
	})
	srv.Handle(x)
	if got := strings.Join(d.messages(), ","); got != "0" {
		t.Fatalf("messages %q, want the early \"0\" (CONNECT)", got)
	}
	// Later frames go straight through.
	x.h.OnMessage(x.conn, false, []byte("4next"))
	if got := strings.Join(d.messages(), ","); got != "0,next" {
		t.Fatalf("messages %q, want 0,next", got)
	}
}

// The frames held during the handshake are bounded by MaxPayload: a
// client that sends more before its handler is set is closed as a
// transport error, and nothing it sent is delivered.
func TestHeldFramesBound(t *testing.T) {
	cfg := quietPing
	cfg.MaxPayload = 100
	srv := eio.NewServer(cfg)
	t.Cleanup(srv.Close)
	x := newExchange(t, "GET", "transport=websocket", "")
	read := make(chan struct{})
	x.conn.onWrite = func(p []byte) {
		if p[0] != '0' {
			return
		}
		go func() {
			x.h.OnMessage(x.conn, false, []byte("4"+strings.Repeat("a", 60)))
			x.h.OnMessage(x.conn, false, []byte("4"+strings.Repeat("b", 60)))
			close(read)
		}()
	}
	d := &overlapDetector{}
	reasons := make(chan string, 1)
	srv.OnConnection(func(s *eio.Session) {
		<-read
		s.OnMessage(d.onMessage)
		s.OnClose(func(r string) { reasons <- r })
	})
	srv.Handle(x)
	select {
	case r := <-reasons:
		if r != eio.ReasonTransportError {
			t.Fatalf("reason %q, want %q", r, eio.ReasonTransportError)
		}
	case <-time.After(wait):
		t.Fatal("the session was not closed")
	}
	if !x.conn.closed.Load() {
		t.Fatal("the WebSocket was not closed")
	}
	if got := d.messages(); len(got) != 0 {
		t.Fatalf("delivered %d messages of a client past the bound", len(got))
	}
}

// A connection that ends before OnConnection has set the handler: the
// handler is told (OnClose), after the messages that came first.
func TestHeldCloseIsReported(t *testing.T) {
	srv := eio.NewServer(quietPing)
	t.Cleanup(srv.Close)
	x := newExchange(t, "GET", "transport=websocket", "")
	read := make(chan struct{})
	x.conn.onWrite = func(p []byte) {
		if p[0] != '0' {
			return
		}
		go func() {
			x.h.OnMessage(x.conn, false, []byte("4last"))
			x.h.OnClose(x.conn, nil)
			close(read)
		}()
	}
	var events []string // appended on the handshake's goroutine only
	srv.OnConnection(func(s *eio.Session) {
		<-read
		s.OnMessage(func(data []byte, _ bool) { events = append(events, string(data)) })
		s.OnClose(func(r string) { events = append(events, "close:"+r) })
	})
	srv.Handle(x)
	if got := strings.Join(events, ","); got != "last,close:"+eio.ReasonTransportClose {
		t.Fatalf("events %q, want the message then the close", got)
	}
	if srv.Count() != 0 {
		t.Fatal("session still registered")
	}
}
