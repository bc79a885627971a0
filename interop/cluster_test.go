package interop_test

// All-Node clusters: three real socket.io nodes on one Redis adapter, six
// real clients spread over them, the Redis emitter where the adapter
// speaks its protocol. These tests check the Node adapters' own behaviour
// and are the baseline that sioloop nodes must match when they take the
// place of one or more of the Node nodes (clusterNode).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/internal/redistest"
)

// stepTimeout bounds each wait of the cluster tests: generous, for a busy
// 2-core machine; nothing waits for it to pass.
const stepTimeout = 20 * time.Second

// clusterSpec describes one cluster under test.
type clusterSpec struct {
	adapter string
	// redis is per node (A, B, C): on a Redis Cluster each node starts from
	// another root node.
	redis   []redisSpec
	options []map[string]any // per node
	emitter bool             // the classic protocol: run the Redis emitter
	// replace, when it has an entry for a node's index, starts that node
	// instead of a Node one, from the same config (a sioloop node).
	replace map[int]func(t *testing.T, cfg nodeConfig) clusterNode
}

// clusterClient is one client of the fixture.
type clusterClient struct {
	name       string
	node       int    // index in nodes
	nsp        string // "" for "/"
	rooms      []string
	transports []string
	silent     []string
}

// The fixture's clients: r1 = {a1, b1, c1}, r2 = {a2, b1, c2}; b2 is in no
// room; a2 and b2 poll.
var clusterClients = []clusterClient{
	{name: "a1", node: 0, rooms: []string{"r1"}, transports: []string{"websocket"}},
	{name: "a2", node: 0, rooms: []string{"r2"}, transports: []string{"polling"}},
	{name: "b1", node: 1, rooms: []string{"r1", "r2"}, transports: []string{"websocket"}},
	{name: "b2", node: 1, rooms: nil, transports: []string{"polling"}},
	{name: "c1", node: 2, rooms: []string{"r1"}, transports: []string{"websocket"}, silent: []string{"ask-silent"}},
	{name: "c2", node: 2, rooms: []string{"r2"}, transports: []string{"websocket"}},
}

// nodeCluster is a running cluster with its clients.
type nodeCluster struct {
	spec    clusterSpec
	nodes   []clusterNode
	clients *clientsProc
	emitter *emitterProc // nil unless spec.emitter

	mu     sync.Mutex
	sid    map[string]string // guarded by mu; client name -> socket id
	home   map[string]int    // guarded by mu; client name -> node index
	online map[string]bool   // guarded by mu; connected clients

	seq atomic.Int64 // tag counter
}

// startNodeCluster starts nodes A, B and C (each with namespaces / and
// /admin), the clients process with the fixture's clients connected, and
// the emitter when the spec asks for it.
func startNodeCluster(t *testing.T, spec clusterSpec) *nodeCluster {
	t.Helper()
	names := []string{"A", "B", "C"}
	cfgs := make([]nodeConfig, len(names))
	for i, n := range names {
		cfgs[i] = nodeConfig{Name: n, Adapter: spec.adapter, Redis: spec.redis[i], Options: spec.options[i], Nsps: []string{"/", "/admin"}}
	}
	// Everything starts at once: node takes a while to load.
	specs := []jsSpec{{"clients", "cluster-clients.mjs", nil}}
	if spec.emitter {
		specs = append(specs, jsSpec{"emitter", "cluster-emitter.mjs", map[string]any{"redis": spec.redis[0]}})
	}
	var nodeIdx []int // indices of the Node nodes, in specs after the others
	for i, cfg := range cfgs {
		if spec.replace[i] == nil {
			specs = append(specs, nodeSpec(cfg))
			nodeIdx = append(nodeIdx, i)
		}
	}
	procs, lines := startJSAll(t, specs...)
	c := &nodeCluster{
		spec:    spec,
		clients: &clientsProc{p: procs[0]},
		sid:     map[string]string{},
		home:    map[string]int{},
		online:  map[string]bool{},
	}
	if spec.emitter {
		c.emitter = &emitterProc{p: procs[1]}
	}
	c.nodes = make([]clusterNode, len(cfgs))
	first := len(specs) - len(nodeIdx)
	for k, i := range nodeIdx {
		c.nodes[i] = newNodeProc(t, cfgs[i], procs[first+k], lines[first+k])
	}
	for i, start := range spec.replace {
		c.nodes[i] = start(t, cfgs[i])
	}
	var wg sync.WaitGroup
	errs := make([]error, len(clusterClients))
	for i, cl := range clusterClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.connect(cl, c.nodes[cl.node].URL())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// connect connects cl to url and waits until its node reports the
// connection (after its joins took effect).
func (c *nodeCluster) connect(cl clusterClient, url string) (connected, error) {
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	res, err := c.clients.connect(ctx, clientSpec{
		Name:       cl.name,
		URL:        url,
		Nsp:        cl.nsp,
		Transports: cl.transports,
		Rooms:      nonNilStrings(cl.rooms),
		Data:       map[string]string{"user": cl.name},
		Silent:     cl.silent,
	})
	if err != nil {
		return res, err
	}
	n := c.nodes[cl.node]
	if _, err := n.Events().wait(ctx, func(e clusterEvent) bool { return e.Event == "connection" && e.Sid == res.Sid }); err != nil {
		return res, fmt.Errorf("node %s: no connection report for %s (%s): %w", n.Name(), cl.name, res.Sid, err)
	}
	c.mu.Lock()
	c.sid[cl.name], c.home[cl.name] = res.Sid, cl.node
	// online lists the clients of "/", which the fences reach.
	c.online[cl.name] = cl.nsp == "" || cl.nsp == "/"
	c.mu.Unlock()
	return res, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (c *nodeCluster) sidOf(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sid[name]
}

func (c *nodeCluster) homeOf(name string) clusterNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[c.home[name]]
}

// onlineClients lists the connected clients, sorted.
func (c *nodeCluster) onlineClients() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for n, ok := range c.online {
		if ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func (c *nodeCluster) setOffline(names ...string) {
	c.mu.Lock()
	for _, n := range names {
		c.online[n] = false
	}
	c.mu.Unlock()
}

// tag returns a payload tag unique in this cluster.
func (c *nodeCluster) tag(what string) string {
	return fmt.Sprintf("%s-%d", what, c.seq.Add(1))
}

// payload is the first argument of the tests' events.
func payload(tag string) map[string]any { return map[string]any{"tag": tag} }

func stepCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	t.Cleanup(cancel)
	return ctx
}

// waitFor waits for a matching event in log, failing the test with what
// the log holds.
func waitFor(t *testing.T, log *eventLog, what string, match func(clusterEvent) bool) clusterEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	e, err := log.wait(ctx, match)
	if err != nil {
		t.Fatalf("waiting for %s: %v\nlast events:\n%s", what, err, log.dump(30))
	}
	return e
}

// waitClient waits until client got event carrying tag.
func (c *nodeCluster) waitClient(t *testing.T, client, event, tag string) clusterEvent {
	t.Helper()
	return waitFor(t, c.clients.Events(), fmt.Sprintf("client %s to get %q %s", client, event, tag), got(client, event, tag))
}

// waitRoom waits until each client's node reported that it joined (op
// "join") or left ("leave") room.
func (c *nodeCluster) waitRoom(t *testing.T, op, room string, clients ...string) {
	t.Helper()
	for _, cl := range clients {
		sid, n := c.sidOf(cl), c.homeOf(cl)
		waitFor(t, n.Events(), fmt.Sprintf("node %s to report %s %s %s (%s)", n.Name(), cl, op, room, sid), func(e clusterEvent) bool {
			return e.Event == op && e.Room == room && e.Sid == sid
		})
	}
}

// expectOnce checks that exactly the clients in want got event with tag,
// each exactly once. It waits for each of them, then sends two fences from
// origin: one with the same target (fenceTo, when not nil), which travels
// the same Redis channel behind the event and shows that no duplicate
// follows it, and one to everybody, which shows that nothing more is on its
// way to the others; it counts once every client got its fences.
func (c *nodeCluster) expectOnce(t *testing.T, origin broadcaster, fenceTo *target, event, tag string, want ...string) {
	t.Helper()
	for _, w := range want {
		c.waitClient(t, w, event, tag)
	}
	ctx := stepCtx(t)
	if fenceTo != nil && len(want) > 0 {
		f := c.tag("fence")
		if err := origin.Emit(ctx, emitReq{target: *fenceTo, Event: "fence", Args: []any{payload(f)}}); err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			c.waitClient(t, w, "fence", f)
		}
	}
	f := c.tag("fence")
	if err := origin.Emit(ctx, emitReq{Event: "fence", Args: []any{payload(f)}}); err != nil {
		t.Fatal(err)
	}
	online := c.onlineClients()
	for _, cl := range online {
		c.waitClient(t, cl, "fence", f)
	}
	for _, cl := range online {
		n := c.clients.Events().count(got(cl, event, tag))
		wantN := 0
		if slices.Contains(want, cl) {
			wantN = 1
		}
		if n != wantN {
			t.Errorf("%q %s: client %s got it %d times, want %d (recipients should be %v)", event, tag, cl, n, wantN, want)
		}
	}
}

// expectAtMostOnce is expectOnce for volatile events: clients in want may
// miss it, none gets it twice, the others never.
func (c *nodeCluster) expectAtMostOnce(t *testing.T, origin broadcaster, event, tag string, want ...string) {
	t.Helper()
	f := c.tag("fence")
	if err := origin.Emit(stepCtx(t), emitReq{Event: "fence", Args: []any{payload(f)}}); err != nil {
		t.Fatal(err)
	}
	for _, cl := range c.onlineClients() {
		c.waitClient(t, cl, "fence", f)
		n := c.clients.Events().count(got(cl, event, tag))
		if n > 1 || (n == 1 && !slices.Contains(want, cl)) {
			t.Errorf("volatile %q %s: client %s got it %d times (recipients should be at most %v)", event, tag, cl, n, want)
		}
	}
}

// members lists the online fixture clients in any of rooms (all of them
// when rooms is empty), minus those in any of except.
func (c *nodeCluster) members(rooms []string, except []string) []string {
	var out []string
	for _, cl := range clusterClients {
		if !slices.Contains(c.onlineClients(), cl.name) {
			continue
		}
		in := len(rooms) == 0
		for _, r := range rooms {
			in = in || slices.Contains(cl.rooms, r)
		}
		for _, r := range except {
			in = in && !slices.Contains(cl.rooms, r)
		}
		if in {
			out = append(out, cl.name)
		}
	}
	return out
}

func without(list []string, drop ...string) []string {
	var out []string
	for _, x := range list {
		if !slices.Contains(drop, x) {
			out = append(out, x)
		}
	}
	return out
}

// ackClients returns the "client" field of each ack response, sorted.
func ackClients(t *testing.T, res ackResult, event string) []string {
	t.Helper()
	var out []string
	for _, r := range res.Responses {
		var a struct {
			Client string `json:"client"`
			Event  string `json:"event"`
		}
		if err := json.Unmarshal(r, &a); err != nil || a.Event != event {
			t.Errorf("ack response %s: want {client, event: %q} (%v)", r, event, err)
		}
		out = append(out, a.Client)
	}
	sort.Strings(out)
	return out
}

// runClusterBaseline runs the checks every adapter must pass, in an order
// that keeps the fixture's rooms as described above until the last ones
// disconnect clients.
func runClusterBaseline(t *testing.T, spec clusterSpec) *nodeCluster {
	c := startNodeCluster(t, spec)
	A, B, C := c.nodes[0], c.nodes[1], c.nodes[2]

	t.Run("serverCount", func(t *testing.T) {
		for _, n := range c.nodes {
			got, err := n.ServerCount(stepCtx(t), "/")
			if err != nil || got != 3 {
				t.Errorf("node %s: serverCount %d, %v; want 3", n.Name(), got, err)
			}
		}
	})

	t.Run("roomBroadcast", func(t *testing.T) {
		for _, origin := range c.nodes {
			for _, rooms := range [][]string{{"r1"}, {"r2"}, {"r1", "r2"}, nil} {
				tg := target{To: rooms}
				tag := c.tag("news-from-" + origin.Name())
				if err := origin.Emit(stepCtx(t), emitReq{target: tg, Event: "news", Args: []any{payload(tag)}}); err != nil {
					t.Fatal(err)
				}
				c.expectOnce(t, origin, &tg, "news", tag, c.members(rooms, nil)...)
			}
		}
	})

	t.Run("except", func(t *testing.T) {
		cases := []struct {
			name   string
			origin clusterNode
			tg     target
			want   []string
		}{
			{"r1 except r2", A, target{To: []string{"r1"}, Except: []string{"r2"}}, []string{"a1", "c1"}},
			{"all except a1's id", B, target{Except: []string{c.sidOf("a1")}}, without(c.members(nil, nil), "a1")},
			{"r2 except ids of b1 and a2", C, target{To: []string{"r2"}, Except: []string{c.sidOf("b1"), c.sidOf("a2")}}, []string{"c2"}},
			{"all except r1 and r2", A, target{Except: []string{"r1", "r2"}}, []string{"b2"}},
		}
		for _, tc := range cases {
			tag := c.tag("except")
			if err := tc.origin.Emit(stepCtx(t), emitReq{target: tc.tg, Event: "news", Args: []any{payload(tag)}}); err != nil {
				t.Fatal(err)
			}
			c.expectOnce(t, tc.origin, &tc.tg, "news", tag, tc.want...)
		}
	})

	t.Run("socketBroadcast", func(t *testing.T) {
		cases := []struct {
			sender string
			spec   map[string]any
			want   []string
		}{
			{"b1", map[string]any{}, without(c.members(nil, nil), "b1")},
			{"b1", map[string]any{"to": []string{"r1"}}, []string{"a1", "c1"}},
			{"a2", map[string]any{"to": []string{"r2"}, "except": []string{c.sidOf("c2")}}, []string{"b1"}},
			{"b2", map[string]any{"to": []string{"r1", "r2"}}, []string{"a1", "a2", "b1", "c1", "c2"}},
		}
		for _, tc := range cases {
			tag := c.tag("bc-from-" + tc.sender)
			tc.spec["event"], tc.spec["args"] = "bc", []any{payload(tag)}
			ack, err := c.clients.emitWithAck(stepCtx(t), 10000, tc.sender, "broadcast", tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			origin := c.homeOf(tc.sender)
			if !sameJSON(ack, map[string]string{"node": origin.Name()}) {
				t.Errorf("broadcast ack %s, want {node: %s}", ack, origin.Name())
			}
			c.expectOnce(t, origin, nil, "bc", tag, tc.want...)
		}
	})

	t.Run("fetchSockets", func(t *testing.T) {
		for _, n := range c.nodes {
			for _, tg := range []target{{To: []string{"r1"}}, {}, {Except: []string{"r1"}}, {Local: true}, {To: []string{"r2"}, Local: true}} {
				want := c.members(tg.To, tg.Except)
				if tg.Local {
					want = slices.DeleteFunc(want, func(cl string) bool { return c.homeOf(cl) != n })
				}
				socks, err := n.FetchSockets(stepCtx(t), tg, 0)
				if err != nil {
					t.Errorf("node %s: fetchSockets %+v: %v", n.Name(), tg, err)
					continue
				}
				c.checkSockets(t, n, fmt.Sprintf("node %s fetchSockets %+v", n.Name(), tg), socks, want)
			}
		}
	})

	t.Run("allRooms", func(t *testing.T) {
		for _, n := range c.nodes {
			rooms, err := n.AllRooms(stepCtx(t), "/")
			if spec.adapter != "classic" {
				// The ClusterAdapter (sharded, streams) has no allRooms.
				if err == nil || !strings.Contains(err.Error(), "allRooms is not implemented") {
					t.Errorf("node %s: allRooms = %v, %v; want not implemented", n.Name(), rooms, err)
				}
				continue
			}
			want := []string{"r1", "r2"}
			for _, cl := range c.onlineClients() {
				want = append(want, c.sidOf(cl))
			}
			sort.Strings(want)
			if err != nil || !slices.Equal(rooms, want) {
				t.Errorf("node %s: allRooms %v, %v; want %v", n.Name(), rooms, err, want)
			}
		}
	})

	t.Run("socketsJoinLeave", func(t *testing.T) {
		ctx := stepCtx(t)
		// r3 = r2's members, joined on every node from A.
		if err := A.SocketsJoin(ctx, target{To: []string{"r2"}}, "r3"); err != nil {
			t.Fatal(err)
		}
		r3 := c.members([]string{"r2"}, nil)
		c.waitRoom(t, "join", "r3", r3...)
		tag := c.tag("r3")
		if err := C.Emit(ctx, emitReq{target: target{To: []string{"r3"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
			t.Fatal(err)
		}
		c.expectOnce(t, C, &target{To: []string{"r3"}}, "news", tag, r3...)
		socks, err := B.FetchSockets(ctx, target{To: []string{"r3"}}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ids := socketIDs(socks); !slices.Equal(ids, c.sids(r3...)) {
			t.Errorf("fetchSockets r3: %v, want %v", ids, c.sids(r3...))
		}

		// r4 = everyone but r1's members, joined from B.
		if err := B.SocketsJoin(ctx, target{Except: []string{"r1"}}, "r4"); err != nil {
			t.Fatal(err)
		}
		r4 := c.members(nil, []string{"r1"})
		c.waitRoom(t, "join", "r4", r4...)
		tag = c.tag("r4")
		if err := A.Emit(ctx, emitReq{target: target{To: []string{"r4"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
			t.Fatal(err)
		}
		c.expectOnce(t, A, &target{To: []string{"r4"}}, "news", tag, r4...)

		// Leaving: r3 from C, r4 from A; then nobody gets r3's broadcasts.
		if err := C.SocketsLeave(ctx, target{To: []string{"r3"}}, "r3"); err != nil {
			t.Fatal(err)
		}
		c.waitRoom(t, "leave", "r3", r3...)
		if err := A.SocketsLeave(ctx, target{}, "r4"); err != nil {
			t.Fatal(err)
		}
		c.waitRoom(t, "leave", "r4", r4...)
		tag = c.tag("r3-after-leave")
		if err := A.Emit(ctx, emitReq{target: target{To: []string{"r3"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
			t.Fatal(err)
		}
		c.expectOnce(t, A, nil, "news", tag)

		// A client asks its node to join and leave (socket.join/leave).
		ack, err := c.clients.emitWithAck(ctx, 10000, "b2", "join", []string{"r7"})
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(ack, map[string]any{"node": "B", "rooms": []string{c.sidOf("b2"), "r7"}}) {
			t.Errorf("b2 join r7: ack %s", ack)
		}
		c.waitRoom(t, "join", "r7", "b2")
		tag = c.tag("r7")
		if err := C.Emit(ctx, emitReq{target: target{To: []string{"r7"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
			t.Fatal(err)
		}
		c.expectOnce(t, C, &target{To: []string{"r7"}}, "news", tag, "b2")
		if _, err := c.clients.emitWithAck(ctx, 10000, "b2", "leave", "r7"); err != nil {
			t.Fatal(err)
		}
		c.waitRoom(t, "leave", "r7", "b2")

		// local: only B's sockets join r5, no other node hears of it.
		if err := B.SocketsJoin(ctx, target{Local: true}, "r5"); err != nil {
			t.Fatal(err)
		}
		local := []string{"b1", "b2"}
		c.waitRoom(t, "join", "r5", local...)
		socks, err = C.FetchSockets(ctx, target{To: []string{"r5"}}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ids := socketIDs(socks); !slices.Equal(ids, c.sids(local...)) {
			t.Errorf("fetchSockets r5 after a local socketsJoin on B: %v, want %v", ids, c.sids(local...))
		}
		if err := B.SocketsLeave(ctx, target{Local: true}, "r5"); err != nil {
			t.Fatal(err)
		}
		c.waitRoom(t, "leave", "r5", local...)
		for _, n := range []clusterNode{A, C} {
			if k := n.Events().count(func(e clusterEvent) bool { return e.Room == "r5" }); k != 0 {
				t.Errorf("node %s reported %d joins/leaves of r5, a local operation of B", n.Name(), k)
			}
		}
	})

	t.Run("serverSideEmit", func(t *testing.T) {
		ctx := stepCtx(t)
		tag := c.tag("sse")
		if err := A.ServerSideEmit(ctx, "/", "sse", payload(tag)); err != nil {
			t.Fatal(err)
		}
		sse := func(node, tag string, ack bool) func(clusterEvent) bool {
			return func(e clusterEvent) bool {
				return e.Event == "serverSideEmit" && e.Node == node && e.Name == "sse" && e.tag() == tag && e.Ack == ack
			}
		}
		waitFor(t, B.Events(), "B to get A's serverSideEmit", sse("B", tag, false))
		waitFor(t, C.Events(), "C to get A's serverSideEmit", sse("C", tag, false))

		tag2 := c.tag("sse-ack")
		res, err := B.ServerSideEmitWithAck(ctx, "/", "sse", payload(tag2))
		if err != nil {
			t.Fatal(err)
		}
		if res.Err != "" || len(res.Responses) != 2 {
			t.Errorf("serverSideEmit with ack from B: %+v, want two answers", res)
		}
		var from []string
		for _, r := range res.Responses {
			var a struct {
				Node  string            `json:"node"`
				Event string            `json:"event"`
				Args  []json.RawMessage `json:"args"`
			}
			if err := json.Unmarshal(r, &a); err != nil || a.Event != "sse" || len(a.Args) != 1 || !sameJSON(a.Args[0], payload(tag2)) {
				t.Errorf("answer %s: want {node, event: sse, args: [%v]} (%v)", r, payload(tag2), err)
			}
			from = append(from, a.Node)
		}
		sort.Strings(from)
		if !slices.Equal(from, []string{"A", "C"}) {
			t.Errorf("serverSideEmit with ack from B answered by %v, want [A C]", from)
		}
		waitFor(t, A.Events(), "A to report B's serverSideEmit with ack", sse("A", tag2, true))
		// A sender never gets its own server-side emit.
		for _, ct := range []struct {
			n   clusterNode
			tag string
		}{{A, tag}, {B, tag2}} {
			if k := ct.n.Events().count(func(e clusterEvent) bool { return e.Event == "serverSideEmit" && e.tag() == ct.tag }); k != 0 {
				t.Errorf("node %s got its own serverSideEmit %s %d times", ct.n.Name(), ct.tag, k)
			}
		}

		if spec.adapter != "classic" {
			return // the ClusterAdapter's timeout is a fixed 5 s; not worth the wait here
		}
		// Nobody answers: the timeout (requestsTimeout) ends it with an error
		// that counts the answers.
		tag3 := c.tag("sse-silent")
		res, err = A.ServerSideEmitWithAck(ctx, "/", "sse-silent", payload(tag3))
		if err != nil {
			t.Fatal(err)
		}
		if want := "timeout reached: only 0 responses received out of 2"; res.Err != want || len(res.Responses) != 0 {
			t.Errorf("serverSideEmit sse-silent: %+v, want err %q and no responses", res, want)
		}
	})

	t.Run("emitWithAck", func(t *testing.T) {
		ctx := stepCtx(t)
		for _, tc := range []struct {
			origin clusterNode
			tg     target
			want   []string
		}{
			{B, target{To: []string{"r1"}}, []string{"a1", "b1", "c1"}},
			{C, target{}, c.members(nil, nil)},
			{A, target{To: []string{"r2"}, Except: []string{c.sidOf("b1")}}, []string{"a2", "c2"}},
		} {
			res, err := tc.origin.EmitWithAck(ctx, emitReq{target: tc.tg, Event: "ask", Args: []any{payload(c.tag("ask"))}, Timeout: 10000})
			if err != nil {
				t.Fatal(err)
			}
			if got := ackClients(t, res, "ask"); res.Err != "" || !slices.Equal(got, sortedStrings(tc.want)) {
				t.Errorf("node %s: emitWithAck %+v: err %q, answers from %v; want %v", tc.origin.Name(), tc.tg, res.Err, got, tc.want)
			}
		}
		// c1 never answers "ask-silent": the others' answers come with the
		// timeout error.
		tag := c.tag("ask-silent")
		res, err := A.EmitWithAck(ctx, emitReq{target: target{To: []string{"r1"}}, Event: "ask-silent", Args: []any{payload(tag)}, Timeout: 3000})
		if err != nil {
			t.Fatal(err)
		}
		if got := ackClients(t, res, "ask-silent"); res.Err != "operation has timed out" || !slices.Equal(got, []string{"a1", "b1"}) {
			t.Errorf("emitWithAck ask-silent: err %q, answers from %v; want \"operation has timed out\" and [a1 b1]", res.Err, got)
		}
		e := c.waitClient(t, "c1", "ask-silent", tag)
		if !e.Ack {
			t.Errorf("c1 got %s without an ack callback", e)
		}
	})

	t.Run("binary", func(t *testing.T) {
		ctx := stepCtx(t)
		blob := []byte{0, 1, 2, 0xfe, 0xff}
		args := func(tag string) []any {
			return []any{
				map[string]any{"tag": tag, "blob": bin(blob)},
				bin([]byte{0xde, 0xad, 0xbe, 0xef}),
				map[string]any{"nested": map[string]any{"deep": []any{bin(blob[:2]), "x"}}, "n": 1},
			}
		}
		check := func(client, event, tag string) {
			t.Helper()
			e := c.waitClient(t, client, event, tag)
			want := args(tag)
			if len(e.Args) < len(want) {
				t.Errorf("client %s: %s args %s, want %v", client, event, e.Line, want)
				return
			}
			for i := range want {
				if !sameJSON(e.Args[i], want[i]) {
					t.Errorf("client %s: %s arg %d = %s, want %v", client, event, i, e.Args[i], want[i])
				}
			}
		}
		// From a node to r2 (a2 polls).
		tag := c.tag("bin")
		if err := A.Emit(ctx, emitReq{target: target{To: []string{"r2"}}, Event: "bin", Args: args(tag)}); err != nil {
			t.Fatal(err)
		}
		for _, cl := range c.members([]string{"r2"}, nil) {
			check(cl, "bin", tag)
		}
		// From a client, through its node's socket.broadcast.
		tag = c.tag("bin-bc")
		if _, err := c.clients.emitWithAck(ctx, 10000, "c1", "broadcast", map[string]any{"event": "bin", "args": args(tag)}); err != nil {
			t.Fatal(err)
		}
		for _, cl := range without(c.members(nil, nil), "c1") {
			check(cl, "bin", tag)
		}
		// From a client to its node.
		tag = c.tag("bin-up")
		if _, err := c.clients.emitWithAck(ctx, 10000, "a2", "upload", args(tag)...); err != nil {
			t.Fatal(err)
		}
		e := waitFor(t, A.Events(), "A to get a2's upload", func(e clusterEvent) bool { return e.Event == "message" && e.Name == "upload" && e.tag() == tag })
		for i, w := range args(tag) {
			if i >= len(e.Args) || !sameJSON(e.Args[i], w) {
				t.Errorf("node A got upload %s, want args %v", e.Line, args(tag))
				break
			}
		}
		// A server-side emit with binary: what each adapter makes of it.
		tag = c.tag("bin-sse")
		if err := B.ServerSideEmit(ctx, "/", "sse", map[string]any{"tag": tag, "blob": bin(blob)}); err != nil {
			t.Fatal(err)
		}
		e = waitFor(t, C.Events(), "C to get B's serverSideEmit with binary", func(e clusterEvent) bool {
			return e.Event == "serverSideEmit" && e.tag() == tag
		})
		var p struct {
			Blob json.RawMessage `json:"blob"`
		}
		json.Unmarshal(e.Args[0], &p)
		want := any(bin(blob))
		if spec.adapter == "classic" {
			// Classic requests are JSON: a Buffer arrives as its toJSON().
			want = map[string]any{"type": "Buffer", "data": []int{0, 1, 2, 0xfe, 0xff}}
		}
		if !sameJSON(p.Blob, want) {
			t.Errorf("serverSideEmit blob arrived as %s, want %v", p.Blob, want)
		}
	})

	if spec.emitter {
		t.Run("emitter", func(t *testing.T) {
			ctx := stepCtx(t)
			em := c.emitter
			for _, tg := range []target{{To: []string{"r1"}}, {Except: []string{"r2"}}, {To: []string{"r1", "r2"}}, {}} {
				tag := c.tag("emitter")
				if err := em.Emit(ctx, emitReq{target: tg, Event: "news", Args: []any{payload(tag)}}); err != nil {
					t.Fatal(err)
				}
				c.expectOnce(t, em, &tg, "news", tag, c.members(tg.To, tg.Except)...)
			}
			// Volatile: dropped for a client whose transport is busy (a
			// polling client between two polls), never duplicated.
			tag := c.tag("emitter-volatile")
			if err := em.Emit(ctx, emitReq{Event: "news", Args: []any{payload(tag)}, Volatile: true}); err != nil {
				t.Fatal(err)
			}
			c.expectAtMostOnce(t, em, "news", tag, c.members(nil, nil)...)
			tag = c.tag("emitter-bin")
			if err := em.Emit(ctx, emitReq{target: target{To: []string{"r2"}}, Event: "bin", Args: []any{payload(tag), bin([]byte{9, 8, 7})}}); err != nil {
				t.Fatal(err)
			}
			for _, cl := range c.members([]string{"r2"}, nil) {
				e := c.waitClient(t, cl, "bin", tag)
				if len(e.Args) < 2 || !sameJSON(e.Args[1], bin([]byte{9, 8, 7})) {
					t.Errorf("client %s got the emitter's binary as %s", cl, e.Line)
				}
			}

			if err := em.SocketsJoin(ctx, target{To: []string{"r1"}}, "r6"); err != nil {
				t.Fatal(err)
			}
			r6 := c.members([]string{"r1"}, nil)
			c.waitRoom(t, "join", "r6", r6...)
			tag = c.tag("r6")
			if err := em.Emit(ctx, emitReq{target: target{To: []string{"r6"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
				t.Fatal(err)
			}
			c.expectOnce(t, em, &target{To: []string{"r6"}}, "news", tag, r6...)
			if err := em.SocketsLeave(ctx, target{}, "r6"); err != nil {
				t.Fatal(err)
			}
			c.waitRoom(t, "leave", "r6", r6...)

			tag = c.tag("emitter-sse")
			if err := em.ServerSideEmit(ctx, "/", "sse", payload(tag)); err != nil {
				t.Fatal(err)
			}
			for _, n := range c.nodes {
				waitFor(t, n.Events(), "node "+n.Name()+" to get the emitter's serverSideEmit", func(e clusterEvent) bool {
					return e.Event == "serverSideEmit" && e.tag() == tag && !e.Ack
				})
			}
		})
	}

	t.Run("namespaces", func(t *testing.T) {
		ctx := stepCtx(t)
		// /admin has its own r1, with one client on A and one on C.
		admins := []clusterClient{
			{name: "x1", node: 0, nsp: "/admin", rooms: []string{"r1"}, transports: []string{"websocket"}},
			{name: "x2", node: 2, nsp: "/admin", rooms: []string{"r1"}, transports: []string{"polling"}},
		}
		for _, cl := range admins {
			if _, err := c.connect(cl, c.nodes[cl.node].URL()); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range c.nodes {
			if k, err := n.ServerCount(ctx, "/admin"); err != nil || k != 3 {
				t.Errorf("node %s: serverCount /admin %d, %v; want 3", n.Name(), k, err)
			}
		}
		adminTag, rootTag := c.tag("admin"), c.tag("root")
		if err := B.Emit(ctx, emitReq{target: target{Nsp: "/admin", To: []string{"r1"}}, Event: "news", Args: []any{payload(adminTag)}}); err != nil {
			t.Fatal(err)
		}
		if err := B.Emit(ctx, emitReq{target: target{To: []string{"r1"}}, Event: "news", Args: []any{payload(rootTag)}}); err != nil {
			t.Fatal(err)
		}
		var emitterTag string
		if c.emitter != nil {
			emitterTag = c.tag("admin-emitter")
			if err := c.emitter.Emit(ctx, emitReq{target: target{Nsp: "/admin", To: []string{"r1"}}, Event: "news", Args: []any{payload(emitterTag)}}); err != nil {
				t.Fatal(err)
			}
		}
		c.expectOnce(t, B, &target{To: []string{"r1"}}, "news", rootTag, c.members([]string{"r1"}, nil)...)
		f := c.tag("fence")
		if err := B.Emit(ctx, emitReq{target: target{Nsp: "/admin"}, Event: "fence", Args: []any{payload(f)}}); err != nil {
			t.Fatal(err)
		}
		for _, x := range []string{"x1", "x2"} {
			c.waitClient(t, x, "fence", f)
			counts := map[string]int{adminTag: 1, rootTag: 0}
			if emitterTag != "" {
				counts[emitterTag] = 1
			}
			for tag, want := range counts {
				if n := c.clients.Events().count(got(x, "news", tag)); n != want {
					t.Errorf("/admin client %s got %s %d times, want %d", x, tag, n, want)
				}
			}
		}
		for _, cl := range c.onlineClients() {
			if n := c.clients.Events().count(got(cl, "news", adminTag)); n != 0 {
				t.Errorf("client %s of / got /admin's broadcast", cl)
			}
		}
		socks, err := A.FetchSockets(ctx, target{Nsp: "/admin"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ids := socketIDs(socks); !slices.Equal(ids, c.sids("x1", "x2")) {
			t.Errorf("fetchSockets /admin: %v, want %v", ids, c.sids("x1", "x2"))
		}
		res, err := C.ServerSideEmitWithAck(ctx, "/admin", "sse", payload(c.tag("admin-sse")))
		if err != nil || res.Err != "" || len(res.Responses) != 2 {
			t.Errorf("serverSideEmit with ack in /admin: %+v, %v; want two answers", res, err)
		}
		for _, n := range []clusterNode{A, B} {
			waitFor(t, n.Events(), "node "+n.Name()+" to get /admin's serverSideEmit", func(e clusterEvent) bool {
				return e.Event == "serverSideEmit" && e.Nsp == "/admin" && e.Ack
			})
		}
		for _, x := range []string{"x1", "x2"} {
			if err := c.clients.disconnect(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		c.waitDisconnect(t, []string{"x1", "x2"}, "io client disconnect", "client namespace disconnect")
	})

	t.Run("disconnectSockets", func(t *testing.T) {
		ctx := stepCtx(t)
		gone := c.members([]string{"r2"}, nil)
		if err := A.DisconnectSockets(ctx, target{To: []string{"r2"}}, false); err != nil {
			t.Fatal(err)
		}
		c.waitDisconnect(t, gone, "io server disconnect", "server namespace disconnect")
		c.setOffline(gone...)
		rest := c.members(nil, nil)
		socks, err := C.FetchSockets(ctx, target{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ids := socketIDs(socks); !slices.Equal(ids, c.sids(rest...)) {
			t.Errorf("fetchSockets after disconnecting r2: %v, want %v", ids, c.sids(rest...))
		}
		// close: the whole connection of each remaining socket.
		if err := B.DisconnectSockets(ctx, target{}, true); err != nil {
			t.Fatal(err)
		}
		c.waitDisconnect(t, rest, "io server disconnect", "server namespace disconnect")
		c.setOffline(rest...)
		for _, n := range c.nodes {
			socks, err := n.FetchSockets(ctx, target{}, 0)
			if err != nil || len(socks) != 0 {
				t.Errorf("node %s: fetchSockets after disconnecting all: %v, %v", n.Name(), socketIDs(socks), err)
			}
		}
	})
	return c
}

// waitDisconnect waits until each client saw its disconnect with
// clientReason and its node reported serverReason.
func (c *nodeCluster) waitDisconnect(t *testing.T, clients []string, clientReason, serverReason string) {
	t.Helper()
	for _, cl := range clients {
		e := waitFor(t, c.clients.Events(), "client "+cl+" to disconnect", func(e clusterEvent) bool {
			return e.Event == "disconnect" && e.Client == cl
		})
		if e.Reason != clientReason {
			t.Errorf("client %s: disconnect reason %q, want %q", cl, e.Reason, clientReason)
		}
		sid, n := c.sidOf(cl), c.homeOf(cl)
		e = waitFor(t, n.Events(), "node "+n.Name()+" to report "+cl+"'s disconnect", func(e clusterEvent) bool {
			return e.Event == "disconnect" && e.Sid == sid
		})
		if e.Reason != serverReason {
			t.Errorf("node %s: %s disconnect reason %q, want %q", n.Name(), cl, e.Reason, serverReason)
		}
	}
}

// sids maps client names to their socket ids, sorted.
func (c *nodeCluster) sids(clients ...string) []string {
	out := []string{}
	for _, cl := range clients {
		out = append(out, c.sidOf(cl))
	}
	sort.Strings(out)
	return out
}

func socketIDs(socks []remoteSocket) []string {
	out := []string{}
	for _, s := range socks {
		out = append(out, s.ID)
	}
	sort.Strings(out)
	return out
}

// checkSockets compares a fetchSockets answer of node n with the fixture
// clients want: ids, rooms, data, the handshake, and which are local.
func (c *nodeCluster) checkSockets(t *testing.T, n clusterNode, what string, socks []remoteSocket, want []string) {
	t.Helper()
	if ids := socketIDs(socks); !slices.Equal(ids, c.sids(want...)) {
		t.Errorf("%s: ids %v, want %v (%v)", what, ids, c.sids(want...), want)
		return
	}
	byID := map[string]clusterClient{}
	for _, cl := range clusterClients {
		byID[c.sidOf(cl.name)] = cl
	}
	for _, s := range socks {
		cl := byID[s.ID]
		rooms := append([]string{s.ID}, cl.rooms...)
		sort.Strings(rooms)
		got := slices.Clone(s.Rooms)
		sort.Strings(got)
		if !slices.Equal(got, rooms) {
			t.Errorf("%s: %s rooms %v, want %v", what, cl.name, s.Rooms, rooms)
		}
		if !sameJSON(s.Data, map[string]string{"user": cl.name}) {
			t.Errorf("%s: %s data %s", what, cl.name, s.Data)
		}
		home := c.homeOf(cl.name)
		if s.Local != (home == n) {
			t.Errorf("%s: %s local=%v, its node is %s", what, cl.name, s.Local, home.Name())
		}
		h := s.Handshake
		u, _ := url.Parse(home.URL())
		if !sameJSON(h.Auth, map[string]any{"rooms": nonNilStrings(cl.rooms), "data": map[string]string{"user": cl.name}}) {
			t.Errorf("%s: %s handshake.auth %s", what, cl.name, h.Auth)
		}
		if h.Address != "127.0.0.1" || h.Headers["host"] != u.Host || h.Query["EIO"] != "4" ||
			h.Query["transport"] != cl.transports[0] || !strings.HasPrefix(h.URL, "/socket.io/?EIO=4&transport="+cl.transports[0]) ||
			h.Issued <= 0 || !regexp.MustCompile(`^\w{3} \w{3} \d\d \d{4} \d\d:\d\d:\d\d GMT`).MatchString(h.Time) || h.Secure || h.Xdomain {
			t.Errorf("%s: %s handshake %+v", what, cl.name, h)
		}
	}
}

func singleRedis(t *testing.T) []redisSpec {
	r := redistest.Start(t)
	s := redisSpec{URL: r.URL()}
	return []redisSpec{s, s, s}
}

// TestNodeClusterClassic: the classic adapter (Redis pub/sub), B answering
// on the requester's own response channel, and the emitter.
func TestNodeClusterClassic(t *testing.T) {
	t.Parallel()
	requireClusterNode(t)
	opts := map[string]any{"requestsTimeout": 3000}
	runClusterBaseline(t, clusterSpec{
		adapter: "classic",
		redis:   singleRedis(t),
		options: []map[string]any{opts, {"requestsTimeout": 3000, "publishOnSpecificResponseChannel": true}, opts},
		emitter: true,
	})
}

// TestNodeClusterSharded: the sharded adapter (SPUBLISH, dynamic room
// channels) on one Redis server.
func TestNodeClusterSharded(t *testing.T) {
	t.Parallel()
	requireClusterNode(t)
	runClusterBaseline(t, clusterSpec{
		adapter: "sharded",
		redis:   singleRedis(t),
		options: []map[string]any{nil, nil, nil},
	})
}

// TestNodeClusterShardedRedisCluster: the sharded adapter on a three-master
// Redis Cluster, each node starting from another root node.
func TestNodeClusterShardedRedisCluster(t *testing.T) {
	t.Parallel()
	requireClusterNode(t)
	rc := redistest.StartCluster(t)
	var redis []redisSpec
	addrs := rc.Addrs()
	for i := range addrs {
		redis = append(redis, redisSpec{Cluster: []string{addrs[i]}})
	}
	runClusterBaseline(t, clusterSpec{
		adapter: "sharded",
		redis:   redis,
		options: []map[string]any{nil, nil, nil},
	})
}

// TestNodeClusterStreams: the Redis Streams adapter with connection state
// recovery, then a client that loses its connection to A, misses events
// and recovers on B.
func TestNodeClusterStreams(t *testing.T) {
	t.Parallel()
	requireClusterNode(t)
	c := runClusterBaseline(t, clusterSpec{
		adapter: "streams",
		redis:   singleRedis(t),
		options: []map[string]any{nil, nil, nil},
	})
	t.Run("recoveryOnAnotherNode", func(t *testing.T) { testStreamsRecovery(t, c) })
}

var offsetRE = regexp.MustCompile(`^"\d+-\d+"$`)

func testStreamsRecovery(t *testing.T, c *nodeCluster) {
	ctx := stepCtx(t)
	A, B, C := c.nodes[0], c.nodes[1], c.nodes[2]
	rec := clusterClient{name: "rec", node: 0, rooms: []string{"rr"}, transports: []string{"websocket"}}
	first, err := c.connect(rec, A.URL())
	if err != nil {
		t.Fatal(err)
	}
	// An event with an offset first: recovery needs one (S#26).
	tag := c.tag("before")
	if err := A.Emit(ctx, emitReq{target: target{To: []string{"rr"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
		t.Fatal(err)
	}
	e := c.waitClient(t, "rec", "news", tag)
	if len(e.Args) != 2 || !offsetRE.Match(e.Args[1]) {
		t.Fatalf("rec got %s, want the payload and a stream offset", e.Line)
	}

	reason, err := c.clients.drop(ctx, "rec")
	if err != nil {
		t.Fatal(err)
	}
	if reason != "transport close" {
		t.Errorf("rec: disconnect reason %q after the drop, want \"transport close\"", reason)
	}
	// A reports the disconnect once the session is stored in Redis.
	d := waitFor(t, A.Events(), "A to report rec's disconnect", func(e clusterEvent) bool {
		return e.Event == "disconnect" && e.Sid == first.Sid
	})
	if d.Reason != "transport close" {
		t.Errorf("A: rec's disconnect reason %q, want \"transport close\"", d.Reason)
	}

	// Missed while away: to its room from B and C, to everybody from A, a
	// volatile one; and one to another room, which it must not get.
	missed := []struct {
		origin   clusterNode
		tg       target
		volatile bool
		replay   bool
	}{
		{B, target{To: []string{"rr"}}, false, true},
		{C, target{To: []string{"rr"}}, false, true},
		{A, target{}, false, true},
		{B, target{To: []string{"rr"}}, true, true}, // volatile packets are replayed too (restoreSession, redis-streams-adapter lib/adapter.ts)
		{C, target{To: []string{"r1"}}, false, false},
		{A, target{Except: []string{"rr"}}, false, false},
	}
	tags := make([]string, len(missed))
	for i, m := range missed {
		tags[i] = c.tag("missed")
		if err := m.origin.Emit(ctx, emitReq{target: m.tg, Event: "news", Args: []any{payload(tags[i])}, Volatile: m.volatile}); err != nil {
			t.Fatal(err)
		}
	}

	res, err := c.clients.reconnect(ctx, "rec", B.URL())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Recovered || res.Sid != first.Sid {
		t.Fatalf("rec reconnected to B as %+v, want recovered with sid %s", res, first.Sid)
	}
	c.mu.Lock()
	c.home["rec"], c.online["rec"] = 1, true
	c.mu.Unlock()
	conn := waitFor(t, B.Events(), "B to report rec's connection", func(e clusterEvent) bool {
		return e.Event == "connection" && e.Sid == first.Sid
	})
	if !conn.Recovered || !sameJSON(conn.Data, map[string]string{"user": "rec"}) {
		t.Errorf("B: rec's connection %s, want recovered with its data", conn.Line)
	}
	rooms := slices.Clone(conn.Rooms)
	sort.Strings(rooms)
	if want := []string{first.Sid, "rr"}; !slices.Equal(rooms, sortedStrings(want)) {
		t.Errorf("B: rec's rooms %v, want %v", conn.Rooms, want)
	}
	var want []string
	for i, m := range missed {
		if m.replay {
			want = append(want, tags[i])
			e := c.waitClient(t, "rec", "news", tags[i])
			if len(e.Args) != 2 || !offsetRE.Match(e.Args[1]) {
				t.Errorf("rec: missed event %s without its offset", e.Line)
			}
		}
	}
	// Now on B: a fence from B comes after anything else that was due.
	f := c.tag("fence")
	if err := B.Emit(ctx, emitReq{target: target{To: []string{"rr"}}, Event: "fence", Args: []any{payload(f)}}); err != nil {
		t.Fatal(err)
	}
	c.waitClient(t, "rec", "fence", f)
	for i, tg := range tags {
		wantN := 0
		if missed[i].replay {
			wantN = 1
		}
		if n := c.clients.Events().count(got("rec", "news", tg)); n != wantN {
			t.Errorf("rec got missed event %d (%s) %d times, want %d", i, tg, n, wantN)
		}
	}

	// The other nodes see it on B, in its room, with its data.
	socks, err := C.FetchSockets(ctx, target{To: []string{"rr"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(socks) != 1 || socks[0].ID != first.Sid || socks[0].Local || !sameJSON(socks[0].Data, map[string]string{"user": "rec"}) {
		t.Errorf("C: fetchSockets rr = %+v, want rec's socket on another node", socks)
	}
	tag = c.tag("after")
	if err := C.Emit(ctx, emitReq{target: target{To: []string{"rr"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
		t.Fatal(err)
	}
	c.expectOnce(t, C, &target{To: []string{"rr"}}, "news", tag, "rec")
}

func sortedStrings(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}
