package eio_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sioloop/sioloop/eio"
)

// postAsync sends a POST and returns its "status body" on the channel.
func postAsync(t *testing.T, p *poll, body string) <-chan string {
	got := make(chan string, 1)
	go func() {
		status, b := p.post(t, body)
		got <- strconv.Itoa(status) + " " + b
	}()
	return got
}

// pausedPost opens a polling session, pauses its input and POSTs body: it
// returns once the server delivered the packets and holds the answer.
func pausedPost(t *testing.T, e *engine, body string, n int) (*poll, <-chan string) {
	t.Helper()
	p := e.openPolling(t)
	p.session().PauseInput()
	got := postAsync(t, p, body)
	eventually(t, "the POST's packets and its held answer", func() bool {
		s := p.session()
		return s != nil && len(e.messages(p.sid)) == n && eio.HoldsPost(s)
	})
	select {
	case r := <-got:
		t.Fatalf("POST answered while input is paused: %q", r)
	default:
	}
	return p, got
}

// While input is paused, a POST's packets are delivered but its answer
// waits for ResumeInput, so a client sends no more.
func TestPausedInputHoldsPostAnswer(t *testing.T) {
	e := startEngine(t, quietPing, nil)
	p, got := pausedPost(t, e, "4a\x1e4b", 2)
	p.session().ResumeInput()
	if r := <-got; r != "200 ok" {
		t.Fatalf("POST after ResumeInput: %q", r)
	}
	// Polling goes on as usual.
	if status, body := p.post(t, "4c"); status != 200 || body != "ok" {
		t.Fatalf("next POST: %d %q", status, body)
	}
	if got := strings.Join(e.messages(p.sid), ","); got != "a,b,c" {
		t.Fatalf("messages %s", got)
	}
	if e.isClosed(p.sid) {
		t.Fatal("session closed")
	}
}

// A second POST while the first one's answer is held overlaps: 400, and
// the session ends (engine.io's "data request overlap from client").
func TestPausedInputSecondPostOverlaps(t *testing.T) {
	e := startEngine(t, quietPing, nil)
	p, got := pausedPost(t, e, "4a", 1)
	if status, _ := p.post(t, "4b"); status != 400 {
		t.Fatalf("second POST: %d, want 400", status)
	}
	if ev := e.closed(t, p.sid); ev.reason != eio.ReasonTransportError {
		t.Fatalf("reason %q", ev.reason)
	}
	if r := <-got; r != "200 ok" {
		t.Fatalf("held POST after the close: %q", r)
	}
	if got := strings.Join(e.messages(p.sid), ","); got != "a" {
		t.Fatalf("messages %s", got)
	}
}

// A session that ends while a POST's answer is held answers it and keeps
// nothing: the poll state goes with the session.
func TestPausedInputCloseAnswersHeldPost(t *testing.T) {
	e := startEngine(t, quietPing, nil)
	p, got := pausedPost(t, e, "4a", 1)
	s := p.session()
	s.Close()
	// The forced close reaches the client in its next poll.
	if status, body := p.get(t); status != 200 || body != "1" {
		t.Fatalf("GET after Close: %d %q", status, body)
	}
	if r := <-got; r != "200 ok" {
		t.Fatalf("held POST after the close: %q", r)
	}
	if ev := e.closed(t, p.sid); ev.reason != eio.ReasonForcedClose {
		t.Fatalf("reason %q", ev.reason)
	}
	if eio.HasPollState(s) || e.Session(p.sid) != nil {
		t.Fatal("the closed session kept its poll state or its registration")
	}
}

// A POST held for ResumeInput is answered when the session upgrades: the
// WebSocket, not read while input is paused, bounds the input from then.
func TestPausedInputUpgradeAnswersHeldPost(t *testing.T) {
	srv := eio.NewServer(quietPing)
	t.Cleanup(srv.Close)
	d := &overlapDetector{}
	srv.OnConnection(func(s *eio.Session) { s.OnMessage(d.onMessage) })
	hs := newExchange(t, "GET", "transport=polling", "")
	srv.Handle(hs)
	m := openRE.FindStringSubmatch(strings.TrimPrefix(hs.response(t), "200 "))
	if m == nil {
		t.Fatal("no open packet")
	}
	sid := m[1]
	s := srv.Session(sid)
	s.PauseInput()
	post := newExchange(t, "POST", "transport=polling&sid="+sid, "4a")
	srv.Handle(post)
	if !eio.HoldsPost(s) {
		t.Fatal("the POST's answer is not held")
	}
	ws := newExchange(t, "GET", "transport=websocket&sid="+sid, "")
	srv.Handle(ws)
	ws.frame("2probe")
	ws.frame("5")
	if tr := s.Transport(); tr != eio.WebSocket {
		t.Fatalf("transport %q", tr)
	}
	if r := post.response(t); r != "200 ok" {
		t.Fatalf("held POST after the upgrade: %q", r)
	}
	if got := strings.Join(d.messages(), ","); got != "a" {
		t.Fatalf("messages %s", got)
	}
}
