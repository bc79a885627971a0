package interop_test

// The Go emitter (package emitter) in a mixed cluster: Node socket.io
// nodes A and B on @socket.io/redis-adapter and a sioloop node C on
// adapter/redis, six real socket.io-clients spread over them (the fixture
// of cluster_test.go). Every check that the baseline makes of Node's
// @socket.io/redis-emitter is made of the Go one, and more: socket ids as
// rooms, except, compress, binary at any depth, namespaces given without
// their slash, socketsJoin/Leave with except, server-side emits with
// binary, disconnectSockets with and without close.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sioloop/sioloop/adapter/redis"
	"github.com/sioloop/sioloop/emitter"
	"github.com/sioloop/sioloop/sio"
)

// goEmitter is the Go emitter as the fixture's broadcaster.
type goEmitter struct{ em *emitter.Emitter }

func newGoEmitter(t *testing.T, spec redisSpec) *goEmitter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	em, err := emitter.New(ctx, emitter.Config{Addr: redisAddr(t, spec)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	return &goEmitter{em: em}
}

func redisAddr(t *testing.T, spec redisSpec) string {
	t.Helper()
	u, err := url.Parse(spec.URL)
	if err != nil || u.Host == "" {
		t.Fatalf("redis spec %+v: want a redis:// URL (%v)", spec, err)
	}
	return u.Host
}

// op is io.of(Nsp).to(To).except(Except) of the emitter; the namespace is
// passed as given (Of adds a missing slash).
func (g *goEmitter) op(tg target) (*emitter.Emitter, emitter.BroadcastOperator) {
	e := g.em
	if tg.Nsp != "" {
		e = e.Of(tg.Nsp)
	}
	return e, e.To(tg.To...).Except(tg.Except...)
}

// Emit publishes and, as the harness's broadcasters do, returns once Redis
// took the message.
func (g *goEmitter) Emit(ctx context.Context, r emitReq) error {
	_, op := g.op(r.target)
	if r.Volatile {
		op = op.Volatile()
	}
	if r.Compress != nil {
		op = op.Compress(*r.Compress)
	}
	if err := op.Emit(r.Event, goArgs(r.Args)...); err != nil {
		return err
	}
	return g.em.Flush(ctx)
}

// goArgs turns the protocol's bin(...) values into []byte.
func goArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = goArg(a)
	}
	return out
}

func goArg(v any) any {
	switch x := v.(type) {
	case map[string]string:
		if b, ok := x["$bin"]; ok && len(x) == 1 {
			data, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				panic(err)
			}
			return data
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = goArg(e)
		}
		return out
	case []any:
		return goArgs(x)
	}
	return v
}

// emitterGoNode is a sioloop node (sio.Server on adapter/redis, in this
// process) that behaves as cluster-node.mjs as far as the emitter's tests
// need: CONNECT auth rooms and data, reports of connection, disconnect,
// join, leave and server-side emits. The requests it would send itself are
// not needed here and fail.
type emitterGoNode struct {
	name string
	url  string
	log  *eventLog
	srv  *sio.Server
}

var errGoNodeCommand = errors.New("not implemented by the emitter tests' Go node")

func startEmitterGoNode(t *testing.T, cfg nodeConfig) clusterNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	ra, err := redis.New(ctx, redis.Config{Addr: redisAddr(t, cfg.Redis), RequestsTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	n := &emitterGoNode{name: cfg.Name, log: newEventLog()}
	n.srv = sio.NewServer(sio.Config{Adapter: ra.ForNamespace, Loops: 1})
	nsps := cfg.Nsps
	if len(nsps) == 0 {
		nsps = []string{"/"}
	}
	for _, name := range nsps {
		n.serve(n.srv.Of(name))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostport := l.Addr().String()
	l.Close()
	go n.srv.ListenAndServe(hostport, nil)
	<-n.srv.Ready()
	n.url = "http://" + hostport
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.srv.Shutdown(ctx)
		ra.Close()
		n.log.end(errors.New("node closed"))
		if t.Failed() {
			t.Logf("Go node %s: last reports:\n%s", n.name, n.log.dump(60))
		}
	})
	return n
}

func (n *emitterGoNode) report(e clusterEvent) {
	e.Node = n.name
	b, _ := json.Marshal(e)
	e.Line = string(b)
	n.log.add(e)
}

func (n *emitterGoNode) serve(ns *sio.Namespace) {
	nsp := ns.Name()
	ns.OnConnection(func(s *sio.Socket) {
		var auth struct {
			Rooms []string        `json:"rooms"`
			Data  json.RawMessage `json:"data"`
		}
		json.Unmarshal(s.Handshake().Auth, &auth)
		s.Join(auth.Rooms...)
		if auth.Data != nil {
			s.SetData(auth.Data)
		}
		s.OnDisconnect(func(reason string) {
			n.report(clusterEvent{Event: "disconnect", Nsp: nsp, Sid: s.ID(), Reason: reason})
		})
		n.report(clusterEvent{Event: "connection", Nsp: nsp, Sid: s.ID(), Rooms: s.Rooms(), Data: auth.Data})
	})
	ns.OnJoinRoom(func(room, id string) { n.report(clusterEvent{Event: "join", Nsp: nsp, Room: room, Sid: id}) })
	ns.OnLeaveRoom(func(room, id string) { n.report(clusterEvent{Event: "leave", Nsp: nsp, Room: room, Sid: id}) })
	for _, ev := range []string{"sse", "sse-silent"} {
		ns.OnServerSideEmit(ev, func(e *sio.ServerSideEvent) {
			n.report(clusterEvent{Event: "serverSideEmit", Nsp: nsp, Name: e.Name, Args: e.Args(), Ack: e.HasAck()})
		})
	}
}

func (n *emitterGoNode) Name() string      { return n.name }
func (n *emitterGoNode) URL() string       { return n.url }
func (n *emitterGoNode) Events() *eventLog { return n.log }

func (n *emitterGoNode) Emit(ctx context.Context, r emitReq) error {
	op := n.srv.Of(nspOr(r.Nsp)).To(r.To...).Except(r.Except...)
	return op.Emit(r.Event, goArgs(r.Args)...)
}

func nspOr(nsp string) string {
	if nsp == "" {
		return "/"
	}
	return nsp
}

func (n *emitterGoNode) EmitWithAck(context.Context, emitReq) (ackResult, error) {
	return ackResult{}, errGoNodeCommand
}
func (n *emitterGoNode) FetchSockets(context.Context, target, int) ([]remoteSocket, error) {
	return nil, errGoNodeCommand
}
func (n *emitterGoNode) SocketsJoin(context.Context, target, ...string) error {
	return errGoNodeCommand
}
func (n *emitterGoNode) SocketsLeave(context.Context, target, ...string) error {
	return errGoNodeCommand
}
func (n *emitterGoNode) DisconnectSockets(context.Context, target, bool) error {
	return errGoNodeCommand
}
func (n *emitterGoNode) ServerSideEmit(context.Context, string, string, ...any) error {
	return errGoNodeCommand
}
func (n *emitterGoNode) ServerSideEmitWithAck(context.Context, string, string, ...any) (ackResult, error) {
	return ackResult{}, errGoNodeCommand
}
func (n *emitterGoNode) AllRooms(context.Context, string) ([]string, error) {
	return nil, errGoNodeCommand
}
func (n *emitterGoNode) ServerCount(context.Context, string) (int, error) { return 0, errGoNodeCommand }
func (n *emitterGoNode) Close(ctx context.Context) error                  { return n.srv.Shutdown(ctx) }

// TestGoEmitterCluster: the Go emitter reaches the clients of Node nodes
// (A, B) and of a sioloop node (C) alike, for broadcasts and requests.
func TestGoEmitterCluster(t *testing.T) {
	t.Parallel()
	requireClusterNode(t)
	rs := singleRedis(t)
	opts := map[string]any{"requestsTimeout": 3000}
	c := startNodeCluster(t, clusterSpec{
		adapter: "classic",
		redis:   rs,
		options: []map[string]any{opts, opts, opts},
		replace: map[int]func(*testing.T, nodeConfig) clusterNode{2: startEmitterGoNode},
	})
	ge := newGoEmitter(t, rs[0])
	em := ge.em

	t.Run("emit", func(t *testing.T) {
		ctx := stepCtx(t)
		for _, tc := range []struct {
			name string
			tg   target
			want []string
		}{
			{"r1", target{To: []string{"r1"}}, c.members([]string{"r1"}, nil)},
			{"except r2", target{Except: []string{"r2"}}, c.members(nil, []string{"r2"})},
			{"r1 and r2", target{To: []string{"r1", "r2"}}, c.members([]string{"r1", "r2"}, nil)},
			{"all", target{}, c.members(nil, nil)},
			{"c1's id (Go node)", target{To: []string{c.sidOf("c1")}}, []string{"c1"}},
			{"a2's id (Node node, polling)", target{To: []string{c.sidOf("a2")}}, []string{"a2"}},
			{"r2 except two ids", target{To: []string{"r2"}, Except: []string{c.sidOf("c2"), c.sidOf("a2")}}, []string{"b1"}},
		} {
			tag := c.tag("go-emitter")
			if err := ge.Emit(ctx, emitReq{target: tc.tg, Event: "news", Args: []any{payload(tag)}}); err != nil {
				t.Fatal(err)
			}
			c.expectOnce(t, ge, &tc.tg, "news", tag, tc.want...)
		}
		// compress(false) is a flag for the receivers' WebSocket frames:
		// the event still arrives.
		tag := c.tag("go-emitter-compress")
		off := false
		if err := ge.Emit(ctx, emitReq{target: target{To: []string{"r1"}}, Event: "news", Args: []any{payload(tag)}, Compress: &off}); err != nil {
			t.Fatal(err)
		}
		c.expectOnce(t, ge, &target{To: []string{"r1"}}, "news", tag, c.members([]string{"r1"}, nil)...)
		// Volatile: may be dropped for a busy polling client, never twice.
		tag = c.tag("go-emitter-volatile")
		if err := ge.Emit(ctx, emitReq{Event: "news", Args: []any{payload(tag)}, Volatile: true}); err != nil {
			t.Fatal(err)
		}
		c.expectAtMostOnce(t, ge, "news", tag, c.members(nil, nil)...)
	})

	t.Run("binary", func(t *testing.T) {
		ctx := stepCtx(t)
		blob := []byte{0, 1, 2, 0xfe, 0xff}
		args := func(tag string) []any {
			return []any{
				map[string]any{"tag": tag, "blob": bin(blob)},
				bin([]byte{0xde, 0xad, 0xbe, 0xef}),
				map[string]any{"nested": map[string]any{"deep": []any{bin(blob[:2]), "x"}}, "n": 1},
				bin(nil),
			}
		}
		tag := c.tag("go-emitter-bin")
		if err := ge.Emit(ctx, emitReq{target: target{To: []string{"r2"}}, Event: "bin", Args: args(tag)}); err != nil {
			t.Fatal(err)
		}
		for _, cl := range c.members([]string{"r2"}, nil) { // a2 (polling, Node), b1 (Node), c2 (Go)
			e := c.waitClient(t, cl, "bin", tag)
			want := args(tag)
			if len(e.Args) != len(want) {
				t.Errorf("client %s: %s", cl, e.Line)
				continue
			}
			for i := range want {
				if !sameJSON(e.Args[i], want[i]) {
					t.Errorf("client %s: argument %d = %s, want %v", cl, i, e.Args[i], want[i])
				}
			}
		}
	})

	t.Run("socketsJoinLeave", func(t *testing.T) {
		ctx := stepCtx(t)
		if err := em.In("r1").SocketsJoin(ctx, "r6"); err != nil {
			t.Fatal(err)
		}
		r6 := c.members([]string{"r1"}, nil) // a1, b1, c1
		c.waitRoom(t, "join", "r6", r6...)
		tag := c.tag("r6")
		if err := ge.Emit(ctx, emitReq{target: target{To: []string{"r6"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
			t.Fatal(err)
		}
		c.expectOnce(t, ge, &target{To: []string{"r6"}}, "news", tag, r6...)

		if err := em.In("r2").Except("r1").SocketsJoin(ctx, "r8", "r9"); err != nil {
			t.Fatal(err)
		}
		r8 := c.members([]string{"r2"}, []string{"r1"}) // a2, c2
		c.waitRoom(t, "join", "r8", r8...)
		c.waitRoom(t, "join", "r9", r8...)

		if err := em.SocketsLeave(ctx, "r6", "r8"); err != nil {
			t.Fatal(err)
		}
		c.waitRoom(t, "leave", "r6", r6...)
		c.waitRoom(t, "leave", "r8", r8...)
		tag = c.tag("r6-r8-after-leave")
		if err := ge.Emit(ctx, emitReq{target: target{To: []string{"r6", "r8"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
			t.Fatal(err)
		}
		c.expectOnce(t, ge, nil, "news", tag)
		tag = c.tag("r9")
		if err := ge.Emit(ctx, emitReq{target: target{To: []string{"r9"}}, Event: "news", Args: []any{payload(tag)}}); err != nil {
			t.Fatal(err)
		}
		c.expectOnce(t, ge, &target{To: []string{"r9"}}, "news", tag, r8...)
		if err := em.In("r9").SocketsLeave(ctx, "r9"); err != nil {
			t.Fatal(err)
		}
		c.waitRoom(t, "leave", "r9", r8...)
	})

	t.Run("serverSideEmit", func(t *testing.T) {
		ctx := stepCtx(t)
		tag := c.tag("go-emitter-sse")
		if err := em.ServerSideEmit(ctx, "sse", payload(tag), []byte{1, 2, 3}, "x"); err != nil {
			t.Fatal(err)
		}
		// Every node runs its handlers, C (Go) as A and B (Node): the
		// message is from none of them. Requests are JSON, so the []byte
		// arrives as a Buffer's toJSON().
		buf := map[string]any{"type": "Buffer", "data": []int{1, 2, 3}}
		for _, n := range c.nodes {
			e := waitFor(t, n.Events(), "node "+n.Name()+" to get the Go emitter's serverSideEmit", func(e clusterEvent) bool {
				return e.Event == "serverSideEmit" && e.Name == "sse" && e.tag() == tag
			})
			if e.Ack || len(e.Args) != 3 || !sameJSON(e.Args[1], buf) || !sameJSON(e.Args[2], "x") || e.Nsp != "/" {
				t.Errorf("node %s: %s; want ack false, args [%v, %v, \"x\"] in /", n.Name(), e.Line, payload(tag), buf)
			}
		}
	})

	t.Run("namespaces", func(t *testing.T) {
		ctx := stepCtx(t)
		admins := []clusterClient{
			{name: "x1", node: 0, nsp: "/admin", rooms: []string{"r1"}, transports: []string{"websocket"}},
			{name: "x2", node: 2, nsp: "/admin", rooms: []string{"r1"}, transports: []string{"polling"}},
		}
		for _, cl := range admins {
			if _, err := c.connect(cl, c.nodes[cl.node].URL()); err != nil {
				t.Fatal(err)
			}
		}
		// "admin" without its slash, as Node's of() accepts it.
		adminTag := c.tag("go-emitter-admin")
		if err := ge.Emit(ctx, emitReq{target: target{Nsp: "admin", To: []string{"r1"}}, Event: "news", Args: []any{payload(adminTag)}}); err != nil {
			t.Fatal(err)
		}
		f := c.tag("fence")
		if err := ge.Emit(ctx, emitReq{target: target{Nsp: "/admin"}, Event: "fence", Args: []any{payload(f)}}); err != nil {
			t.Fatal(err)
		}
		for _, x := range []string{"x1", "x2"} {
			c.waitClient(t, x, "fence", f)
			if k := c.clients.Events().count(got(x, "news", adminTag)); k != 1 {
				t.Errorf("/admin client %s got the /admin broadcast %d times", x, k)
			}
		}
		c.expectOnce(t, ge, nil, "news", adminTag) // no client of "/"

		tag := c.tag("go-emitter-admin-sse")
		if err := em.Of("admin").ServerSideEmit(ctx, "sse", payload(tag)); err != nil {
			t.Fatal(err)
		}
		for _, n := range c.nodes {
			waitFor(t, n.Events(), "node "+n.Name()+" to get /admin's serverSideEmit", func(e clusterEvent) bool {
				return e.Event == "serverSideEmit" && e.Nsp == "/admin" && e.tag() == tag
			})
		}
		// disconnectSockets in /admin leaves "/" alone.
		if err := em.Of("/admin").DisconnectSockets(ctx, false); err != nil {
			t.Fatal(err)
		}
		for _, x := range []string{"x1", "x2"} {
			e := waitFor(t, c.clients.Events(), "client "+x+" to be disconnected", func(e clusterEvent) bool {
				return e.Event == "disconnect" && e.Client == x
			})
			if e.Reason != "io server disconnect" {
				t.Errorf("client %s: disconnect reason %q", x, e.Reason)
			}
		}
		c.expectOnce(t, ge, nil, "news", c.tag("nothing")) // every client of "/" still gets fences
	})

	t.Run("disconnectSockets", func(t *testing.T) {
		ctx := stepCtx(t)
		gone := c.members([]string{"r2"}, nil) // a2, b1, c2
		if err := em.In("r2").DisconnectSockets(ctx, false); err != nil {
			t.Fatal(err)
		}
		c.waitDisconnect(t, gone, "io server disconnect", "server namespace disconnect")
		c.setOffline(gone...)
		rest := c.members(nil, nil)
		if err := em.DisconnectSockets(ctx, true); err != nil {
			t.Fatal(err)
		}
		c.waitDisconnect(t, rest, "io server disconnect", "server namespace disconnect")
		c.setOffline(rest...)
	})

	if st := em.Stats(); st.Dropped != 0 {
		t.Errorf("emitter stats %+v: nothing should have been dropped", st)
	}
	t.Log("emitter stats:", strings.TrimSpace(fmt.Sprintf("%+v", em.Stats())))
}
