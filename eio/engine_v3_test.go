package eio_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/sioloop/sioloop/eio"
)

var v3Ping = eio.Config{AllowEIO3: true, PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond}

// openV3RE matches a v3 polling handshake: one length-prefixed open packet.
var openV3RE = regexp.MustCompile(`^(\d+):0\{"sid":"([^"]+)","upgrades":\["websocket"\],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000\}$`)

func openPollingV3(t *testing.T, e *engine, q string) *poll {
	t.Helper()
	status, body := e.do(t, "GET", e.url("http", "EIO=3&transport=polling"+q), "")
	m := openV3RE.FindStringSubmatch(body)
	if status != 200 || m == nil {
		t.Fatalf("v3 handshake: %d %q", status, body)
	}
	if m[1] != strconv.Itoa(len(body)-len(m[1])-1) {
		t.Fatalf("v3 handshake length %s for a %d-byte packet", m[1], len(body)-len(m[1])-1)
	}
	return &poll{e: e, sid: m[2]}
}

func v3URL(p *poll) string { return p.e.url("http", "EIO=3&transport=polling&sid="+p.sid) }

func TestEIO3RefusedByDefault(t *testing.T) {
	e := startEngine(t, eio.Config{}, nil)
	status, body := e.do(t, "GET", e.url("http", "EIO=3&transport=polling"), "")
	if status != 400 || body != `{"code":5,"message":"Unsupported protocol version"}` {
		t.Fatalf("got %d %q", status, body)
	}
}

// TestEIO3PollingHeartbeat: the client pings, the server answers and
// sends no ping of its own; a client that stops pinging is dropped
// pingInterval+pingTimeout after its last ping.
func TestEIO3PollingHeartbeat(t *testing.T) {
	e := startEngine(t, v3Ping, nil)
	p := openPollingV3(t, e, "&b64=1")
	if st, body := e.do(t, "POST", v3URL(p), "1:2"); st != 200 || body != "ok" {
		t.Fatalf("ping POST: %d %q", st, body)
	}
	if st, body := e.do(t, "GET", v3URL(p), ""); st != 200 || body != "1:3" {
		t.Fatalf("after a ping: %d %q, want the pong 1:3", st, body)
	}
	if st, _ := e.do(t, "POST", v3URL(p), "6:2probe"); st != 200 {
		t.Fatalf("ping probe POST: %d", st)
	}
	if st, body := e.do(t, "GET", v3URL(p), ""); st != 200 || body != "6:3probe" {
		t.Fatalf("after a ping probe: %d %q", st, body)
	}
	last := time.Now()
	// No more pings: the parked poll gets the close packet at the deadline.
	st, body := e.do(t, "GET", v3URL(p), "")
	if st != 200 || body != "1:1" {
		t.Fatalf("parked poll: %d %q, want the close packet 1:1 (no server ping)", st, body)
	}
	if el := time.Since(last); el < v3Ping.PingInterval+v3Ping.PingTimeout-20*time.Millisecond {
		t.Fatalf("closed %v after the last ping, before pingInterval+pingTimeout", el)
	}
	if ev := e.closed(t, p.sid); ev.reason != eio.ReasonPingTimeout {
		t.Fatalf("reason %q, want %q", ev.reason, eio.ReasonPingTimeout)
	}
}

func TestEIO3PollingPongIsAnError(t *testing.T) {
	e := startEngine(t, v3Ping, nil)
	p := openPollingV3(t, e, "&b64=1")
	e.do(t, "POST", v3URL(p), "1:3")
	if ev := e.closed(t, p.sid); ev.reason != eio.ReasonTransportError {
		t.Fatalf("reason %q, want %q", ev.reason, eio.ReasonTransportError)
	}
}

func TestEIO3PollingBinary(t *testing.T) {
	sessions := make(chan *eio.Session, 2)
	e := startEngine(t, v3Ping, func(s *eio.Session) { sessions <- s })

	// b64=1: base64 records in the text form.
	p := openPollingV3(t, e, "&b64=1")
	s := <-sessions
	if s.Protocol() != 3 {
		t.Fatalf("Protocol() = %d, want 3", s.Protocol())
	}
	s.Send([]byte("héllo"), []byte{1, 2, 3})
	if st, body := e.do(t, "GET", v3URL(p), ""); st != 200 || body != "6:4héllo6:b4AQID" {
		t.Fatalf("b64 poll: %d %q", st, body)
	}
	e.do(t, "POST", v3URL(p), "6:b4AQID3:4hi")
	eventually(t, "the posted packets", func() bool { return len(e.messages(p.sid)) == 2 })
	if m := e.messages(p.sid); m[0] != "b:\x01\x02\x03" || m[1] != "hi" {
		t.Fatalf("server got %q", m)
	}

	// An XHR2 client: the binary form, both ways.
	q := openPollingV3(t, e, "")
	s = <-sessions
	s.Send([]byte("a"), []byte{9})
	resp := rawDo(t, e, "GET", v3URL(q), "", nil)
	if resp.ct != "application/octet-stream" || resp.body != "\x00\x02\xff4a\x01\x02\xff\x04\x09" {
		t.Fatalf("binary poll: %q %q", resp.ct, resp.body)
	}
	rawDo(t, e, "POST", v3URL(q), "\x01\x03\xff\x04\x07\x08\x00\x02\xff4b", http.Header{"Content-Type": {"application/octet-stream"}})
	eventually(t, "the posted binary payload", func() bool { return len(e.messages(q.sid)) == 2 })
	if m := e.messages(q.sid); m[0] != "b:\x07\x08" || m[1] != "b" {
		t.Fatalf("server got %q", m)
	}
}

type rawResp struct{ ct, body string }

func rawDo(t *testing.T, e *engine, method, url, body string, h http.Header) rawResp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %q", method, resp.StatusCode, b)
	}
	return rawResp{resp.Header.Get("Content-Type"), string(b)}
}

// TestEIO3WebSocket: binary frames carry the type byte, the client pings.
func TestEIO3WebSocket(t *testing.T) {
	sessions := make(chan *eio.Session, 1)
	e := startEngine(t, v3Ping, func(s *eio.Session) { sessions <- s })
	c := dialWS(t, e.url("ws", "EIO=3&transport=websocket"))
	if got := c.next(t); !strings.HasPrefix(got, `0{"sid":"`) || !strings.Contains(got, `"upgrades":[]`) {
		t.Fatalf("open packet %q", got)
	}
	s := <-sessions
	c.send(t, "2")
	if got := c.next(t); got != "3" {
		t.Fatalf("got %q, want the pong", got)
	}
	s.SendBinary([]byte{5, 6})
	m, err := c.read(wait)
	if err != nil || m.op != ws.OpBinary || m.data != "\x04\x05\x06" {
		t.Fatalf("binary frame %+v %v, want 04 05 06", m, err)
	}
	s.SendPrepared(eio.Prepare([]byte("x"), []byte{7}))
	if got := c.next(t); got != "4x" {
		t.Fatalf("prepared text %q", got)
	}
	if m, err := c.read(wait); err != nil || m.op != ws.OpBinary || m.data != "\x04\x07" {
		t.Fatalf("prepared binary %+v %v", m, err)
	}
	c.mu.Lock()
	err = wsutil.WriteClientBinary(c.conn, []byte{4, 8, 9})
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	c.send(t, "b4Cgs=")
	eventually(t, "the binary messages", func() bool { return len(e.messages(s.ID())) == 2 })
	if m := e.messages(s.ID()); m[0] != "b:\x08\x09" || m[1] != "b:\x0a\x0b" {
		t.Fatalf("server got %q", m)
	}
}

func TestEIO3UpgradeInAnotherRevisionRefused(t *testing.T) {
	e := startEngine(t, v3Ping, nil)
	p := openPollingV3(t, e, "&b64=1")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, _, _, err := ws.Dialer{}.Dial(ctx, e.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
	if err == nil {
		t.Fatal("a v4 upgrade of a v3 session was accepted")
	}
}
