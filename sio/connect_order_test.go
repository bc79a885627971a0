package sio_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// gatedNamespace serves /gate: a socket whose CONNECT auth is {"gate":1}
// runs a connection handler that reports it started (entered), waits for
// gate, then joins room r and emits "welcome"; other sockets connect at
// once. Its sockets ack "echo".
func gatedNamespace(srv *sio.Server, entered chan<- *sio.Socket, gate <-chan struct{}) {
	srv.Of("/gate").OnConnection(func(s *sio.Socket) {
		s.On("echo", echo)
		if string(s.Handshake().Auth) != `{"gate":1}` {
			return
		}
		entered <- s
		select {
		case <-gate:
		case <-s.Context().Done(): // the test failed and its server closes
			return
		}
		s.Join("r")
		s.Emit("welcome")
	})
}

// newGate returns a gate for gatedNamespace and its opener, which may be
// called more than once; the test's end opens it, so that a failed test
// leaves no handler blocked (Close waits for them).
func newGate(t *testing.T) (gate chan struct{}, open func()) {
	gate = make(chan struct{})
	var once sync.Once
	open = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(open)
	return gate, open
}

// connectGate opens a WebSocket session and sends a CONNECT to /gate with auth.
func connectGate(t *testing.T, ts *testServer, auth string) *wsClient {
	t.Helper()
	c, _ := ts.openWS(t)
	c.send(t, "40/gate,"+auth)
	return c
}

// TestConnectReplyAfterConnectionHandler: the CONNECT reply, and whatever
// the socket is sent meanwhile, leave only once the connection handler has
// returned, as in socket.io, where the handler runs before the reply is
// written. Before, the reply went out first: a client told "connected"
// could have a broadcast sent to a room its handler had not joined yet.
func TestConnectReplyAfterConnectionHandler(t *testing.T) {
	entered := make(chan *sio.Socket, 1)
	gate, openGate := newGate(t)
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) { gatedNamespace(srv, entered, gate) })
	gateNs := ts.Of("/gate")

	witness := connectGate(t, ts, "")
	if r := witness.next(t); !strings.HasPrefix(r, `40/gate,{"sid":`) {
		t.Fatalf("witness CONNECT reply %q", r)
	}
	a := connectGate(t, ts, `{"gate":1}`)
	var sa *sio.Socket
	select {
	case sa = <-entered:
	case <-time.After(wait):
		t.Fatal("connection handler never ran")
	}

	// A broadcast while the handler runs reaches the socket (it is in the
	// namespace), but only after the CONNECT reply, when the handler is done.
	gateNs.Emit("probe")
	if got := witness.next(t); got != `42/gate,["probe"]` {
		t.Fatalf("witness got %q, want the probe", got)
	}
	// The probe was written to the witness: had it, or the CONNECT reply,
	// been written to the gated socket, it would be there by now.
	if m, err := a.readMessage(300 * time.Millisecond); err == nil {
		t.Fatalf("got %q while the connection handler had not returned", m.data)
	}

	openGate()
	want := []string{`40/gate,{"sid":"` + sa.ID() + `"}`, `42/gate,["probe"]`, `42/gate,["welcome"]`}
	for _, w := range want {
		if got := a.next(t); got != w {
			t.Fatalf("got %q, want %q", got, w)
		}
	}
	// After the reply the socket is in the room its handler joined.
	gateNs.To("r").Emit("room")
	if got := a.next(t); got != `42/gate,["room"]` {
		t.Fatalf("got %q, want the room broadcast", got)
	}
	a.echoAckNs(t, "/gate", 1, `"x"`)
}

// echoAckNs is echoAck in namespace nsp.
func (c *wsClient) echoAckNs(t testing.TB, nsp string, id int, arg string) {
	t.Helper()
	ids := string(rune('0' + id))
	c.send(t, "42"+nsp+","+ids+`["echo",`+arg+`]`)
	if got, want := c.next(t), "43"+nsp+","+ids+"["+arg+"]"; got != want {
		t.Fatalf("echo ack %q, want %q", got, want)
	}
}

// TestConnectHandlerWaitsForOwnClient: a connection handler that waits for
// its own client's answer (EmitWithAck) gets it: the CONNECT reply and the
// question are released for the client to answer.
func TestConnectHandlerWaitsForOwnClient(t *testing.T) {
	answered := make(chan string, 1)
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) {
		srv.Of("/ask").OnConnection(func(s *sio.Socket) {
			m, err := s.Timeout(wait).EmitWithAck(context.Background(), "q")
			if err != nil {
				answered <- "error: " + err.Error()
				return
			}
			answered <- string(m.Arg(0))
			s.Emit("thanks")
		})
	})
	c, _ := ts.openWS(t)
	c.send(t, "40/ask,")
	if r := c.next(t); !strings.HasPrefix(r, `40/ask,{"sid":`) {
		t.Fatalf("CONNECT reply %q", r)
	}
	if q := c.next(t); q != `42/ask,0["q"]` {
		t.Fatalf("got %q, want the question", q)
	}
	c.send(t, `43/ask,0["yes"]`)
	select {
	case a := <-answered:
		if a != `"yes"` {
			t.Fatalf("handler got %s", a)
		}
	case <-time.After(wait):
		t.Fatal("the handler never got its answer")
	}
	if got := c.next(t); got != `42/ask,["thanks"]` {
		t.Fatalf("got %q", got)
	}
}

// TestConnectHandlerBroadcastsWithAck: a connection handler that joins a
// room and waits for the answers of a broadcast to it (BroadcastOperator's
// EmitWithAck) gets its own client's answer too: the hold on its output is
// released, as by Socket.EmitWithAck. Before, the broadcast waited for a
// client that could not see the question until the handler returned, and
// ended with ErrAckTimeout.
func TestConnectHandlerBroadcastsWithAck(t *testing.T) {
	answered := make(chan string, 1)
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) {
		srv.Of("/ask").OnConnection(func(s *sio.Socket) {
			s.Join("r")
			ms, err := srv.Of("/ask").To("r").Timeout(wait).EmitWithAck(context.Background(), "q")
			if err != nil || len(ms) != 1 {
				answered <- fmt.Sprintf("%d answers, error %v", len(ms), err)
				return
			}
			answered <- string(ms[0].Arg(0))
		})
	})
	c, _ := ts.openWS(t)
	c.send(t, "40/ask,")
	if r := c.next(t); !strings.HasPrefix(r, `40/ask,{"sid":`) {
		t.Fatalf("CONNECT reply %q", r)
	}
	if q := c.next(t); q != `42/ask,0["q"]` {
		t.Fatalf("got %q, want the question", q)
	}
	c.send(t, `43/ask,0["yes"]`)
	select {
	case a := <-answered:
		if a != `"yes"` {
			t.Fatalf("handler got %s", a)
		}
	case <-time.After(2 * wait):
		t.Fatal("the handler never got its answer")
	}
}

// TestConnectHandlerDisconnects: a handler that disconnects its socket
// sends CONNECT then DISCONNECT, as socket.io does, and with true closes
// the connection after them.
func TestConnectHandlerDisconnects(t *testing.T) {
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) {
		srv.Of("/bye").OnConnection(func(s *sio.Socket) {
			s.Emit("hello")
			s.Disconnect(string(s.Handshake().Auth) == `{"close":1}`)
		})
	})
	for _, close := range []bool{false, true} {
		c, _ := ts.openWS(t)
		auth := ""
		if close {
			auth = `{"close":1}`
		}
		c.send(t, "40/bye,"+auth)
		if r := c.next(t); !strings.HasPrefix(r, `40/bye,{"sid":`) {
			t.Fatalf("close=%v: CONNECT reply %q", close, r)
		}
		for _, w := range []string{`42/bye,["hello"]`, `41/bye,`} {
			if got := c.next(t); got != w {
				t.Fatalf("close=%v: got %q, want %q", close, got, w)
			}
		}
		if close {
			c.expectClose(t, closeNoCode)
		} else {
			// The connection is left open: it may join another namespace.
			c.send(t, "40")
			if r := c.next(t); !strings.HasPrefix(r, `40{"sid":`) {
				t.Fatalf("CONNECT to / after the disconnect: %q", r)
			}
		}
	}
}

// TestConnectHoldBounded: a connection handler that blocks while its socket
// is sent more than the hold keeps (1 MiB) gets its output released early,
// CONNECT first, instead of memory growing with the wait.
func TestConnectHoldBounded(t *testing.T) {
	entered := make(chan *sio.Socket, 1)
	gate, openGate := newGate(t)
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) { gatedNamespace(srv, entered, gate) })
	a := connectGate(t, ts, `{"gate":1}`)
	select {
	case <-entered:
	case <-time.After(wait):
		t.Fatal("connection handler never ran")
	}
	big := strings.Repeat("x", 600<<10)
	ts.Of("/gate").Emit("big", big)
	ts.Of("/gate").Emit("big", big)
	if r := a.next(t); !strings.HasPrefix(r, `40/gate,{"sid":`) {
		t.Fatalf("first message %.40q, want the CONNECT reply", r)
	}
	for i := 0; i < 2; i++ {
		if got := a.next(t); len(got) != len(`42/gate,["big",""]`)+len(big) {
			t.Fatalf("message %d: %.40q (%d bytes)", i, got, len(got))
		}
	}
	openGate()
	if got := a.next(t); got != `42/gate,["welcome"]` {
		t.Fatalf("got %q", got)
	}
}
