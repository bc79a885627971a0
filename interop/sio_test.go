package interop_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// basicServer installs the handlers of the "basic" scenario: an echo with
// binary nested in the ack, an event never acknowledged, a server-side
// EmitWithAck answered and one that times out, and a transport query.
func basicServer(rec *record) func(*sio.Server) {
	return func(srv *sio.Server) {
		srv.OnConnection(func(s *sio.Socket) {
			rec.add("connect", "%s", s.ID())
			s.On("echo", func(ev *sio.Event) {
				var in struct {
					Text   string `json:"text"`
					Bin    []byte `json:"bin"`
					Nested struct {
						Data []byte `json:"data"`
						N    int    `json:"n"`
					} `json:"nested"`
				}
				var top []byte
				if err := ev.Decode(&in, &top); err != nil {
					rec.add("echo", "decode: %v", err)
					return
				}
				rec.add("echo", "text=%q bin=%x nested=%x n=%d top=%x ack=%v", in.Text, in.Bin, in.Nested.Data, in.Nested.N, top, ev.HasAck())
				if err := ev.Ack(map[string]any{
					"text":   in.Text,
					"bin":    in.Bin,
					"nested": map[string]any{"data": in.Nested.Data, "n": in.Nested.N + 1},
				}, top); err != nil {
					rec.add("echo", "ack: %v", err)
				}
			})
			s.On("never-acked", func(ev *sio.Event) {
				rec.add("never-acked", "hasAck=%v", ev.HasAck())
			})
			s.On("ask-me", func(*sio.Event) {
				// EmitWithAck blocks until the answer, which arrives through
				// this connection's mailbox: it must not run in the handler.
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
					m, err := s.EmitWithAck(ctx, "question", map[string]any{"q": "sum", "xs": []int{1, 2, 3}, "blob": []byte{0xde, 0xad}})
					cancel()
					var ans struct {
						Sum  int    `json:"sum"`
						Echo []byte `json:"echo"`
					}
					var tail []byte
					derr := m.Decode(&ans, &tail)
					rec.add("question", "err=%v decode=%v sum=%d echo=%x tail=%x", err, derr, ans.Sum, ans.Echo, tail)

					// start before the context: its deadline is 200 ms from
					// a moment at or after start, so waited >= 200 ms.
					start := time.Now()
					ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
					_, err = s.EmitWithAck(ctx, "ignore-me")
					cancel()
					waited := time.Since(start)
					rec.add("ignored", "deadline=%v waited>=200ms=%v", errors.Is(err, context.DeadlineExceeded), waited >= 200*time.Millisecond)
					if err := s.Emit("asked", map[string]any{"sum": ans.Sum, "timedOut": errors.Is(err, context.DeadlineExceeded)}); err != nil {
						rec.add("asked", "emit: %v", err)
					}
				}()
			})
			s.On("transport", func(ev *sio.Event) {
				tr := s.Conn().Transport()
				rec.add("transport", "%s", tr)
				_ = ev.Ack(tr)
			})
			s.OnDisconnect(func(reason string) { rec.add("disconnect", "%s", reason) })
		})
	}
}

// TestSIOEventsAcksTransports runs the "basic" scenario on each transport
// setting, on the event loops and mounted in net/http.
func TestSIOEventsAcksTransports(t *testing.T) {
	t.Parallel()
	requireNode(t)
	cases := []struct {
		name       string
		mode       serveMode
		transports []string
		upgrade    bool
		want       string
		parser     sio.Parser
		base64     bool // the client's forceBase64
	}{
		{name: "loops/polling", mode: onLoops, transports: []string{"polling"}, want: "polling"},
		{name: "loops/websocket", mode: onLoops, transports: []string{"websocket"}, want: "websocket"},
		{name: "loops/upgrade", mode: onLoops, transports: []string{"polling", "websocket"}, upgrade: true, want: "websocket"},
		{name: "nethttp/polling", mode: onNetHTTP, transports: []string{"polling"}, want: "polling"},
		{name: "nethttp/websocket", mode: onNetHTTP, transports: []string{"websocket"}, want: "websocket"},
		{name: "nethttp/upgrade", mode: onNetHTTP, transports: []string{"polling", "websocket"}, upgrade: true, want: "websocket"},
		// The same with socket.io-msgpack-parser on both sides.
		{name: "msgpack/loops/polling", mode: onLoops, transports: []string{"polling"}, want: "polling", parser: sio.MsgpackParser},
		{name: "msgpack/loops/upgrade", mode: onLoops, transports: []string{"polling", "websocket"}, upgrade: true, want: "websocket", parser: sio.MsgpackParser},
		{name: "msgpack/nethttp/websocket", mode: onNetHTTP, transports: []string{"websocket"}, want: "websocket", parser: sio.MsgpackParser},
		// A client with forceBase64 sends and asks for binary as base64
		// text, in WebSocket text frames too.
		{name: "base64/loops/polling", mode: onLoops, transports: []string{"polling"}, want: "polling", base64: true},
		{name: "base64/loops/websocket", mode: onLoops, transports: []string{"websocket"}, want: "websocket", base64: true},
		{name: "base64/nethttp/upgrade", mode: onNetHTTP, transports: []string{"polling", "websocket"}, upgrade: true, want: "websocket", base64: true},
		// Over TLS (https:// and wss://), on the loops and in net/http.
		{name: "tls/loops/upgrade", mode: onLoopsTLS, transports: []string{"polling", "websocket"}, upgrade: true, want: "websocket"},
		{name: "tls/nethttp/upgrade", mode: onNetHTTPTLS, transports: []string{"polling", "websocket"}, upgrade: true, want: "websocket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecord()
			_, url := startSIO(t, tc.mode, sio.Config{Parser: tc.parser}, basicServer(rec))
			var got struct {
				ID                 string
				ClientTransport    string
				ClientTransportEnd string
				ServerTransport    string
				EchoErr            *string
				EchoAck            []json.RawMessage
				TimeoutErr         *string
				TimeoutMs          int
				Questions          []json.RawMessage
				Ignored            int
				Asked              struct {
					Sum      int
					TimedOut bool
				}
				DisconnectReason string
			}
			parser := ""
			if tc.parser == sio.MsgpackParser {
				parser = "msgpack"
			}
			runNode(t, 20*time.Second, &got, "sio.mjs", "basic", url, jsonArg(t, map[string]any{"transports": tc.transports, "expectUpgrade": tc.upgrade, "parser": parser, "forceBase64": tc.base64}))

			// Client → server event with binary nested in an object and
			// at the top level, acknowledged with binary nested likewise.
			if want := []string{`text="héllo ✓ \x00 \"q\"" bin=010203 nested=040506 n=41 top=070809 ack=true`}; !equalStrings(rec.get("echo"), want) {
				t.Errorf("server saw echo %q, want %q", rec.get("echo"), want)
			}
			if got.EchoErr != nil {
				t.Errorf("client echo ack error: %s", *got.EchoErr)
			}
			wantAck0 := `{"text":"héllo ✓ \u0000 \"q\"","bin":{"$hex":"010203"},"nested":{"data":{"$hex":"040506"},"n":42}}`
			if len(got.EchoAck) != 2 || !jsonEqual(got.EchoAck[0], wantAck0) || !jsonEqual(got.EchoAck[1], `{"$hex":"070809"}`) {
				t.Errorf("client echo ack = %s, want [%s {\"$hex\":\"070809\"}]", got.EchoAck, wantAck0)
			}

			// socket.timeout(200).emitWithAck on an event never answered.
			if got.TimeoutErr == nil || *got.TimeoutErr != "operation has timed out" {
				t.Errorf("client timeout error = %v, want \"operation has timed out\"", got.TimeoutErr)
			}
			if got.TimeoutMs < 190 || got.TimeoutMs > 2000 {
				t.Errorf("client ack timeout fired after %d ms, want about 200", got.TimeoutMs)
			}
			if want := []string{"hasAck=true"}; !equalStrings(rec.get("never-acked"), want) {
				t.Errorf("server saw never-acked %q, want %q", rec.get("never-acked"), want)
			}

			// Server → client EmitWithAck answered (binary both ways), then
			// one that the client never answers (context deadline).
			if want := []string{"err=<nil> decode=<nil> sum=6 echo=dead tail=beef"}; !equalStrings(rec.get("question"), want) {
				t.Errorf("server question ack %q, want %q", rec.get("question"), want)
			}
			if len(got.Questions) != 1 || !jsonEqual(got.Questions[0], `{"q":"sum","xs":[1,2,3],"blob":{"$hex":"dead"}}`) {
				t.Errorf("client got questions %s", got.Questions)
			}
			if want := []string{"deadline=true waited>=200ms=true"}; !equalStrings(rec.get("ignored"), want) {
				t.Errorf("server ignored-ack outcome %q, want %q", rec.get("ignored"), want)
			}
			if got.Ignored != 1 || got.Asked.Sum != 6 || !got.Asked.TimedOut {
				t.Errorf("client: ignored=%d asked=%+v, want 1 and {6 true}", got.Ignored, got.Asked)
			}

			// Transport as each side sees it.
			if got.ClientTransport != tc.want || got.ClientTransportEnd != tc.want || got.ServerTransport != tc.want {
				t.Errorf("transport: client %q (at end %q), server %q; want %q", got.ClientTransport, got.ClientTransportEnd, got.ServerTransport, tc.want)
			}
			if want := []string{tc.want}; !equalStrings(rec.get("transport"), want) {
				t.Errorf("server transport record %q, want %q", rec.get("transport"), want)
			}
			if ids := rec.get("connect"); len(ids) != 1 || ids[0] != got.ID {
				t.Errorf("server socket ids %q, client id %q", ids, got.ID)
			}

			// socket.disconnect() on the client.
			if got.DisconnectReason != "io client disconnect" {
				t.Errorf("client disconnect reason %q, want \"io client disconnect\"", got.DisconnectReason)
			}
			if r := rec.wait(t, "disconnect", 1, 3*time.Second); r[0] != sio.ReasonClientNamespaceDisconnect {
				t.Errorf("server disconnect reason %q, want %q", r[0], sio.ReasonClientNamespaceDisconnect)
			}
		})
	}
}

// jsonEqual compares two JSON texts structurally.
func jsonEqual(a json.RawMessage, b string) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestSIOBroadcastRooms checks who receives each kind of broadcast, with
// clients on polling, WebSocket and an upgraded connection.
func TestSIOBroadcastRooms(t *testing.T) {
	t.Parallel()
	requireNode(t)
	rec := newRecord()
	roomsOf := map[string][]string{"A": {"r1"}, "B": {"r1", "r2"}, "C": {"r2"}, "D": nil}
	_, url := startSIO(t, onLoops, sio.Config{}, func(srv *sio.Server) {
		srv.OnConnection(func(s *sio.Socket) {
			var auth struct{ Name string }
			_ = json.Unmarshal(s.Handshake().Auth, &auth)
			s.On("ready", func(ev *sio.Event) {
				s.Join(roomsOf[auth.Name]...)
				_ = ev.Ack()
			})
			s.On("run", func(*sio.Event) {
				go runBroadcasts(srv, s, rec)
			})
		})
	})
	type client struct {
		Log       []json.RawMessage
		Transport string
	}
	var got map[string]client
	runNode(t, 20*time.Second, &got, "sio.mjs", "rooms", url)

	want := map[string][]string{
		"A": {`["b2","all"]`, `["b3","union"]`, `["b5","except"]`, `["b6","to-except"]`, `["ask","<ack>"]`, `["ask","<ack>"]`, `["end"]`},
		"B": {`["b1","others"]`, `["b2","all"]`, `["b3","union"]`, `["b4","room-but-sender"]`,
			`["b7",{"bin":{"$hex":"010203"},"list":[{"$hex":"04"},"x"]}]`, `["b8","joined"]`, `["ask","<ack>"]`, `["ask","<ack>"]`, `["end"]`},
		"C": {`["b1","others"]`, `["b2","all"]`, `["b3","union"]`,
			`["b7",{"bin":{"$hex":"010203"},"list":[{"$hex":"04"},"x"]}]`, `["b8","joined"]`, `["b9","except-room-and-sender"]`, `["ask","<ack>"]`, `["end"]`},
		"D": {`["b1","others"]`, `["b2","all"]`, `["b5","except"]`, `["b9","except-room-and-sender"]`, `["ask","<ack>"]`, `["end"]`},
	}
	wantTransport := map[string]string{"A": "polling", "B": "websocket", "C": "websocket", "D": "websocket"}
	for _, name := range []string{"A", "B", "C", "D"} {
		c, ok := got[name]
		if !ok {
			t.Errorf("no report for client %s", name)
			continue
		}
		var logs []string
		ok = len(c.Log) == len(want[name])
		for i, l := range c.Log {
			logs = append(logs, string(l))
			if ok && !jsonEqual(l, want[name][i]) {
				ok = false
			}
		}
		if !ok {
			t.Errorf("client %s received:\n  %s\nwant:\n  %s", name, strings.Join(logs, "\n  "), strings.Join(want[name], "\n  "))
		}
		if c.Transport != wantTransport[name] {
			t.Errorf("client %s transport %q, want %q", name, c.Transport, wantTransport[name])
		}
	}
	if want := []string{"replies=[A B C] err=sio: operation has timed out"}; !equalStrings(rec.get("ack-all"), want) {
		t.Errorf("EmitWithAck to all: %q, want %q", rec.get("ack-all"), want)
	}
	if want := []string{"replies=[A B] err=<nil>"}; !equalStrings(rec.get("ack-r1"), want) {
		t.Errorf("EmitWithAck to r1: %q, want %q", rec.get("ack-r1"), want)
	}
}

// runBroadcasts is the "rooms" scenario's server side, started by client
// A (socket s): every broadcast operator in turn, then "end" to everyone.
func runBroadcasts(srv *sio.Server, s *sio.Socket, rec *record) {
	check := func(err error) {
		if err != nil {
			rec.add("errors", "%v", err)
		}
	}
	check(s.Broadcast().Emit("b1", "others"))
	check(srv.Emit("b2", "all"))
	check(srv.To("r1", "r2").Emit("b3", "union"))
	check(s.To("r1").Emit("b4", "room-but-sender"))
	check(srv.Except("r2").Emit("b5", "except"))
	check(srv.To("r1").Except("r2").Emit("b6", "to-except"))
	check(srv.To("r2").Emit("b7", map[string]any{"bin": []byte{1, 2, 3}, "list": []any{[]byte{4}, "x"}}))
	srv.In("r2").SocketsJoin(context.Background(), "r3")
	check(srv.To("r3").Emit("b8", "joined"))
	check(s.Except("r1").Emit("b9", "except-room-and-sender"))
	ackNames := func(key string, ms []sio.Message, err error) {
		var names []string
		for _, m := range ms {
			var n string
			if derr := m.Decode(&n); derr != nil {
				n = "decode: " + derr.Error()
			}
			names = append(names, n)
		}
		sort.Strings(names)
		rec.add(key, "replies=%v err=%v", names, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	ms, err := srv.Except().EmitWithAck(ctx, "ask")
	cancel()
	ackNames("ack-all", ms, err)
	ctx, cancel = context.WithTimeout(context.Background(), 3*time.Second)
	ms, err = srv.To("r1").EmitWithAck(ctx, "ask")
	cancel()
	ackNames("ack-r1", ms, err)
	check(srv.Emit("end"))
}

// TestSIONamespaces covers static and dynamic namespaces, multiplexing and
// connection middleware errors with data.
func TestSIONamespaces(t *testing.T) {
	t.Parallel()
	requireNode(t)
	rec := newRecord()
	_, url := startSIO(t, onLoops, sio.Config{}, func(srv *sio.Server) {
		whoami := func(s *sio.Socket) {
			rec.add("connect", "%s", s.Namespace().Name())
			s.On("whoami", func(ev *sio.Event) {
				_ = ev.Ack(map[string]string{"nsp": s.Namespace().Name(), "id": s.ID(), "engine": s.Conn().ID()})
			})
		}
		srv.Use(func(s *sio.Socket) error {
			var auth struct{ Deny bool }
			_ = json.Unmarshal(s.Handshake().Auth, &auth)
			if auth.Deny {
				return errors.New("root says no")
			}
			return nil
		})
		admin := srv.Of("/admin")
		admin.Use(func(s *sio.Socket) error {
			var auth struct{ Token string }
			_ = json.Unmarshal(s.Handshake().Auth, &auth)
			if auth.Token != "secret" {
				return &sio.ConnectError{Message: "not authorized", Data: map[string]any{"code": 4001, "hint": "send token"}}
			}
			return nil
		})
		admin.OnConnection(whoami)
		dyn := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
		dyn.Use(func(s *sio.Socket) error {
			if s.Namespace().Name() == "/dyn-13" {
				return &sio.ConnectError{Message: "unlucky", Data: "thirteen"}
			}
			return nil
		})
		dyn.OnConnection(whoami)
		srv.OnConnection(func(s *sio.Socket) {
			whoami(s)
			s.On("cmd", func(ev *sio.Event) {
				err1 := admin.Emit("news", "admin only")
				err2 := dyn.Emit("news", "dynamic only")
				err3 := srv.Emit("news", "root only")
				var names []string
				for _, c := range dyn.Children() {
					names = append(names, c.Name())
				}
				sort.Strings(names)
				_ = ev.Ack(fmt.Sprintf("%v %v %v children=%v", err1, err2, err3, names))
			})
		})
	})
	type who struct{ Nsp, ID, Engine string }
	type connErr struct {
		Message string
		Data    json.RawMessage
	}
	var got struct {
		Root, Admin, Dyn who
		Errors           map[string]connErr
		Cmd              string
		News             map[string][]string
	}
	runNode(t, 20*time.Second, &got, "sio.mjs", "namespaces", url)

	if got.Root.Nsp != "/" || got.Admin.Nsp != "/admin" || got.Dyn.Nsp != "/dyn-42" {
		t.Errorf("namespaces seen by the server: %q %q %q", got.Root.Nsp, got.Admin.Nsp, got.Dyn.Nsp)
	}
	if got.Root.Engine == "" || got.Root.Engine != got.Admin.Engine {
		t.Errorf("\"/\" and \"/admin\" from one Manager should share one Engine.IO session: %q vs %q", got.Root.Engine, got.Admin.Engine)
	}
	if got.Root.ID == got.Admin.ID {
		t.Errorf("\"/\" and \"/admin\" sockets share id %q", got.Root.ID)
	}
	wantErrs := map[string]struct{ msg, data string }{
		"adminBadToken": {"not authorized", `{"code":4001,"hint":"send token"}`},
		"rootDenied":    {"root says no", `"<undefined>"`},
		"dynUnlucky":    {"unlucky", `"thirteen"`},
		"dynNoMatch":    {"Invalid namespace", `"<undefined>"`},
		"unknown":       {"Invalid namespace", `"<undefined>"`},
	}
	for k, w := range wantErrs {
		e, ok := got.Errors[k]
		if !ok || e.Message != w.msg || !jsonEqual(e.Data, w.data) {
			t.Errorf("connect_error %s = %+v (data %s), want message %q data %s", k, e, e.Data, w.msg, w.data)
		}
	}
	if want := "<nil> <nil> <nil> children=[/dyn-13 /dyn-42]"; got.Cmd != want && got.Cmd != "<nil> <nil> <nil> children=[/dyn-42]" {
		t.Errorf("server cmd result %q, want %q (or without /dyn-13)", got.Cmd, want)
	}
	wantNews := map[string][]string{"root": {"root only"}, "admin": {"admin only"}, "dyn": {"dynamic only"}}
	if !reflect.DeepEqual(got.News, wantNews) {
		t.Errorf("news per namespace %v, want %v", got.News, wantNews)
	}
	conns := rec.get("connect")
	sort.Strings(conns)
	if want := []string{"/", "/admin", "/dyn-42"}; !equalStrings(conns, want) {
		t.Errorf("server connections %q, want %q (refused sockets must not connect)", conns, want)
	}
}

// TestSIODisconnectReasons triggers every disconnect cause a client can
// provoke on a live server, and checks the reason on both sides.
func TestSIODisconnectReasons(t *testing.T) {
	t.Parallel()
	requireNode(t)
	rec := newRecord()
	_, url := startSIO(t, onLoops, sio.Config{}, func(srv *sio.Server) {
		onConn := func(s *sio.Socket) {
			var auth struct{ Case string }
			_ = json.Unmarshal(s.Handshake().Auth, &auth)
			s.OnDisconnecting(func(reason string) {
				rec.add("disconnecting:"+auth.Case, "%s rooms=%d", reason, len(s.Rooms()))
			})
			s.OnDisconnect(func(reason string) { rec.add(auth.Case, "%s", reason) })
			s.On("ready", func(ev *sio.Event) {
				s.Join("group-" + auth.Case)
				_ = ev.Ack()
			})
			s.On("kick", func(ev *sio.Event) {
				var closeConn bool
				_ = ev.Decode(&closeConn)
				s.Disconnect(closeConn)
			})
			s.On("kick-after-emit", func(*sio.Event) {
				_ = s.Emit("bye")
				s.Disconnect(true)
			})
			s.On("kick-room", func(*sio.Event) {
				srv.In("group-"+auth.Case).DisconnectSockets(context.Background(), false)
			})
		}
		srv.OnConnection(onConn)
		srv.Of("/sibling").OnConnection(onConn)
	})
	type side struct {
		Reason  string
		Sibling *string
		Engine  string
	}
	var got map[string]side
	runNode(t, 20*time.Second, &got, "sio.mjs", "reasons", url)

	const (
		alive  = "<connected>"
		open   = "<open>"
		closed = "<closed>" // any close reason
	)
	cases := []struct {
		name, server, client string
		sibling              string // sibling namespace on the same connection: "" if none
		siblingServer        string // the sibling's reason on the server
		engine               string // alive, open or closed
	}{
		{name: "server-disconnect", server: sio.ReasonServerNamespaceDisconnect, client: "io server disconnect", sibling: alive, engine: open},
		{name: "server-disconnect-close", server: sio.ReasonServerNamespaceDisconnect, client: "io server disconnect",
			sibling: "io server disconnect", siblingServer: sio.ReasonServerNamespaceDisconnect, engine: closed},
		{name: "server-disconnect-polling", server: sio.ReasonServerNamespaceDisconnect, client: "io server disconnect", sibling: alive, engine: open},
		{name: "server-disconnect-close-polling", server: sio.ReasonServerNamespaceDisconnect, client: "io server disconnect",
			sibling: "io server disconnect", siblingServer: sio.ReasonServerNamespaceDisconnect, engine: closed},
		{name: "server-disconnect-close-after-emit-polling", server: sio.ReasonServerNamespaceDisconnect, client: "io server disconnect", engine: closed},
		{name: "disconnect-sockets", server: sio.ReasonServerNamespaceDisconnect, client: "io server disconnect", sibling: alive, engine: open},
		{name: "client-disconnect", server: sio.ReasonClientNamespaceDisconnect, client: "io client disconnect", sibling: alive, engine: open},
		{name: "client-disconnect-polling", server: sio.ReasonClientNamespaceDisconnect, client: "io client disconnect", engine: closed},
		{name: "transport-close-ws", server: sio.ReasonTransportClose, client: "forced close", engine: closed},
		{name: "transport-close-polling", server: sio.ReasonTransportClose, client: "forced close", engine: closed},
		{name: "forced-close", server: sio.ReasonForcedClose, client: "transport close", engine: closed},
		{name: "parse-error", server: sio.ReasonParseError, client: "transport close", engine: closed},
		{name: "transport-error", server: sio.ReasonTransportError, client: "transport close", engine: closed},
	}
	for _, tc := range cases {
		r := rec.wait(t, tc.name, 1, 5*time.Second)
		if len(r) != 1 || r[0] != tc.server {
			t.Errorf("%s: server reason %q, want %q", tc.name, r, tc.server)
		}
		// "disconnecting" runs before the rooms are left: the socket's own
		// room and "group-<case>".
		if d := rec.get("disconnecting:" + tc.name); len(d) != 1 || d[0] != tc.server+" rooms=2" {
			t.Errorf("%s: disconnecting %q, want [%q]", tc.name, d, tc.server+" rooms=2")
		}
		c, ok := got[tc.name]
		if !ok {
			t.Errorf("%s: no client report", tc.name)
			continue
		}
		if c.Reason != tc.client {
			t.Errorf("%s: client reason %q, want %q", tc.name, c.Reason, tc.client)
		}
		switch {
		case tc.sibling == "" && c.Sibling != nil:
			t.Errorf("%s: unexpected sibling report %q", tc.name, *c.Sibling)
		case tc.sibling != "" && c.Sibling == nil:
			t.Errorf("%s: no sibling report", tc.name)
		case tc.sibling != "" && *c.Sibling != tc.sibling:
			t.Errorf("%s: sibling namespace on the same connection: %q, want %q", tc.name, *c.Sibling, tc.sibling)
		}
		if tc.siblingServer != "" {
			if r := rec.wait(t, tc.name+"/sibling", 1, 3*time.Second); r[0] != tc.siblingServer {
				t.Errorf("%s: sibling server reason %q, want %q", tc.name, r, tc.siblingServer)
			}
		} else if tc.sibling == alive {
			// The sibling outlived the kick; the script disconnects it at
			// the end.
			if r := rec.wait(t, tc.name+"/sibling", 1, 3*time.Second); r[0] != sio.ReasonClientNamespaceDisconnect {
				t.Errorf("%s: sibling server reason %q, want %q (from the script's final disconnect)", tc.name, r, sio.ReasonClientNamespaceDisconnect)
			}
		}
		if engineClosed := c.Engine != open; engineClosed != (tc.engine == closed) {
			t.Errorf("%s: client Engine.IO connection %q, want %s", tc.name, c.Engine, tc.engine)
		}
	}
}

// TestSIOPingTimeout drops a client that stops answering pings.
func TestSIOPingTimeout(t *testing.T) {
	t.Parallel()
	requireNode(t)
	const interval, timeout = 300 * time.Millisecond, 200 * time.Millisecond
	for _, tr := range []string{"websocket", "polling"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			rec := newRecord()
			_, url := startSIO(t, onLoops, sio.Config{PingInterval: interval, PingTimeout: timeout}, func(srv *sio.Server) {
				srv.OnConnection(func(s *sio.Socket) {
					start := time.Now()
					s.OnDisconnect(func(reason string) {
						rec.add("disconnect", "%s", reason)
						rec.add("after", "%d", time.Since(start).Milliseconds())
					})
				})
			})
			var got struct {
				Reason       string
				PingsIgnored int
			}
			runNode(t, 20*time.Second, &got, "sio.mjs", "silent", url, jsonArg(t, map[string]any{"transports": []string{tr}}))
			if r := rec.wait(t, "disconnect", 1, 3*time.Second); r[0] != sio.ReasonPingTimeout {
				t.Errorf("server reason %q after %s ms, want %q", r[0], rec.get("after"), sio.ReasonPingTimeout)
			}
			// OnConnection runs an unknown CONNECT round trip after the
			// heartbeat started (hundreds of ms under -race over polling),
			// and OnDisconnect runs on the socket's worker after the
			// transport closed (1.8 s once on a loaded CI machine), so only
			// a loose upper bound means something here: it still tells the
			// configured heartbeat (0.5 s) from the default one (45 s).
			// TestEIOPingTimeout checks the deadline from the session's
			// own start.
			checkPingDeadline(t, rec.get("after")[0], interval+timeout, interval+timeout, 3*time.Second)
			if got.PingsIgnored != 1 {
				t.Errorf("client ignored %d pings before the drop, want 1", got.PingsIgnored)
			}
			if got.Reason != "transport close" {
				t.Errorf("client reason %q, want \"transport close\"", got.Reason)
			}
		})
	}
}

// checkPingDeadline checks that a silent client was dropped at
// pingInterval+pingTimeout after its handshake: no earlier than early before
// it, and no later than late after it (scheduling slack, generous for -race
// on a shared machine). Engine.IO tests measure from the session's own start
// and allow only timer granularity as early.
func checkPingDeadline(t *testing.T, afterMs string, want, early, late time.Duration) {
	t.Helper()
	var ms int64
	if _, err := fmt.Sscan(afterMs, &ms); err != nil {
		t.Fatalf("bad elapsed %q", afterMs)
	}
	got := time.Duration(ms) * time.Millisecond
	if got < want-early || got > want+late {
		t.Errorf("dropped after %v, want %v (-%v, +%v slack)", got, want, early, late)
	}
}

// TestSIOShutdown closes the server under a connected client.
func TestSIOShutdown(t *testing.T) {
	t.Parallel()
	requireNode(t)
	for _, tr := range []string{"websocket", "polling"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			rec := newRecord()
			_, url := startSIO(t, onLoops, sio.Config{}, func(srv *sio.Server) {
				srv.OnConnection(func(s *sio.Socket) {
					s.OnDisconnect(func(reason string) { rec.add("disconnect", "%s", reason) })
					s.On("shutdown", func(*sio.Event) {
						go func() {
							ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
							defer cancel()
							rec.add("shutdown", "%v", srv.Shutdown(ctx))
						}()
					})
				})
			})
			var got struct{ Reason string }
			runNode(t, 20*time.Second, &got, "sio.mjs", "shutdown", url, jsonArg(t, map[string]any{"transports": []string{tr}}))
			if r := rec.wait(t, "disconnect", 1, 3*time.Second); r[0] != sio.ReasonServerShuttingDown {
				t.Errorf("server reason %q, want %q", r[0], sio.ReasonServerShuttingDown)
			}
			if got.Reason != "transport close" {
				t.Errorf("client reason %q, want \"transport close\"", got.Reason)
			}
			rec.wait(t, "shutdown", 1, 5*time.Second)
		})
	}
}

// TestSIORecovery drops the client's transport (socket.io.engine.close())
// in the middle of a stream of events sent to everyone, to a room and to
// the socket's own room; the client must come back with the same id,
// recovered, with its rooms and data, and with every event exactly once.
func TestSIORecovery(t *testing.T) {
	t.Parallel()
	requireNode(t)
	const n, dropAt = 120, 20
	cases := []struct {
		name       string
		mode       serveMode
		transports []string
		upgrade    bool
		server     string // the server's reason for the drop
	}{
		{name: "loops/websocket", mode: onLoops, transports: []string{"websocket"}},
		{name: "loops/polling", mode: onLoops, transports: []string{"polling"}},
		{name: "loops/upgrade", mode: onLoops, transports: []string{"polling", "websocket"}, upgrade: true},
		{name: "nethttp/websocket", mode: onNetHTTP, transports: []string{"websocket"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecord()
			cfg := sio.Config{ConnectionStateRecovery: &sio.RecoveryConfig{MaxDisconnectionDuration: 30 * time.Second}}
			_, url := startSIO(t, tc.mode, cfg, func(srv *sio.Server) {
				srv.OnConnection(func(s *sio.Socket) {
					if !s.Recovered() {
						s.Join("room1")
						s.SetData("data-1")
					}
					rooms := s.Rooms()
					sort.Strings(rooms)
					rec.add("connect", "id=%s recovered=%v data=%v rooms=%v", s.ID(), s.Recovered(), s.Data(), rooms)
					s.OnDisconnect(func(reason string) { rec.add("disconnect", "%s", reason) })
					s.On("start", func(ev *sio.Event) {
						_ = ev.Ack(len(s.Rooms()))
						id := s.ID()
						go func() {
							for i := 0; i < n; i++ {
								_ = srv.Emit("tick", i)
								_ = srv.To("room1").Emit("rtick", i)
								_ = srv.To(id).Emit("ptick", i)
								time.Sleep(3 * time.Millisecond)
							}
							_ = srv.Emit("done")
						}()
					})
				})
			})
			type conn struct {
				ID        string
				Recovered bool
			}
			var got struct {
				Connects         []conn
				Disconnects      []string
				DroppedTransport string
				Rooms            int
				Got              map[string][]int
				FinalTransport   string
				FinalID          string
				Recovered        bool
			}
			runNode(t, 20*time.Second, &got, "sio.mjs", "recovery", url,
				jsonArg(t, map[string]any{"transports": tc.transports, "expectUpgrade": tc.upgrade, "dropAt": dropAt}))

			if got.Rooms != 2 {
				t.Errorf("socket in %d rooms at start, want 2 (own id and room1)", got.Rooms)
			}
			for _, k := range []string{"tick", "rtick", "ptick"} {
				if !isSeq(got.Got[k], n) {
					t.Errorf("%s: client received %v, want 0..%d exactly once in order", k, got.Got[k], n-1)
				}
			}
			if len(got.Connects) != 2 || got.Connects[0].Recovered || !got.Connects[1].Recovered ||
				got.Connects[0].ID != got.Connects[1].ID || !got.Recovered || got.FinalID != got.Connects[0].ID {
				t.Errorf("client connects %+v (final id %q recovered %v), want the same id twice, recovered the second time",
					got.Connects, got.FinalID, got.Recovered)
			}
			if want := []string{"forced close"}; !equalStrings(got.Disconnects, want) {
				t.Errorf("client disconnects %q, want %q", got.Disconnects, want)
			}
			if tc.upgrade && got.DroppedTransport != "websocket" {
				t.Errorf("dropped transport %q, want the upgraded websocket", got.DroppedTransport)
			}
			conns := rec.wait(t, "connect", 2, 3*time.Second)
			if len(got.Connects) > 0 {
				id := got.Connects[0].ID
				want := []string{
					fmt.Sprintf("id=%s recovered=false data=data-1 rooms=%v", id, sortedPair(id, "room1")),
					fmt.Sprintf("id=%s recovered=true data=data-1 rooms=%v", id, sortedPair(id, "room1")),
				}
				if !equalStrings(conns, want) {
					t.Errorf("server connections:\n  %q\nwant\n  %q", conns, want)
				}
			}
			if r := rec.wait(t, "disconnect", 2, 3*time.Second); r[0] != sio.ReasonTransportClose || r[1] != sio.ReasonClientNamespaceDisconnect {
				t.Errorf("server disconnect reasons %q, want [%q %q]", r, sio.ReasonTransportClose, sio.ReasonClientNamespaceDisconnect)
			}
		})
	}
}

// isSeq reports whether xs is exactly 0..n-1.
func isSeq(xs []int, n int) bool {
	if len(xs) != n {
		return false
	}
	for i, x := range xs {
		if x != i {
			return false
		}
	}
	return true
}

// sortedPair returns a and b sorted, as sorted Rooms() would list them.
func sortedPair(a, b string) []string {
	p := []string{a, b}
	sort.Strings(p)
	return p
}

// TestSIORecoveryWhileAway checks what a recovering client gets of the
// events emitted to single sockets while it was away. socket.io stores
// socket.emit() as a broadcast to the socket's own room (socket.ts:
// "this ensures the packet is stored and can be transmitted upon
// reconnection"), so B gets what was emitted on its old socket and never
// what was emitted to A alone.
func TestSIORecoveryWhileAway(t *testing.T) {
	t.Parallel()
	requireNode(t)
	rec := newRecord()
	var mu sync.Mutex
	first := map[string]*sio.Socket{}
	cfg := sio.Config{ConnectionStateRecovery: &sio.RecoveryConfig{MaxDisconnectionDuration: 30 * time.Second}}
	_, url := startSIO(t, onLoops, cfg, func(srv *sio.Server) {
		srv.OnConnection(func(s *sio.Socket) {
			var auth struct{ Name string }
			_ = json.Unmarshal(s.Handshake().Auth, &auth)
			rec.add("connect:"+auth.Name, "recovered=%v", s.Recovered())
			if !s.Recovered() {
				mu.Lock()
				first[auth.Name] = s
				mu.Unlock()
			}
			s.On("greet-all", func(ev *sio.Event) {
				_ = srv.Emit("hello")
				_ = ev.Ack()
			})
			s.On("while-b-away", func(ev *sio.Event) {
				mu.Lock()
				oldB := first["B"]
				mu.Unlock()
				deadline := time.Now().Add(2 * time.Second)
				for oldB.Connected() && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				errA := s.Emit("private", "for A only")
				errB := oldB.Emit("missed", "for B")
				_ = ev.Ack(fmt.Sprintf("bConnected=%v errA=%v errB=%v", oldB.Connected(), errA, errB))
			})
		})
	})
	var got struct {
		Emitted   string
		IDB       string
		IDBAfter  string
		Recovered bool
		Seen      map[string][]json.RawMessage
	}
	runNode(t, 20*time.Second, &got, "sio.mjs", "recoveryPrivate", url)
	if !got.Recovered || got.IDB != got.IDBAfter {
		t.Fatalf("B not recovered: recovered=%v id %q → %q", got.Recovered, got.IDB, got.IDBAfter)
	}
	if want := []string{"recovered=false", "recovered=true"}; !equalStrings(rec.get("connect:B"), want) {
		t.Errorf("server saw B connect %q, want %q", rec.get("connect:B"), want)
	}
	names := func(who string) []string {
		var out []string
		for _, raw := range got.Seen[who] {
			var ev []any
			_ = json.Unmarshal(raw, &ev)
			if len(ev) > 0 {
				out = append(out, fmt.Sprint(ev[0]))
			}
		}
		return out
	}
	t.Logf("server: %s; A saw %q; B saw %q", got.Emitted, names("A"), names("B"))
	if want := []string{"hello", "private"}; !equalStrings(names("A"), want) {
		t.Errorf("A saw %q, want %q", names("A"), want)
	}
	t.Run("no replay of another socket's private event", func(t *testing.T) {
		for _, n := range names("B") {
			if n == "private" {
				t.Errorf("B received the event emitted to A alone while B was away: B saw %q", names("B"))
			}
		}
	})
	t.Run("replay of the event emitted on the old socket", func(t *testing.T) {
		if want := []string{"hello", "missed"}; !equalStrings(names("B"), want) {
			t.Errorf("B saw %q, want %q (server: %s)", names("B"), want, got.Emitted)
		}
	})
}

// TestSIOBurstFromOneAddress opens 2,000 default clients at once from one
// address. Every handshake is answered before any client follows its own
// up, so all 2,000 can be pending together; engine.io has no bound there, and
// ours (MaxPendingSessionsPerIP) must not refuse such a burst: each client
// connects on its first attempt.
func TestSIOBurstFromOneAddress(t *testing.T) {
	requireNode(t)
	const n = 2000
	var connected atomic.Int64
	_, url := startSIO(t, onLoops, sio.Config{}, func(srv *sio.Server) {
		srv.OnConnection(func(*sio.Socket) { connected.Add(1) })
	})
	var got struct {
		Connected int
		Errors    map[string]int
	}
	runNode(t, 120*time.Second, &got, "sio.mjs", "burst", url, jsonArg(t, map[string]any{"n": n, "guardMs": 110000}))
	if got.Connected != n || len(got.Errors) != 0 {
		t.Fatalf("%d of %d connected; refused: %v", got.Connected, n, got.Errors)
	}
	if c := connected.Load(); c != n {
		t.Fatalf("server saw %d connections, want %d", c, n)
	}
}
