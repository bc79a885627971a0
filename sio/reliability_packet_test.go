package sio_test

// Bad Engine.IO packets (cases E1, E2, ...), Socket.IO packets (F) and
// binary attachments (G), over raw WebSocket frames.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/sio"
)

// input is one message a bad client sends, text or binary.
type input struct {
	text   string
	binary []byte
}

func text(s string) input    { return input{text: s} }
func binary(b ...byte) input { return input{binary: b} }

// frame returns the masked client frame carrying in.
func (in input) frame() ws.Frame {
	if in.binary != nil {
		return ws.MaskFrameInPlace(ws.NewBinaryFrame(append([]byte(nil), in.binary...)))
	}
	return ws.MaskFrameInPlace(ws.NewTextFrame([]byte(in.text)))
}

// closeCase is a row whose input must end the connection: an empty close
// frame (no status code) and the given disconnect reason.
type closeCase struct {
	name   string
	in     []input
	reason string
}

// runCloseCases connects a client to "/", sends each case's inputs and
// requires the close and the reason.
func runCloseCases(t *testing.T, ts *testServer, cases []closeCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			row(t, ts, func(t *testing.T) {
				c, id := ts.connectWS(t)
				// One write for all inputs: a server that gives up on the
				// first one must not find the others unread in its socket
				// buffer when it closes (that would turn its FIN into a
				// RST and lose the close frame).
				var batch []byte
				for _, in := range tc.in {
					batch = appendFrame(t, batch, in.frame())
				}
				c.writeRaw(t, batch)
				c.expectClose(t, closeNoCode)
				if r := ts.reason(t, id); r != tc.reason {
					t.Fatalf("reason %q, want %q", r, tc.reason)
				}
				if ev := ts.eventsOf(id); len(ev) != 0 {
					t.Fatalf("events %q were delivered", ev)
				}
			})
		})
	}
}

func TestReliabilityE(t *testing.T) {
	checkLeaks(t)
	ts := startServer(t, sio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}, nil)

	runCloseCases(t, ts, []closeCase{
		{name: "E1 empty text frame", in: []input{text("")}, reason: "parse error"},
		{name: "E2 type 9", in: []input{text("9")}, reason: "parse error"},
		{name: "E2 type 7", in: []input{text("7")}, reason: "parse error"},
		{name: "E2 type x", in: []input{text("x")}, reason: "parse error"},
		{name: "E3 client ping", in: []input{text("2")}, reason: "transport error"},
		{name: "E3 2probe on a websocket session", in: []input{text("2probe")}, reason: "transport error"},
		{name: "E10 binary frame with no pending attachments", in: []input{binary(1, 2, 3)}, reason: "forced close"},
	})

	t.Run("E4 pong, upgrade and noop are ignored", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			c, id := ts.connectWS(t)
			c.send(t, "3")
			c.send(t, "5")
			c.send(t, "6")
			c.echoAck(t, 7, `"still here"`)
			if _, gone := ts.hasReason(id); gone {
				t.Fatal("socket disconnected")
			}
			// D12: a close frame 1000 is echoed; reason transport close.
			c.writeFrame(t, true, 0, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
			c.expectClose(t, 1000)
			if r := ts.reason(t, id); r != "transport close" {
				t.Fatalf("reason %q, want transport close", r)
			}
		})
	})

	t.Run("E5 client closes TCP without a close frame", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			// ws reports an abrupt end (no close frame, code 1006) as a
			// plain "close", which engine.io names "transport close";
			// only protocol errors are "transport error".
			c, id := ts.connectWS(t)
			c.conn.Close()
			if r := ts.reason(t, id); r != "transport close" {
				t.Fatalf("reason %q, want transport close", r)
			}
		})
	})

	t.Run("E5 close packet", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			c, id := ts.connectWS(t)
			c.send(t, "1")
			c.expectClose(t, closeNoCode)
			if r := ts.reason(t, id); r != "transport close" {
				t.Fatalf("reason %q, want transport close", r)
			}
		})
	})

	t.Run("E6 no pong", func(t *testing.T) {
		fast := startServer(t, sio.Config{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond}, nil)
		row(t, fast, func(t *testing.T) {
			start := time.Now() // the heartbeat starts with the session
			c, id := fast.connectWS(t)
			if got := c.next(t); got != "2" {
				t.Fatalf("got %q, want a ping", got)
			}
			c.expectClose(t, closeNoCode)
			if r := fast.reason(t, id); r != "ping timeout" {
				t.Fatalf("reason %q, want ping timeout", r)
			}
			if el := time.Since(start); el < 500*time.Millisecond {
				t.Fatalf("closed %v after the handshake began, before pingInterval+pingTimeout", el)
			}
		})
	})

	t.Run("E7 upgrade", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			p := ts.openPolling(t)
			id := p.connect(t)
			type res struct {
				status int
				body   string
			}
			parked := make(chan res, 1)
			go func() {
				s, b := p.get(t)
				parked <- res{s, b}
			}()
			eventually(t, "the GET to be parked", func() bool { return ts.Engine().Session(p.sid).Writable() })
			c := dialWS(t, ts.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
			c.send(t, "2probe")
			if got := c.next(t); got != "3probe" {
				t.Fatalf("probe answer %q, want 3probe", got)
			}
			if r := <-parked; r.status != 200 || r.body != "6" {
				t.Fatalf("parked GET: %d %q, want 200 \"6\"", r.status, r.body)
			}
			// Traffic still flows over polling until "5".
			p.mustPost(t, `421["echo","poll"]`)
			if status, body := p.get(t); status != 200 || body != `431["poll"]` {
				t.Fatalf("GET before 5: %d %q", status, body)
			}
			c.send(t, "5")
			c.echoAck(t, 2, `"ws"`)
			if status, body := p.get(t); status != 400 || body != `{"code":3,"message":"Bad request"}` {
				t.Fatalf("GET after the upgrade: %d %q, want 400 code 3", status, body)
			}
			c.send(t, "1")
			c.expectClose(t, closeNoCode)
			if r := ts.reason(t, id); r != "transport close" {
				t.Fatalf("reason %q, want transport close", r)
			}
		})
	})

	t.Run("E8 upgrade never completed", func(t *testing.T) {
		short := startServer(t, sio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second, UpgradeTimeout: 300 * time.Millisecond}, nil)
		row(t, short, func(t *testing.T) {
			p := short.openPolling(t)
			id := p.connect(t)
			start := time.Now() // the upgrade deadline starts with the probe
			c := dialWS(t, short.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
			c.send(t, "2probe")
			if got := c.next(t); got != "3probe" {
				t.Fatalf("probe answer %q", got)
			}
			c.expectClose(t, closeNoCode)
			if el := time.Since(start); el < 300*time.Millisecond {
				t.Fatalf("probe closed %v after it opened, before upgradeTimeout (300ms)", el)
			}
			if tr := short.Engine().Session(p.sid).Transport(); tr != "polling" {
				t.Fatalf("transport %q, want polling", tr)
			}
			if status, body := p.get(t); status != 200 || body != "6" {
				t.Fatalf("GET: %d %q, want the noop owed since 3probe", status, body)
			}
			p.mustPost(t, `421["echo","still polling"]`)
			if status, body := p.get(t); status != 200 || body != `431["still polling"]` {
				t.Fatalf("GET: %d %q", status, body)
			}
			p.mustPost(t, "1")
			if r := short.reason(t, id); r != "transport close" {
				t.Fatalf("reason %q", r)
			}
		})
	})

	t.Run("E9 RSV2 frame during the probe", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			p := ts.openPolling(t)
			id := p.connect(t)
			c := dialWS(t, ts.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
			c.writeFrame(t, true, ws.Rsv(false, true, false), ws.OpText, []byte("2probe"))
			c.expectClose(t, 1002)
			if tr := ts.Engine().Session(p.sid).Transport(); tr != "polling" {
				t.Fatalf("transport %q, want polling", tr)
			}
			p.mustPost(t, `421["echo","after rsv2"]`)
			if status, body := p.get(t); status != 200 || body != `431["after rsv2"]` {
				t.Fatalf("GET: %d %q", status, body)
			}
			p.mustPost(t, "1")
			ts.reason(t, id)
		})
	})
}

func TestReliabilityF(t *testing.T) {
	checkLeaks(t)
	var (
		authMu   sync.Mutex
		authSeen []string
	)
	ts := startServer(t, sio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}, func(s *sio.Server) {
		s.Use(func(sock *sio.Socket) error {
			authMu.Lock()
			authSeen = append(authSeen, string(sock.Handshake().Auth))
			authMu.Unlock()
			return nil
		})
	})

	for _, tc := range []struct {
		name, in, auth string
	}{
		{name: "F1 CONNECT", in: `40`, auth: `{}`},
		{name: "F1 CONNECT with auth", in: `40{"token":"abc"}`, auth: `{"token":"abc"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row(t, ts, func(t *testing.T) {
				c, _ := ts.openWS(t)
				c.send(t, tc.in)
				reply := c.next(t)
				m := connectRE.FindStringSubmatch(reply)
				if m == nil || m[1] != "" {
					t.Fatalf("CONNECT reply %q, want 40{\"sid\":...}", reply)
				}
				// The connection handler may run just after the reply left.
				var auth string
				eventually(t, "the connection handler", func() bool {
					ts.mu.Lock()
					defer ts.mu.Unlock()
					var ok bool
					auth, ok = ts.auth[m[2]]
					return ok
				})
				if auth != tc.auth {
					t.Fatalf("handshake auth %q, want %q", auth, tc.auth)
				}
				authMu.Lock()
				last := authSeen[len(authSeen)-1]
				authMu.Unlock()
				if last != tc.auth {
					t.Fatalf("middleware saw auth %q, want %q", last, tc.auth)
				}
				c.conn.Close()
				ts.reason(t, m[2])
			})
		})
	}

	runCloseCases(t, ts, []closeCase{
		{name: "F4 second CONNECT to /", in: []input{text("40")}, reason: "forced close"},
		{name: "F5 event for a namespace not joined", in: []input{text(`42/admin,["x"]`)}, reason: "forced close"},
		{name: "F6 event without payload", in: []input{text("42")}, reason: "forced close"},
		{name: "F7 object payload", in: []input{text(`42{"a":1}`)}, reason: "forced close"},
		{name: "F7 invalid JSON", in: []input{text(`42["a",`)}, reason: "forced close"},
		{name: "F7 empty array", in: []input{text(`42[]`)}, reason: "forced close"},
		{name: "F7 null name", in: []input{text(`42[null]`)}, reason: "forced close"},
		{name: "F7 object name", in: []input{text(`42[{"toString":"foo"}]`)}, reason: "forced close"},
		{name: "F8 connect", in: []input{text(`42["connect"]`)}, reason: "forced close"},
		{name: "F8 connect_error", in: []input{text(`42["connect_error"]`)}, reason: "forced close"},
		{name: "F8 disconnect", in: []input{text(`42["disconnect"]`)}, reason: "forced close"},
		{name: "F8 disconnecting", in: []input{text(`42["disconnecting"]`)}, reason: "forced close"},
		{name: "F8 newListener", in: []input{text(`42["newListener"]`)}, reason: "forced close"},
		{name: "F8 removeListener", in: []input{text(`42["removeListener"]`)}, reason: "forced close"},
		{name: "F13 ack id above 2^64", in: []input{text(`42100000000000000000000["echo"]`)}, reason: "forced close"},
		{name: "F15 type 7", in: []input{text(`47`)}, reason: "forced close"},
		{name: "F15 CONNECT_ERROR from the client", in: []input{text(`44{"message":"x"}`)}, reason: "forced close"},
		{name: "F15 DISCONNECT with payload", in: []input{text(`41{}`)}, reason: "forced close"},
		{name: "F17 JSON nested 5000 deep", in: []input{text(`42["x",` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `]`)}, reason: "forced close"},
	})

	for _, tc := range []struct {
		name string
		in   string
	}{
		{name: "F2 auth not an object", in: `40"abc"`},
		{name: "F5 event before CONNECT", in: `42["x"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row(t, ts, func(t *testing.T) {
				c, _ := ts.openWS(t)
				c.send(t, tc.in)
				// No socket exists yet, so there is no disconnect reason
				// to read: the connection must just end, and its session.
				c.expectClose(t, closeNoCode)
			})
		})
	}

	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{name: "F3 unknown namespace", in: "40/nope,", want: `44/nope,{"message":"Invalid namespace"}`},
		{name: "F3 unknown namespace without comma", in: "40/nope", want: `44/nope,{"message":"Invalid namespace"}`},
		{name: "F3 namespace with NUL", in: "40/a\x00b,", want: "44/a\x00b,{\"message\":\"Invalid namespace\"}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row(t, ts, func(t *testing.T) {
				c, _ := ts.openWS(t)
				c.send(t, tc.in)
				if got := c.next(t); got != tc.want {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
				// The connection stays open and usable.
				c.send(t, "40")
				m := connectRE.FindStringSubmatch(c.next(t))
				if m == nil {
					t.Fatal("CONNECT after the refusal failed")
				}
				c.echoAck(t, 1, `"ok"`)
				c.conn.Close()
				ts.reason(t, m[2])
			})
		})
	}

	for _, tc := range []struct {
		name  string
		in    string
		event string // logged event, "" for none
		reply string // expected reply, "" for none
	}{
		{name: "F9 error event", in: `42["error","x"]`, event: `error "x"`},
		{name: "F10 numeric event name", in: `42[1,"x"]`, event: `1 "x"`},
		{name: "F11 __proto__ event", in: `42["__proto__",{"a":1}]`, event: `__proto__ {"a":1}`},
		{name: "F12 event with ack", in: `421["echo","hi"]`, event: `echo "hi"`, reply: `431["hi"]`},
		{name: "F14 unknown ack id", in: `43999["x"]`},
		{name: "F14 ack without payload", in: `43`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row(t, ts, func(t *testing.T) {
				c, id := ts.connectWS(t)
				c.send(t, tc.in)
				if tc.reply != "" {
					if got := c.next(t); got != tc.reply {
						t.Fatalf("reply %q, want %q", got, tc.reply)
					}
				}
				// A later ack proves the connection survived and that the
				// input produced no reply of its own.
				c.echoAck(t, 99, `"after"`)
				want := []string{`echo "after"`}
				if tc.event != "" {
					want = append([]string{tc.event}, want...)
				}
				got := ts.waitEvents(t, id, len(want))
				if strings.Join(got, "|") != strings.Join(want, "|") {
					t.Fatalf("events %q, want %q", got, want)
				}
				c.conn.Close()
				ts.reason(t, id)
			})
		})
	}

	t.Run("F16 DISCONNECT", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			c, id := ts.connectWS(t)
			c.send(t, "41")
			if r := ts.reason(t, id); r != "client namespace disconnect" {
				t.Fatalf("reason %q, want client namespace disconnect", r)
			}
			// socket.io's Client._remove does not close the connection
			// when its last namespace goes (the JS client does that
			// itself): the connection may CONNECT again.
			c.send(t, "40")
			m := connectRE.FindStringSubmatch(c.next(t))
			if m == nil {
				t.Fatal("no CONNECT reply on the same connection")
			}
			if m[2] == id {
				t.Fatal("the new socket reuses the old socket id")
			}
			c.echoAck(t, 1, `"again"`)
			c.send(t, "1")
			c.expectClose(t, closeNoCode)
			if r := ts.reason(t, m[2]); r != "transport close" {
				t.Fatalf("reason %q, want transport close", r)
			}
		})
	})

	t.Run("F16 DISCONNECT of one namespace of two", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			c, id := ts.connectWS(t)
			c.send(t, "40/admin,")
			m := connectRE.FindStringSubmatch(c.next(t))
			if m == nil || m[1] != "/admin," {
				t.Fatal("no CONNECT reply for /admin")
			}
			c.send(t, "41/admin,")
			if r := ts.reason(t, m[2]); r != "client namespace disconnect" {
				t.Fatalf("reason %q", r)
			}
			// "/" is still connected on the same connection.
			c.echoAck(t, 5, `"main"`)
			if _, gone := ts.hasReason(id); gone {
				t.Fatal("main namespace socket disconnected too")
			}
			c.conn.Close()
			ts.reason(t, id)
		})
	})

	t.Run("F18 1000 acks in one write", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			c, id := ts.connectWS(t)
			var batch []byte
			for i := 0; i < 1000; i++ {
				f := ws.MaskFrameInPlace(ws.NewTextFrame([]byte("42" + strconv.Itoa(i) + `["echo",` + strconv.Itoa(i) + `]`)))
				batch = appendFrame(t, batch, f)
			}
			c.writeRaw(t, batch)
			for i := 0; i < 1000; i++ {
				want := "43" + strconv.Itoa(i) + "[" + strconv.Itoa(i) + "]"
				if got := c.next(t); got != want {
					t.Fatalf("ack %d: got %q, want %q", i, got, want)
				}
			}
			c.conn.Close()
			ts.reason(t, id)
		})
	})

	t.Run("F19 fragmented message", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			c, id := ts.connectWS(t)
			c.writeFrame(t, false, 0, ws.OpText, []byte(`421["echo"`))
			c.writeFrame(t, false, 0, ws.OpContinuation, []byte(`,"x`))
			c.writeFrame(t, true, 0, ws.OpContinuation, []byte(`"]`))
			if got := c.next(t); got != `431["x"]` {
				t.Fatalf("got %q, want 431[\"x\"]", got)
			}
			c.conn.Close()
			ts.reason(t, id)
		})
	})

	t.Run("F20 server ack never answered", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			c, id := ts.connectWS(t)
			sock := ts.Of("/").Socket(id)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := sock.EmitWithAck(ctx, "question", 1)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("EmitWithAck err %v, want context.DeadlineExceeded", err)
			}
			got := c.next(t)
			ackID, ok := strings.CutSuffix(strings.TrimPrefix(got, "42"), `["question",1]`)
			if !strings.HasPrefix(got, "42") || !ok || ackID == "" {
				t.Fatalf("client got %q, want 42<id>[\"question\",1]", got)
			}
			// An answer after the timeout is ignored, not delivered late.
			c.send(t, "43"+ackID+`["late"]`)
			// Pending at disconnect: the waiter gets ErrDisconnected.
			errc := make(chan error, 1)
			go func() {
				_, err := sock.EmitWithAck(context.Background(), "question", 2)
				errc <- err
			}()
			if got := c.next(t); !strings.HasSuffix(got, `["question",2]`) {
				t.Fatalf("client got %q", got)
			}
			c.conn.Close()
			select {
			case err := <-errc:
				if !errors.Is(err, sio.ErrDisconnected) {
					t.Fatalf("EmitWithAck on disconnect: %v, want ErrDisconnected", err)
				}
			case <-time.After(wait):
				t.Fatal("EmitWithAck still waiting after the disconnect")
			}
			ts.reason(t, id)
		})
	})
}

func appendFrame(t testing.TB, dst []byte, f ws.Frame) []byte {
	t.Helper()
	var b strings.Builder
	if err := ws.WriteFrame(&b, f); err != nil {
		t.Fatal(err)
	}
	return append(dst, b.String()...)
}

func TestReliabilityG(t *testing.T) {
	checkLeaks(t)
	ts := startServer(t, sio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}, nil)

	t.Run("G1 binary event with ack", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			c, id := ts.connectWS(t)
			c.send(t, `451-7["echo",{"_placeholder":true,"num":0}]`)
			c.sendBinary(t, []byte{1, 2, 3})
			if got := c.next(t); got != `461-7[{"_placeholder":true,"num":0}]` {
				t.Fatalf("ack header %q", got)
			}
			if got := c.nextBinary(t); string(got) != "\x01\x02\x03" {
				t.Fatalf("ack attachment %x", got)
			}
			if ev := ts.waitEvents(t, id, 1); ev[0] != "echo <bin 010203>" {
				t.Fatalf("event %q", ev)
			}
			c.conn.Close()
			ts.reason(t, id)
		})
	})

	t.Run("G placeholders out of order", func(t *testing.T) {
		row(t, ts, func(t *testing.T) {
			// Placeholders index the attachment list; their order in the
			// JSON does not matter (socket.io-parser reconstructPacket).
			c, id := ts.connectWS(t)
			c.send(t, `452-["pair",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`)
			c.sendBinary(t, []byte{0xa})
			c.sendBinary(t, []byte{0xb})
			c.echoAck(t, 3, `"after"`)
			got := ts.waitEvents(t, id, 2)
			if got[0] != "pair <bin 0b> <bin 0a>" {
				t.Fatalf("event %q, want pair <bin 0b> <bin 0a>", got[0])
			}
			c.conn.Close()
			ts.reason(t, id)
		})
	})

	placeholder := func(num string) input {
		return text(`451-["x",{"_placeholder":true,"num":` + num + `}]`)
	}
	runCloseCases(t, ts, []closeCase{
		{name: "G2 num splice", in: []input{placeholder(`"splice"`), binary(1)}, reason: "forced close"},
		{name: "G2 num __proto__", in: []input{placeholder(`"__proto__"`), binary(1)}, reason: "forced close"},
		{name: "G2 num float", in: []input{placeholder(`0.5`), binary(1)}, reason: "forced close"},
		{name: "G2 num negative", in: []input{placeholder(`-1`), binary(1)}, reason: "forced close"},
		{name: "G2 num out of range", in: []input{placeholder(`1`), binary(1)}, reason: "forced close"},
		{name: "G3 11 attachments", in: []input{text(`4511-["x"]`)}, reason: "forced close"},
		{name: "G4 huge attachment count", in: []input{text(`451000000000-["x"]`)}, reason: "forced close"},
		{name: "G5 zero attachments", in: []input{text(`450-["x"]`)}, reason: "forced close"},
		{name: "G6 count not a number", in: []input{text(`45abc-["x"]`)}, reason: "forced close"},
		{name: "G6 no dash", in: []input{text(`451["x"]`)}, reason: "forced close"},
		{name: "G7 binary with no header", in: []input{binary(9, 9)}, reason: "forced close"},
		{name: "G7 text while binary pending", in: []input{placeholder("0"), text(`42["x"]`)}, reason: "forced close"},
	})
}
