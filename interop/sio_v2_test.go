package interop_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sioloop/sioloop/internal/testutil"
	"github.com/sioloop/sioloop/sio"
)

// requireV2Client skips (or fails, in CI) without the pinned 2.x client.
func requireV2Client(t *testing.T) {
	t.Helper()
	requireNode(t)
	if _, err := os.Stat(filepath.Join("..", "node_modules", "socket.io-client-v2", "package.json")); err != nil {
		if inCI() {
			t.Fatal("node_modules/socket.io-client-v2 missing (run npm ci at the repository root)")
		}
		t.Skip("node_modules/socket.io-client-v2 missing (run npm ci at the repository root)")
	}
}

// v2Server is the server side of sio-v2.mjs: acks, a room broadcast,
// binary both ways, a second namespace and a refusing one.
func v2Server(rec *record) func(*sio.Server) {
	return func(srv *sio.Server) {
		srv.OnConnection(func(s *sio.Socket) {
			rec.add("connect", "%s token=%s", s.ID(), s.Handshake().Query.Get("token"))
			if err := s.Emit("welcome", map[string]string{"id": s.ID()}); err != nil {
				rec.add("error", "welcome: %v", err)
			}
			s.On("hello", func(ev *sio.Event) {
				var a string
				var n int
				if err := ev.Decode(&a, &n); err != nil {
					rec.add("error", "hello: %v", err)
				}
				_ = ev.Ack("hi "+a, n+1)
			})
			s.On("join", func(ev *sio.Event) {
				var room string
				_ = ev.Decode(&room)
				s.Join(room)
				_ = ev.Ack(true)
				_ = srv.To(room).Emit("room-msg", "to "+room)
			})
			s.On("bin", func(ev *sio.Event) {
				var b []byte
				var nested struct {
					Nested []byte `json:"nested"`
				}
				if err := ev.Decode(&b, &nested); err != nil {
					rec.add("error", "bin: %v", err)
				}
				rec.add("bin", "%x %x", b, nested.Nested)
				rev := make([]byte, len(b))
				for i := range b {
					rev[len(b)-1-i] = b[i]
				}
				_ = ev.Ack(rev, "text")
				_ = s.Emit("bin-back", []byte{0xca, 0xfe})
			})
			s.OnDisconnect(func(reason string) { rec.add("disconnect", "%s", reason) })
		})
		srv.Of("/v2ns").OnConnection(func(s *sio.Socket) {
			rec.add("nsp", "%s auth=%s", s.ID(), s.Handshake().Auth)
			_ = s.Emit("nsp-welcome", s.Handshake().Auth)
		})
		srv.Of("/denied").Use(func(*sio.Socket) error { return errors.New("not you") })
	}
}

func TestSIOClientV2(t *testing.T) {
	t.Parallel()
	requireV2Client(t)
	cases := []struct {
		name       string
		mode       serveMode
		transports []string
		upgrade    bool
		msgpack    bool // socket.io-msgpack-parser 2.2.1 on both sides
		want       string
	}{
		{name: "loops/polling", mode: onLoops, transports: []string{"polling"}, want: "polling"},
		{name: "loops/websocket", mode: onLoops, transports: []string{"websocket"}, want: "websocket"},
		{name: "loops/upgrade", mode: onLoops, upgrade: true, want: "websocket"},
		{name: "nethttp/upgrade", mode: onNetHTTP, upgrade: true, want: "websocket"},
		{name: "msgpack/loops/polling", mode: onLoops, transports: []string{"polling"}, msgpack: true, want: "polling"},
		{name: "msgpack/loops/websocket", mode: onLoops, transports: []string{"websocket"}, msgpack: true, want: "websocket"},
		{name: "msgpack/nethttp/upgrade", mode: onNetHTTP, upgrade: true, msgpack: true, want: "websocket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecord()
			// Client heartbeats every 300 ms; a deadline of 3.3 s after
			// each, so that a loaded machine stalling the Node process
			// for a moment does not end the session mid-test.
			cfg := sio.Config{AllowEIO3: true, PingInterval: 300 * time.Millisecond, PingTimeout: 3 * time.Second}
			opts := map[string]any{"transports": tc.transports, "upgrade": tc.upgrade}
			if tc.msgpack {
				cfg.Parser = sio.MsgpackParser
				opts["parser"] = "msgpack"
			}
			_, url := startSIO(t, tc.mode, cfg, v2Server(rec))
			var got struct {
				ID, EngineID    string
				Welcome         map[string]string
				Ack             []any
				Joined          []bool
				RoomMsg         string
				BinAck          []string
				BinBack         string
				Pongs           int
				AfterHeartbeats []any
				NspID           string
				NspWelcome      map[string]string
				Denied          any
				Unknown         any
				Transport       string
			}
			runNode(t, 30*time.Second, &got, "sio-v2.mjs", "basic", url, jsonArg(t, opts))

			if got.ID == "" || got.ID != got.EngineID {
				t.Errorf("client socket id %q, want the engine id %q", got.ID, got.EngineID)
			}
			if want := []string{got.ID + " token=t0"}; !equalStrings(rec.get("connect"), want) {
				t.Errorf("server connections %q, want %q", rec.get("connect"), want)
			}
			if got.Welcome["id"] != got.ID {
				t.Errorf("welcome %v, want id %q", got.Welcome, got.ID)
			}
			if fmt.Sprint(got.Ack) != "[hi world 43]" || fmt.Sprint(got.AfterHeartbeats) != "[hi again 2]" {
				t.Errorf("acks %v, %v; want [hi world 43], [hi again 2]", got.Ack, got.AfterHeartbeats)
			}
			if len(got.Joined) != 1 || !got.Joined[0] || got.RoomMsg != "to r1" {
				t.Errorf("join ack %v, room message %q; want [true], \"to r1\"", got.Joined, got.RoomMsg)
			}
			if want := []string{"010203fa 07"}; !equalStrings(rec.get("bin"), want) {
				t.Errorf("server binary %q, want %q", rec.get("bin"), want)
			}
			if strings.Join(got.BinAck, " ") != "fa030201 text" || got.BinBack != "cafe" {
				t.Errorf("client binary ack %q, emit %q; want [fa030201 text], cafe", got.BinAck, got.BinBack)
			}
			if got.Pongs != 2 {
				t.Errorf("pongs %d, want 2", got.Pongs)
			}
			if want := "/v2ns#" + got.EngineID; got.NspID != want || got.NspWelcome["token"] != "t1" {
				t.Errorf("namespace socket %q welcome %v, want %q and token t1", got.NspID, got.NspWelcome, want)
			}
			if want := []string{"/v2ns#" + got.EngineID + ` auth={"token":"t1"}`}; !equalStrings(rec.get("nsp"), want) {
				t.Errorf("server namespace connections %q, want %q", rec.get("nsp"), want)
			}
			if got.Denied != "not you" {
				t.Errorf("refused namespace error %#v, want \"not you\"", got.Denied)
			}
			if got.Unknown != "Invalid namespace" {
				t.Errorf("unknown namespace error %#v, want \"Invalid namespace\"", got.Unknown)
			}
			if got.Transport != tc.want {
				t.Errorf("transport %q, want %q", got.Transport, tc.want)
			}
			if errs := rec.get("error"); len(errs) > 0 {
				t.Errorf("server errors: %q", errs)
			}
			testutil.Eventually(t, 5*time.Second, "the server-side disconnect", func() bool { return len(rec.get("disconnect")) == 1 })
			if want := []string{"client namespace disconnect"}; !equalStrings(rec.get("disconnect"), want) {
				t.Errorf("disconnect reasons %q, want %q", rec.get("disconnect"), want)
			}
		})
	}
}

// TestSIOClientV2AndV4 checks that a server with AllowEIO3 still serves
// socket.io-client 4.x, and that one without it refuses 2.x.
func TestSIOClientV2AndV4(t *testing.T) {
	t.Parallel()
	requireV2Client(t)
	for _, transports := range [][]string{{"polling"}, {"websocket"}} {
		t.Run("v4/"+transports[0], func(t *testing.T) {
			t.Parallel()
			_, url := startSIO(t, onLoops, sio.Config{AllowEIO3: true}, v2Server(newRecord()))
			var got struct{ Ack []any }
			runNode(t, 20*time.Second, &got, "sio-v2.mjs", "v4", url, jsonArg(t, map[string]any{"transports": transports}))
			if fmt.Sprint(got.Ack) != "[hi v4 5]" {
				t.Errorf("v4 ack %v, want [hi v4 5]", got.Ack)
			}
		})
		t.Run("refused/"+transports[0], func(t *testing.T) {
			t.Parallel()
			rec := newRecord()
			_, url := startSIO(t, onLoops, sio.Config{}, v2Server(rec))
			var got struct{ Error, Description string }
			runNode(t, 20*time.Second, &got, "sio-v2.mjs", "refused", url, jsonArg(t, map[string]any{"transports": transports}))
			if got.Error == "" {
				t.Errorf("no connect_error")
			}
			if transports[0] == "polling" && got.Description != "400" {
				t.Errorf("connect_error %q (description %q), want the 400 of the handshake", got.Error, got.Description)
			}
			if c := rec.get("connect"); len(c) > 0 {
				t.Errorf("server saw connections %q", c)
			}
		})
	}
}
