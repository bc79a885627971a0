package loop_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"github.com/sioloop/sioloop/internal/testutil"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

// wait bounds every "eventually" check; generous for a busy machine.
const wait = 10 * time.Second

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, wait, what, cond)
}

// serve runs a loop.Server for cfg (Addr chosen here) until the test ends.
func serve(t testing.TB, cfg loop.Config) (*loop.Server, string) {
	t.Helper()
	if cfg.Loops == 0 {
		cfg.Loops = 1
	}
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Addr = l.Addr().String()
		l.Close()
		s := loop.NewServer(cfg)
		done := make(chan error, 1)
		go func() { done <- s.Serve() }()
		select {
		case <-s.Ready():
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				_ = s.Stop(ctx)
				if err := <-done; !errors.Is(err, loop.ErrServerClosed) {
					t.Errorf("Serve returned %v, want ErrServerClosed", err)
				}
			})
			return s, cfg.Addr
		case err := <-done:
			if attempt == 3 {
				t.Fatalf("Serve: %v", err)
			}
		case <-time.After(wait):
			t.Fatal("server never became ready")
		}
	}
}

// client is a raw TCP connection with a buffered reader.
type client struct {
	conn net.Conn
	br   *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{conn: conn, br: bufio.NewReader(conn)}
}

func (c *client) write(t testing.TB, s string) {
	t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c.conn, s); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// response reads one HTTP response.
func (c *client) response(t testing.TB) (*http.Response, string) {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp, string(b)
}

// expectEOF requires the server to close the connection within d, with no
// more bytes.
func (c *client) expectEOF(t testing.TB, d time.Duration) {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	b, err := c.br.ReadByte()
	if err == nil {
		rest, _ := c.br.Peek(c.br.Buffered())
		t.Fatalf("got %q, want the connection closed", append([]byte{b}, rest...))
	}
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("got %v, want EOF", err)
	}
}

// echoHandler answers every request with its method, target and body.
func echoHandler(x eio.Exchange) {
	r := x.Request()
	x.Respond(200, http.Header{"Content-Type": {"text/plain"}}, []byte(r.Method+" "+r.URL.RequestURI()+" "+string(x.Body())))
}

func TestKeepAliveAndPipelining(t *testing.T) {
	srv, addr := serve(t, loop.Config{Handler: echoHandler})
	c := dial(t, addr)
	c.write(t, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := c.response(t); resp.StatusCode != 200 || body != "GET /a " {
		t.Fatalf("first: %d %q", resp.StatusCode, body)
	}
	// Three pipelined requests in one write are answered in order.
	c.write(t, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"+
		"GET /c?q=1 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	for _, want := range []string{"POST /b abc", "GET /c?q=1 ", "POST /d "} {
		if resp, body := c.response(t); resp.StatusCode != 200 || body != want {
			t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, want)
		}
	}
	if n := srv.Connections(); n != 1 {
		t.Fatalf("Connections() = %d, want 1", n)
	}
	c.conn.Close()
	eventually(t, "connection count 0", func() bool { return srv.Connections() == 0 })
}

// Every request split at every byte position parses the same: the server
// reads the first piece before the second is written, so the two cannot
// arrive in one read.
func TestRequestSplitEverywhere(t *testing.T) {
	_, addr := serve(t, loop.Config{Handler: echoHandler})
	req := "POST /split?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
	for i := 1; i < len(req); i++ {
		c := dial(t, addr)
		peer := serverSide(t, c.conn)
		c.write(t, req[:i])
		peer.waitRead(t, uint64(i))
		c.write(t, req[i:])
		if resp, body := c.response(t); resp.StatusCode != 200 || body != "POST /split?x=1 hello" {
			t.Fatalf("split at %d: %d %q", i, resp.StatusCode, body)
		}
		c.conn.Close()
	}
}

func TestAsyncRespondHoldsPipeline(t *testing.T) {
	_, addr := serve(t, loop.Config{Handler: func(x eio.Exchange) {
		if x.Request().URL.Path == "/slow" {
			go func() {
				time.Sleep(50 * time.Millisecond)
				x.Respond(200, nil, []byte("slow"))
			}()
			return
		}
		x.Respond(200, nil, []byte("fast"))
	}})
	c := dial(t, addr)
	c.write(t, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []string{"slow", "fast"} {
		if _, body := c.response(t); body != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
}

func TestRespondTwiceIgnored(t *testing.T) {
	_, addr := serve(t, loop.Config{Handler: func(x eio.Exchange) {
		x.Respond(200, nil, []byte("one"))
		x.Respond(500, nil, []byte("two"))
	}})
	c := dial(t, addr)
	c.write(t, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
	for i := 0; i < 2; i++ {
		if resp, body := c.response(t); resp.StatusCode != 200 || body != "one" {
			t.Fatalf("response %d: %d %q", i, resp.StatusCode, body)
		}
	}
}

func TestRefusedRequests(t *testing.T) {
	_, addr := serve(t, loop.Config{Handler: echoHandler, MaxBodyBytes: 100})
	for _, tc := range []struct {
		name   string
		req    string
		status int
	}{
		{name: "A11 header block over 8 KiB", req: "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", status: 431},
		{name: "A13 garbage request line", req: "\x16\x03\x01\x02\x00 nonsense\r\n\r\n", status: 400},
		{name: "A13 no version", req: "GET /\r\n\r\n", status: 400},
		{name: "B3 body over MaxBodyBytes", req: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", status: 413},
		{name: "chunked body", req: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", status: 501},
		{name: "bad Content-Length", req: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", status: 400},
		{name: "HTTP/2 preface", req: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status: 505},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			c.write(t, tc.req)
			resp, _ := c.response(t)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			c.expectEOF(t, wait)
		})
	}
	// The server still answers.
	c := dial(t, addr)
	c.write(t, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := c.response(t); resp.StatusCode != 200 {
		t.Fatalf("after the refusals: %d", resp.StatusCode)
	}
}

// A15/B4: a client that never completes its request is dropped at
// IdleTimeout, and a well-behaved client is served meanwhile.
//
// Each start is taken before the action that makes the server start its
// idle clock (the dial, the request before the response), never after it:
// the server's clock can then only have started later, so a server that
// keeps its deadline is never measured as early, however late the client
// goroutine runs on a busy machine.
func TestIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	srv, addr := serve(t, loop.Config{Handler: echoHandler, IdleTimeout: idle})
	for _, partial := range []string{
		"",                          // connect, send nothing
		"GET / HTTP/1.1\r\nHost: x", // head trickling in
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", // body short of its length
	} {
		start := time.Now() // before the dial: the server opens the conn later
		slow := dial(t, addr)
		if partial != "" {
			slow.write(t, partial)
		}
		good := dial(t, addr)
		good.write(t, "GET /good HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, body := good.response(t); body != "GET /good " {
			t.Fatalf("well-behaved client got %q", body)
		}
		_ = slow.conn.SetReadDeadline(time.Now().Add(wait))
		_, err := slow.br.ReadByte()
		if err == nil {
			t.Fatalf("partial %q: the server wrote to a client whose request is incomplete", partial)
		}
		if el := time.Since(start); el < idle || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout") {
			t.Fatalf("partial %q: connection ended after %v with %v, want EOF after %v", partial, el, err, idle)
		}
		good.conn.Close()
	}
	// A keep-alive connection idle after a response is dropped too.
	c := dial(t, addr)
	start := time.Now() // before the request: the server restarts its clock when it answers
	c.write(t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.response(t)
	c.expectEOF(t, wait)
	if el := time.Since(start); el < idle {
		t.Fatalf("idle keep-alive connection closed after %v, before IdleTimeout %v", el, idle)
	}
	eventually(t, "connection count 0", func() bool { return srv.Connections() == 0 })
}

// A request waiting for its answer is not idle, however long it waits (a
// parked long-polling GET).
func TestIdleTimeoutSparesPendingRequests(t *testing.T) {
	const idle = 200 * time.Millisecond
	_, addr := serve(t, loop.Config{IdleTimeout: idle, Handler: func(x eio.Exchange) {
		go func() {
			time.Sleep(3 * idle)
			x.Respond(200, nil, []byte("late"))
		}()
	}})
	c := dial(t, addr)
	c.write(t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := c.response(t); body != "late" {
		t.Fatalf("got %q", body)
	}
}

func TestOnAbortWhenClientLeaves(t *testing.T) {
	aborted, parked := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	_, addr := serve(t, loop.Config{Handler: func(x eio.Exchange) {
		x.OnAbort(func() {
			if calls.Add(1) == 1 {
				close(aborted)
			}
		})
		close(parked)
	}})
	c := dial(t, addr)
	c.write(t, "GET /park HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-parked: // the handler holds the request, OnAbort set
	case <-time.After(wait):
		t.Fatal("the request never reached the handler")
	}
	c.conn.Close()
	select {
	case <-aborted:
	case <-time.After(wait):
		t.Fatal("OnAbort never ran")
	}
	// A bounded negative check, not a synchronisation: no second call
	// within 20ms.
	time.Sleep(20 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("OnAbort ran %d times", n)
	}
}

// ---------------------------------------------------------------------------
// WebSocket.

// recorder is a FrameHandler that echoes text and records everything.
type recorder struct {
	mu      sync.Mutex
	msgs    []string
	closeCh chan error
	closes  atomic.Int32
	echo    bool
}

func newRecorder(echo bool) *recorder { return &recorder{closeCh: make(chan error, 4), echo: echo} }

func (r *recorder) OnMessage(c eio.WSConn, binary bool, p []byte) {
	m := string(p)
	if binary {
		m = "b:" + m
	}
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	if r.echo {
		c.WriteMessage(binary, p)
	}
}

func (r *recorder) OnClose(c eio.WSConn, err error) {
	r.closes.Add(1)
	r.closeCh <- err
}

func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// closed returns the OnClose error, requiring exactly one call.
func (r *recorder) closed(t testing.TB) error {
	t.Helper()
	select {
	case err := <-r.closeCh:
		// A bounded negative check, not a synchronisation: no second
		// OnClose within 20ms.
		time.Sleep(20 * time.Millisecond)
		if n := r.closes.Load(); n != 1 {
			t.Fatalf("OnClose ran %d times", n)
		}
		return err
	case <-time.After(wait):
		t.Fatal("OnClose never ran")
		return nil
	}
}

// accepted is the server side of one upgraded connection.
type accepted struct {
	conn eio.WSConn
	rec  *recorder
}

// wsServer upgrades every request with a fresh recorder (echoing when
// echo is set) and hands each connection to the returned channel.
func wsServer(t testing.TB, cfg loop.Config, echo bool) (*loop.Server, string, chan accepted) {
	conns := make(chan accepted, 16)
	cfg.Handler = func(x eio.Exchange) {
		rec := newRecorder(echo)
		c, err := x.Upgrade(http.Header{"X-Test": {"yes"}}, rec)
		if err != nil {
			x.Respond(400, nil, []byte(err.Error()))
			return
		}
		conns <- accepted{c, rec}
	}
	srv, addr := serve(t, cfg)
	return srv, addr, conns
}

const upgradeReq = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// upgrade performs the opening handshake on a raw connection.
func upgrade(t testing.TB, addr string) *client {
	t.Helper()
	c := dial(t, addr)
	c.write(t, upgradeReq)
	resp, _ := c.response(t)
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" || resp.Header.Get("X-Test") != "yes" {
		t.Fatalf("upgrade: %d %v", resp.StatusCode, resp.Header)
	}
	return c
}

// frameBytes encodes one client frame (masked unless unmasked is set).
func frameBytes(fin bool, rsv byte, op ws.OpCode, p []byte, unmasked bool) []byte {
	f := ws.NewFrame(op, fin, append([]byte(nil), p...))
	f.Header.Rsv = rsv
	if !unmasked {
		f = ws.MaskFrameInPlace(f)
	}
	var b bytes.Buffer
	_ = ws.WriteFrame(&b, f)
	return b.Bytes()
}

// readFrame reads one server frame.
func (c *client) readFrame(t testing.TB) (ws.Header, []byte) {
	t.Helper()
	return c.readFrameWithin(t, wait)
}

// readFrameWithin is readFrame waiting up to d for the frame.
func (c *client) readFrameWithin(t testing.TB, d time.Duration) (ws.Header, []byte) {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	h, err := ws.ReadHeader(c.br)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	if h.Masked {
		t.Fatal("server frame is masked")
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.br, p); err != nil {
		t.Fatalf("read payload: %v", err)
	}
	return h, p
}

// expectCloseFrame requires a close frame with code (-1: no code), then EOF.
func (c *client) expectCloseFrame(t testing.TB, code int) {
	t.Helper()
	h, p := c.readFrame(t)
	got := -1
	if len(p) >= 2 {
		got = int(p[0])<<8 | int(p[1])
	}
	if h.OpCode != ws.OpClose || got != code {
		t.Fatalf("got %v frame %q (code %d), want close %d", h.OpCode, p, got, code)
	}
	c.expectEOF(t, wait)
}

func TestWebSocketEcho(t *testing.T) {
	srv, addr, conns := wsServer(t, loop.Config{}, true)
	c := upgrade(t, addr)
	a := <-conns
	sc, rec := a.conn, a.rec
	// One write holding several frames, one of them fragmented, plus a
	// ping between the fragments (control frames may interleave).
	var b []byte
	b = append(b, frameBytes(true, 0, ws.OpText, []byte("hello"), false)...)
	b = append(b, frameBytes(false, 0, ws.OpText, []byte("frag"), false)...)
	b = append(b, frameBytes(true, 0, ws.OpPing, []byte("p"), false)...)
	b = append(b, frameBytes(true, 0, ws.OpContinuation, []byte("mented"), false)...)
	b = append(b, frameBytes(true, 0, ws.OpBinary, []byte{0, 1, 2}, false)...)
	c.write(t, string(b))
	for _, want := range []struct {
		op ws.OpCode
		p  string
	}{{ws.OpText, "hello"}, {ws.OpPong, "p"}, {ws.OpText, "fragmented"}, {ws.OpBinary, "\x00\x01\x02"}} {
		h, p := c.readFrame(t)
		if h.OpCode != want.op || string(p) != want.p || !h.Fin {
			t.Fatalf("got %v fin=%v %q, want %v %q", h.OpCode, h.Fin, p, want.op, want.p)
		}
	}
	if got := rec.messages(); strings.Join(got, "|") != "hello|fragmented|b:\x00\x01\x02" {
		t.Fatalf("handler saw %q", got)
	}
	if sc.Group() != 0 || !strings.HasPrefix(sc.RemoteAddr(), "127.0.0.1:") {
		t.Fatalf("Group %d RemoteAddr %q", sc.Group(), sc.RemoteAddr())
	}
	// D12: close 1000 is echoed, then the server hangs up; a clean close.
	c.write(t, string(frameBytes(true, 0, ws.OpClose, ws.NewCloseFrameBody(1000, "bye"), false)))
	c.expectCloseFrame(t, 1000)
	if err := rec.closed(t); err != nil {
		t.Fatalf("OnClose(%v), want nil for a clean close", err)
	}
	eventually(t, "connection count 0", func() bool { return srv.Connections() == 0 })
}

// A connection keeps its frame decoder only while a fragmented message is
// under way: fragments that arrive in separate reads (each written once the
// server has read the one before), with a character split between them and
// a ping in the middle, still make one message, and the messages after it
// decode as usual.
func TestWebSocketFragmentsAcrossReads(t *testing.T) {
	_, addr, conns := wsServer(t, loop.Config{}, false)
	c := upgrade(t, addr)
	rec := (<-conns).rec
	peer := serverSide(t, c.conn)
	sent := peer.received(t) // the upgrade request, answered
	for _, part := range [][]byte{
		frameBytes(true, 0, ws.OpText, []byte("before"), false),
		frameBytes(false, 0, ws.OpText, []byte("caf\xc3"), false),
		frameBytes(true, 0, ws.OpPing, []byte("p"), false),
		frameBytes(false, 0, ws.OpContinuation, []byte("\xa9 "), false),
		frameBytes(true, 0, ws.OpContinuation, []byte("au lait"), false),
		frameBytes(true, 0, ws.OpText, []byte("after"), false),
	} {
		c.write(t, string(part))
		sent += uint64(len(part))
		peer.waitRead(t, sent) // one read (or more) each
	}
	eventually(t, "three messages", func() bool { return len(rec.messages()) == 3 })
	if got := strings.Join(rec.messages(), "|"); got != "before|caf\u00e9 au lait|after" {
		t.Fatalf("handler saw %q", got)
	}
}

// I5: a frame whose 14-byte header (64-bit length, mask) arrives one byte
// per read (each written once the server has read the one before) is
// parsed correctly.
func TestWebSocketHeaderTrickle(t *testing.T) {
	_, addr, conns := wsServer(t, loop.Config{}, false)
	c := upgrade(t, addr)
	rec := (<-conns).rec
	peer := serverSide(t, c.conn)
	sent := peer.received(t) // the upgrade request, answered
	payload := bytes.Repeat([]byte("z"), 70000)
	fb := frameBytes(true, 0, ws.OpText, payload, false)
	if hl := len(fb) - len(payload); hl != 14 {
		t.Fatalf("header is %d bytes, want 14", hl)
	}
	for i := 0; i < 14; i++ {
		c.write(t, string(fb[i:i+1]))
		sent++
		peer.waitRead(t, sent)
	}
	c.write(t, string(fb[14:]))
	eventually(t, "the message", func() bool { return len(rec.messages()) == 1 })
	if got := rec.messages()[0]; got != string(payload) {
		t.Fatalf("got %d bytes, want %d", len(got), len(payload))
	}
}

func TestWebSocketProtocolErrors(t *testing.T) {
	srv, addr, conns := wsServer(t, loop.Config{MaxMessageBytes: 1000}, true)
	for _, tc := range []struct {
		name  string
		frame []byte
		code  int
	}{
		{name: "D1 unmasked frame", frame: frameBytes(true, 0, ws.OpText, []byte("x"), true), code: 1002},
		{name: "D2 RSV1 without deflate", frame: frameBytes(true, ws.Rsv(true, false, false), ws.OpText, []byte("x"), false), code: 1002},
		{name: "D2 RSV3", frame: frameBytes(true, ws.Rsv(false, false, true), ws.OpText, []byte("x"), false), code: 1002},
		{name: "D3 reserved opcode 3", frame: frameBytes(true, 0, ws.OpCode(3), []byte("x"), false), code: 1002},
		{name: "D3 reserved opcode 0xB", frame: frameBytes(true, 0, ws.OpCode(0xB), nil, false), code: 1002},
		{name: "D4 fragmented ping", frame: frameBytes(false, 0, ws.OpPing, []byte("x"), false), code: 1002},
		{name: "D4 ping of 126 bytes", frame: frameBytes(true, 0, ws.OpPing, bytes.Repeat([]byte("x"), 126), false), code: 1002},
		{name: "D5 continuation with no start", frame: frameBytes(true, 0, ws.OpContinuation, []byte("x"), false), code: 1002},
		{name: "D6 invalid UTF-8", frame: frameBytes(true, 0, ws.OpText, []byte{0xff, 0xfe}, false), code: 1007},
		{name: "D7 message over MaxMessageBytes", frame: frameBytes(true, 0, ws.OpBinary, make([]byte, 1001), false), code: 1009},
		{name: "D8 64-bit length with the MSB set", frame: []byte{0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}, code: 1009},
		{name: "D9 declared 1 GiB", frame: []byte{0x82, 0xff, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4}, code: 1009},
		{name: "D11 close code 1005", frame: frameBytes(true, 0, ws.OpClose, []byte{0x03, 0xed}, false), code: 1002},
		{name: "D11 1-byte close payload", frame: frameBytes(true, 0, ws.OpClose, []byte{0x03}, false), code: 1002},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := upgrade(t, addr)
			bad := <-conns
			// A good client on the same loop.
			good := upgrade(t, addr)
			<-conns
			c.write(t, string(tc.frame))
			c.expectCloseFrame(t, tc.code)
			if err := bad.rec.closed(t); err == nil {
				t.Fatal("OnClose(nil), want the protocol error")
			}
			good.write(t, string(frameBytes(true, 0, ws.OpText, []byte("still"), false)))
			if h, p := good.readFrame(t); h.OpCode != ws.OpText || string(p) != "still" {
				t.Fatalf("good client got %v %q", h.OpCode, p)
			}
			good.conn.Close()
			eventually(t, "connection count 0", func() bool { return srv.Connections() == 0 })
		})
	}
}

func TestWebSocketServerClose(t *testing.T) {
	for _, code := range []int{0, 1001} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			_, addr, conns := wsServer(t, loop.Config{}, false)
			c := upgrade(t, addr)
			a := <-conns
			sc, rec := a.conn, a.rec
			sc.WriteMessage(false, []byte("first"))
			sc.Close(code)
			sc.Close(code) // idempotent
			sc.WriteMessage(false, []byte("after close"))
			if h, p := c.readFrame(t); h.OpCode != ws.OpText || string(p) != "first" {
				t.Fatalf("got %v %q", h.OpCode, p)
			}
			want := code
			if code == 0 {
				want = -1
			}
			c.expectCloseFrame(t, want)
			if err := rec.closed(t); err != nil {
				t.Fatalf("OnClose(%v) after a server close", err)
			}
		})
	}
}

// Writes from many goroutines arrive whole and, per goroutine, in order.
func TestWebSocketConcurrentWrites(t *testing.T) {
	_, addr, conns := wsServer(t, loop.Config{}, false)
	c := upgrade(t, addr)
	sc := (<-conns).conn
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				sc.WriteMessage(false, []byte(strconv.Itoa(w)+":"+strconv.Itoa(i)))
			}
		}()
	}
	next := make([]int, writers)
	for n := 0; n < writers*each; n++ {
		h, p := c.readFrame(t)
		if h.OpCode != ws.OpText {
			t.Fatalf("frame %v", h.OpCode)
		}
		wstr, istr, _ := strings.Cut(string(p), ":")
		w, _ := strconv.Atoi(wstr)
		i, _ := strconv.Atoi(istr)
		if w < 0 || w >= writers || i != next[w] {
			t.Fatalf("message %q out of order (want %d:%d)", p, w, next[w])
		}
		next[w]++
	}
	wg.Wait()
}

// H4: a client that stops reading is cut off once MaxOutboundBytes are
// queued, with ErrSlowConsumer; the others are not.
func TestSlowConsumer(t *testing.T) {
	_, addr, conns := wsServer(t, loop.Config{MaxOutboundBytes: 256 << 10}, false)
	slow := upgrade(t, addr)
	a := <-conns
	sc, rec := a.conn, a.rec
	good := upgrade(t, addr)
	gc := (<-conns).conn
	chunk := bytes.Repeat([]byte("s"), 32<<10)
	var cause error
	deadline := time.Now().Add(wait)
	for sent := 0; ; sent++ {
		sc.WriteMessage(true, chunk)
		select {
		case cause = <-rec.closeCh:
		default:
		}
		if cause != nil {
			break
		}
		if time.Now().After(deadline) || sent > 100000 {
			t.Fatalf("never cut off after %d MiB", sent*len(chunk)>>20)
		}
		if sent%64 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if !errors.Is(cause, loop.ErrSlowConsumer) {
		t.Fatalf("OnClose(%v), want ErrSlowConsumer", cause)
	}
	gc.WriteMessage(false, []byte("fine"))
	if h, p := good.readFrame(t); h.OpCode != ws.OpText || string(p) != "fine" {
		t.Fatalf("good client got %v %q", h.OpCode, p)
	}
	_ = slow
}

// blockingOp is an op of a given cost that runs until released.
type blockingOp struct {
	cost    int
	started chan struct{}
	release chan struct{}
}

func (o *blockingOp) Run()      { close(o.started); <-o.release }
func (o *blockingOp) Cost() int { return o.cost }

// TestBacklogWait checks the overload bound: a loop with more than
// DefaultMaxBacklog units queued is Overloaded, and WaitBacklog returns
// only once the loop has worked it off.
func TestBacklogWait(t *testing.T) {
	s, addr := serve(t, loop.Config{Handler: echoHandler})
	c := dial(t, addr)
	c.write(t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.response(t) // the connection has made loop 0
	l := s.Loop(0)
	if l == nil {
		t.Fatal("no loop 0")
	}
	op := &blockingOp{cost: loop.DefaultMaxBacklog + 1, started: make(chan struct{}), release: make(chan struct{})}
	var once sync.Once
	release := func() { once.Do(func() { close(op.release) }) }
	t.Cleanup(release) // a failed check must not leave the loop held
	l.Defer(op)
	<-op.started
	// Other ops of the connection (resuming its parsing after the
	// response) may be queued too: at least the held op's cost is.
	if !l.Overloaded() || l.Backlog() < loop.DefaultMaxBacklog+1 {
		t.Fatalf("Overloaded() = %v with a backlog of %d", l.Overloaded(), l.Backlog())
	}
	done := make(chan bool, 1)
	go func() { done <- l.WaitBacklog(wait) }()
	select {
	case ok := <-done:
		t.Fatalf("WaitBacklog returned %v while the loop was still busy", ok)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if ok := <-done; !ok {
		t.Fatal("WaitBacklog timed out after the backlog was run")
	}
	if l.Overloaded() || l.Backlog() != 0 {
		t.Fatalf("after the run: Overloaded() = %v, backlog %d", l.Overloaded(), l.Backlog())
	}
	if !l.WaitBacklog(time.Nanosecond) {
		t.Fatal("WaitBacklog on an idle loop did not return at once")
	}
}

// TestServeAddrInUse: a second server on a port in use fails (each loop
// listens with SO_REUSEPORT, which would otherwise let it share the port).
func TestServeAddrInUse(t *testing.T) {
	_, addr := serve(t, loop.Config{Handler: echoHandler})
	s := loop.NewServer(loop.Config{Addr: addr, Handler: echoHandler})
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("Serve on a port in use returned %v", err)
		}
	case <-s.Ready():
		_ = s.Stop(context.Background())
		t.Fatal("a second server listened on a port in use")
	case <-time.After(wait):
		t.Fatal("Serve neither failed nor listened")
	}
}

// funcCostOp is an op of a given cost running f.
type funcCostOp struct {
	cost int
	f    func()
}

func (o funcCostOp) Run()      { o.f() }
func (o funcCostOp) Cost() int { return o.cost }

// TestLongRoundWritesAsItGoes: ops queued together run in one round, and a
// round whose ops make many recipient visits writes what they produced as
// it goes. Here the second op waits until the client has received what the
// first one wrote: it would wait for good if writes left only at the end of
// the round (the 4-second stalls of deliveries under overload).
func TestLongRoundWritesAsItGoes(t *testing.T) {
	s, addr, conns := wsServer(t, loop.Config{}, false)
	c := upgrade(t, addr)
	sc := (<-conns).conn
	l := s.Loop(0)
	got := make(chan string, 1)
	go func() {
		_ = c.conn.SetReadDeadline(time.Now().Add(2 * wait))
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		p := make([]byte, h.Length)
		_, _ = io.ReadFull(c.br, p)
		got <- string(p)
	}()
	hold := &blockingOp{cost: 1, started: make(chan struct{}), release: make(chan struct{})}
	l.Defer(hold)
	<-hold.started
	l.Defer(funcCostOp{cost: 1 << 20, f: func() { sc.WriteMessage(false, []byte("first")) }})
	seen := make(chan string, 1)
	l.Defer(funcCostOp{cost: 1, f: func() {
		select {
		case p := <-got:
			seen <- p
		case <-time.After(wait):
			seen <- "nothing: the first op's write had not left"
		}
	}})
	close(hold.release)
	if p := <-seen; p != "first" {
		t.Fatalf("the second op saw %s", p)
	}
}
