package sio_test

// A raw Engine.IO v4 / Socket.IO v5 test client: net/http for long-polling,
// gobwas/ws for the WebSocket handshake and frames. It speaks the wire
// format byte for byte, so tests assert exactly what a peer sees, and it can
// send what no real client would (bad frames, bad packets, bad requests).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/sioloop/sioloop/internal/testutil"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/sioloop/sioloop/sio"
)

// wait bounds every "eventually" check. It is generous on purpose: the
// machine running the tests may be small and busy, and a correct server
// answers in milliseconds, so only a broken one ever waits this long.
const wait = 10 * time.Second

// openRE matches an Engine.IO open packet exactly: five keys, in the
// reference's order.
var openRE = regexp.MustCompile(`^0\{"sid":"([A-Za-z0-9_-]{20})","upgrades":(\[\]|\["websocket"\]),"pingInterval":(\d+),"pingTimeout":(\d+),"maxPayload":(\d+)\}$`)

// connectRE matches a Socket.IO CONNECT reply without recovery.
var connectRE = regexp.MustCompile(`^40(/[^,]*,)?\{"sid":"([A-Za-z0-9_-]{20})"\}$`)

// eventually polls cond until it holds or wait passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, wait, what, cond)
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t testing.TB) string { return testutil.FreeAddr(t) }

// testServer is a sio.Server serving on loopback through ListenAndServe,
// with every socket tracked: echo acks, an event log and disconnect reasons.
type testServer struct {
	*sio.Server
	t    testing.TB
	addr string
	hc   *http.Client

	mu      sync.Mutex
	reasons map[string]string   // socket id → disconnect reason
	events  map[string][]string // socket id → `name args...` of every event
	auth    map[string]string   // socket id → CONNECT auth payload
}

// startServer runs a server for cfg on a fresh port; setup may register
// more handlers before it listens. Every socket of "/" and "/admin" echoes
// "echo" events back in its ack (binary arguments included), logs every
// event and records its disconnect reason.
func startServer(t testing.TB, cfg sio.Config, setup func(*sio.Server)) *testServer {
	t.Helper()
	if cfg.Loops == 0 {
		// One loop: every client of a test shares it, so isolation checks
		// also prove the loop itself was not blocked.
		cfg.Loops = 1
	}
	ts := &testServer{
		Server:  sio.NewServer(cfg),
		t:       t,
		reasons: map[string]string{},
		events:  map[string][]string{},
		auth:    map[string]string{},
	}
	ts.hc = &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8}}
	track := func(s *sio.Socket) {
		ts.mu.Lock()
		ts.auth[s.ID()] = string(s.Handshake().Auth)
		ts.mu.Unlock()
		s.OnAny(func(ev *sio.Event) {
			line := ev.Name
			for i := 0; i < ev.Len(); i++ {
				if b, ok := ev.Binary(i); ok {
					line += fmt.Sprintf(" <bin %x>", b)
				} else {
					line += " " + string(ev.Arg(i))
				}
			}
			ts.mu.Lock()
			ts.events[s.ID()] = append(ts.events[s.ID()], line)
			ts.mu.Unlock()
		})
		s.On("echo", echo)
		s.OnDisconnect(func(reason string) {
			ts.mu.Lock()
			ts.reasons[s.ID()] = reason
			ts.mu.Unlock()
		})
	}
	ts.OnConnection(track)
	ts.Of("/admin").OnConnection(track)
	if setup != nil {
		setup(ts.Server)
	}
	ts.addr = serve(t, ts.Server, nil)
	t.Cleanup(func() { ts.hc.CloseIdleConnections() })
	return ts
}

// serve runs srv.ListenAndServe on a free port until the test ends.
func serve(t testing.TB, srv *sio.Server, fallback http.Handler) string {
	t.Helper()
	for attempt := 0; ; attempt++ {
		addr := freeAddr(t)
		done := make(chan error, 1)
		go func() { done <- srv.ListenAndServe(addr, fallback) }()
		select {
		case <-srv.Ready():
			t.Cleanup(func() {
				if err := srv.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				select {
				case <-done:
				case <-time.After(wait):
					t.Errorf("ListenAndServe did not return after Close")
				}
			})
			return addr
		case err := <-done:
			// Someone took the port between freeAddr and the bind.
			if attempt == 3 {
				t.Fatalf("ListenAndServe(%s): %v", addr, err)
			}
		case <-time.After(wait):
			t.Fatalf("server on %s never became ready", addr)
		}
	}
}

// echo acknowledges an event with its own arguments, bytes preserved.
func echo(ev *sio.Event) {
	args := make([]any, ev.Len())
	for i := range args {
		if b, ok := ev.Binary(i); ok {
			args[i] = b
		} else {
			args[i] = ev.Arg(i)
		}
	}
	_ = ev.Ack(args...)
}

// reason waits for the disconnect reason of socket id.
func (ts *testServer) reason(t testing.TB, id string) string {
	t.Helper()
	var r string
	eventually(t, "disconnect of socket "+id, func() bool {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		var ok bool
		r, ok = ts.reasons[id]
		return ok
	})
	return r
}

// hasReason reports whether socket id disconnected, and why.
func (ts *testServer) hasReason(id string) (string, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	r, ok := ts.reasons[id]
	return r, ok
}

// eventsOf returns the events logged for socket id so far.
func (ts *testServer) eventsOf(id string) []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.events[id]...)
}

// waitEvents waits until socket id logged n events and returns them.
func (ts *testServer) waitEvents(t testing.TB, id string, n int) []string {
	t.Helper()
	eventually(t, fmt.Sprintf("%d events on socket %s", n, id), func() bool { return len(ts.eventsOf(id)) >= n })
	return ts.eventsOf(id)
}

// waitSessions waits until the engine holds exactly n sessions.
func (ts *testServer) waitSessions(t testing.TB, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("session count %d (have %d)", n, ts.Engine().Count()), func() bool {
		return ts.Engine().Count() == n
	})
}

// url returns the Socket.IO endpoint URL with query q appended.
func (ts *testServer) url(scheme, q string) string {
	return scheme + "://" + ts.addr + "/socket.io/?" + q
}

// ---------------------------------------------------------------------------
// Long-polling.

// pollClient is one polling session driven through net/http.
type pollClient struct {
	ts  *testServer
	sid string
}

// httpDo runs one request and returns the status and the body.
func (ts *testServer) httpDo(t testing.TB, method, url string, body []byte, hdr http.Header) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body = nil
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if method == http.MethodPost && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := ts.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

// openPolling performs a polling handshake and checks the open packet.
func (ts *testServer) openPolling(t testing.TB) *pollClient {
	t.Helper()
	status, body := ts.httpDo(t, http.MethodGet, ts.url("http", "EIO=4&transport=polling"), nil, nil)
	if status != 200 {
		t.Fatalf("handshake: status %d, body %q", status, body)
	}
	m := openRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("handshake: body %q is not an open packet", body)
	}
	return ts.pollSession(t, m[1])
}

// pollSession returns the client of polling session sid and closes the
// session when the test ends, before the server closes: a session left
// between two polls would make Close wait eio.ShutdownGrace for it.
func (ts *testServer) pollSession(t testing.TB, sid string) *pollClient {
	p := &pollClient{ts: ts, sid: sid}
	t.Cleanup(p.closeQuietly)
	return p
}

// closeQuietly posts a close packet, whatever the session's state.
func (p *pollClient) closeQuietly() {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url(), strings.NewReader("1"))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	if resp, err := p.ts.hc.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func (p *pollClient) url() string {
	return p.ts.url("http", "EIO=4&transport=polling&sid="+p.sid)
}

// get runs one poll and returns status and body.
func (p *pollClient) get(t testing.TB) (int, string) {
	t.Helper()
	return p.ts.httpDo(t, http.MethodGet, p.url(), nil, nil)
}

// post sends one payload and returns status and body.
func (p *pollClient) post(t testing.TB, payload string) (int, string) {
	t.Helper()
	return p.ts.httpDo(t, http.MethodPost, p.url(), []byte(payload), nil)
}

// mustPost posts a payload and requires the reference's "ok".
func (p *pollClient) mustPost(t testing.TB, payload string) {
	t.Helper()
	if status, body := p.post(t, payload); status != 200 || body != "ok" {
		t.Fatalf("POST %q: %d %q, want 200 \"ok\"", payload, status, body)
	}
}

// connect joins the main namespace and returns the socket id.
func (p *pollClient) connect(t testing.TB) string {
	t.Helper()
	p.mustPost(t, "40")
	status, body := p.get(t)
	m := connectRE.FindStringSubmatch(body)
	if status != 200 || m == nil {
		t.Fatalf("GET after 40: %d %q, want 200 40{\"sid\":...}", status, body)
	}
	return m[2]
}

// ---------------------------------------------------------------------------
// WebSocket.

// wsClient is one raw WebSocket connection.
type wsClient struct {
	conn net.Conn
	rd   *bufio.Reader
	// autoPong answers Engine.IO pings ("2") with "3" while reading.
	autoPong bool
	wmu      sync.Mutex
}

// frame is one WebSocket frame as received.
type frame struct {
	op      ws.OpCode
	fin     bool
	payload []byte
}

// closeNoCode marks a close frame without a status code.
const closeNoCode = -1

// dialWS opens a WebSocket to url and fails the test on refusal.
func dialWS(t testing.TB, url string) *wsClient {
	t.Helper()
	c, err := tryDialWS(url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.conn.Close() })
	return c
}

func tryDialWS(url string) (*wsClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, br, _, err := ws.Dialer{}.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return &wsClient{conn: conn, rd: br}, nil
}

// writeFrame sends one masked frame built by hand (rsv bits, fin, opcode).
func (c *wsClient) writeFrame(t testing.TB, fin bool, rsv byte, op ws.OpCode, p []byte) {
	t.Helper()
	f := ws.NewFrame(op, fin, append([]byte(nil), p...))
	f.Header.Rsv = rsv
	f = ws.MaskFrameInPlace(f)
	var b bytes.Buffer
	if err := ws.WriteFrame(&b, f); err != nil {
		t.Fatal(err)
	}
	c.writeRaw(t, b.Bytes())
}

// writeRaw sends bytes as they are.
func (c *wsClient) writeRaw(t testing.TB, b []byte) {
	t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(wait))
	if _, err := c.conn.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// send sends one text message.
func (c *wsClient) send(t testing.TB, text string) {
	t.Helper()
	if err := c.trySend(ws.OpText, []byte(text)); err != nil {
		t.Fatalf("send %q: %v", text, err)
	}
}

// sendBinary sends one binary message.
func (c *wsClient) sendBinary(t testing.TB, b []byte) {
	t.Helper()
	if err := c.trySend(ws.OpBinary, b); err != nil {
		t.Fatalf("send binary: %v", err)
	}
}

func (c *wsClient) trySend(op ws.OpCode, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(wait))
	return wsutil.WriteClientMessage(c.conn, op, p)
}

// readFrame reads one frame, waiting at most d.
func (c *wsClient) readFrame(d time.Duration) (frame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	h, err := ws.ReadHeader(c.rd)
	if err != nil {
		return frame{}, err
	}
	if h.Masked {
		return frame{}, errors.New("server sent a masked frame")
	}
	if h.Length > 1<<24 {
		return frame{}, fmt.Errorf("frame of %d bytes", h.Length)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.rd, p); err != nil {
		return frame{}, err
	}
	return frame{op: h.OpCode, fin: h.Fin, payload: p}, nil
}

// message is one complete WebSocket message, or the close that ended it.
type message struct {
	op        ws.OpCode // OpText, OpBinary or OpClose
	data      []byte
	closeCode int // for OpClose: the status code, or closeNoCode
}

// readMessage returns the next data message or close frame; it answers
// WebSocket pings, and Engine.IO pings when autoPong is set.
func (c *wsClient) readMessage(d time.Duration) (message, error) {
	deadline := time.Now().Add(d)
	var (
		buf  []byte
		op   ws.OpCode
		frag bool
	)
	for {
		f, err := c.readFrame(time.Until(deadline))
		if err != nil {
			return message{}, err
		}
		switch {
		case f.op == ws.OpClose:
			m := message{op: ws.OpClose, closeCode: closeNoCode}
			if len(f.payload) >= 2 {
				m.closeCode = int(f.payload[0])<<8 | int(f.payload[1])
				m.data = f.payload[2:]
			}
			return m, nil
		case f.op == ws.OpPing:
			if err := c.trySendControl(ws.OpPong, f.payload); err != nil {
				return message{}, err
			}
			continue
		case f.op == ws.OpPong:
			continue
		case f.op == ws.OpContinuation:
			if !frag {
				return message{}, errors.New("server sent a continuation with no message")
			}
			buf = append(buf, f.payload...)
		default:
			if frag {
				return message{}, errors.New("server interleaved a data frame in a fragmented message")
			}
			op, buf = f.op, f.payload
		}
		if !f.fin {
			frag = true
			continue
		}
		if c.autoPong && op == ws.OpText && string(buf) == "2" {
			if err := c.trySend(ws.OpText, []byte("3")); err != nil {
				return message{}, err
			}
			buf, frag = nil, false
			continue
		}
		return message{op: op, data: buf}, nil
	}
}

func (c *wsClient) trySendControl(op ws.OpCode, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	f := ws.MaskFrameInPlace(ws.NewFrame(op, true, append([]byte(nil), p...)))
	_ = c.conn.SetWriteDeadline(time.Now().Add(wait))
	return ws.WriteFrame(c.conn, f)
}

// next reads the next text message and fails on anything else.
func (c *wsClient) next(t testing.TB) string {
	t.Helper()
	m, err := c.readMessage(wait)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if m.op != ws.OpText {
		t.Fatalf("got %v message (code %d, %q), want a text message", m.op, m.closeCode, m.data)
	}
	return string(m.data)
}

// nextBinary reads the next message and requires it binary.
func (c *wsClient) nextBinary(t testing.TB) []byte {
	t.Helper()
	m, err := c.readMessage(wait)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if m.op != ws.OpBinary {
		t.Fatalf("got %v message %q, want a binary message", m.op, m.data)
	}
	return m.data
}

// expectClose requires the next message to be a close frame with code
// (closeNoCode: an empty close frame) and the server to end the TCP
// connection afterwards.
func (c *wsClient) expectClose(t testing.TB, code int) {
	t.Helper()
	m, err := c.readMessage(wait)
	if err != nil {
		t.Fatalf("waiting for close frame %d: %v", code, err)
	}
	if m.op != ws.OpClose {
		t.Fatalf("got %v message %q, want close frame %d", m.op, m.data, code)
	}
	if m.closeCode != code {
		t.Fatalf("close code %d, want %d", m.closeCode, code)
	}
	c.expectEOF(t)
}

// expectEOF requires the server to close the TCP connection.
func (c *wsClient) expectEOF(t testing.TB) {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	var b [512]byte
	for {
		n, err := c.rd.Read(b[:])
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
				return
			}
			t.Fatalf("waiting for the server to close the connection: %v", err)
		}
		if n > 0 {
			t.Fatalf("unexpected %q after the close frame", b[:n])
		}
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// openWS opens a WebSocket-only Engine.IO session and returns its sid.
func (ts *testServer) openWS(t testing.TB) (*wsClient, string) {
	t.Helper()
	c := dialWS(t, ts.url("ws", "EIO=4&transport=websocket"))
	open := c.next(t)
	m := openRE.FindStringSubmatch(open)
	if m == nil {
		t.Fatalf("open packet %q", open)
	}
	if m[2] != "[]" {
		t.Fatalf("WebSocket open packet lists upgrades %s, want []", m[2])
	}
	return c, m[1]
}

// connectWS opens a WebSocket session, joins "/" and returns the socket id.
func (ts *testServer) connectWS(t testing.TB) (*wsClient, string) {
	t.Helper()
	c, _ := ts.openWS(t)
	c.send(t, "40")
	reply := c.next(t)
	m := connectRE.FindStringSubmatch(reply)
	if m == nil || m[1] != "" {
		t.Fatalf("CONNECT reply %q, want 40{\"sid\":...}", reply)
	}
	return c, m[2]
}

// echoAck sends `42<id>["echo",<arg>]` and requires `43<id>[<arg>]`.
func (c *wsClient) echoAck(t testing.TB, id int, arg string) {
	t.Helper()
	c.send(t, "42"+strconv.Itoa(id)+`["echo",`+arg+`]`)
	want := "43" + strconv.Itoa(id) + "[" + arg + "]"
	if got := c.next(t); got != want {
		t.Fatalf("ack: got %q, want %q", got, want)
	}
}

// ---------------------------------------------------------------------------
// Isolation guard.

// buddy is a well-behaved WebSocket client that exchanges acked events
// with the server in a loop, to show that bad input on another connection
// (on the same event loop) does not stall anyone else.
type buddy struct {
	c    *wsClient
	acks atomic.Int64
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	err  error
}

func startBuddy(t testing.TB, ts *testServer) *buddy {
	t.Helper()
	c, _ := ts.connectWS(t)
	c.autoPong = true
	b := &buddy{c: c, stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	t.Cleanup(func() { b.close() })
	return b
}

func (b *buddy) run() {
	defer close(b.done)
	for id := 1; ; id++ {
		select {
		case <-b.stop:
			return
		default:
		}
		arg := strconv.Itoa(id)
		if err := b.c.trySend(ws.OpText, []byte("42"+arg+`["echo",`+arg+`]`)); err != nil {
			b.fail(err)
			return
		}
		m, err := b.c.readMessage(wait)
		if err != nil {
			b.fail(err)
			return
		}
		if want := "43" + arg + "[" + arg + "]"; m.op != ws.OpText || string(m.data) != want {
			b.fail(fmt.Errorf("buddy got %v %q, want %q", m.op, m.data, want))
			return
		}
		b.acks.Add(1)
		time.Sleep(time.Millisecond)
	}
}

func (b *buddy) fail(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
}

func (b *buddy) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// mark returns the acks counted so far.
func (b *buddy) mark() int64 { return b.acks.Load() }

// progress requires at least 3 more acked round trips since mark, and no
// error.
func (b *buddy) progress(t testing.TB, mark int64) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for b.acks.Load() < mark+3 {
		if err := b.failure(); err != nil {
			t.Fatalf("isolation: the well-behaved client failed: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("isolation: the well-behaved client made %d acked round trips in %v, want 3", b.acks.Load()-mark, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := b.failure(); err != nil {
		t.Fatalf("isolation: the well-behaved client failed: %v", err)
	}
}

// close ends the buddy's loop and its connection.
func (b *buddy) close() {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
	b.c.conn.Close()
}

// ---------------------------------------------------------------------------
// Leak checks.

// countFDs returns the number of open file descriptors of the process.
func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// checkLeaks records the goroutine and fd counts now and, when the test
// ends (after every other cleanup, servers included), requires both to come
// back to those values.
func checkLeaks(t *testing.T) {
	t.Helper()
	g0, fd0 := runtime.NumGoroutine(), countFDs()
	t.Cleanup(func() {
		deadline := time.Now().Add(wait)
		for {
			g, fd := runtime.NumGoroutine(), countFDs()
			if g <= g0 && fd <= fd0 {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("leak: %d goroutines (was %d), %d fds (was %d)\n%s", g, g0, fd, fd0, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
