package eio_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/eio"
)

var quietPing = eio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}

// probe runs the client side of an upgrade up to the paused poll: 2probe,
// 3probe, and the GET the server owes a noop.
func probe(t *testing.T, p *poll) *wsConn {
	t.Helper()
	c := dialWS(t, p.e.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
	c.send(t, "2probe")
	if got := c.next(t); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	if !p.session().Upgrading() {
		t.Fatal("Upgrading() is false during the probe")
	}
	if status, body := p.get(t); status != 200 || body != "6" {
		t.Fatalf("GET during the probe: %d %q, want 200 \"6\"", status, body)
	}
	return c
}

// A session that upgrades drops its polling state, and the packets queued
// for polling during the probe (text, binary, prepared) reach the
// WebSocket in order, before what is sent after the switch.
func TestUpgradeDropsPollState(t *testing.T) {
	e := startEngine(t, quietPing, nil)
	p := e.openPolling(t)
	s := p.session()
	if !eio.HasPollState(s) {
		t.Fatal("a polling session has no poll state")
	}
	s.Send([]byte("before"))
	if status, body := p.get(t); status != 200 || body != "4before" {
		t.Fatalf("GET: %d %q", status, body)
	}
	c := probe(t, p)
	s.Send([]byte("q1"))
	s.SendBinary([]byte{1, 2, 3})
	s.SendPrepared(eio.Prepare([]byte("q2")))
	s.Send([]byte("q3"), []byte{4, 5})
	c.send(t, "5")
	want := []wsMsg{
		{op: ws.OpText, data: "4q1"},
		{op: ws.OpBinary, data: "\x01\x02\x03"},
		{op: ws.OpText, data: "4q2"},
		{op: ws.OpText, data: "4q3"},
		{op: ws.OpBinary, data: "\x04\x05"},
		{op: ws.OpText, data: "4after"},
		{op: ws.OpText, data: "4prepared after"},
	}
	eventually(t, "the switch to WebSocket", func() bool { return s.Transport() == eio.WebSocket })
	s.Send([]byte("after"))
	s.SendPrepared(eio.Prepare([]byte("prepared after")))
	for i, w := range want {
		m, err := c.read(wait)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.op != w.op || m.data != w.data {
			t.Fatalf("message %d: %v %q, want %v %q", i, m.op, m.data, w.op, w.data)
		}
	}
	if eio.HasPollState(s) {
		t.Fatal("the session kept its poll state after the upgrade")
	}
	if s.Upgrading() || !s.Writable() {
		t.Fatalf("after the upgrade: Upgrading %v, Writable %v", s.Upgrading(), s.Writable())
	}
	// Polling is over for this session; the WebSocket carries the client's messages.
	if status, _ := p.get(t); status != 400 {
		t.Fatalf("GET after the upgrade: %d, want 400", status)
	}
	c.send(t, "4up")
	eventually(t, "the message over WebSocket", func() bool {
		m := e.messages(p.sid)
		return len(m) == 1 && m[0] == "up"
	})
	c.send(t, "1")
	if ev := e.closed(t, p.sid); ev.reason != eio.ReasonTransportClose {
		t.Fatalf("reason %q", ev.reason)
	}
}

// A GET parked when the client sends "5" (it came after the probe was
// answered) is answered by the switch with the 400 of a poll after the
// upgrade, and the switch drops the poll state.
func TestUpgradeReleasesParkedGet(t *testing.T) {
	e := startEngine(t, quietPing, nil)
	p := e.openPolling(t)
	c := probe(t, p)
	got := parkGet(t, p)
	c.send(t, "5")
	if r := <-got; r != `400 {"code":3,"message":"Bad request"}` {
		t.Fatalf("parked GET: %s, want the 400 of a poll after the upgrade", r)
	}
	s := p.session()
	eventually(t, "the switch to WebSocket", func() bool { return s.Transport() == eio.WebSocket })
	if eio.HasPollState(s) {
		t.Fatal("the session kept its poll state after the upgrade")
	}
	s.Send([]byte("x"))
	if m := c.next(t); m != "4x" {
		t.Fatalf("got %q, want 4x", m)
	}
}

// A failed probe leaves the session on polling, with its poll state, and a
// later probe may still upgrade it.
func TestFailedProbeKeepsPolling(t *testing.T) {
	e := startEngine(t, quietPing, nil)
	p := e.openPolling(t)
	c := dialWS(t, e.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
	c.send(t, "4not a probe")
	c.expectClose(t, -1)
	s := p.session()
	eventually(t, "the probe to end", func() bool { return !s.Upgrading() })
	if !eio.HasPollState(s) || s.Transport() != eio.Polling {
		t.Fatalf("after a failed probe: poll state %v, transport %s", eio.HasPollState(s), s.Transport())
	}
	s.Send([]byte("still polling"))
	if status, body := p.get(t); status != 200 || body != "4still polling" {
		t.Fatalf("GET: %d %q", status, body)
	}
	c2 := probe(t, p)
	c2.send(t, "5")
	eventually(t, "the switch to WebSocket", func() bool { return s.Transport() == eio.WebSocket })
	if eio.HasPollState(s) {
		t.Fatal("the session kept its poll state after the upgrade")
	}
}

// A polling session that never upgrades keeps its poll state across polls
// and drops it when it ends.
func TestPollingSessionKeepsPollState(t *testing.T) {
	e := startEngine(t, quietPing, nil)
	p := e.openPolling(t)
	s := p.session()
	for i := 0; i < 3; i++ {
		s.Send([]byte(fmt.Sprint("down", i)))
		s.SendBinary([]byte{byte(i)})
		want := fmt.Sprintf("4down%d\x1eb%s", i, base64.StdEncoding.EncodeToString([]byte{byte(i)}))
		if status, body := p.get(t); status != 200 || body != want {
			t.Fatalf("GET %d: %d %q, want %q", i, status, body, want)
		}
		if status, body := p.post(t, fmt.Sprint("4up", i)); status != 200 || body != "ok" {
			t.Fatalf("POST %d: %d %q", i, status, body)
		}
		if !eio.HasPollState(s) {
			t.Fatalf("round %d: the poll state was dropped", i)
		}
	}
	if m := e.messages(p.sid); strings.Join(m, ",") != "up0,up1,up2" {
		t.Fatalf("messages %q", m)
	}
	s.Send([]byte("last"))
	s.Close()
	if !eio.HasPollState(s) {
		t.Fatal("a closing session with a queued packet has no poll state")
	}
	if status, body := p.get(t); status != 200 || body != "4last" {
		t.Fatalf("GET: %d %q", status, body)
	}
	if status, body := p.get(t); status != 200 || body != "1" {
		t.Fatalf("GET: %d %q, want the close packet", status, body)
	}
	e.closed(t, p.sid)
	if eio.HasPollState(s) {
		t.Fatal("a closed session kept its poll state")
	}
}

// A session opened over WebSocket never has a poll state; polling requests
// and probes for it are refused.
func TestWebSocketSessionHasNoPollState(t *testing.T) {
	e := startEngine(t, quietPing, nil)
	c, sid := e.openWS(t)
	s := e.Session(sid)
	if eio.HasPollState(s) || s.Transport() != eio.WebSocket {
		t.Fatalf("poll state %v, transport %s", eio.HasPollState(s), s.Transport())
	}
	if status, _ := e.do(t, "GET", e.url("http", "EIO=4&transport=polling&sid="+sid), ""); status != 400 {
		t.Fatalf("polling GET: %d, want 400", status)
	}
	if status, _ := e.do(t, "POST", e.url("http", "EIO=4&transport=polling&sid="+sid), "4x"); status != 400 {
		t.Fatalf("polling POST: %d, want 400", status)
	}
	extra := dialWS(t, e.url("ws", "EIO=4&transport=websocket&sid="+sid))
	extra.expectClose(t, -1)
	if eio.HasPollState(s) || s.Upgrading() {
		t.Fatal("a refused probe gave the session poll state")
	}
	s.Send([]byte("hi"))
	if m := c.next(t); m != "4hi" {
		t.Fatalf("got %q", m)
	}
}

// recorder is a Handler and UpgradeHandler that records what it is told.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(ev string) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) get() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, ",")
}

func (r *recorder) OnMessage(data []byte, binary bool) {
	if binary {
		r.add("bin:" + base64.StdEncoding.EncodeToString(data))
		return
	}
	r.add("msg:" + string(data))
}
func (r *recorder) OnClose(reason string)      { r.add("close:" + reason) }
func (r *recorder) OnUpgrade(transport string) { r.add("upgrade:" + transport) }

// A Handler set with SetHandler replaces the funcs set before it and is
// told of messages on both transports, the upgrade and the close.
func TestSetHandler(t *testing.T) {
	h := &recorder{}
	e := startEngine(t, quietPing, func(s *eio.Session) { s.SetHandler(h) })
	p := e.openPolling(t)
	body := "4hello\x1eb" + base64.StdEncoding.EncodeToString([]byte{7})
	if status, _ := p.post(t, body); status != 200 {
		t.Fatalf("POST: %d", status)
	}
	c := probe(t, p)
	c.send(t, "5")
	c.send(t, "4ws")
	c.send(t, "1")
	want := "msg:hello,bin:Bw==,upgrade:websocket,msg:ws,close:" + eio.ReasonTransportClose
	eventually(t, "the handler's events", func() bool { return h.get() == want })
	// A bounded negative check, not a synchronisation: nothing after the
	// close within 20ms.
	time.Sleep(20 * time.Millisecond)
	if got := h.get(); got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	if m := e.messages(p.sid); len(m) != 0 || e.isClosed(p.sid) {
		t.Fatalf("the funcs set before SetHandler still ran: %q", m)
	}
}

// Funcs set after SetHandler take the place of one method each; nil
// restores the Handler's.
func TestHandlerFuncOverride(t *testing.T) {
	h := &recorder{}
	f := &recorder{}
	sessions := make(chan *eio.Session, 1)
	e := startEngine(t, quietPing, func(s *eio.Session) {
		s.SetHandler(h)
		s.OnMessage(func(data []byte, _ bool) { f.add("msg:" + string(data)) })
		s.OnUpgrade(func(tr string) { f.add("upgrade:" + tr) })
		sessions <- s
	})
	p := e.openPolling(t)
	s := <-sessions
	if status, _ := p.post(t, "4one"); status != 200 {
		t.Fatalf("POST: %d", status)
	}
	s.OnMessage(nil)
	if status, _ := p.post(t, "4two"); status != 200 {
		t.Fatalf("POST: %d", status)
	}
	c := probe(t, p)
	c.send(t, "5")
	c.send(t, "1")
	wantH := "msg:two,close:" + eio.ReasonTransportClose
	eventually(t, "the handler's events", func() bool { return h.get() == wantH })
	if got, want := f.get(), "msg:one,upgrade:websocket"; got != want {
		t.Fatalf("funcs got %q, want %q", got, want)
	}
	// A bounded negative check, not a synchronisation: nothing after the
	// close within 20ms.
	time.Sleep(20 * time.Millisecond)
	if got := h.get(); got != wantH {
		t.Fatalf("handler got %q, want %q", got, wantH)
	}
}
