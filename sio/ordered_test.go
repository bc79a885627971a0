package sio_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// orderServer answers "go" with n rounds of a room broadcast followed by a
// direct emit to the caller, then "last" and a disconnect: the broadcasts
// are deferred to the event loop, so the direct emits must queue behind
// them for the caller to see b0 d0 b1 d1 ...
func orderServer(t *testing.T, loops int) *testServer {
	return startServer(t, sio.Config{Loops: loops}, func(srv *sio.Server) {
		srv.OnConnection(func(s *sio.Socket) {
			s.On("join", func(ev *sio.Event) {
				s.Join("r")
				_ = ev.Ack("ok")
			})
			s.On("go", func(ev *sio.Event) {
				var n int
				if err := ev.Decode(&n); err != nil {
					t.Errorf("go: %v", err)
					return
				}
				for i := 0; i < n; i++ {
					_ = srv.To("r").Emit("b", i)
					_ = s.Emit("d", i)
				}
				_ = s.Emit("last")
				s.Disconnect(true)
			})
		})
	})
}

// wantOrder checks msgs (Socket.IO packets, other than pings) against
// b0 d0 ... (with direct) or b0 b1 ... (without), then "last" and the
// DISCONNECT packet when direct.
func wantOrder(msgs []string, n int, direct bool) error {
	var want []string
	for i := 0; i < n; i++ {
		want = append(want, `42["b",`+strconv.Itoa(i)+`]`)
		if direct {
			want = append(want, `42["d",`+strconv.Itoa(i)+`]`)
		}
	}
	if direct {
		want = append(want, `42["last"]`, "41")
	}
	for i, w := range want {
		if i >= len(msgs) {
			return fmt.Errorf("got %d packets, want %d; next wanted %q", len(msgs), len(want), w)
		}
		if msgs[i] != w {
			return fmt.Errorf("packet %d is %q, want %q", i, msgs[i], w)
		}
	}
	return nil
}

func TestBroadcastThenEmitOrderWebSocket(t *testing.T) {
	for _, loops := range []int{1, 4} {
		t.Run(fmt.Sprintf("loops=%d", loops), func(t *testing.T) { testOrderWebSocket(t, loops) })
	}
}

// joinedMembers connects k WebSocket clients that answer pings and have
// each joined the room with an acked "join" (the test servers' handler).
func joinedMembers(t *testing.T, ts *testServer, k int) []*wsClient {
	t.Helper()
	members := make([]*wsClient, 0, k)
	for i := 0; i < k; i++ {
		c, _ := ts.connectWS(t)
		c.autoPong = true
		c.send(t, `421["join"]`)
		if got := c.next(t); got != `431["ok"]` {
			t.Fatalf("join ack %q", got)
		}
		members = append(members, c)
	}
	return members
}

func testOrderWebSocket(t *testing.T, loops int) {
	ts := orderServer(t, loops)
	const n = 300
	members := joinedMembers(t, ts, 6)
	caller := members[0]
	caller.send(t, fmt.Sprintf(`42["go",%d]`, n))
	var got []string
	for len(got) < 2*n+2 {
		got = append(got, caller.next(t))
	}
	if err := wantOrder(got, n, true); err != nil {
		t.Fatal(err)
	}
	for i, c := range members[1:] {
		var got []string
		for len(got) < n {
			got = append(got, c.next(t))
		}
		if err := wantOrder(got, n, false); err != nil {
			t.Fatalf("member %d: %v", i+1, err)
		}
	}
}

func TestBroadcastThenEmitOrderPolling(t *testing.T) {
	for _, loops := range []int{1, 4} {
		t.Run(fmt.Sprintf("loops=%d", loops), func(t *testing.T) { testOrderPolling(t, loops) })
	}
}

func testOrderPolling(t *testing.T, loops int) {
	ts := orderServer(t, loops)
	const n = 200
	ws, _ := ts.connectWS(t)
	ws.autoPong = true
	ws.send(t, `421["join"]`)
	if got := ws.next(t); got != `431["ok"]` {
		t.Fatalf("join ack %q", got)
	}
	p := ts.openPolling(t)
	p.connect(t)
	p.mustPost(t, `421["join"]`)
	if status, body := p.get(t); status != 200 || body != `431["ok"]` {
		t.Fatalf("join ack over polling: %d %q", status, body)
	}
	p.mustPost(t, fmt.Sprintf(`42["go",%d]`, n))
	var got []string
	deadline := time.Now().Add(wait)
	for len(got) < 2*n+2 && time.Now().Before(deadline) {
		status, body := p.get(t)
		if status != 200 {
			t.Fatalf("poll: %d %q", status, body)
		}
		for _, pkt := range strings.Split(body, "\x1e") {
			switch {
			case pkt == "2":
				p.mustPost(t, "3")
			case strings.HasPrefix(pkt, "4"):
				got = append(got, pkt)
			}
		}
	}
	if err := wantOrder(got, n, true); err != nil {
		t.Fatal(err)
	}
	var wsGot []string
	for len(wsGot) < n {
		wsGot = append(wsGot, ws.next(t))
	}
	if err := wantOrder(wsGot, n, false); err != nil {
		t.Fatalf("WebSocket member: %v", err)
	}
}
