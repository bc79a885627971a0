package interop_test

// Mixed clusters on the Redis Streams adapter: sioloop nodes on
// adapter/redisstreams next to real Node socket.io nodes on
// @socket.io/redis-streams-adapter 0.3.1, driven by the cluster harness.
// streamsGoNode is a clusterNode that does what js/cluster-node.mjs does
// (the same handlers, reports and commands) through sio's public API.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/adapter/redisstreams"
	"github.com/sioloop/sioloop/sio"
)

// streamsGoNode is a clusterNode on sio.Server and adapter/redisstreams,
// with connection state recovery on (cluster-node.mjs's default for the
// streams adapter).
type streamsGoNode struct {
	name string
	url  string
	srv  *sio.Server
	ra   *redisstreams.Adapter
	log  *eventLog

	closeOnce sync.Once
}

var _ clusterNode = (*streamsGoNode)(nil)

// startStreamsGoNode is a clusterSpec.replace function.
func startStreamsGoNode(t *testing.T, cfg nodeConfig) clusterNode {
	t.Helper()
	if cfg.Adapter != "streams" {
		t.Fatalf("streamsGoNode %s: adapter %q", cfg.Name, cfg.Adapter)
	}
	addr := strings.TrimPrefix(cfg.Redis.URL, "redis://")
	rc := redisstreams.Config{Addr: addr, Logger: slog.New(slog.NewTextHandler(&tLogWriter{t: t, prefix: "go node " + cfg.Name}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if v, ok := cfg.Options["streamName"].(string); ok {
		rc.StreamName = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	ra, err := redisstreams.New(ctx, rc)
	if err != nil {
		t.Fatalf("streamsGoNode %s: %v", cfg.Name, err)
	}
	n := &streamsGoNode{name: cfg.Name, ra: ra, log: newEventLog()}
	n.srv = sio.NewServer(sio.Config{Adapter: ra.ForNamespace, Loops: 1,
		ConnectionStateRecovery: &sio.RecoveryConfig{SkipMiddlewares: true}})
	nsps := cfg.Nsps
	if len(nsps) == 0 {
		nsps = []string{"/"}
	}
	sse := cfg.SSEEvents
	if len(sse) == 0 {
		sse = []string{"sse", "sse-silent"}
	}
	for _, nsp := range nsps {
		n.setup(n.srv.Of(nsp), sse)
	}
	hostport := freeAddr(t)
	errc := make(chan error, 1)
	go func() { errc <- n.srv.ListenAndServe(hostport, nil) }()
	select {
	case <-n.srv.Ready():
	case err := <-errc:
		ra.Close()
		t.Fatalf("streamsGoNode %s: %v", cfg.Name, err)
	case <-time.After(stepTimeout):
		t.Fatalf("streamsGoNode %s: not listening", cfg.Name)
	}
	n.url = "http://" + hostport
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Close(ctx)
		if t.Failed() {
			t.Logf("go node %s: %+v\nlast reports:\n%s", n.name, ra.Stats(), n.log.dump(40))
		}
	})
	return n
}

type tLogWriter struct {
	t      *testing.T
	prefix string
}

func (w *tLogWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s: %s", w.prefix, strings.TrimSpace(string(b)))
	return len(b), nil
}

func (n *streamsGoNode) Name() string      { return n.name }
func (n *streamsGoNode) URL() string       { return n.url }
func (n *streamsGoNode) Events() *eventLog { return n.log }

func (n *streamsGoNode) report(e clusterEvent) {
	e.Node = n.name
	b, _ := json.Marshal(e)
	e.Line = string(b)
	n.log.add(e)
}

// setup installs cluster-node.mjs's handlers on ns.
func (n *streamsGoNode) setup(ns *sio.Namespace, sseEvents []string) {
	nsp := ns.Name()
	ns.OnJoinRoom(func(room, id string) { n.report(clusterEvent{Event: "join", Nsp: nsp, Room: room, Sid: id}) })
	ns.OnLeaveRoom(func(room, id string) { n.report(clusterEvent{Event: "leave", Nsp: nsp, Room: room, Sid: id}) })
	for _, ev := range sseEvents {
		ns.OnServerSideEmit(ev, func(e *sio.ServerSideEvent) {
			args := streamsWireArgs(e.Message)
			n.report(clusterEvent{Event: "serverSideEmit", Nsp: nsp, Name: ev, Args: args, Ack: e.HasAck()})
			if e.HasAck() && !strings.HasSuffix(ev, "-silent") {
				e.Ack(map[string]any{"node": n.name, "event": ev, "args": rawArgs(args)})
			}
		})
	}
	ns.OnConnection(func(s *sio.Socket) {
		if !s.Recovered() {
			var auth struct {
				Rooms json.RawMessage `json:"rooms"`
				Data  json.RawMessage `json:"data"`
			}
			json.Unmarshal(s.Auth(), &auth)
			if len(auth.Data) > 0 {
				var d any
				json.Unmarshal(auth.Data, &d)
				s.SetData(streamsFromWire(d))
			}
			s.Join(streamsRooms(auth.Rooms)...)
		}
		s.OnAny(func(ev *sio.Event) { n.onEvent(s, ev) })
		s.OnDisconnect(func(reason string) {
			n.report(clusterEvent{Event: "disconnect", Nsp: nsp, Sid: s.ID(), Reason: reason})
		})
		data, _ := json.Marshal(s.Data())
		n.report(clusterEvent{Event: "connection", Nsp: nsp, Sid: s.ID(), Rooms: s.Rooms(), Data: data, Recovered: s.Recovered()})
	})
}

func streamsRooms(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	json.Unmarshal(raw, &many)
	return many
}

// onEvent is cluster-node.mjs's onAny and its join, leave and broadcast
// handlers.
func (n *streamsGoNode) onEvent(s *sio.Socket, ev *sio.Event) {
	args := streamsWireArgs(ev.Message)
	n.report(clusterEvent{Event: "message", Nsp: s.Namespace().Name(), Sid: s.ID(), Name: ev.Name, Args: args})
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	switch ev.Name {
	case "join", "leave":
		var rooms []string
		if len(args) > 0 {
			rooms = streamsRooms(args[0])
		}
		for _, r := range rooms {
			if ev.Name == "join" {
				s.Join(r)
			} else {
				s.Leave(r)
			}
		}
		ev.Ack(map[string]any{"node": n.name, "rooms": s.Rooms()})
	case "broadcast":
		var spec struct {
			To       json.RawMessage `json:"to"`
			Except   json.RawMessage `json:"except"`
			Volatile bool            `json:"volatile"`
			Event    string          `json:"event"`
			Args     []any           `json:"args"`
		}
		if len(args) > 0 {
			json.Unmarshal(args[0], &spec)
		}
		op := s.Broadcast()
		if len(spec.To) > 0 {
			op = s.To(streamsRooms(spec.To)...)
		}
		if len(spec.Except) > 0 {
			op = op.Except(streamsRooms(spec.Except)...)
		}
		if spec.Volatile {
			op = op.Volatile()
		}
		op.Emit(spec.Event, streamsFromWireArgs(spec.Args)...)
		n.ra.Flush(ctx)
		ev.Ack(map[string]any{"node": n.name})
	default:
		if ev.HasAck() {
			ev.Ack(map[string]any{"node": n.name, "event": ev.Name})
		}
	}
}

func (n *streamsGoNode) operator(tg target, volatile bool, timeoutMs int) sio.BroadcastOperator {
	nsp := tg.Nsp
	if nsp == "" {
		nsp = "/"
	}
	op := n.srv.Of(nsp).To(tg.To...)
	if len(tg.Except) > 0 {
		op = op.Except(tg.Except...)
	}
	if volatile {
		op = op.Volatile()
	}
	if tg.Local {
		op = op.Local()
	}
	if timeoutMs > 0 {
		op = op.Timeout(time.Duration(timeoutMs) * time.Millisecond)
	}
	return op
}

func (n *streamsGoNode) Emit(ctx context.Context, r emitReq) error {
	if err := n.operator(r.target, r.Volatile, 0).Emit(r.Event, streamsFromWireArgs(r.Args)...); err != nil {
		return err
	}
	return n.ra.Flush(ctx) // "answer once Redis has processed the publish"
}

func (n *streamsGoNode) EmitWithAck(ctx context.Context, r emitReq) (ackResult, error) {
	ms, err := n.operator(r.target, r.Volatile, r.Timeout).EmitWithAck(ctx, r.Event, streamsFromWireArgs(r.Args)...)
	return streamsAckResult(ms, err), nil
}

func streamsAckResult(ms []sio.Message, err error) ackResult {
	res := ackResult{Responses: []json.RawMessage{}}
	for _, m := range ms {
		if args := streamsWireArgs(m); len(args) > 0 {
			res.Responses = append(res.Responses, args[0])
		} else {
			res.Responses = append(res.Responses, json.RawMessage("null"))
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, sio.ErrAckTimeout) && strings.Contains(err.Error(), "timeout reached"):
		res.Err = err.Error()[strings.Index(err.Error(), "timeout reached"):]
		if i := strings.Index(res.Err, ": context"); i > 0 {
			res.Err = res.Err[:i]
		}
	case errors.Is(err, sio.ErrAckTimeout):
		res.Err = "operation has timed out"
	default:
		res.Err = err.Error()
	}
	return res
}

func (n *streamsGoNode) FetchSockets(ctx context.Context, tg target, timeoutMs int) ([]remoteSocket, error) {
	socks, err := n.operator(tg, false, timeoutMs).FetchSockets(ctx)
	if err != nil {
		return nil, err
	}
	out := []remoteSocket{}
	for _, s := range socks {
		var r remoteSocket
		r.ID, r.Rooms, r.Local = s.ID, s.Rooms, s.Local() != nil
		r.Data, _ = s.DataJSON()
		hs, _ := json.Marshal(s.Handshake)
		json.Unmarshal(hs, &r.Handshake)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (n *streamsGoNode) SocketsJoin(ctx context.Context, tg target, rooms ...string) error {
	return n.operator(tg, false, 0).SocketsJoin(ctx, rooms...)
}

func (n *streamsGoNode) SocketsLeave(ctx context.Context, tg target, rooms ...string) error {
	return n.operator(tg, false, 0).SocketsLeave(ctx, rooms...)
}

func (n *streamsGoNode) DisconnectSockets(ctx context.Context, tg target, close bool) error {
	return n.operator(tg, false, 0).DisconnectSockets(ctx, close)
}

func (n *streamsGoNode) ns(nsp string) *sio.Namespace {
	if nsp == "" {
		nsp = "/"
	}
	return n.srv.Of(nsp)
}

func (n *streamsGoNode) ServerSideEmit(ctx context.Context, nsp, event string, args ...any) error {
	return n.ns(nsp).ServerSideEmit(ctx, event, streamsFromWireArgs(args)...)
}

func (n *streamsGoNode) ServerSideEmitWithAck(ctx context.Context, nsp, event string, args ...any) (ackResult, error) {
	ms, err := n.ns(nsp).ServerSideEmitWithAck(ctx, event, streamsFromWireArgs(args)...)
	return streamsAckResult(ms, err), nil
}

// AllRooms answers as cluster-node.mjs does for the streams adapter,
// which has no allRooms (the Go adapter lists this node's rooms only).
func (n *streamsGoNode) AllRooms(ctx context.Context, nsp string) ([]string, error) {
	return nil, errors.New("allRooms is not implemented by the streams adapter")
}

func (n *streamsGoNode) ServerCount(ctx context.Context, nsp string) (int, error) {
	return n.ns(nsp).ServerCount(ctx)
}

func (n *streamsGoNode) Close(ctx context.Context) error {
	n.closeOnce.Do(func() {
		n.srv.Shutdown(ctx)
		n.ra.Close()
	})
	return nil
}

// streamsWireArgs is a message's arguments in the harness's form: binary
// attachments as {"$bin": base64}.
func streamsWireArgs(m sio.Message) []json.RawMessage {
	out := make([]json.RawMessage, 0, m.Len())
	atts := m.Attachments()
	for i := 0; i < m.Len(); i++ {
		dec := json.NewDecoder(strings.NewReader(string(m.Arg(i))))
		dec.UseNumber()
		var v any
		dec.Decode(&v)
		b, _ := json.Marshal(streamsToWire(v, atts))
		out = append(out, b)
	}
	return out
}

func streamsToWire(v any, atts [][]byte) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = streamsToWire(x[i], atts)
		}
	case map[string]any:
		if ph, _ := x["_placeholder"].(bool); ph && len(atts) > 0 {
			if num, ok := x["num"].(json.Number); ok {
				if k, err := num.Int64(); err == nil && k >= 0 && int(k) < len(atts) {
					return map[string]string{"$bin": base64.StdEncoding.EncodeToString(atts[k])}
				}
			}
		}
		for k := range x {
			x[k] = streamsToWire(x[k], atts)
		}
	}
	return v
}

// streamsFromWire turns {"$bin": base64} back into []byte.
func streamsFromWire(v any) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = streamsFromWire(x[i])
		}
	case map[string]any:
		if s, ok := x["$bin"].(string); ok && len(x) == 1 {
			b, _ := base64.StdEncoding.DecodeString(s)
			return b
		}
		for k := range x {
			x[k] = streamsFromWire(x[k])
		}
	}
	return v
}

func streamsFromWireArgs(args []any) []any {
	// The harness's values came through JSON (map[string]any...); turn
	// them into JSON and back so that nested $bin are found.
	b, _ := json.Marshal(args)
	var out []any
	json.Unmarshal(b, &out)
	for i := range out {
		out[i] = streamsFromWire(out[i])
	}
	return out
}

func rawArgs(args []json.RawMessage) []any {
	out := make([]any, len(args))
	for i, a := range args {
		json.Unmarshal(a, &out[i])
		out[i] = streamsFromWire(out[i])
	}
	return out
}

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
				replace[i] = startStreamsGoNode
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
