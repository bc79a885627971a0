package eio_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/sioloop/sioloop/eio"
)

// A client's requests on different connections may be read in either
// order (the server reads its connections on several loops), unlike
// engine.io's one event loop, which reads them in arrival order. These
// tests force the order the reference rarely sees.

// The client closes over polling while its poll is still on the way: the
// poll gets the noop a parked one gets, and the sid is unknown after that.
func TestPollArrivingAfterClientClose(t *testing.T) {
	e := startEngine(t, eio.Config{}, nil)
	p := e.openPolling(t)
	if status, body := p.post(t, "1"); status != 200 || body != "ok" {
		t.Fatalf("POST close: %d %q", status, body)
	}
	if ev := e.closed(t, p.sid); ev.reason != "transport close" {
		t.Fatalf("close reason %q", ev.reason)
	}
	if status, body := p.get(t); status != 200 || body != "6" {
		t.Fatalf("poll after the close: %d %q, want 200 \"6\"", status, body)
	}
	if status, body := p.get(t); status != 400 || body != `{"code":1,"message":"Session ID unknown"}` {
		t.Fatalf("next poll: %d %q, want 400 unknown sid", status, body)
	}
	// A session the server closes hands its close packet to the next poll,
	// and its sid is unknown after that.
	q := e.openPolling(t)
	q.session().Close()
	if status, body := q.get(t); status != 200 || body != "1" {
		t.Fatalf("poll after a server close: %d %q, want the close packet", status, body)
	}
	e.closed(t, q.sid)
	if status, _ := q.get(t); status != 400 {
		t.Fatalf("poll after the close packet: %d, want 400", status)
	}
}

// A GET that arrives after the upgrade probe was answered waits: if the
// upgrade packet follows (read later, on the WebSocket), it gets the 400
// of a poll after an upgrade; otherwise it is released with a noop, as
// engine.io releases polls during an upgrade, and polling goes on.
func TestPollArrivingDuringUpgrade(t *testing.T) {
	e := startEngine(t, eio.Config{}, nil)
	probe := func(t *testing.T) (*poll, *wsConn) {
		p := e.openPolling(t)
		c := dialWS(t, e.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
		c.send(t, "2probe")
		if m := c.next(t); m != "3probe" {
			t.Fatalf("probe answer %q", m)
		}
		return p, c
	}
	getAsync := func(t *testing.T, p *poll) <-chan string {
		got := make(chan string, 1)
		go func() {
			status, body := p.get(t)
			got <- strconv.Itoa(status) + " " + body
		}()
		return got
	}
	recv := func(t *testing.T, ch <-chan string) string {
		t.Helper()
		select {
		case s := <-ch:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("the GET was not answered")
			return ""
		}
	}

	t.Run("upgrade follows", func(t *testing.T) {
		p, c := probe(t)
		got := getAsync(t, p)
		eventually(t, "the GET to be parked", func() bool { return p.session().Writable() })
		c.send(t, "5")
		if r := recv(t, got); r != `400 {"code":3,"message":"Bad request"}` {
			t.Fatalf("GET read before the upgrade packet: %q", r)
		}
		if tr := p.session().Transport(); tr != eio.WebSocket {
			t.Fatalf("transport %q after the upgrade", tr)
		}
	})

	t.Run("no upgrade yet", func(t *testing.T) {
		p, c := probe(t)
		if r := recv(t, getAsync(t, p)); r != "200 6" {
			t.Fatalf("GET during the upgrade: %q, want a noop", r)
		}
		// The probe still stands; the upgrade completes after all.
		c.send(t, "5")
		eventually(t, "the upgrade", func() bool { return p.session().Transport() == eio.WebSocket })
		if status, _ := p.get(t); status != 400 {
			t.Fatalf("poll after the upgrade: %d, want 400", status)
		}
	})

	t.Run("probe fails", func(t *testing.T) {
		p, c := probe(t)
		c.send(t, "hello") // anything but 5 aborts the probe
		c.expectClose(t, -1)
		// The noop owed since the probe was answered, then polling as usual.
		if status, body := p.get(t); status != 200 || body != "6" {
			t.Fatalf("GET after the failed probe: %d %q, want a noop", status, body)
		}
		got := getAsync(t, p)
		eventually(t, "the GET to be parked", func() bool { return p.session().Writable() })
		p.session().Send([]byte("after"))
		if r := recv(t, got); r != "200 4after" {
			t.Fatalf("next GET: %q", r)
		}
	})
}

// The poll parked when the probe arrives is released with a noop; a client
// that reads that noop before the 3probe (they come on two connections)
// polls again at once, and only then pauses polling for the upgrade. That
// second poll must return while the probe stands, as engine.io releases
// polls with a noop every 100 ms during an upgrade, or the client never
// sends "5" and the session stalls until its ping times out.
func TestPollAgainDuringUpgrade(t *testing.T) {
	e := startEngine(t, quietPing, nil)
	p := e.openPolling(t)
	parked := parkGet(t, p)
	c := dialWS(t, e.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
	c.send(t, "2probe")
	if m := c.next(t); m != "3probe" {
		t.Fatalf("probe answer %q", m)
	}
	wait := func(what string, ch <-chan string) string {
		t.Helper()
		select {
		case r := <-ch:
			return r
		case <-time.After(10 * time.Second):
			t.Fatalf("%s was not answered during the upgrade", what)
			return ""
		}
	}
	if r := wait("the parked GET", parked); r != "200 6" {
		t.Fatalf("parked GET: %q, want a noop", r)
	}
	again := make(chan string, 1)
	go func() {
		status, body := p.get(t)
		again <- strconv.Itoa(status) + " " + body
	}()
	if r := wait("the next GET", again); r != "200 6" {
		t.Fatalf("next GET during the upgrade: %q, want a noop", r)
	}
	c.send(t, "5")
	eventually(t, "the upgrade", func() bool { return p.session().Transport() == eio.WebSocket })
	p.session().Send([]byte("x"))
	if m := c.next(t); m != "4x" {
		t.Fatalf("after the upgrade: %q, want 4x", m)
	}
}
