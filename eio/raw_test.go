package eio_test

// A bare Engine.IO server on loop event loops and a raw client for it:
// net/http for long-polling, gobwas/ws for WebSocket frames.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/sioloop/sioloop/internal/testutil"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

// wait bounds "eventually" checks; generous for a busy machine.
const wait = 10 * time.Second

var openRE = regexp.MustCompile(`^0\{"sid":"([A-Za-z0-9_-]{20})","upgrades":(\[\]|\["websocket"\]),"pingInterval":(\d+),"pingTimeout":(\d+),"maxPayload":(\d+)\}$`)

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, wait, what, cond)
}

// closeEvent is a session end seen by the server.
type closeEvent struct {
	reason string
	at     time.Time
}

// engine is an eio.Server served on loopback, recording every session's
// messages and close.
type engine struct {
	*eio.Server
	addr string
	hc   *http.Client

	mu     sync.Mutex
	closes map[string]closeEvent // sid → close
	msgs   map[string][]string   // sid → messages received ("b:" prefix for binary)
}

// startEngine serves an eio.Server for cfg; onConn, when set, runs for
// every new session after the recording hooks are installed.
func startEngine(t testing.TB, cfg eio.Config, onConn func(*eio.Session)) *engine {
	t.Helper()
	e := &engine{
		Server: eio.NewServer(cfg),
		hc:     &http.Client{Transport: &http.Transport{DisableCompression: true}},
		closes: map[string]closeEvent{},
		msgs:   map[string][]string{},
	}
	e.OnConnection(func(s *eio.Session) {
		sid := s.ID()
		s.OnMessage(func(data []byte, binary bool) {
			m := string(data)
			if binary {
				m = "b:" + m
			}
			e.mu.Lock()
			e.msgs[sid] = append(e.msgs[sid], m)
			e.mu.Unlock()
		})
		s.OnClose(func(reason string) {
			at := time.Now()
			e.mu.Lock()
			e.closes[sid] = closeEvent{reason, at}
			e.mu.Unlock()
		})
		if onConn != nil {
			onConn(s)
		}
	})
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		e.addr = l.Addr().String()
		l.Close()
		ls := loop.NewServer(loop.Config{
			Addr:  e.addr,
			Loops: 1,
			Handler: func(x eio.Exchange) {
				if strings.HasPrefix(x.Path(), "/engine.io/") {
					e.Handle(x)
					return
				}
				x.Respond(http.StatusNotFound, nil, nil)
			},
		})
		done := make(chan error, 1)
		go func() { done <- ls.Serve() }()
		select {
		case <-ls.Ready():
			t.Cleanup(func() {
				e.hc.CloseIdleConnections()
				e.Close()
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				_ = ls.Stop(ctx)
				<-done
			})
			return e
		case err := <-done:
			if attempt == 3 {
				t.Fatalf("Serve(%s): %v", e.addr, err)
			}
		case <-time.After(wait):
			t.Fatal("loop server never became ready")
		}
	}
}

// closed waits for the close of session sid.
func (e *engine) closed(t testing.TB, sid string) closeEvent {
	t.Helper()
	var ev closeEvent
	eventually(t, "close of session "+sid, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		var ok bool
		ev, ok = e.closes[sid]
		return ok
	})
	return ev
}

func (e *engine) isClosed(sid string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.closes[sid]
	return ok
}

func (e *engine) messages(sid string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.msgs[sid]...)
}

func (e *engine) url(scheme, q string) string {
	return scheme + "://" + e.addr + "/engine.io/?" + q
}

// do runs one HTTP request and returns status and body.
func (e *engine) do(t testing.TB, method, url, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var rd io.Reader
	if method != http.MethodGet {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// poll is a polling session.
type poll struct {
	e   *engine
	sid string
}

func (e *engine) openPolling(t testing.TB) *poll {
	t.Helper()
	status, body := e.do(t, "GET", e.url("http", "EIO=4&transport=polling"), "")
	m := openRE.FindStringSubmatch(body)
	if status != 200 || m == nil {
		t.Fatalf("handshake: %d %q", status, body)
	}
	return &poll{e: e, sid: m[1]}
}

func (p *poll) url() string { return p.e.url("http", "EIO=4&transport=polling&sid="+p.sid) }

func (p *poll) get(t testing.TB) (int, string) {
	t.Helper()
	return p.e.do(t, "GET", p.url(), "")
}

func (p *poll) post(t testing.TB, body string) (int, string) {
	t.Helper()
	return p.e.do(t, "POST", p.url(), body)
}

// session returns the server's session (nil once closed).
func (p *poll) session() *eio.Session { return p.e.Session(p.sid) }

// wsConn is a raw WebSocket client connection.
type wsConn struct {
	conn net.Conn
	rd   *bufio.Reader
	mu   sync.Mutex
}

func dialWS(t testing.TB, url string) *wsConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, br, _, err := ws.Dialer{}.Dial(ctx, url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	t.Cleanup(func() { conn.Close() })
	return &wsConn{conn: conn, rd: br}
}

func (c *wsConn) send(t testing.TB, text string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(wait))
	if err := wsutil.WriteClientText(c.conn, []byte(text)); err != nil {
		t.Fatalf("send %q: %v", text, err)
	}
}

// wsMsg is a data message or a close frame (code -1: none).
type wsMsg struct {
	op   ws.OpCode
	data string
	code int
}

func (c *wsConn) read(d time.Duration) (wsMsg, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	for {
		h, err := ws.ReadHeader(c.rd)
		if err != nil {
			return wsMsg{}, err
		}
		if h.Masked || !h.Fin {
			return wsMsg{}, fmt.Errorf("unexpected frame header %+v", h)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c.rd, p); err != nil {
			return wsMsg{}, err
		}
		switch h.OpCode {
		case ws.OpClose:
			m := wsMsg{op: ws.OpClose, code: -1}
			if len(p) >= 2 {
				m.code = int(p[0])<<8 | int(p[1])
			}
			return m, nil
		case ws.OpText, ws.OpBinary:
			return wsMsg{op: h.OpCode, data: string(p)}, nil
		}
	}
}

// next reads a text message.
func (c *wsConn) next(t testing.TB) string {
	t.Helper()
	m, err := c.read(wait)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if m.op != ws.OpText {
		t.Fatalf("got %v %q (code %d), want text", m.op, m.data, m.code)
	}
	return m.data
}

// expectClose requires a close frame with code (-1: none), then EOF.
func (c *wsConn) expectClose(t testing.TB, code int) {
	t.Helper()
	m, err := c.read(wait)
	if err != nil {
		t.Fatalf("waiting for close: %v", err)
	}
	if m.op != ws.OpClose || m.code != code {
		t.Fatalf("got %v %q code %d, want close frame %d", m.op, m.data, m.code, code)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	var b [64]byte
	n, err := c.rd.Read(b[:])
	if n > 0 || !(errors.Is(err, io.EOF) || err != nil && strings.Contains(err.Error(), "reset")) {
		t.Fatalf("after the close frame: %q, %v; want EOF", b[:n], err)
	}
}

// openWS opens a WebSocket-only session.
func (e *engine) openWS(t testing.TB) (*wsConn, string) {
	t.Helper()
	c := dialWS(t, e.url("ws", "EIO=4&transport=websocket"))
	open := c.next(t)
	m := openRE.FindStringSubmatch(open)
	if m == nil {
		t.Fatalf("open packet %q", open)
	}
	return c, m[1]
}

// rawConn opens a TCP connection to addr, closed when the test ends.
func rawConn(t testing.TB, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
