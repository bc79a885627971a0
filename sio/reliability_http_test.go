package sio_test

// Bad input to the HTTP handshake (cases A1, A2, ...), to long-polling
// requests (B) and to the WebSocket opening handshake (C), against a real
// server on loopback. Every row asserts the reference's answer (socket.io
// 4.8 with engine.io 6.6 and ws 8, given the same bytes), that a
// well-behaved client on the same event loop keeps exchanging acked events
// meanwhile, and that no session outlives the test.

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/sio"
)

// row runs one case of bad input on ts: a buddy exchanges acked events while
// bad runs and must still make progress afterwards; then every session,
// the buddy's included, must be gone.
func row(t *testing.T, ts *testServer, bad func(t *testing.T)) {
	t.Helper()
	b := startBuddy(t, ts)
	mark := b.mark()
	bad(t)
	b.progress(t, mark)
	b.close()
	ts.waitSessions(t, 0)
}

// rawResponse is an HTTP response read off a raw TCP connection.
type rawResponse struct {
	status int
	header http.Header
	body   string
	conn   net.Conn
	br     *bufio.Reader
}

// rawHTTP writes req on a new TCP connection and reads one response. The
// connection stays open (until the test ends) for serverClosed.
func rawHTTP(t testing.TB, addr, req string) rawResponse {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("write: %v", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading response to %.60q: %v", req, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(body), conn: conn, br: br}
}

// serverClosed reports whether the server ends the connection, with no
// further bytes, within a few seconds of its response.
func (r rawResponse) serverClosed() bool {
	_ = r.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err := r.br.ReadByte()
	return errors.Is(err, io.EOF) || isReset(err)
}

// upgradeRequest builds a WebSocket upgrade request for target with the
// standard headers, then extra lines ("Name: value"), which override.
func upgradeRequest(method, target string, extra ...string) string {
	hdr := map[string]string{
		"Host":                  "127.0.0.1",
		"Upgrade":               "websocket",
		"Connection":            "Upgrade",
		"Sec-WebSocket-Key":     "dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Version": "13",
	}
	order := []string{"Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version"}
	for _, e := range extra {
		name, value, _ := strings.Cut(e, ": ")
		if _, ok := hdr[name]; !ok {
			order = append(order, name)
		}
		hdr[name] = value
	}
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\n")
	for _, k := range order {
		if v := hdr[k]; v != "-" {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func TestReliabilityA(t *testing.T) {
	checkLeaks(t)
	ts := startServer(t, sio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}, nil)

	t.Run("A1 polling handshake", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			resp := rawHTTP(t, ts.addr, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp.status != 200 {
				t.Fatalf("status %d, want 200", resp.status)
			}
			m := openRE.FindStringSubmatch(resp.body)
			if m == nil {
				t.Fatalf("body %q is not an open packet", resp.body)
			}
			if m[2] != `["websocket"]` || m[3] != "20000" || m[4] != "20000" || m[5] != "1000000" {
				t.Fatalf("open packet %q: want upgrades [\"websocket\"], pingInterval 20000, pingTimeout 20000, maxPayload 1000000", resp.body)
			}
			if ct := resp.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
				t.Errorf("Content-Type %q, want %q", ct, "text/plain; charset=UTF-8")
			}
			// Leave cleanly so the session count drops.
			p := ts.pollSession(t, m[1])
			p.mustPost(t, "1")
		})
	})

	type jsonErr struct {
		name   string
		method string
		query  string
		status int
		body   string
	}
	const (
		errVersion   = `{"code":5,"message":"Unsupported protocol version"}`
		errTransport = `{"code":0,"message":"Transport unknown"}`
		errSID       = `{"code":1,"message":"Session ID unknown"}`
		errMethod    = `{"code":2,"message":"Bad handshake method"}`
		errBad       = `{"code":3,"message":"Bad request"}`
	)
	for _, tc := range []jsonErr{
		{name: "A2 EIO=3", method: "GET", query: "EIO=3&transport=polling", status: 400, body: errVersion},
		{name: "A2 EIO missing", method: "GET", query: "transport=polling", status: 400, body: errVersion},
		{name: "A2 EIO=5", method: "GET", query: "EIO=5&transport=polling", status: 400, body: errVersion},
		{name: "A2 EIO=abc", method: "GET", query: "EIO=abc&transport=polling", status: 400, body: errVersion},
		{name: "A3 transport missing", method: "GET", query: "EIO=4", status: 400, body: errTransport},
		{name: "A3 flashsocket", method: "GET", query: "EIO=4&transport=flashsocket", status: 400, body: errTransport},
		{name: "A3 __proto__", method: "GET", query: "EIO=4&transport=__proto__", status: 400, body: errTransport},
		{name: "A4 unknown sid", method: "GET", query: "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", status: 400, body: errSID},
		{name: "A4 sid __proto__", method: "GET", query: "EIO=4&transport=polling&sid=__proto__", status: 400, body: errSID},
		{name: "A4 sid constructor", method: "GET", query: "EIO=4&transport=polling&sid=constructor", status: 400, body: errSID},
		{name: "A4 POST unknown sid", method: "POST", query: "EIO=4&transport=polling&sid=__proto__", status: 400, body: errSID},
		{name: "A5 POST", method: "POST", query: "EIO=4&transport=polling", status: 400, body: errMethod},
		{name: "A5 PUT", method: "PUT", query: "EIO=4&transport=polling", status: 400, body: errMethod},
		{name: "A5 OPTIONS", method: "OPTIONS", query: "EIO=4&transport=polling", status: 400, body: errMethod},
		{name: "A6 websocket without Upgrade", method: "GET", query: "EIO=4&transport=websocket", status: 400, body: errBad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row(t, ts, func(t *testing.T) {
				var body []byte
				if tc.method != "GET" {
					body = []byte("40")
				}
				resp := rawHTTP(t, ts.addr, tc.method+" /socket.io/?"+tc.query+" HTTP/1.1\r\nHost: x\r\nContent-Length: "+
					strconv.Itoa(len(body))+"\r\n\r\n"+string(body))
				if resp.status != tc.status || resp.body != tc.body {
					t.Fatalf("got %d %q, want %d %q", resp.status, resp.body, tc.status, tc.body)
				}
				if ct := resp.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q, want application/json", ct)
				}
			})
		})
	}

	t.Run("A10 path outside /socket.io/, nil fallback", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			resp := rawHTTP(t, ts.addr, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp.status != 404 {
				t.Fatalf("status %d, want 404", resp.status)
			}
			// An upgrade nobody claims is refused too, not left hanging.
			resp = rawHTTP(t, ts.addr, upgradeRequest("GET", "/other"))
			if resp.status != 404 {
				t.Fatalf("upgrade outside the path: status %d, want 404", resp.status)
			}
		})
	})

	t.Run("A10 path outside /socket.io/, fallback mux", func(t *testing.T) {
		srv := sio.NewServer(sio.Config{Loops: 1})
		mux := http.NewServeMux()
		mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "up") })
		addr := serve(t, srv, mux)
		resp := rawHTTP(t, addr, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.status != 200 || resp.body != "up" {
			t.Fatalf("/health: %d %q, want 200 \"up\"", resp.status, resp.body)
		}
		resp = rawHTTP(t, addr, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.status != 404 || resp.body != "404 page not found\n" {
			t.Fatalf("/nope: %d %q, want the mux's 404", resp.status, resp.body)
		}
	})

	t.Run("A11 20 KiB header block", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			big := strings.Repeat("a", 20<<10)
			resp := rawHTTP(t, ts.addr, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Big: "+big+"\r\n\r\n")
			if resp.status != 431 {
				t.Fatalf("status %d, want 431", resp.status)
			}
			if !resp.serverClosed() {
				t.Errorf("connection left open after 431")
			}
		})
	})

	t.Run("A13 garbage request line", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			resp := rawHTTP(t, ts.addr, "\x16\x03\x01 garbage!!\r\n\r\n")
			if resp.status != 400 {
				t.Fatalf("status %d, want 400", resp.status)
			}
			if !resp.serverClosed() {
				t.Errorf("connection left open after 400")
			}
		})
	})

	t.Run("A14 bad percent-encoding in the query", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			// The reference ignores the bad pair and opens a session.
			resp := rawHTTP(t, ts.addr, "GET /socket.io/?EIO=4&transport=polling&x=%zz HTTP/1.1\r\nHost: x\r\n\r\n")
			m := openRE.FindStringSubmatch(resp.body)
			if resp.status != 200 || m == nil {
				t.Fatalf("got %d %q, want 200 and an open packet", resp.status, resp.body)
			}
			(&pollClient{ts: ts, sid: m[1]}).mustPost(t, "1")
		})
	})

	t.Run("A16 websocket sid used with polling", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			c, sid := ts.openWS(t)
			status, body := ts.httpDo(t, "GET", ts.url("http", "EIO=4&transport=polling&sid="+sid), nil, nil)
			if status != 400 || body != errBad {
				t.Fatalf("got %d %q, want 400 %q", status, body, errBad)
			}
			status, body = ts.httpDo(t, "POST", ts.url("http", "EIO=4&transport=polling&sid="+sid), []byte("40"), nil)
			if status != 400 || body != errBad {
				t.Fatalf("POST: got %d %q, want 400 %q", status, body, errBad)
			}
			// The WebSocket session is unharmed.
			c.send(t, "40")
			if r := c.next(t); !connectRE.MatchString(r) {
				t.Fatalf("CONNECT reply %q", r)
			}
			c.conn.Close()
		})
	})
}

func TestReliabilityB(t *testing.T) {
	checkLeaks(t)
	ts := startServer(t, sio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}, nil)

	t.Run("B1 POST 40 then GET", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			p := ts.openPolling(t)
			id := p.connect(t)
			p.mustPost(t, "1")
			if r := ts.reason(t, id); r != "transport close" {
				t.Fatalf("reason %q, want transport close", r)
			}
		})
	})

	t.Run("B2 batch delivered in order", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			p := ts.openPolling(t)
			id := p.connect(t)
			p.mustPost(t, "42[\"a\"]\x1e42[\"b\",1]\x1e421[\"echo\",\"c\"]")
			status, body := p.get(t)
			if status != 200 || body != `431["c"]` {
				t.Fatalf("GET: %d %q, want 200 %q", status, body, `431["c"]`)
			}
			got := ts.waitEvents(t, id, 3)
			want := []string{"a", "b 1", `echo "c"`}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("events %q, want %q", got, want)
			}
			p.mustPost(t, "1")
		})
	})

	t.Run("B3 body larger than maxHttpBufferSize", func(t *testing.T) {
		small := startServer(t, sio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second, MaxHTTPBufferSize: 1000}, nil)
		row(t, small, func(t *testing.T) {
			p := small.openPolling(t)
			id := p.connect(t)
			payload := `42["x","` + strings.Repeat("a", 1000) + `"]`
			// Content-Length is checked before the body is read.
			resp := rawHTTP(t, small.addr, "POST "+strings.TrimPrefix(p.url(), "http://"+small.addr)+" HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: "+
				strconv.Itoa(len(payload))+"\r\n\r\n")
			if resp.status != 413 {
				t.Fatalf("status %d, want 413", resp.status)
			}
			// E11: many small packets adding up past the limit are capped
			// the same way, as one body.
			var many []string
			for i := 0; i < 100; i++ {
				many = append(many, `42["x","0123456789"]`)
			}
			if status, _ := p.post(t, strings.Join(many, "\x1e")); status != 413 {
				t.Fatalf("E11 batch over the limit: status %d, want 413", status)
			}
			if ev := small.eventsOf(id); len(ev) != 0 {
				t.Fatalf("events %q delivered from refused bodies", ev)
			}
			p.mustPost(t, "1")
		})
	})

	t.Run("B3 chunked body", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			p := ts.openPolling(t)
			id := p.connect(t)
			// Chunked request bodies are refused outright (501), so there
			// is nothing to stream-count; the reference reads them.
			target := strings.TrimPrefix(p.url(), "http://"+ts.addr)
			resp := rawHTTP(t, ts.addr, "POST "+target+" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n42[\"x\r\n0\r\n\r\n")
			if resp.status != 501 {
				t.Fatalf("status %d, want 501", resp.status)
			}
			p.mustPost(t, "1")
			if r := ts.reason(t, id); r != "transport close" {
				t.Fatalf("reason %q", r)
			}
		})
	})

	for _, tc := range []struct {
		name   string
		body   string
		ctype  string
		status int
		resp   string
		reason string
	}{
		{name: "B5 packet type 9", body: "9", status: 200, resp: "ok", reason: "parse error"},
		{name: "B5 empty body", body: "", status: 200, resp: "ok", reason: "parse error"},
		{name: "B6 bad base64", body: "b!!!notbase64", status: 200, resp: "ok", reason: "parse error"},
		{name: "B7 octet-stream", body: "40", ctype: "application/octet-stream", status: 400, resp: "", reason: "transport error"},
		{name: "B8 close", body: "1", status: 200, resp: "ok", reason: "transport close"},
		{name: "B9 client ping", body: "2", status: 200, resp: "ok", reason: "transport error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row(t, ts, func(t *testing.T) {
				p := ts.openPolling(t)
				id := p.connect(t)
				var hdr http.Header
				if tc.ctype != "" {
					hdr = http.Header{"Content-Type": {tc.ctype}}
				}
				status, body := ts.httpDo(t, "POST", p.url(), []byte(tc.body), hdr)
				if status != tc.status || body != tc.resp {
					t.Fatalf("POST %q: %d %q, want %d %q", tc.body, status, body, tc.status, tc.resp)
				}
				if r := ts.reason(t, id); r != tc.reason {
					t.Fatalf("reason %q, want %q", r, tc.reason)
				}
			})
		})
	}

	t.Run("B10 two concurrent GETs", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			p := ts.openPolling(t)
			id := p.connect(t)
			type result struct {
				status int
				body   string
			}
			first := make(chan result, 1)
			go func() {
				s, b := p.get(t)
				first <- result{s, b}
			}()
			eventually(t, "the first GET to be parked", func() bool {
				s := ts.Engine().Session(p.sid)
				return s != nil && s.Writable()
			})
			status, body := p.get(t)
			if status != 400 || body != "" {
				t.Fatalf("second GET: %d %q, want 400 with no body", status, body)
			}
			r := <-first
			if r.status != 200 || r.body != "1" {
				t.Fatalf("first GET: %d %q, want 200 \"1\"", r.status, r.body)
			}
			if reason := ts.reason(t, id); reason != "transport error" {
				t.Fatalf("reason %q, want transport error", reason)
			}
		})
	})

	t.Run("B11 two concurrent POSTs", func(t *testing.T) {
		// The reference answers 400 to a POST that overlaps one whose body
		// is still streaming in. Here a body reaches the engine only when
		// complete and is processed in one go on its event loop, so two
		// POSTs never overlap: both are accepted, their packets delivered.
		row(t, ts, func(t *testing.T) {
			p := ts.openPolling(t)
			id := p.connect(t)
			var wg sync.WaitGroup
			results := make([]string, 2)
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, b := p.post(t, `42["p`+strconv.Itoa(i)+`"]`)
					results[i] = strconv.Itoa(s) + " " + b
				}()
			}
			wg.Wait()
			for i, r := range results {
				if r != "200 ok" {
					t.Fatalf("POST %d: %s, want 200 ok", i, r)
				}
			}
			ev := ts.waitEvents(t, id, 2)
			if !(ev[0] == "p0" && ev[1] == "p1" || ev[0] == "p1" && ev[1] == "p0") {
				t.Fatalf("events %q, want p0 and p1", ev)
			}
			p.mustPost(t, "1")
		})
	})

	t.Run("B12 client never polls", func(t *testing.T) {
		fast := startServer(t, sio.Config{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond}, nil)
		row(t, fast, func(t *testing.T) {
			start := time.Now() // the heartbeat starts with the session
			p := fast.openPolling(t)
			p.mustPost(t, "40")
			// The CONNECT reply and the ping wait for a GET that never comes.
			eventually(t, "the socket to connect", func() bool { return len(fast.Of("/").Sockets()) == 2 })
			var id string
			for _, s := range fast.Of("/").Sockets() {
				if s.Conn().ID() == p.sid {
					id = s.ID()
				}
			}
			if r := fast.reason(t, id); r != "ping timeout" {
				t.Fatalf("reason %q, want ping timeout", r)
			}
			if el := time.Since(start); el < 500*time.Millisecond {
				t.Fatalf("ping timeout %v after the handshake began, before pingInterval+pingTimeout (500ms)", el)
			}
			status, body := p.get(t)
			if status != 400 || body != `{"code":1,"message":"Session ID unknown"}` {
				t.Fatalf("GET after timeout: %d %q", status, body)
			}
		})
	})

	t.Run("B13 websocket GET with polling sid and no Upgrade", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			p := ts.openPolling(t)
			status, body := ts.httpDo(t, "GET", ts.url("http", "EIO=4&transport=websocket&sid="+p.sid), nil, nil)
			if status != 400 || body != `{"code":3,"message":"Bad request"}` {
				t.Fatalf("got %d %q, want 400 code 3", status, body)
			}
			// The polling session carries on.
			id := p.connect(t)
			p.mustPost(t, "1")
			ts.reason(t, id)
		})
	})
}

func TestReliabilityC(t *testing.T) {
	checkLeaks(t)
	ts := startServer(t, sio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}, nil)
	const target = "/socket.io/?EIO=4&transport=websocket"

	for _, tc := range []struct {
		name   string
		method string
		extra  []string
		status int
		body   string
		header string // "Name: value" the refusal must carry
	}{
		{name: "C1 missing key", method: "GET", extra: []string{"Sec-WebSocket-Key: -"}, status: 400, body: "Missing or invalid Sec-WebSocket-Key header"},
		{name: "C1 short key", method: "GET", extra: []string{"Sec-WebSocket-Key: c2hvcnQ="}, status: 400, body: "Missing or invalid Sec-WebSocket-Key header"},
		{name: "C2 version 7", method: "GET", extra: []string{"Sec-WebSocket-Version: 7"}, status: 400, body: "Missing or invalid Sec-WebSocket-Version header", header: "Sec-WebSocket-Version: 13, 8"},
		{name: "C3 POST with Upgrade", method: "POST", extra: []string{"Content-Length: 0"}, status: 400, body: "Bad handshake method"},
		{name: "C4 Upgrade: foo", method: "GET", extra: []string{"Upgrade: foo"}, status: 400, body: "Invalid Upgrade header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row(t, ts, func(t *testing.T) {
				resp := rawHTTP(t, ts.addr, upgradeRequest(tc.method, target, tc.extra...))
				if resp.status != tc.status || resp.body != tc.body {
					t.Errorf("got %d %q, want %d %q", resp.status, resp.body, tc.status, tc.body)
				}
				if !resp.serverClosed() {
					// ws's abortHandshake sends Connection: close and
					// destroys the socket.
					t.Errorf("connection left open after the refused upgrade")
				}
				if tc.header != "" {
					name, value, _ := strings.Cut(tc.header, ": ")
					if got := resp.header.Get(name); got != value {
						t.Fatalf("%s: %q, want %q", name, got, value)
					}
				}
			})
		})
	}

	t.Run("C2 version 8 accepted", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", ts.addr, wait)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(wait))
			if _, err := io.WriteString(conn, upgradeRequest("GET", target, "Sec-WebSocket-Version: 8")); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
				t.Fatalf("status %d accept %q, want 101 s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
			}
			c := &wsClient{conn: conn, rd: br}
			if open := c.next(t); !openRE.MatchString(open) {
				t.Fatalf("open packet %q", open)
			}
		})
	})

	t.Run("C7 upgrade with unknown sid", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			resp := rawHTTP(t, ts.addr, upgradeRequest("GET", target+"&sid=AAAAAAAAAAAAAAAAAAAA"))
			if resp.status != 400 || resp.body != "Session ID unknown" {
				t.Fatalf("got %d %q, want 400 \"Session ID unknown\"", resp.status, resp.body)
			}
			if !resp.serverClosed() {
				t.Errorf("connection left open after the refused upgrade (the reference destroys the socket)")
			}
		})
	})

	t.Run("C8 upgrade with transport=polling", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			p := ts.openPolling(t)
			resp := rawHTTP(t, ts.addr, upgradeRequest("GET", "/socket.io/?EIO=4&transport=polling&sid="+p.sid))
			if resp.status != 400 || resp.body != "Bad request" {
				t.Fatalf("got %d %q, want 400 \"Bad request\" before any upgrade", resp.status, resp.body)
			}
			// The polling session goes on.
			id := p.connect(t)
			p.mustPost(t, "1")
			ts.reason(t, id)
		})
	})

	t.Run("C9 second upgrade while probing", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			p := ts.openPolling(t)
			id := p.connect(t)
			first := dialWS(t, ts.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
			first.send(t, "2probe")
			if got := first.next(t); got != "3probe" {
				t.Fatalf("probe answer %q", got)
			}
			second := dialWS(t, ts.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
			second.expectClose(t, closeNoCode)
			// The first probe carries on and completes the upgrade.
			if status, body := p.get(t); status != 200 || body != "6" {
				t.Fatalf("GET during the upgrade: %d %q, want 200 \"6\"", status, body)
			}
			first.send(t, "5")
			first.echoAck(t, 1, `"over ws"`)
			if tr := ts.Engine().Session(p.sid).Transport(); tr != "websocket" {
				t.Fatalf("transport %q after the upgrade", tr)
			}
			first.writeFrame(t, true, 0, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
			first.expectClose(t, 1000)
			if r := ts.reason(t, id); r != "transport close" {
				t.Fatalf("reason %q, want transport close", r)
			}
		})
	})
}
