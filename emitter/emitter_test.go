package emitter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/adapter/redis"
	"github.com/sioloop/sioloop/client"
	"github.com/sioloop/sioloop/emitter"
	"github.com/sioloop/sioloop/internal/msgpack"
	"github.com/sioloop/sioloop/internal/redistest"
	"github.com/sioloop/sioloop/sio"
)

// stepTimeout bounds each wait: generous for a loaded 2-core machine;
// nothing waits for it to pass.
const stepTimeout = 20 * time.Second

// seen is one thing a Go node or client observed.
type seen struct {
	who   string // client or node name
	kind  string // "event", "disconnect", "join", "leave", "sse"
	name  string // event name, room, or disconnect reason
	args  []json.RawMessage
	atts  [][]byte
	nsp   string
	sid   string
	order int
}

// journal collects what everyone saw, in arrival order; waits scan from the
// start, so nothing that arrived before a wait began is missed.
type journal struct {
	mu      sync.Mutex
	all     []seen        // guarded by mu
	changed chan struct{} // guarded by mu; closed and replaced on each add
}

func newJournal() *journal { return &journal{changed: make(chan struct{})} }

func (j *journal) add(s seen) {
	j.mu.Lock()
	s.order = len(j.all)
	j.all = append(j.all, s)
	close(j.changed)
	j.changed = make(chan struct{})
	j.mu.Unlock()
}

func (j *journal) count(match func(seen) bool) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for _, s := range j.all {
		if match(s) {
			n++
		}
	}
	return n
}

// waitFor returns the first matching observation, within d.
func (j *journal) waitFor(d time.Duration, match func(seen) bool) (seen, bool) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		j.mu.Lock()
		changed := j.changed
		for _, s := range j.all {
			if match(s) {
				j.mu.Unlock()
				return s, true
			}
		}
		j.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			return seen{}, false
		}
	}
}

func (j *journal) wait(t *testing.T, what string, match func(seen) bool) seen {
	t.Helper()
	s, ok := j.waitFor(stepTimeout, match)
	if !ok {
		j.mu.Lock()
		defer j.mu.Unlock()
		var last []string
		for _, s := range j.all[max(0, len(j.all)-20):] {
			last = append(last, fmt.Sprintf("%+v", s))
		}
		t.Fatalf("waiting for %s; last observations:\n%v", what, last)
	}
	return s
}

// tag is the "tag" field of an event's first argument.
func (s seen) tag() string {
	if len(s.args) == 0 {
		return ""
	}
	var p struct {
		Tag string `json:"tag"`
	}
	json.Unmarshal(s.args[0], &p)
	return p.Tag
}

func gotEvent(who, event, tag string) func(seen) bool {
	return func(s seen) bool { return s.kind == "event" && s.who == who && s.name == event && s.tag() == tag }
}

func payload(tag string) map[string]any { return map[string]any{"tag": tag} }

// goNode is a sio.Server on adapter/redis, serving / and /admin: clients
// name the rooms to join in their CONNECT auth ({"rooms": [...]}), room
// changes and server-side emits ("sse") are reported to the journal.
type goNode struct {
	name string
	srv  *sio.Server
	url  string
}

func startGoNode(t *testing.T, name, addr string, j *journal) *goNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	ra, err := redis.New(ctx, redis.Config{Addr: addr, RequestsTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := sio.NewServer(sio.Config{Adapter: ra.ForNamespace, Loops: 1})
	for _, nsName := range []string{"/", "/admin"} {
		ns := srv.Of(nsName)
		ns.OnConnection(func(s *sio.Socket) {
			var auth struct {
				Rooms []string `json:"rooms"`
			}
			json.Unmarshal(s.Handshake().Auth, &auth)
			s.Join(auth.Rooms...)
			s.OnDisconnect(func(reason string) {
				j.add(seen{who: name, kind: "disconnect", name: reason, sid: s.ID(), nsp: nsName})
			})
		})
		ns.OnJoinRoom(func(room, id string) { j.add(seen{who: name, kind: "join", name: room, sid: id, nsp: nsName}) })
		ns.OnLeaveRoom(func(room, id string) { j.add(seen{who: name, kind: "leave", name: room, sid: id, nsp: nsName}) })
		ns.OnServerSideEmit("sse", func(e *sio.ServerSideEvent) {
			j.add(seen{who: name, kind: "sse", name: e.Name, args: e.Args(), nsp: nsName, sid: fmt.Sprint(e.HasAck())})
		})
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostport := l.Addr().String()
	l.Close()
	go srv.ListenAndServe(hostport, nil)
	<-srv.Ready()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		ra.Close()
	})
	return &goNode{name: name, srv: srv, url: "http://" + hostport}
}

// connectClient connects a Go client to nsp of n, in rooms, and reports
// every event it gets. It returns once the node has joined it to its rooms.
func connectClient(t *testing.T, n *goNode, j *journal, name, nsp string, rooms ...string) *client.Socket {
	t.Helper()
	c := client.New(n.url+nsp, client.Options{Transports: []string{"websocket"}, Auth: map[string]any{"rooms": append([]string{}, rooms...)}})
	c.OnAny(func(ev *client.Event) {
		j.add(seen{who: name, kind: "event", name: ev.Name, args: ev.Args(), atts: ev.Attachments(), nsp: nsp})
	})
	c.OnDisconnect(func(reason string) { j.add(seen{who: name, kind: "disconnect", name: reason, nsp: nsp}) })
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	if err := c.ConnectContext(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for _, r := range rooms {
		j.wait(t, name+" to join "+r, func(s seen) bool { return s.kind == "join" && s.name == r && s.sid == c.ID() })
	}
	return c
}

func newEmitter(t *testing.T, addr string) *emitter.Emitter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	em, err := emitter.New(ctx, emitter.Config{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	return em
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	t.Cleanup(cancel)
	return ctx
}

// TestReachesGoNodes: the Go emitter's broadcasts and requests reach two
// sio nodes on adapter/redis and their (Go) clients; the same operations
// are checked against Node nodes and socket.io-clients in
// interop/emitter_test.go.
func TestReachesGoNodes(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	j := newJournal()
	a := startGoNode(t, "A", rs.Addr(), j)
	b := startGoNode(t, "B", rs.Addr(), j)
	ca := connectClient(t, a, j, "ca", "/", "r1")
	cb := connectClient(t, b, j, "cb", "/")
	connectClient(t, b, j, "cx", "/admin", "r1")
	em := newEmitter(t, rs.Addr())
	everyone := []string{"ca", "cb"}
	seq := 0
	tag := func(s string) string { seq++; return fmt.Sprintf("%s-%d", s, seq) }

	// expect checks that exactly want got event/tag once, by sending a
	// fence to everyone behind it (same Redis connection, so in order).
	expect := func(t *testing.T, event, tg string, want ...string) {
		t.Helper()
		f := tag("fence")
		if err := em.Emit("fence", payload(f)); err != nil {
			t.Fatal(err)
		}
		for _, c := range everyone {
			j.wait(t, c+" to get "+f, gotEvent(c, "fence", f))
			n := j.count(gotEvent(c, event, tg))
			if w := slices.Contains(want, c); n != map[bool]int{true: 1, false: 0}[w] {
				t.Errorf("%s %s: client %s got it %d times; recipients should be %v", event, tg, c, n, want)
			}
		}
	}

	t.Run("emit", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			op   emitter.BroadcastOperator
			want []string
		}{
			{"all", em.To(), everyone},
			{"room", em.To("r1"), []string{"ca"}},
			{"rooms", em.In("r1", "nowhere"), []string{"ca"}},
			{"except", em.Except("r1"), []string{"cb"}},
			{"socket id", em.To(cb.ID()), []string{"cb"}},
			{"room except socket", em.To("r1").Except(ca.ID()), nil},
			{"volatile compress", em.Volatile().Compress(false), everyone},
		} {
			tg := tag(tc.name)
			if err := tc.op.Emit("news", payload(tg)); err != nil {
				t.Fatal(err)
			}
			expect(t, "news", tg, tc.want...)
		}
		if n := j.count(func(s seen) bool { return s.who == "cx" && s.name == "news" }); n != 0 {
			t.Errorf("the /admin client got %d broadcasts of /", n)
		}
	})

	t.Run("namespace", func(t *testing.T) {
		tg := tag("admin")
		if err := em.Of("admin").To("r1").Emit("news", payload(tg)); err != nil {
			t.Fatal(err)
		}
		j.wait(t, "cx to get /admin news", gotEvent("cx", "news", tg))
		expect(t, "news", tg)
	})

	t.Run("binary", func(t *testing.T) {
		tg := tag("bin")
		blob := []byte{0, 1, 2, 0xfe, 0xff}
		if err := em.To("r1").Emit("bin", map[string]any{"tag": tg, "blob": blob}, []byte{}, []any{"x", []byte{9}}); err != nil {
			t.Fatal(err)
		}
		s := j.wait(t, "ca to get the binary", gotEvent("ca", "bin", tg))
		if len(s.atts) != 3 || !bytes.Equal(s.atts[0], blob) || len(s.atts[1]) != 0 || !bytes.Equal(s.atts[2], []byte{9}) {
			t.Errorf("attachments %q, want %q, empty, [9]", s.atts, blob)
		}
		if got := string(s.args[0]); got != `{"blob":{"_placeholder":true,"num":0},"tag":"`+tg+`"}` {
			t.Errorf("first argument %s", got)
		}
	})

	t.Run("socketsJoinLeave", func(t *testing.T) {
		ctx := ctxT(t)
		if err := em.Except("r1").SocketsJoin(ctx, "r2", "r3"); err != nil {
			t.Fatal(err)
		}
		for _, r := range []string{"r2", "r3"} {
			j.wait(t, "cb to join "+r, func(s seen) bool { return s.kind == "join" && s.name == r && s.sid == cb.ID() })
		}
		tg := tag("r2")
		if err := em.To("r2").Emit("news", payload(tg)); err != nil {
			t.Fatal(err)
		}
		expect(t, "news", tg, "cb")
		if err := em.SocketsLeave(ctx, "r2", "r3"); err != nil {
			t.Fatal(err)
		}
		j.wait(t, "cb to leave r3", func(s seen) bool { return s.kind == "leave" && s.name == "r3" && s.sid == cb.ID() })
		tg = tag("r2-after")
		if err := em.To("r2").Emit("news", payload(tg)); err != nil {
			t.Fatal(err)
		}
		expect(t, "news", tg)
	})

	t.Run("serverSideEmit", func(t *testing.T) {
		ctx := ctxT(t)
		tg := tag("sse")
		if err := em.ServerSideEmit(ctx, "sse", payload(tg), []byte{1, 2}); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"A", "B"} {
			s := j.wait(t, n+" to get the server-side emit", func(s seen) bool { return s.kind == "sse" && s.who == n && s.nsp == "/" && s.tag() == tg })
			if s.sid != "false" || len(s.args) != 2 || string(s.args[1]) != `{"type":"Buffer","data":[1,2]}` {
				t.Errorf("node %s: server-side emit %+v", n, s)
			}
		}
		tg = tag("sse-admin")
		if err := em.Of("/admin").ServerSideEmit(ctx, "sse", payload(tg)); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"A", "B"} {
			j.wait(t, n+" to get /admin's server-side emit", func(s seen) bool { return s.kind == "sse" && s.who == n && s.nsp == "/admin" && s.tag() == tg })
		}
	})

	t.Run("disconnectSockets", func(t *testing.T) {
		ctx := ctxT(t)
		if err := em.In("r1").DisconnectSockets(ctx, false); err != nil {
			t.Fatal(err)
		}
		j.wait(t, "ca to be disconnected", func(s seen) bool { return s.who == "ca" && s.kind == "disconnect" && s.name == "io server disconnect" })
		j.wait(t, "A to report it", func(s seen) bool {
			return s.who == "A" && s.kind == "disconnect" && s.name == sio.ReasonServerNamespaceDisconnect && s.nsp == "/"
		})
		if err := em.Of("admin").DisconnectSockets(ctx, true); err != nil {
			t.Fatal(err)
		}
		j.wait(t, "cx to be disconnected", func(s seen) bool { return s.who == "cx" && s.kind == "disconnect" })
		if _, ok := j.waitFor(0, func(s seen) bool { return s.who == "cb" && s.kind == "disconnect" }); ok {
			t.Error("cb, of /, was disconnected by a disconnectSockets of /admin")
		}
	})
}

// TestRedisDownAndBack: while Redis is down Emit returns at once, drops
// and counts; requests fail instead of hanging; once Redis is back (empty,
// on the same port) the emitter reaches a Go node's client again.
func TestRedisDownAndBack(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	j := newJournal()
	n := startGoNode(t, "A", rs.Addr(), j)
	connectClient(t, n, j, "c", "/")
	em := newEmitter(t, rs.Addr())
	if err := em.Emit("news", payload("before")); err != nil {
		t.Fatal(err)
	}
	j.wait(t, "the client to get a broadcast", gotEvent("c", "news", "before"))
	// The client can have it before the emitter has Redis's reply.
	if err := em.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	before := em.Stats()

	rs.Kill()
	const n0 = 500
	start := time.Now()
	dropped := 0
	for i := range n0 {
		err := em.Emit("news", payload(fmt.Sprint("down-", i)))
		switch {
		case errors.Is(err, emitter.ErrDropped):
			dropped++
		case err != nil:
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("%d Emits with Redis down took %v", n0, d)
	}
	// Flush returns once every queued message was written or dropped.
	if err := em.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	st := em.Stats()
	if st.Published != before.Published || st.Dropped-before.Dropped != n0 {
		t.Errorf("with Redis down: published %d→%d, dropped %d→%d; want all %d dropped (%d at once)",
			before.Published, st.Published, before.Dropped, st.Dropped, n0, dropped)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	start = time.Now()
	err := em.SocketsJoin(ctx, "r1")
	cancel()
	if err == nil {
		t.Error("SocketsJoin succeeded with Redis down")
	}
	t.Logf("with Redis down: %d of %d Emits dropped at once, the others when their batch failed; SocketsJoin failed after %v: %v",
		dropped, n0, time.Since(start).Round(time.Millisecond), err)

	rs.Restart()
	// The emitter notices that Redis is back with its next probe and the
	// node resubscribes after a backoff: send until one gets through.
	deadline := time.Now().Add(stepTimeout)
	for i := 0; ; i++ {
		tg := fmt.Sprint("after-", i)
		em.Emit("news", payload(tg))
		if _, ok := j.waitFor(200*time.Millisecond, gotEvent("c", "news", tg)); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no broadcast got through within %v of the restart (stats %+v)", stepTimeout, em.Stats())
		}
	}
	if got := j.count(func(s seen) bool { return s.kind == "event" && len(s.tag()) > 5 && s.tag()[:5] == "down-" }); got != 0 {
		t.Errorf("%d messages emitted while Redis was down arrived", got)
	}
	ctx = ctxT(t)
	if err := em.SocketsJoin(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	j.wait(t, "the client to join late", func(s seen) bool { return s.kind == "join" && s.name == "late" })
	if err := em.To("late").Emit("news", payload("late")); err != nil {
		t.Fatal(err)
	}
	j.wait(t, "the client to get a broadcast to late", gotEvent("c", "news", "late"))
}

// TestErrors: what Emit and the requests refuse, before anything is
// published.
func TestErrors(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	em := newEmitter(t, rs.Addr())
	ctx := ctxT(t)
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if err := em.To("r").Emit(name, 1); !errors.Is(err, emitter.ErrReservedEvent) {
			t.Errorf("Emit(%q): %v, want ErrReservedEvent", name, err)
		}
	}
	for _, name := range []string{"connect", "connection", "new_namespace", "disconnect"} {
		if err := em.ServerSideEmit(ctx, name); !errors.Is(err, emitter.ErrReservedEvent) {
			t.Errorf("ServerSideEmit(%q): %v, want ErrReservedEvent", name, err)
		}
	}
	cyclic := []any{nil}
	cyclic[0] = cyclic
	for _, tc := range []struct {
		name string
		arg  any
		want error
	}{
		{"channel", make(chan int), emitter.ErrEncode},
		{"NaN", []any{1, map[string]any{"x": nan()}}, emitter.ErrEncode},
		{"bad RawMessage", json.RawMessage(`{"a":`), emitter.ErrEncode},
		{"cyclic", cyclic, emitter.ErrEncode},
		{"MarshalJSON error", badJSON{}, emitter.ErrEncode},
		{"ack callback", func(...any) {}, emitter.ErrAck},
	} {
		if err := em.Emit("x", "ok", tc.arg); !errors.Is(err, tc.want) {
			t.Errorf("Emit with %s: %v, want %v", tc.name, err, tc.want)
		}
		if err := em.ServerSideEmit(ctx, "x", tc.arg); !errors.Is(err, tc.want) {
			t.Errorf("ServerSideEmit with %s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if st := em.Stats(); st.Published != 0 || st.Dropped != 0 {
		t.Errorf("refused messages were counted: %+v", st)
	}

	admin := em.Of("admin")
	if admin.Namespace() != "/admin" || em.Of("").Namespace() != "/" || em.Namespace() != "/" {
		t.Errorf("namespaces %q %q %q", admin.Namespace(), em.Of("").Namespace(), em.Namespace())
	}
	em.Close()
	if err := admin.Emit("x"); !errors.Is(err, emitter.ErrClosed) {
		t.Errorf("Emit after Close (of the Emitter Of came from): %v", err)
	}
	if err := em.SocketsJoin(ctx, "r"); !errors.Is(err, emitter.ErrClosed) {
		t.Errorf("SocketsJoin after Close: %v", err)
	}
	if err := em.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

type badJSON struct{}

func (badJSON) MarshalJSON() ([]byte, error) { return nil, errors.New("no") }

func nan() float64 {
	zero := 0.0
	return zero / zero
}

// TestRequestOrderUnderLoad: a request never overtakes the Emits made
// before it, nor do later Emits overtake it, and it returns promptly while
// another goroutine keeps the emitter busy (the request holds new Emits
// back instead of waiting for a queue that never empties), without
// reordering that goroutine's messages.
func TestRequestOrderUnderLoad(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	rec := newRecorder(t, rs.Addr())
	em := newEmitter(t, rs.Addr())

	stop, done := make(chan struct{}), make(chan struct{})
	var noise int
	go func() {
		defer close(done)
		for ; ; noise++ {
			select {
			case <-stop:
				return
			default:
			}
			// As fast as Redis takes them, never so fast that the queue
			// fills and drops.
			for em.Stats().QueuedBytes > 256<<10 {
				runtime.Gosched()
			}
			if err := em.To("noise").Emit("noise", noise); err != nil {
				t.Errorf("noise %d: %v", noise, err)
				return
			}
		}
	}()
	const batch = 300
	for i := range batch {
		if err := em.Emit("seq", i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
		err := em.In(fmt.Sprint("mark", i)).SocketsJoin(ctx, "r")
		cancel()
		if err != nil {
			t.Fatalf("SocketsJoin %d under load: %v", i, err)
		}
	}
	for i := range batch {
		if err := em.Emit("seq", batch+i); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	<-done
	if err := em.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	total := 2*batch + 3 + noise
	msgs := rec.wait(t, total)

	var order []string // "seq", "mark" in arrival order
	lastNoise, seqs := -1, 0
	for _, m := range msgs {
		switch {
		case m.channel == "socket.io-request#/#":
			order = append(order, "mark")
		case m.channel == "socket.io#/#noise#":
			n := eventArg(t, m.payload)
			if n != lastNoise+1 {
				t.Fatalf("noise %d arrived after %d", n, lastNoise)
			}
			lastNoise = n
		default:
			if n := eventArg(t, m.payload); n != seqs {
				t.Fatalf("seq %d arrived as number %d", n, seqs)
			}
			seqs++
			order = append(order, "seq")
		}
	}
	want := slices.Repeat([]string{"seq"}, batch)
	want = append(want, "mark", "mark", "mark")
	want = append(want, slices.Repeat([]string{"seq"}, batch)...)
	if !slices.Equal(order, want) || lastNoise != noise-1 {
		t.Errorf("order of %d messages (and %d noise of %d) not as emitted", len(order), lastNoise+1, noise)
	}
	if st := em.Stats(); st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// eventArg returns the integer first argument of a published broadcast.
func eventArg(t *testing.T, payload []byte) int {
	t.Helper()
	js, _, _, err := msgpack.AppendToJSON(nil, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	var msg []json.RawMessage
	var packet struct {
		Data []json.RawMessage `json:"data"`
	}
	var n int
	if json.Unmarshal(js, &msg) != nil || len(msg) != 3 || json.Unmarshal(msg[1], &packet) != nil ||
		len(packet.Data) != 2 || json.Unmarshal(packet.Data[1], &n) != nil {
		t.Fatalf("broadcast %s", js)
	}
	return n
}
