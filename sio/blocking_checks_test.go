package sio_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// slowCheck is an AllowRequest that blocks the handshakes marked slow=1
// until the test opens its gate, refuses deny=1, and admits the rest.
type slowCheck struct {
	entered chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func newSlowCheck() *slowCheck {
	return &slowCheck{entered: make(chan struct{}, 8), gate: make(chan struct{})}
}

func (c *slowCheck) allow(r *http.Request) error {
	q := r.URL.Query()
	if q.Get("deny") == "1" {
		return errors.New("nope")
	}
	if q.Get("slow") == "1" {
		c.entered <- struct{}{}
		<-c.gate
	}
	return nil
}

// open releases the blocked checks; safe to call twice.
func (c *slowCheck) open() { c.once.Do(func() { close(c.gate) }) }

// waitEntered waits until a slow check has started.
func (c *slowCheck) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-c.entered:
	case <-time.After(wait):
		t.Fatal("AllowRequest never ran")
	}
}

// getNoFatal is a GET of the Engine.IO path with query q for goroutines
// other than the test's: a failure is status 0 and the error as body.
func getNoFatal(ts *testServer, q string) (int, string) {
	resp, err := ts.hc.Get(ts.url("http", q))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(b)
}

// TestBlockingAllowRequest: an AllowRequest that blocks (a token lookup)
// delays only its own handshake. Before, it ran on the event loop, so a
// 200 ms check stalled every connection of that loop; here the server has
// one loop, and another client's round trip completes while the check
// waits. The blocked handshake then completes, over polling and over
// WebSocket (its 101 is written from the check's goroutine).
func TestBlockingAllowRequest(t *testing.T) {
	chk := newSlowCheck()
	ts := startServer(t, sio.Config{AllowRequest: chk.allow}, nil)
	t.Cleanup(chk.open) // before the server closes: no check stays blocked
	other, _ := ts.connectWS(t)

	t.Run("polling", func(t *testing.T) {
		type reply struct {
			status int
			body   string
		}
		done := make(chan reply, 1)
		go func() {
			st, body := getNoFatal(ts, "EIO=4&transport=polling&slow=1")
			done <- reply{st, body}
		}()
		chk.waitEntered(t)
		other.echoAck(t, 1, `"while the check waits"`)
		chk.open()
		r := <-done
		if r.status != 200 || openRE.FindStringSubmatch(r.body) == nil {
			t.Fatalf("handshake after the check: %d %q", r.status, r.body)
		}
		p := ts.pollSession(t, openRE.FindStringSubmatch(r.body)[1])
		p.connect(t)
	})

	chk2 := newSlowCheck()
	ts2 := startServer(t, sio.Config{AllowRequest: chk2.allow}, nil)
	t.Cleanup(chk2.open)
	other2, _ := ts2.connectWS(t)
	t.Run("websocket", func(t *testing.T) {
		type dialed struct {
			c   *wsClient
			err error
		}
		done := make(chan dialed, 1)
		go func() {
			c, err := tryDialWS(ts2.url("ws", "EIO=4&transport=websocket&slow=1"))
			done <- dialed{c, err}
		}()
		chk2.waitEntered(t)
		other2.echoAck(t, 1, `"while the check waits"`)
		chk2.open()
		d := <-done
		if d.err != nil {
			t.Fatalf("WebSocket handshake after the check: %v", d.err)
		}
		t.Cleanup(func() { d.c.conn.Close() })
		if open := d.c.next(t); openRE.FindStringSubmatch(open) == nil {
			t.Fatalf("open packet %q", open)
		}
		d.c.send(t, "40")
		if r := d.c.next(t); connectRE.FindStringSubmatch(r) == nil {
			t.Fatalf("CONNECT reply %q", r)
		}
		d.c.echoAck(t, 2, `"after"`)
	})

	t.Run("refused", func(t *testing.T) {
		st, body := ts.httpDo(t, http.MethodGet, ts.url("http", "EIO=4&transport=polling&deny=1"), nil, nil)
		if st != 403 || body != `{"code":4,"message":"nope"}` {
			t.Fatalf("refused handshake: %d %q", st, body)
		}
		if _, err := tryDialWS(ts.url("ws", "EIO=4&transport=websocket&deny=1")); err == nil {
			t.Fatal("refused WebSocket handshake was upgraded")
		}
	})
}

// TestMaxBlockingRequests: past the bound, requests whose callbacks would
// block are refused at once with 503, and served again once it is free.
func TestMaxBlockingRequests(t *testing.T) {
	chk := newSlowCheck()
	ts := startServer(t, sio.Config{AllowRequest: chk.allow, MaxBlockingRequests: 1}, nil)
	t.Cleanup(chk.open)
	done := make(chan int, 1)
	go func() {
		st, _ := getNoFatal(ts, "EIO=4&transport=polling&slow=1")
		done <- st
	}()
	chk.waitEntered(t)
	st, body := ts.httpDo(t, http.MethodGet, ts.url("http", "EIO=4&transport=polling"), nil, nil)
	if st != 503 || body != `{"code":4,"message":"Server busy"}` {
		t.Fatalf("handshake past the bound: %d %q", st, body)
	}
	chk.open()
	if st := <-done; st != 200 {
		t.Fatalf("blocked handshake: status %d", st)
	}
	eventually(t, "a handshake admitted again", func() bool {
		st, _ := ts.httpDo(t, http.MethodGet, ts.url("http", "EIO=4&transport=polling"), nil, nil)
		return st == 200
	})
}

// TestHeadersHookUpgrade: with a Headers hook, which may block, every
// polling request and the upgrade's WebSocket are served off the loop; the
// hook's header is on each response and the upgrade completes.
func TestHeadersHookUpgrade(t *testing.T) {
	var calls atomic.Int64
	ts := startServer(t, sio.Config{Headers: func(h http.Header, r *http.Request) {
		calls.Add(1)
		h.Set("X-Hook", "yes")
	}}, nil)
	req, _ := http.NewRequest(http.MethodGet, ts.url("http", "EIO=4&transport=polling"), nil)
	resp, err := ts.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Hook") != "yes" {
		t.Fatalf("handshake response lacks the hook's header: %v", resp.Header)
	}
	p := ts.openPolling(t)
	p.connect(t)
	probe := dialWS(t, ts.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
	t.Cleanup(func() { probe.conn.Close() })
	probe.send(t, "2probe")
	if got := probe.next(t); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	probe.send(t, "5")
	probe.echoAck(t, 1, `"upgraded"`)
	if calls.Load() < 4 {
		t.Fatalf("the hook ran %d times, want one per response", calls.Load())
	}
}

// TestConnView: Socket.Conn gives the engine id, transport and address,
// and OnUpgrade fires, in the socket's handler order, once the polling
// connection has upgraded to WebSocket.
func TestConnView(t *testing.T) {
	type seen struct{ transport, after string }
	upgraded := make(chan seen, 1)
	info := make(chan [3]string, 1)
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) {
		srv.Of("/conn").OnConnection(func(s *sio.Socket) {
			info <- [3]string{s.Conn().ID(), s.Conn().Transport(), s.Conn().RemoteAddr()}
			s.Conn().OnUpgrade(func(transport string) {
				upgraded <- seen{transport, s.Conn().Transport()}
			})
		})
	})
	p := ts.openPolling(t)
	p.mustPost(t, "40/conn,")
	got := <-info
	if got[0] != p.sid || got[1] != "polling" || !strings.HasPrefix(got[2], "127.0.0.1:") {
		t.Fatalf("Conn: id %q transport %q address %q; want %q polling 127.0.0.1:*", got[0], got[1], got[2], p.sid)
	}
	probe := dialWS(t, ts.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
	t.Cleanup(func() { probe.conn.Close() })
	probe.send(t, "2probe")
	if got := probe.next(t); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	probe.send(t, "5")
	select {
	case u := <-upgraded:
		if u.transport != "websocket" || u.after != "websocket" {
			t.Fatalf("OnUpgrade(%q), Transport %q afterwards", u.transport, u.after)
		}
	case <-time.After(wait):
		t.Fatal("OnUpgrade never ran")
	}
}
