package interop_test

// Mixed clusters: sioloop nodes (goNode, adapter/redis) and real Node
// socket.io nodes (@socket.io/redis-adapter 8.3, classic) on one Redis,
// with real socket.io-clients and the real Redis emitter. The all-Node
// baseline (runClusterBaseline) runs unchanged with Go nodes in place of
// Node ones; the checks after it (mixedExtras) cover what the baseline
// does not: numeric rooms, the response channels on the wire, binary
// server-side emits both ways, the emitter's disconnectSockets, and the
// cost of a broadcast in PUBLISH commands.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sioloop/sioloop/internal/msgpack"
	"github.com/sioloop/sioloop/internal/redisbus"
	"github.com/sioloop/sioloop/internal/redistest"
)

// mixedOptions are the per-node adapter options: A and B answer on the
// requester's own response channel, C on the common one, so that each kind
// of node answers both ways and hears answers sent both ways.
var mixedOptions = []map[string]any{
	{"requestsTimeout": 3000, "publishOnSpecificResponseChannel": true},
	{"requestsTimeout": 3000, "publishOnSpecificResponseChannel": true},
	{"requestsTimeout": 3000},
}

type replaceMap = map[int]func(*testing.T, nodeConfig) clusterNode

// TestMixedClusterClassic: A is a Node node, B and C are Go nodes; the
// baseline, then the mixed checks.
func TestMixedClusterClassic(t *testing.T) {
	t.Parallel()
	requireClusterNode(t)
	rs := redistest.Start(t)
	rec := startWireRecorder(t, rs.Addr())
	spec := redisSpec{URL: rs.URL()}
	c := runClusterBaseline(t, clusterSpec{
		adapter: "classic",
		redis:   []redisSpec{spec, spec, spec},
		options: mixedOptions,
		emitter: true,
		replace: replaceMap{1: startGoNode, 2: startGoNode},
	})
	mixedExtras(t, c, rs, rec)
}

// TestMixedClusterGoFirst: the baseline with A and C Go nodes and B a Node
// node: A is the origin of most of the baseline's requests (the silent
// server-side emit's timeout among them).
func TestMixedClusterGoFirst(t *testing.T) {
	t.Parallel()
	requireClusterNode(t)
	runClusterBaseline(t, clusterSpec{
		adapter: "classic",
		redis:   singleRedis(t),
		options: mixedOptions,
		emitter: true,
		replace: replaceMap{0: startGoNode, 2: startGoNode},
	})
}

// TestMixedClusterSharded: the sharded adapter's baseline with A a Node
// node and B, C Go nodes on one Redis.
func TestMixedClusterSharded(t *testing.T) {
	t.Parallel()
	requireClusterNode(t)
	runClusterBaseline(t, clusterSpec{
		adapter: "sharded",
		redis:   singleRedis(t),
		options: []map[string]any{nil, nil, nil},
		replace: replaceMap{1: startGoNode, 2: startGoNode},
	})
}

// TestMixedClusterShardedRedisCluster: the same on a three-master Redis
// Cluster, B a Go node between Node nodes A and C, each node starting from
// another root node.
func TestMixedClusterShardedRedisCluster(t *testing.T) {
	t.Parallel()
	baselineOnRedisCluster(t, "sharded", []map[string]any{nil, nil, nil})
}

// TestMixedClusterClassicRedisCluster: the classic adapter's baseline on
// a three-master Redis Cluster, A and C Node nodes with a cluster client,
// B a Go node: PUBLISH reaches every master's subscribers, and the server
// count is PUBSUB NUMSUB summed over the masters, as the Node adapter
// counts it on a cluster.
func TestMixedClusterClassicRedisCluster(t *testing.T) {
	t.Parallel()
	baselineOnRedisCluster(t, "classic", []map[string]any{{"requestsTimeout": 3000}, {"requestsTimeout": 3000}, {"requestsTimeout": 3000}})
}

// baselineOnRedisCluster runs the adapter's baseline on a fresh
// three-master Redis Cluster, each node given one master as its seed, B a
// Go node between the Node nodes A and C.
func baselineOnRedisCluster(t *testing.T, adapter string, options []map[string]any) {
	requireClusterNode(t)
	rc := redistest.StartCluster(t)
	var nodes []redisSpec
	for _, a := range rc.Addrs() {
		nodes = append(nodes, redisSpec{Cluster: []string{a}})
	}
	runClusterBaseline(t, clusterSpec{
		adapter: adapter,
		redis:   nodes,
		options: options,
		replace: replaceMap{1: startGoNode},
	})
}

// ---- a recorder of what crosses Redis ----

// wireRecorder pattern-subscribes to the request and response channels of
// "/" (patterns are not counted by PUBSUB NUMSUB, so nodes still count each
// other right) and logs every message as a "wire" event: Room is the
// channel, Data the payload as JSON (msgpack payloads transcoded).
type wireRecorder struct {
	log *eventLog
}

func startWireRecorder(t *testing.T, addr string) *wireRecorder {
	t.Helper()
	r := &wireRecorder{log: newEventLog()}
	ctx := stepCtx(t)
	bus, err := redisbus.New(ctx, redisbus.Options{
		Addrs: []string{addr},
		Handler: func(_ redisbus.Kind, channel, _ string, payload []byte) {
			js := []byte(nil)
			if len(payload) > 0 && payload[0] == '{' {
				js = append(js, payload...)
			} else if out, _, _, err := msgpack.AppendToJSON(nil, payload, nil); err == nil {
				js = out
			}
			r.log.add(clusterEvent{Event: "wire", Room: channel, Data: js, Line: channel + " " + string(js)})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	bus.PSubscribe("socket.io-request#/#", "socket.io-response#/#*")
	if err := bus.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// wireMsg is the part of a request or response the checks look at.
type wireMsg struct {
	UID       string `json:"uid"`
	RequestID string `json:"requestId"`
	Type      *int   `json:"type"`
}

func (e clusterEvent) wire() wireMsg {
	var m wireMsg
	json.Unmarshal(e.Data, &m)
	return m
}

// request returns the one request of type typ recorded after seq from.
func (r *wireRecorder) request(t *testing.T, from, typ int) wireMsg {
	t.Helper()
	e := waitFor(t, r.log, fmt.Sprintf("a type %d request after %d", typ, from), func(e clusterEvent) bool {
		m := e.wire()
		return e.Seq >= from && e.Room == "socket.io-request#/#" && m.Type != nil && *m.Type == typ && m.RequestID != ""
	})
	return e.wire()
}

// responses waits for n responses to request id (of type typ, or any with
// typ < 0) and returns their channels, sorted.
func (r *wireRecorder) responses(t *testing.T, id string, typ, n int) []string {
	t.Helper()
	ctx := stepCtx(t)
	got, err := r.log.waitN(ctx, n, func(e clusterEvent) bool {
		m := e.wire()
		return strings.HasPrefix(e.Room, "socket.io-response#/#") && m.RequestID == id && (typ < 0 || (m.Type != nil && *m.Type == typ))
	})
	if err != nil {
		t.Fatalf("responses to %s: %v\n%s", id, err, r.log.dump(20))
	}
	var out []string
	for _, e := range got {
		out = append(out, e.Room)
	}
	slices.Sort(out)
	return out
}

func (r *wireRecorder) mark() int {
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	return len(r.log.events)
}

// publishCalls is cmdstat_publish's calls in INFO commandstats.
func publishCalls(t *testing.T, rs *redistest.Server) int {
	t.Helper()
	info, err := rs.Do("INFO", "commandstats")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_publish:calls="); ok {
			n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			return n
		}
	}
	return 0
}

// ---- the mixed checks ----

func mixedExtras(t *testing.T, c *nodeCluster, rs *redistest.Server, rec *wireRecorder) {
	A, B, C := c.nodes[0], c.nodes[1], c.nodes[2]
	a := A.(*nodeProc)
	// The baseline disconnected its clients: four new ones, e1 on A, e2 on
	// B (polling), e3 and e4 on C.
	fresh := []clusterClient{
		{name: "e1", node: 0, rooms: []string{"e"}, transports: []string{"websocket"}},
		{name: "e2", node: 1, rooms: []string{"e"}, transports: []string{"polling"}},
		{name: "e3", node: 2, rooms: []string{"e"}, transports: []string{"websocket"}},
		{name: "e4", node: 2, transports: []string{"websocket"}},
	}
	for _, cl := range fresh {
		if _, err := c.connect(cl, c.nodes[cl.node].URL()); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("numericRooms", func(t *testing.T) {
		ctx := stepCtx(t)
		// e1 joins the number 123 on A (a numeric room in Node), e2 on B
		// (the room "123" in Go).
		for _, cl := range []string{"e1", "e2"} {
			if _, err := c.clients.emitWithAck(ctx, 10000, cl, "join", []any{123}); err != nil {
				t.Fatal(err)
			}
		}
		c.waitRoom(t, "join", "123", "e2")
		tag := c.tag("numeric")
		// io.to(123): msgpack int 123 in rooms, channel socket.io#/#123#.
		if err := a.p.call(ctx, "emit", map[string]any{"to": []any{123}, "event": "news", "args": []any{payload(tag)}}, nil); err != nil {
			t.Fatal(err)
		}
		c.expectOnce(t, A, nil, "news", tag, "e1", "e2")
		// The other way, io.to("123") from Go: the Go socket gets it; the
		// Node node drops it for its numeric room (its hasRoom accepts
		// "123", then the broadcast looks the string up and finds nobody,
		// as for io.to("123") from Node).
		tag = c.tag("numeric-from-go")
		if err := B.Emit(ctx, emitReq{target: target{To: []string{"123"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
			t.Fatal(err)
		}
		c.expectOnce(t, B, nil, "news", tag, "e2")
		// B lists A's socket with its numeric room (as "123"), A lists B's.
		for _, tc := range []struct {
			n    clusterNode
			sock string
		}{{B, "e1"}, {A, "e2"}, {C, "e1"}} {
			socks, err := tc.n.FetchSockets(ctx, target{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, s := range socks {
				if s.ID == c.sidOf(tc.sock) {
					found = true
					if !slices.Contains(s.Rooms, "123") || !slices.Contains(s.Rooms, "e") {
						t.Errorf("node %s: fetchSockets: %s rooms %v, want e and 123", tc.n.Name(), tc.sock, s.Rooms)
					}
				}
			}
			if !found {
				t.Errorf("node %s: fetchSockets %v lacks %s (%s)", tc.n.Name(), socketIDs(socks), tc.sock, c.sidOf(tc.sock))
			}
		}
		rooms, err := B.AllRooms(ctx, "/")
		if err != nil || !slices.Contains(rooms, "123") {
			t.Errorf("B: allRooms %v, %v; want 123 among them", rooms, err)
		}
	})

	t.Run("responseChannels", func(t *testing.T) {
		ctx := stepCtx(t)
		specific := []bool{true, true, false}
		for i, origin := range c.nodes {
			// The channels the others must answer on.
			var want []string
			expect := func(req wireMsg) []string {
				want = want[:0]
				for j := range c.nodes {
					if j == i {
						continue
					}
					ch := "socket.io-response#/#"
					if specific[j] {
						ch += req.UID + "#"
					}
					want = append(want, ch)
				}
				slices.Sort(want)
				return want
			}
			from := rec.mark()
			if _, err := origin.FetchSockets(ctx, target{}, 0); err != nil {
				t.Fatal(err)
			}
			req := rec.request(t, from, 5)
			if got := rec.responses(t, req.RequestID, -1, 2); !slices.Equal(got, expect(req)) {
				t.Errorf("fetchSockets from %s: answered on %v, want %v", origin.Name(), got, want)
			}
			from = rec.mark()
			if _, err := origin.AllRooms(ctx, "/"); err != nil {
				t.Fatal(err)
			}
			req = rec.request(t, from, 1)
			if got := rec.responses(t, req.RequestID, -1, 2); !slices.Equal(got, expect(req)) {
				t.Errorf("allRooms from %s: answered on %v, want %v", origin.Name(), got, want)
			}
			// A broadcast with acks to e1, e2, e3: the counts (8) and the
			// acks (9) follow the responder's option too.
			from = rec.mark()
			res, err := origin.EmitWithAck(ctx, emitReq{target: target{To: []string{"e"}}, Event: "ask", Args: []any{payload(c.tag("ask"))}, Timeout: 10000})
			if err != nil || res.Err != "" || len(res.Responses) != 3 {
				t.Fatalf("emitWithAck from %s: %+v, %v", origin.Name(), res, err)
			}
			req = rec.request(t, from, 7)
			expect(req)
			if got := rec.responses(t, req.RequestID, 8, 2); !slices.Equal(got, want) {
				t.Errorf("emitWithAck from %s: client counts on %v, want %v", origin.Name(), got, want)
			}
			// Server-side emit answers go to the common channel, always.
			from = rec.mark()
			sres, err := origin.ServerSideEmitWithAck(ctx, "/", "sse", payload(c.tag("sse")))
			if err != nil || sres.Err != "" || len(sres.Responses) != 2 {
				t.Fatalf("serverSideEmit from %s: %+v, %v", origin.Name(), sres, err)
			}
			req = rec.request(t, from, 6)
			if got := rec.responses(t, req.RequestID, 6, 2); !slices.Equal(got, []string{"socket.io-response#/#", "socket.io-response#/#"}) {
				t.Errorf("serverSideEmit from %s: answered on %v, want the common channel twice", origin.Name(), got)
			}
		}
	})

	t.Run("binaryServerSideEmit", func(t *testing.T) {
		ctx := stepCtx(t)
		blob := []byte{0, 1, 2, 0xfe, 0xff}
		asBuffer := map[string]any{"type": "Buffer", "data": []int{0, 1, 2, 0xfe, 0xff}}
		for _, tc := range []struct {
			from clusterNode
			to   []clusterNode
		}{{B, []clusterNode{A, C}}, {A, []clusterNode{B, C}}} {
			tag := c.tag("bin-sse")
			if err := tc.from.ServerSideEmit(ctx, "/", "sse", map[string]any{"tag": tag, "blob": bin(blob)}); err != nil {
				t.Fatal(err)
			}
			for _, n := range tc.to {
				e := waitFor(t, n.Events(), "node "+n.Name()+" to get "+tc.from.Name()+"'s binary serverSideEmit", func(e clusterEvent) bool {
					return e.Event == "serverSideEmit" && e.tag() == tag
				})
				var p struct {
					Blob json.RawMessage `json:"blob"`
				}
				json.Unmarshal(e.Args[0], &p)
				if !sameJSON(p.Blob, asBuffer) {
					t.Errorf("%s -> %s: serverSideEmit blob arrived as %s, want %v (a Buffer's toJSON)", tc.from.Name(), n.Name(), p.Blob, asBuffer)
				}
			}
		}
	})

	t.Run("binaryFromGo", func(t *testing.T) {
		ctx := stepCtx(t)
		args := func(tag string) []any {
			return []any{
				map[string]any{"tag": tag, "blob": bin([]byte{1, 2, 3})},
				bin([]byte{0xde, 0xad}),
				map[string]any{"deep": []any{bin([]byte{}), bin([]byte{0xff}), "x"}},
			}
		}
		for _, origin := range []clusterNode{B, C} {
			tag := c.tag("bin-go")
			if err := origin.Emit(ctx, emitReq{target: target{To: []string{"e"}}, Event: "bin", Args: args(tag)}); err != nil {
				t.Fatal(err)
			}
			for _, cl := range []string{"e1", "e2", "e3"} {
				e := c.waitClient(t, cl, "bin", tag)
				for i, w := range args(tag) {
					if i >= len(e.Args) || !sameJSON(e.Args[i], w) {
						t.Errorf("client %s got %s from %s, want args %v", cl, e.Line, origin.Name(), args(tag))
						break
					}
				}
			}
		}
		// A polling client's upload to a Go node.
		tag := c.tag("bin-up")
		if _, err := c.clients.emitWithAck(ctx, 10000, "e2", "upload", args(tag)...); err != nil {
			t.Fatal(err)
		}
		e := waitFor(t, B.Events(), "B to get e2's upload", func(e clusterEvent) bool { return e.Event == "message" && e.Name == "upload" && e.tag() == tag })
		for i, w := range args(tag) {
			if i >= len(e.Args) || !sameJSON(e.Args[i], w) {
				t.Errorf("node B got upload %s, want args %v", e.Line, args(tag))
				break
			}
		}
	})

	t.Run("flagsFromGo", func(t *testing.T) {
		ctx := stepCtx(t)
		// volatile: may be dropped for a busy polling client, never twice.
		tag := c.tag("go-volatile")
		if err := B.Emit(ctx, emitReq{Event: "news", Args: []any{payload(tag)}, Volatile: true}); err != nil {
			t.Fatal(err)
		}
		c.expectAtMostOnce(t, B, "news", tag, "e1", "e2", "e3", "e4")
		// local: C's clients only.
		tag = c.tag("go-local")
		if err := C.Emit(ctx, emitReq{target: target{Local: true}, Event: "news", Args: []any{payload(tag)}}); err != nil {
			t.Fatal(err)
		}
		c.expectOnce(t, C, nil, "news", tag, "e3", "e4")
	})

	t.Run("remoteSocketFromGo", func(t *testing.T) {
		// B (Go) acts on e1, a socket of A (Node), through sio's RemoteSocket.
		ctx := stepCtx(t)
		g := B.(*goNode)
		rs, err := g.srv.In(c.sidOf("e1")).FetchSockets(ctx)
		if err != nil || len(rs) != 1 || rs[0].Local() != nil {
			t.Fatalf("B: fetchSockets of e1: %v, %v", rs, err)
		}
		r := rs[0]
		if r.Handshake == nil || r.Handshake.Query.Get("transport") != "websocket" || !slices.Contains(r.Rooms, "e") {
			t.Errorf("B: e1 as a RemoteSocket: %+v, handshake %+v", r, r.Handshake)
		}
		var data struct {
			User string `json:"user"`
		}
		if err := r.DecodeData(&data); err != nil || data.User != "e1" {
			t.Errorf("B: e1's data %+v, %v", data, err)
		}
		tag := c.tag("remote-emit")
		if err := r.Emit("news", payload(tag)); err != nil {
			t.Fatal(err)
		}
		c.expectOnce(t, B, nil, "news", tag, "e1")
		m, err := r.EmitWithAck(ctx, "ask", payload(c.tag("remote-ask")))
		var ack struct {
			Client string `json:"client"`
		}
		if err != nil || m.Decode(&ack) != nil || ack.Client != "e1" {
			t.Errorf("B: e1.EmitWithAck: %v (%s), %v", m.Args(), ack.Client, err)
		}
		if err := r.Join(ctx, "rj"); err != nil {
			t.Fatal(err)
		}
		c.waitRoom(t, "join", "rj", "e1")
		if err := r.Leave(ctx, "rj"); err != nil {
			t.Fatal(err)
		}
		c.waitRoom(t, "leave", "rj", "e1")
		if err := r.Disconnect(ctx, false); err != nil {
			t.Fatal(err)
		}
		c.waitDisconnect(t, []string{"e1"}, "io server disconnect", "server namespace disconnect")
		c.setOffline("e1")
	})

	t.Run("remoteSocketFromNode", func(t *testing.T) {
		// A (Node) acts on e3, a socket of C (Go), through socket.io's
		// RemoteSocket: every action crosses Redis to C as an adapter
		// request or a broadcast to the socket's own room.
		ctx := stepCtx(t)
		act := func(m map[string]any, out any) {
			t.Helper()
			m["sid"] = c.sidOf("e3")
			if err := a.p.call(ctx, "remoteSocket", m, out); err != nil {
				t.Fatalf("A: RemoteSocket %v of e3: %v", m["action"], err)
			}
		}
		tag := c.tag("node-remote-emit")
		act(map[string]any{"action": "emit", "event": "news", "args": []any{payload(tag)}}, nil)
		c.expectOnce(t, A, nil, "news", tag, "e3")
		// A RemoteSocket's ack callback gets the one answer, not a list.
		var res struct {
			Err      string          `json:"err"`
			Response json.RawMessage `json:"response"`
		}
		act(map[string]any{"action": "ask", "event": "ask", "args": []any{payload(c.tag("node-remote-ask"))}, "timeout": 10000}, &res)
		var ack struct {
			Client string `json:"client"`
		}
		if res.Err != "" || json.Unmarshal(res.Response, &ack) != nil || ack.Client != "e3" {
			t.Errorf("A: e3.timeout().emit(ask): err %q, response %s", res.Err, res.Response)
		}
		act(map[string]any{"action": "join", "rooms": []string{"nj"}}, nil)
		c.waitRoom(t, "join", "nj", "e3")
		act(map[string]any{"action": "leave", "rooms": []string{"nj"}}, nil)
		c.waitRoom(t, "leave", "nj", "e3")
		act(map[string]any{"action": "disconnect"}, nil)
		c.waitDisconnect(t, []string{"e3"}, "io server disconnect", "server namespace disconnect")
		c.setOffline("e3")
	})

	t.Run("publishCost", func(t *testing.T) { testPublishCost(t, c, rs) })

	t.Run("emitterDisconnect", func(t *testing.T) {
		ctx := stepCtx(t)
		// Room pc has clients on every node.
		var pc []string
		for _, cl := range c.onlineClients() {
			if strings.HasPrefix(cl, "pc") {
				pc = append(pc, cl)
			}
		}
		if err := c.emitter.DisconnectSockets(ctx, target{To: []string{"pc"}}, false); err != nil {
			t.Fatal(err)
		}
		c.waitDisconnect(t, pc, "io server disconnect", "server namespace disconnect")
		c.setOffline(pc...)
		if err := c.emitter.DisconnectSockets(ctx, target{}, true); err != nil {
			t.Fatal(err)
		}
		rest := without(c.onlineClients())
		c.waitDisconnect(t, rest, "io server disconnect", "server namespace disconnect")
		c.setOffline(rest...)
	})
}

// testPublishCost checks that a broadcast is one PUBLISH, whatever the
// number of its recipients and of the nodes they are on: 4 more clients
// per node join room "pc", then each node broadcasts to pc, to pc and e,
// and to everybody, and INFO commandstats counts the PUBLISHes.
func testPublishCost(t *testing.T, c *nodeCluster, rs *redistest.Server) {
	var pc []string
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		cl := clusterClient{name: fmt.Sprintf("pc%d", i), node: i % 3, rooms: []string{"pc"}, transports: []string{"websocket"}}
		pc = append(pc, cl.name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.connect(cl, c.nodes[cl.node].URL()); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ctx := stepCtx(t)
	online := c.onlineClients()
	inE := []string{}
	for _, cl := range online {
		if cl == "e2" || cl == "e3" {
			inE = append(inE, cl)
		}
	}
	for _, origin := range c.nodes {
		for _, tc := range []struct {
			tg   target
			want []string
		}{
			{target{To: []string{"pc"}}, pc},
			{target{To: []string{"pc", "e"}}, append(slices.Clone(pc), inE...)},
			{target{}, online},
		} {
			before := publishCalls(t, rs)
			tag := c.tag("cost")
			if err := origin.Emit(ctx, emitReq{target: tc.tg, Event: "news", Args: []any{payload(tag)}}); err != nil {
				t.Fatal(err)
			}
			for _, cl := range tc.want {
				c.waitClient(t, cl, "news", tag)
			}
			if d := publishCalls(t, rs) - before; d != 1 {
				t.Errorf("%s: a broadcast to %+v (%d clients on 3 nodes) cost %d PUBLISH, want 1", origin.Name(), tc.tg, len(tc.want), d)
			} else {
				t.Logf("%s: broadcast to %+v: %d clients on 3 nodes, 1 PUBLISH", origin.Name(), tc.tg, len(tc.want))
			}
			c.expectOnce(t, origin, nil, "news", tag, tc.want...)
		}
	}
}
