package redisstreams_test

import (
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/sioloop/sioloop/adapter/redisstreams"
	"github.com/sioloop/sioloop/internal/redistest"
	"github.com/sioloop/sioloop/sio"
)

// Two Go nodes on one Redis: broadcasts, rooms, binaries, fetchSockets,
// serverSideEmit, broadcasts with acks, socketsJoin and disconnectSockets
// across them, with connection state recovery on (so every broadcast
// carries its offset, the same on both nodes).
func TestTwoNodes(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	sse := func(n *testNode) {
		n.srv.OnServerSideEmit("ping", func(e *sio.ServerSideEvent) {
			var arg string
			e.Decode(&arg)
			n.events.add("sse " + arg)
			e.Ack("pong from " + n.name + " to " + arg)
		})
	}
	A := startNode(t, "A", rs, nodeOpts{recovery: true, setup: sse})
	B := startNode(t, "B", rs, nodeOpts{recovery: true, setup: sse})
	a1 := dial(t, A, "a1", map[string]any{"rooms": []string{"r1"}, "data": map[string]string{"user": "a1"}})
	b1 := dial(t, B, "b1", map[string]any{"rooms": []string{"r1", "r2"}, "data": map[string]string{"user": "b1"}})
	b2 := dial(t, B, "b2", map[string]any{"data": map[string]string{"user": "b2"}})
	all := []*wsClient{a1, b1, b2}
	ctx := stepCtx(t)

	t.Run("serverCount", func(t *testing.T) {
		for _, n := range []*testNode{A, B} {
			if k, err := n.srv.Of("/").ServerCount(ctx); err != nil || k != 2 {
				t.Errorf("node %s: serverCount %d, %v", n.name, k, err)
			}
		}
	})

	// expect checks that exactly want got event tag once, after a fence
	// from the origin.
	expect := func(t *testing.T, origin *testNode, tag string, want ...*wsClient) {
		t.Helper()
		for _, c := range want {
			c.waitEvent(t, "news", tag, 1)
		}
		fence(t, origin, "f-"+tag, all...)
		for _, c := range all {
			n := c.count("news", tag)
			if w := slices.Contains(want, c); (w && n != 1) || (!w && n != 0) {
				t.Errorf("%s: client %s got it %d times", tag, c.name, n)
			}
		}
	}

	t.Run("broadcasts", func(t *testing.T) {
		cases := []struct {
			name   string
			origin *testNode
			op     sio.BroadcastOperator
			want   []*wsClient
		}{
			{"A to r1", A, A.srv.To("r1"), []*wsClient{a1, b1}},
			{"B to r2", B, B.srv.To("r2"), []*wsClient{b1}},
			{"A to everyone", A, A.srv.Of("/").To(), all},
			{"B except r2", B, B.srv.Except("r2"), []*wsClient{a1, b2}},
			{"A to r1 and b2's id", A, A.srv.To("r1", b2.sid), all},
			{"B to r1 except a1's id", B, B.srv.To("r1").Except(a1.sid), []*wsClient{b1}},
			{"A local to r1", A, A.srv.Local().To("r1"), []*wsClient{a1}},
		}
		for _, tc := range cases {
			if err := tc.op.Emit("news", tc.name); err != nil {
				t.Fatal(err)
			}
			expect(t, tc.origin, tc.name, tc.want...)
		}
		// Both nodes give the same offset, the stream entry's id.
		x, y := a1.waitEvent(t, "news", "A to r1", 1)[0], b1.waitEvent(t, "news", "A to r1", 1)[0]
		if x.offset == "" || x.offset != y.offset {
			t.Errorf("offsets %q and %q, want one entry id", x.offset, y.offset)
		}
		if e := a1.waitEvent(t, "news", "A local to r1", 1)[0]; e.offset != "" {
			t.Errorf("a local broadcast got offset %s", e.offset)
		}
	})

	t.Run("socketBroadcast", func(t *testing.T) {
		if ack := b1.emitWithAck(t, 1, "broadcast", "from-b1"); len(ack) != 1 || string(ack[0]) != `"B"` {
			t.Errorf("ack %s", ack)
		}
		a1.waitEvent(t, "bc", "from-b1", 1)
		b2.waitEvent(t, "bc", "from-b1", 1)
		fence(t, B, "f-bc", all...)
		if n := b1.count("bc", "from-b1"); n != 0 {
			t.Errorf("the sender got its socket.broadcast %d times", n)
		}
	})

	t.Run("volatile", func(t *testing.T) {
		if err := A.srv.Volatile().Emit("news", "volatile"); err != nil {
			t.Fatal(err)
		}
		for _, c := range all {
			if e := c.waitEvent(t, "news", "volatile", 1)[0]; e.offset != "" {
				t.Errorf("client %s: a volatile broadcast got offset %s", c.name, e.offset)
			}
		}
	})

	t.Run("binary", func(t *testing.T) {
		if err := B.srv.To("r1").Emit("blob", "bin", []byte{0, 1, 2, 0xff}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*wsClient{a1, b1} {
			lines := c.pkts.wait(t, "binary frame", 1, func(s string) bool { return s == "bin:\x00\x01\x02\xff" })
			_ = lines
			e := c.waitEvent(t, "blob", "bin", 1)[0]
			if string(e.args[1]) != `{"_placeholder":true,"num":0}` || e.offset == "" {
				t.Errorf("client %s: %+v", c.name, e)
			}
		}
	})

	t.Run("fetchSockets", func(t *testing.T) {
		for _, tc := range []struct {
			n    *testNode
			op   sio.BroadcastOperator
			want []*wsClient
		}{
			{A, A.srv.Of("/").To(), all},
			{B, B.srv.To("r1"), []*wsClient{a1, b1}},
			{A, A.srv.Except("r1"), []*wsClient{b2}},
			{A, A.srv.Local().To("r1"), []*wsClient{a1}},
		} {
			socks, err := tc.op.FetchSockets(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids, want []string
			for _, s := range socks {
				ids = append(ids, s.ID)
				var d map[string]string
				if err := s.DecodeData(&d); err != nil || d["user"] == "" {
					t.Errorf("socket %s data %v %v", s.ID, s.Data(), err)
				}
				if s.Handshake == nil || s.Handshake.Query.Get("EIO") != "4" || !slices.Contains(s.Rooms, s.ID) {
					t.Errorf("socket %s: handshake %+v rooms %v", s.ID, s.Handshake, s.Rooms)
				}
				if (s.Local() != nil) != (tc.n == A && s.ID == a1.sid || tc.n == B && s.ID != a1.sid) {
					t.Errorf("socket %s: local %v on node %s", s.ID, s.Local() != nil, tc.n.name)
				}
			}
			for _, c := range tc.want {
				want = append(want, c.sid)
			}
			sort.Strings(ids)
			sort.Strings(want)
			if !slices.Equal(ids, want) {
				t.Errorf("node %s: %v, want %v", tc.n.name, ids, want)
			}
		}
	})

	t.Run("serverSideEmit", func(t *testing.T) {
		if err := A.srv.ServerSideEmit(ctx, "ping", "no-ack"); err != nil {
			t.Fatal(err)
		}
		B.events.wait(t, "B's handler", 1, func(s string) bool { return s == "sse no-ack" })
		res, err := B.srv.ServerSideEmitWithAck(ctx, "ping", "with-ack")
		if err != nil || len(res) != 1 {
			t.Fatalf("%v %v", res, err)
		}
		var s string
		res[0].Decode(&s)
		if s != "pong from A to with-ack" {
			t.Errorf("answer %q", s)
		}
		if n := len(B.events.snapshot()); slices.Contains(B.events.snapshot(), "sse with-ack") {
			t.Errorf("B got its own server-side emit (%d events)", n)
		}
	})

	t.Run("emitWithAck", func(t *testing.T) {
		res, err := B.srv.To("r1").Timeout(10*time.Second).EmitWithAck(ctx, "ask", "q")
		if err != nil {
			t.Fatal(err)
		}
		var from []string
		for _, m := range res {
			var a struct{ Arg, Client string }
			m.Decode(&a)
			if a.Arg != "q" {
				t.Errorf("answer %+v", a)
			}
			from = append(from, a.Client)
		}
		sort.Strings(from)
		if !slices.Equal(from, []string{"a1", "b1"}) {
			t.Errorf("answers from %v", from)
		}
	})

	t.Run("socketsJoinLeave", func(t *testing.T) {
		if err := A.srv.To("r2").SocketsJoin(ctx, "r3"); err != nil {
			t.Fatal(err)
		}
		// The join is in the stream before the broadcast: B applies it first.
		if err := A.srv.To("r3").Emit("news", "to r3"); err != nil {
			t.Fatal(err)
		}
		expect(t, A, "to r3", b1)
		if err := B.srv.Of("/").To().SocketsLeave(ctx, "r3"); err != nil {
			t.Fatal(err)
		}
		if err := B.srv.To("r3").Emit("news", "to r3 after leave"); err != nil {
			t.Fatal(err)
		}
		expect(t, B, "to r3 after leave")
	})

	t.Run("disconnectSockets", func(t *testing.T) {
		if err := B.srv.To(a1.sid).DisconnectSockets(ctx, false); err != nil {
			t.Fatal(err)
		}
		if r := A.waitDisconnect(t, a1.sid); r != "server namespace disconnect" {
			t.Errorf("reason %q", r)
		}
	})

	for _, n := range []*testNode{A, B} {
		st := n.ra.Stats()
		if st.Malformed != 0 || st.AppendFailed != 0 || st.Dropped != 0 || st.Failures != 0 || st.Appended == 0 {
			t.Errorf("node %s: %+v", n.name, st)
		}
	}
}

// Without connection state recovery, broadcasts carry no offset and are
// delivered here at once.
func TestNoRecovery(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	A := startNode(t, "A", rs, nodeOpts{})
	B := startNode(t, "B", rs, nodeOpts{})
	a := dial(t, A, "a", map[string]any{"rooms": []string{"r"}})
	b := dial(t, B, "b", map[string]any{"rooms": []string{"r"}})
	if a.pid != "" {
		t.Errorf("pid %q without recovery", a.pid)
	}
	if err := A.srv.To("r").Emit("news", "plain"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*wsClient{a, b} {
		if e := c.waitEvent(t, "news", "plain", 1)[0]; e.offset != "" || len(e.args) != 1 {
			t.Errorf("client %s: %+v", c.name, e)
		}
	}
}

// With StreamCount 4 each namespace has its stream (<name>-<i>, i =
// hashCode(nsp) % 4 as in Node: "/" is 3, "/admin" is 0) and each stream
// its reader.
func TestStreamCount(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	tune := func(c *redisstreams.Config) { c.StreamCount = 4 }
	A := startNode(t, "A", rs, nodeOpts{recovery: true, tune: tune, setup: func(n *testNode) { n.srv.Of("/admin") }})
	B := startNode(t, "B", rs, nodeOpts{recovery: true, tune: tune, setup: func(n *testNode) { n.srv.Of("/admin") }})
	b := dial(t, B, "b", map[string]any{"rooms": []string{"r"}})
	if err := A.srv.To("r").Emit("news", "root"); err != nil {
		t.Fatal(err)
	}
	b.waitEvent(t, "news", "root", 1)
	for stream, want := range map[string]string{"socket.io-3": "1", "socket.io-0": "0"} {
		// One entry per node's start marker, plus the broadcast on "/"'s.
		n, err := rs.Do("XLEN", stream)
		if err != nil {
			t.Fatal(err)
		}
		if k, _ := strconv.Atoi(n); k-2 != mustAtoi(want) {
			t.Errorf("%s holds %s entries", stream, n)
		}
	}
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
