package interop_test

// Mixed clusters on the Redis Streams adapter: sioloop nodes on
// adapter/redisstreams (goNode, with the node config's adapter "streams")
// next to real Node socket.io nodes on @socket.io/redis-streams-adapter
// 0.3.1, driven by the cluster harness.

import (
	"slices"
	"sort"
	"testing"
)

// TestMixedClusterStreams: the cluster baseline (broadcasts, rooms, acks,
// fetchSockets, serverSideEmit, joins, disconnects, binaries, namespaces,
// every node as origin) with sioloop nodes on adapter/redisstreams in
// place of some Node nodes, then connection state recovery from A to B
// and from B to C: across a Node and a Go node both ways in each layout.
func TestMixedClusterStreams(t *testing.T) {
	t.Parallel()
	requireClusterNode(t)
	for _, tc := range []struct {
		name string
		gos  []int
	}{
		{"GoB", []int{1}},        // A Node, B Go, C Node
		{"GoAandC", []int{0, 2}}, // A Go, B Node, C Go
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			replace := map[int]func(*testing.T, nodeConfig) clusterNode{}
			for _, i := range tc.gos {
				replace[i] = startGoNode
			}
			c := runClusterBaseline(t, clusterSpec{
				adapter: "streams",
				redis:   singleRedis(t),
				options: []map[string]any{nil, nil, nil},
				replace: replace,
			})
			t.Run("recoveryAtoB", func(t *testing.T) { testStreamsRecovery(t, c) })
			t.Run("recoveryBtoC", func(t *testing.T) { testStreamsRecoveryBtoC(t, c) })
		})
	}
}

// testStreamsRecoveryBtoC: a client of node B loses its connection,
// misses events from every node (a binary one among them), and is
// restored by node C from the session B saved.
func testStreamsRecoveryBtoC(t *testing.T, c *nodeCluster) {
	ctx := stepCtx(t)
	A, B, C := c.nodes[0], c.nodes[1], c.nodes[2]
	rec := clusterClient{name: "rec2", node: 1, rooms: []string{"rg"}, transports: []string{"websocket"}}
	first, err := c.connect(rec, B.URL())
	if err != nil {
		t.Fatal(err)
	}
	tag := c.tag("before")
	if err := B.Emit(ctx, emitReq{target: target{To: []string{"rg"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
		t.Fatal(err)
	}
	if e := c.waitClient(t, "rec2", "news", tag); len(e.Args) != 2 || !offsetRE.Match(e.Args[1]) {
		t.Fatalf("rec2 got %s, want the payload and a stream offset", e.Line)
	}
	if _, err := c.clients.drop(ctx, "rec2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, B.Events(), "B to report rec2's disconnect", func(e clusterEvent) bool {
		return e.Event == "disconnect" && e.Sid == first.Sid && e.Reason == "transport close"
	})
	missed := []struct {
		origin   clusterNode
		tg       target
		volatile bool
		binary   bool
		replay   bool
	}{
		{B, target{To: []string{"rg"}}, false, false, true},
		{A, target{To: []string{first.Sid}}, false, false, true},
		{C, target{}, false, true, true},
		{B, target{To: []string{"rg"}}, true, false, true},
		{A, target{To: []string{"r1"}}, false, false, false},
		{B, target{Except: []string{"rg"}}, false, false, false},
	}
	tags := make([]string, len(missed))
	for i, m := range missed {
		tags[i] = c.tag("missed-go")
		args := []any{payload(tags[i])}
		if m.binary {
			args = append(args, bin([]byte{1, 2, 3}))
		}
		if err := m.origin.Emit(ctx, emitReq{target: m.tg, Event: "news", Args: args, Volatile: m.volatile}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := c.clients.reconnect(ctx, "rec2", C.URL())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Recovered || res.Sid != first.Sid {
		t.Fatalf("rec2 reconnected to C as %+v, want recovered with sid %s", res, first.Sid)
	}
	c.mu.Lock()
	c.home["rec2"], c.online["rec2"] = 2, true
	c.mu.Unlock()
	conn := waitFor(t, C.Events(), "C to report rec2's connection", func(e clusterEvent) bool {
		return e.Event == "connection" && e.Sid == first.Sid
	})
	rooms := slices.Clone(conn.Rooms)
	sort.Strings(rooms)
	if !conn.Recovered || !sameJSON(conn.Data, map[string]string{"user": "rec2"}) || !slices.Equal(rooms, sortedStrings([]string{first.Sid, "rg"})) {
		t.Errorf("C: rec2's connection %s, want recovered with its data and rooms", conn.Line)
	}
	for i, m := range missed {
		if !m.replay {
			continue
		}
		e := c.waitClient(t, "rec2", "news", tags[i])
		want := 2
		if m.binary {
			want = 3
			if !sameJSON(e.Args[1], bin([]byte{1, 2, 3})) {
				t.Errorf("rec2: replayed binary %s", e.Line)
			}
		}
		if len(e.Args) != want || !offsetRE.Match(e.Args[want-1]) {
			t.Errorf("rec2: missed event %s without its offset", e.Line)
		}
	}
	f := c.tag("fence")
	if err := C.Emit(ctx, emitReq{target: target{To: []string{"rg"}}, Event: "fence", Args: []any{payload(f)}}); err != nil {
		t.Fatal(err)
	}
	c.waitClient(t, "rec2", "fence", f)
	for i, tg := range tags {
		wantN := 0
		if missed[i].replay {
			wantN = 1
		}
		if n := c.clients.Events().count(got("rec2", "news", tg)); n != wantN {
			t.Errorf("rec2 got missed event %d (%s) %d times, want %d", i, tg, n, wantN)
		}
	}
	socks, err := B.FetchSockets(ctx, target{To: []string{"rg"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(socks) != 1 || socks[0].ID != first.Sid || socks[0].Local {
		t.Errorf("B: fetchSockets rg = %+v, want rec2's socket on C", socks)
	}
	tag = c.tag("after")
	if err := B.Emit(ctx, emitReq{target: target{To: []string{"rg"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
		t.Fatal(err)
	}
	c.expectOnce(t, B, &target{To: []string{"rg"}}, "news", tag, "rec2")
}
