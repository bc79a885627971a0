package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sioloop/sioloop/client"
)

// The tests below run against every fixture server (ours and the Node
// reference) and, where the transport matters, over each way to connect.

type mode struct {
	name       string
	transports []string
	// upgraded: the connection must end up on WebSocket.
	upgraded bool
}

var modes = []mode{
	{name: "websocket", transports: []string{client.WebSocket}, upgraded: true},
	{name: "polling", transports: []string{client.Polling}},
	{name: "upgrade", transports: []string{client.Polling, client.WebSocket}, upgraded: true},
}

// forEach runs f for every fixture and transport mode.
func forEach(t *testing.T, f func(t *testing.T, fx fixture, md mode)) {
	for _, fx := range servers(t) {
		t.Run(fx.name, func(t *testing.T) {
			for _, md := range modes {
				t.Run(md.name, func(t *testing.T) {
					t.Parallel()
					f(t, fx, md)
				})
			}
		})
	}
}

func (md mode) options() client.Options {
	return client.Options{Transports: md.transports, Timeout: 5 * time.Second}
}

const wait = 5 * time.Second

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// listen returns a channel receiving every event name of s.
func listen(s *client.Socket, name string) <-chan *client.Event {
	ch := make(chan *client.Event, 64)
	s.On(name, func(ev *client.Event) {
		select {
		case ch <- ev:
		default:
		}
	})
	return ch
}

func next[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("no %s within %v", what, wait)
		var zero T
		return zero
	}
}

// noneWithin fails if ch yields a value within d.
func noneWithin[T any](t *testing.T, ch <-chan T, d time.Duration, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	case <-time.After(d):
	}
}

// jsonEqual compares two JSON texts as values (object key order aside).
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// connect opens a socket on nsp and registers cleanup.
func connect(t *testing.T, url string, opts client.Options, nsp string, sopts client.SocketOptions) (*client.Socket, <-chan *client.Event) {
	t.Helper()
	m := client.NewManager(url, opts)
	s := m.Socket(nsp, sopts)
	auth := listen(s, "auth")
	t.Cleanup(m.Close)
	if err := s.ConnectContext(ctxT(t)); err != nil {
		t.Fatalf("connect %s%s: %v", url, nsp, err)
	}
	return s, auth
}

// waitTransport waits until m runs on transport.
func waitTransport(t *testing.T, m *client.Manager, transport string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for m.Transport() != transport {
		if time.Now().After(deadline) {
			t.Fatalf("transport is %q, want %q", m.Transport(), transport)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConnect(t *testing.T) {
	forEach(t, func(t *testing.T, fx fixture, md mode) {
		s, auth := connect(t, fx.url, md.options(), "/", client.SocketOptions{})
		if s.ID() == "" || !s.Connected() || !s.Active() {
			t.Fatalf("after connect: id %q connected %v active %v", s.ID(), s.Connected(), s.Active())
		}
		ev := next(t, auth, "auth event")
		jsonEqual(t, ev.Arg(0), `{}`)
		if md.upgraded {
			waitTransport(t, s.Manager(), client.WebSocket)
		} else if tr := s.Manager().Transport(); tr != client.Polling {
			t.Fatalf("transport %q, want polling", tr)
		}
		// A volatile event leaves when the transport is writable.
		back := listen(s, "echo-back")
		if err := s.Volatile().Emit("echo", "volatile"); err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, next(t, back, "echo-back").Arg(0), `"volatile"`)
		disc := make(chan string, 1)
		s.OnDisconnect(func(r string) { disc <- r })
		s.Disconnect()
		if r := next(t, disc, "disconnect"); r != client.ReasonClientDisconnect {
			t.Fatalf("reason %q", r)
		}
		if s.Connected() || s.Active() || s.ID() != "" {
			t.Fatal("still connected after Disconnect")
		}
	})
}

func TestEvents(t *testing.T) {
	forEach(t, func(t *testing.T, fx fixture, md mode) {
		s, _ := connect(t, fx.url, md.options(), "/", client.SocketOptions{})
		back := listen(s, "echo-back")
		type obj struct {
			Three []bool `json:"three"`
		}
		if err := s.Emit("echo", 1, "two", obj{Three: []bool{true}}, nil, 2.5, map[string]any{"k": []any{"v", 1}}); err != nil {
			t.Fatal(err)
		}
		ev := next(t, back, "echo-back")
		if ev.Name != "echo-back" || ev.Len() != 6 {
			t.Fatalf("got %s with %d args", ev.Name, ev.Len())
		}
		for i, want := range []string{`1`, `"two"`, `{"three":[true]}`, `null`, `2.5`, `{"k":["v",1]}`} {
			jsonEqual(t, ev.Arg(i), want)
		}
		var (
			n   int
			str string
			o   obj
		)
		if err := ev.Decode(&n, &str, &o); err != nil || n != 1 || str != "two" || !o.Three[0] {
			t.Fatalf("decode: %v %d %q %v", err, n, str, o)
		}
		// Many events keep their order.
		for i := range 50 {
			if err := s.Emit("echo", i); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 50 {
			var got int
			if err := next(t, back, "echo-back").Decode(&got); err != nil || got != i {
				t.Fatalf("event %d: got %d (%v)", i, got, err)
			}
		}
		if err := s.Emit("connect"); !errors.Is(err, client.ErrReservedEvent) {
			t.Fatalf("reserved name: %v", err)
		}
	})
}

func TestAcks(t *testing.T) {
	forEach(t, func(t *testing.T, fx fixture, md mode) {
		s, _ := connect(t, fx.url, md.options(), "/", client.SocketOptions{})
		// Client to server.
		reply, err := s.EmitWithAck(ctxT(t), "ack", 1, "2", map[string]any{"3": []any{false}})
		if err != nil {
			t.Fatal(err)
		}
		if reply.Len() != 3 {
			t.Fatalf("ack with %d args", reply.Len())
		}
		jsonEqual(t, reply.Arg(2), `{"3":[false]}`)
		// Server to client.
		s.On("question", func(ev *client.Event) {
			var q string
			_ = ev.Decode(&q)
			if !ev.HasAck() {
				t.Error("question without ack")
			}
			if err := ev.Ack(q + "!"); err != nil {
				t.Error(err)
			}
			if err := ev.Ack("again"); !errors.Is(err, client.ErrAlreadyAcked) {
				t.Errorf("second ack: %v", err)
			}
		})
		answer := listen(s, "answer")
		if err := s.Emit("ask", "hi"); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := next(t, answer, "answer").Decode(&got); err != nil || got != "hi!" {
			t.Fatalf("answer %q (%v)", got, err)
		}
		// No answer: the context ends the wait.
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		if _, err := s.EmitWithAck(ctx, "no-ack"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("no-ack: %v", err)
		}
		// Concurrent acks are matched by id.
		errc := make(chan error, 20)
		for i := range 20 {
			go func() {
				r, err := s.EmitWithAck(ctxT(t), "ack", i)
				var n int
				if err == nil {
					err = r.Decode(&n)
				}
				if err == nil && n != i {
					err = errors.New("ack mismatch")
				}
				errc <- err
			}()
		}
		for range 20 {
			if err := next(t, errc, "ack"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestBinary(t *testing.T) {
	forEach(t, func(t *testing.T, fx fixture, md mode) {
		s, _ := connect(t, fx.url, md.options(), "/", client.SocketOptions{})
		back := listen(s, "echo-back")
		big := bytes.Repeat([]byte{0xAB}, 100_000)
		if err := s.Emit("echo", []byte{1, 2, 3}, map[string]any{"x": []byte{4}}, "text", big); err != nil {
			t.Fatal(err)
		}
		ev := next(t, back, "echo-back")
		if b, ok := ev.Binary(0); !ok || !bytes.Equal(b, []byte{1, 2, 3}) {
			t.Fatalf("arg 0: %v %v (%s)", b, ok, ev.Arg(0))
		}
		var nested struct {
			X []byte `json:"x"`
		}
		var text string
		var b3 []byte
		if err := ev.Decode(nil, &nested, &text, &b3); err != nil || !bytes.Equal(nested.X, []byte{4}) || text != "text" || !bytes.Equal(b3, big) {
			t.Fatalf("decode: %v %v %q %d bytes", err, nested.X, text, len(b3))
		}
		var generic any
		if err := ev.Decode(nil, &generic); err != nil {
			t.Fatal(err)
		}
		if m, _ := generic.(map[string]any); m == nil || !bytes.Equal(m["x"].([]byte), []byte{4}) {
			t.Fatalf("generic %#v", generic)
		}
		// Binary ack, client to server.
		reply, err := s.EmitWithAck(ctxT(t), "ack", []byte{5, 6})
		if err != nil {
			t.Fatal(err)
		}
		if b, ok := reply.Binary(0); !ok || !bytes.Equal(b, []byte{5, 6}) {
			t.Fatalf("binary ack %v %v", b, ok)
		}
		// Binary ack, client answering the server.
		s.On("question", func(ev *client.Event) { _ = ev.Ack([]byte{9, 9}) })
		answer := listen(s, "answer")
		if err := s.Emit("ask"); err != nil {
			t.Fatal(err)
		}
		if b, ok := next(t, answer, "answer").Binary(0); !ok || !bytes.Equal(b, []byte{9, 9}) {
			t.Fatalf("answer %v %v", b, ok)
		}
	})
}

func TestNamespaces(t *testing.T) {
	forEach(t, func(t *testing.T, fx fixture, md mode) {
		m := client.NewManager(fx.url, md.options())
		t.Cleanup(m.Close)
		root := m.Socket("/", client.SocketOptions{})
		custom := m.Socket("custom", client.SocketOptions{Auth: map[string]string{"k": "v"}})
		if m.Socket("/custom", client.SocketOptions{}) != custom {
			t.Fatal("Socket does not return the existing socket")
		}
		customAuth := listen(custom, "auth")
		for _, s := range []*client.Socket{root, custom} {
			if err := s.ConnectContext(ctxT(t)); err != nil {
				t.Fatalf("%s: %v", s.Namespace(), err)
			}
		}
		jsonEqual(t, next(t, customAuth, "auth").Arg(0), `{"k":"v"}`)
		if root.ID() == custom.ID() {
			t.Fatal("one id for two namespaces")
		}
		back := listen(custom, "echo-back")
		rootBack := listen(root, "echo-back")
		if err := custom.Emit("echo", "on custom"); err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, next(t, back, "echo-back").Arg(0), `"on custom"`)
		noneWithin(t, rootBack, 50*time.Millisecond, "echo on /")

		// An unknown namespace is refused; the others carry on.
		bad := m.Socket("/nope", client.SocketOptions{})
		errs := make(chan error, 1)
		bad.OnConnectError(func(err error) { errs <- err })
		err := bad.ConnectContext(ctxT(t))
		var ce *client.ConnectError
		if !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
			t.Fatalf("unknown namespace: %v", err)
		}
		if !errors.As(next(t, errs, "connect error"), &ce) {
			t.Fatal("OnConnectError not told")
		}
		if bad.Active() {
			t.Fatal("refused socket still active")
		}
		if err := root.Emit("echo", "still here"); err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, next(t, rootBack, "echo-back").Arg(0), `"still here"`)

		// Leaving one namespace keeps the connection for the other.
		custom.Disconnect()
		if _, err := root.EmitWithAck(ctxT(t), "ack", 1); err != nil {
			t.Fatalf("after leaving /custom: %v", err)
		}
	})
}

func TestAuthMiddleware(t *testing.T) {
	forEach(t, func(t *testing.T, fx fixture, md mode) {
		s, auth := connect(t, fx.url, md.options(), "/private", client.SocketOptions{Auth: map[string]any{"token": "secret"}})
		jsonEqual(t, next(t, auth, "auth").Arg(0), `{"token":"secret"}`)
		if !s.Connected() {
			t.Fatal("not connected")
		}

		m := client.NewManager(fx.url, md.options())
		t.Cleanup(m.Close)
		bad := m.Socket("/private", client.SocketOptions{AuthFunc: func() any { return json.RawMessage(`{"token":"wrong"}`) }})
		err := bad.ConnectContext(ctxT(t))
		var ce *client.ConnectError
		if !errors.As(err, &ce) || ce.Message != "not authorized" {
			t.Fatalf("bad token: %v", err)
		}
		jsonEqual(t, ce.Data, `{"reason":"bad token"}`)
		if m.Transport() != "" {
			t.Fatalf("connection still open (%s) with no active socket", m.Transport())
		}
	})
}

func TestServerDisconnect(t *testing.T) {
	forEach(t, func(t *testing.T, fx fixture, md mode) {
		opts := md.options()
		opts.Reconnection = true
		opts.ReconnectionDelay = 50 * time.Millisecond
		s, _ := connect(t, fx.url, opts, "/", client.SocketOptions{})
		disc := make(chan string, 4)
		conn := make(chan struct{}, 4)
		s.OnDisconnect(func(r string) { disc <- r })
		s.OnConnect(func() { conn <- struct{}{} })
		if err := s.Emit("disconnect-me"); err != nil {
			t.Fatal(err)
		}
		if r := next(t, disc, "disconnect"); r != client.ReasonServerDisconnect {
			t.Fatalf("reason %q", r)
		}
		noneWithin(t, conn, 300*time.Millisecond, "reconnection")
		if s.Active() {
			t.Fatal("still active")
		}
	})
}

func TestReconnect(t *testing.T) {
	forEach(t, func(t *testing.T, fx fixture, md mode) {
		opts := md.options()
		opts.Reconnection = true
		opts.ReconnectionDelay = 100 * time.Millisecond
		s, _ := connect(t, fx.url, opts, "/", client.SocketOptions{})
		first := s.ID()
		disc := make(chan string, 4)
		conn := make(chan struct{}, 4)
		s.OnDisconnect(func(r string) { disc <- r })
		s.OnConnect(func() { conn <- struct{}{} })
		if md.upgraded {
			waitTransport(t, s.Manager(), client.WebSocket)
		}
		if err := s.Emit("drop"); err != nil {
			t.Fatal(err)
		}
		if r := next(t, disc, "disconnect"); r != client.ReasonTransportClose {
			t.Fatalf("reason %q", r)
		}
		// Emitted while away: buffered, sent after the reconnection.
		back := listen(s, "echo-back")
		if err := s.Emit("echo", "buffered"); err != nil {
			t.Fatal(err)
		}
		next(t, conn, "reconnection")
		if s.ID() == "" || s.ID() == first || s.Recovered() {
			t.Fatalf("after reconnection: id %q (was %q), recovered %v", s.ID(), first, s.Recovered())
		}
		jsonEqual(t, next(t, back, "echo-back").Arg(0), `"buffered"`)
	})
}

func TestRecovery(t *testing.T) {
	forEach(t, func(t *testing.T, fx fixture, md mode) {
		opts := md.options()
		opts.Reconnection = true
		opts.ReconnectionDelay = 400 * time.Millisecond
		opts.RandomizationFactor = -1
		s, _ := connect(t, fx.recoveryURL, opts, "/", client.SocketOptions{})
		first := s.ID()
		news := listen(s, "news")
		conn := make(chan bool, 4)
		disc := make(chan string, 4)
		s.OnConnect(func() { conn <- s.Recovered() })
		s.OnDisconnect(func(r string) { disc <- r })
		if md.upgraded {
			waitTransport(t, s.Manager(), client.WebSocket)
		}
		room := t.Name() // parallel subtests share the server
		if _, err := s.EmitWithAck(ctxT(t), "join", room); err != nil {
			t.Fatal(err)
		}
		if err := s.Emit("news-then-drop", room); err != nil {
			t.Fatal(err)
		}
		ev := next(t, news, "n0")
		var n0, offset string
		if err := ev.Decode(&n0, &offset); err != nil || n0 != "n0" || offset == "" {
			t.Fatalf("n0: %v %q %q", err, n0, offset)
		}
		if r := next(t, disc, "disconnect"); r != client.ReasonTransportClose {
			t.Fatalf("reason %q", r)
		}
		if recovered := next(t, conn, "reconnection"); !recovered {
			t.Fatal("reconnected without recovery")
		}
		if !s.Recovered() || s.ID() != first {
			t.Fatalf("recovered %v, id %q (was %q)", s.Recovered(), s.ID(), first)
		}
		for _, want := range []string{"n1", "n2"} {
			var got string
			if err := next(t, news, want).Decode(&got); err != nil || got != want {
				t.Fatalf("missed event: got %q (%v), want %q", got, err, want)
			}
		}
	})
}

func TestHeartbeat(t *testing.T) {
	forEach(t, func(t *testing.T, fx fixture, md mode) {
		s, _ := connect(t, fx.url, md.options(), "/", client.SocketOptions{})
		disc := make(chan string, 1)
		s.OnDisconnect(func(r string) { disc <- r })
		// The fixtures ping every 250 ms and give up 1 s after a ping
		// without pong.
		noneWithin(t, disc, 1500*time.Millisecond, "disconnect")
		if _, err := s.EmitWithAck(ctxT(t), "ack", "alive"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestEmitBeforeConnect(t *testing.T) {
	forEach(t, func(t *testing.T, fx fixture, md mode) {
		m := client.NewManager(fx.url, md.options())
		t.Cleanup(m.Close)
		s := m.Socket("/", client.SocketOptions{MaxBuffered: 2})
		back := listen(s, "echo-back")
		if err := s.Emit("echo", "early", []byte{7}); err != nil {
			t.Fatal(err)
		}
		if err := s.Emit("echo", "early2"); err != nil {
			t.Fatal(err)
		}
		if err := s.Emit("echo", "too many"); !errors.Is(err, client.ErrBufferFull) {
			t.Fatalf("third buffered emit: %v", err)
		}
		if err := s.Volatile().Emit("echo", "volatile"); err != nil {
			t.Fatal(err)
		}
		if err := s.ConnectContext(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		ev := next(t, back, "echo-back")
		jsonEqual(t, ev.Arg(0), `"early"`)
		if b, ok := ev.Binary(1); !ok || !bytes.Equal(b, []byte{7}) {
			t.Fatalf("buffered binary %v %v", b, ok)
		}
		jsonEqual(t, next(t, back, "echo-back").Arg(0), `"early2"`)
		noneWithin(t, back, 100*time.Millisecond, "volatile event sent while disconnected")
	})
}

func TestConnectURL(t *testing.T) {
	for _, fx := range servers(t) {
		t.Run(fx.name, func(t *testing.T) {
			s, err := client.Connect(ctxT(t), fx.url+"/custom", client.Options{Auth: map[string]int{"n": 1}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Namespace() != "/custom" || !s.Connected() {
				t.Fatalf("namespace %q connected %v", s.Namespace(), s.Connected())
			}
			if _, err := client.Connect(ctxT(t), fx.url+"/nope", client.Options{}); err == nil {
				t.Fatal("unknown namespace connected")
			}
		})
	}
}

func TestDisableUpgrade(t *testing.T) {
	for _, fx := range servers(t) {
		t.Run(fx.name, func(t *testing.T) {
			s, _ := connect(t, fx.url, client.Options{DisableUpgrade: true}, "/", client.SocketOptions{})
			// A bounded negative check, not a synchronisation: no upgrade
			// within 300ms (an upgrade would start right after the open).
			time.Sleep(300 * time.Millisecond)
			if tr := s.Manager().Transport(); tr != client.Polling {
				t.Fatalf("transport %q with DisableUpgrade", tr)
			}
			if _, err := s.EmitWithAck(ctxT(t), "ack", 1); err != nil {
				t.Fatal(err)
			}
		})
	}
}
