package redis_test

import (
	"context"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/adapter/redis"
	"github.com/sioloop/sioloop/client"
	"github.com/sioloop/sioloop/internal/redistest"
	"github.com/sioloop/sioloop/sio"
)

// node is one sio server of a test cluster, on its own port.
type node struct {
	srv *sio.Server
	ra  *redis.Adapter
	url string
}

func startNode(t *testing.T, addr string, setup func(*sio.Server)) *node {
	t.Helper()
	return startNodeWith(t, redis.New, redis.Config{Addr: addr, RequestsTimeout: 3 * time.Second}, setup)
}

func startNodeWith(t *testing.T, newAdapter func(context.Context, redis.Config) (*redis.Adapter, error), cfg redis.Config, setup func(*sio.Server)) *node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ra, err := newAdapter(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := sio.NewServer(sio.Config{Adapter: ra.ForNamespace, Loops: 1})
	if setup != nil {
		setup(srv)
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
	return &node{srv: srv, ra: ra, url: "http://" + hostport + "/"}
}

// joiner joins the room its client names in the "join" event and acks.
func joiner(srv *sio.Server) {
	srv.OnConnection(func(s *sio.Socket) {
		s.On("join", func(ev *sio.Event) {
			var room string
			ev.Decode(&room)
			s.Join(room)
			ev.Ack("ok")
		})
	})
}

type inbox struct {
	mu  sync.Mutex
	got []string
	ch  chan struct{}
}

func newInbox() *inbox { return &inbox{ch: make(chan struct{}, 100)} }

func (b *inbox) add(s string) {
	b.mu.Lock()
	b.got = append(b.got, s)
	b.mu.Unlock()
	b.ch <- struct{}{}
}

func (b *inbox) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		b.mu.Lock()
		if len(b.got) >= n {
			out := append([]string(nil), b.got...)
			b.mu.Unlock()
			return out
		}
		b.mu.Unlock()
		select {
		case <-b.ch:
		case <-deadline:
			t.Fatalf("got %v, want %d messages", b.got, n)
		}
	}
}

func TestTwoGoNodes(t *testing.T) {
	rs := redistest.Start(t)
	cfg := redis.Config{Addr: rs.Addr(), RequestsTimeout: 3 * time.Second}
	checkTwoNodes(t, startNodeWith(t, redis.New, cfg, joiner), startNodeWith(t, redis.New, cfg, joiner), true)
}

func TestTwoGoNodesSharded(t *testing.T) {
	rs := redistest.Start(t)
	for _, mode := range []string{"dynamic", "static", "dynamic-private"} {
		t.Run(mode, func(t *testing.T) {
			cfg := redis.Config{Addr: rs.Addr(), RequestsTimeout: 3 * time.Second, SubscriptionMode: mode, Key: "sharded-" + mode}
			checkTwoNodes(t, startNodeWith(t, redis.NewSharded, cfg, joiner), startNodeWith(t, redis.NewSharded, cfg, joiner), false)
		})
	}
}

func TestTwoGoNodesShardedRedisCluster(t *testing.T) {
	rc := redistest.StartCluster(t)
	a := startNodeWith(t, redis.NewSharded, redis.Config{Addrs: rc.Addrs()[:1], RequestsTimeout: 3 * time.Second}, joiner)
	b := startNodeWith(t, redis.NewSharded, redis.Config{Addrs: rc.Addrs()[2:], RequestsTimeout: 3 * time.Second}, joiner)
	checkTwoNodes(t, a, b, false)
}

// checkTwoNodes runs the cluster operations from a against a client of b.
func checkTwoNodes(t *testing.T, a, b *node, allRooms bool) {
	box := newInbox()
	c := client.New(b.url, client.Options{Transports: []string{"websocket"}})
	probed := make(chan struct{}, 100)
	c.On("probe", func(*client.Event) { probed <- struct{}{} })
	c.On("news", func(ev *client.Event) {
		var s string
		ev.Decode(&s)
		box.add(s)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c.Connect()
	defer c.Disconnect()
	if _, err := c.EmitWithAck(ctx, "join", "r1"); err != nil {
		t.Fatal(err)
	}
	if n, err := a.srv.Of("/").ServerCount(ctx); err != nil || n != 2 {
		t.Fatalf("ServerCount: %d %v", n, err)
	}
	// A dynamic room's channel is subscribed after the join returned:
	// wait until B's subscription is seen (by a broadcast that arrives).
	deadline := time.Now().Add(20 * time.Second)
	for {
		a.srv.To("r1").Emit("probe")
		select {
		case <-probed:
		case <-time.After(50 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("no broadcast to r1 reached B")
			}
			continue
		}
		break
	}
	if err := a.srv.To("r1").Emit("news", "from A to r1"); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.To("elsewhere").Emit("news", "not for you"); err != nil {
		t.Fatal(err)
	}
	a.srv.Emit("news", "from A to all")
	// A room's channel and the namespace's may be on two shards: no
	// order between them.
	got := box.wait(t, 2)
	sort.Strings(got)
	if strings.Join(got, "|") != "from A to all|from A to r1" {
		t.Fatalf("got %v", got)
	}
	rsocks, err := a.srv.In("r1").FetchSockets(ctx)
	if err != nil || len(rsocks) != 1 || rsocks[0].Local() != nil || strings.Join(rsocks[0].Rooms, ",") != rsocks[0].ID+",r1" {
		t.Fatalf("FetchSockets from A: %v %v", rsocks, err)
	}
	if allRooms {
		rooms, err := a.srv.Of("/").AllRooms(ctx)
		if err != nil || !strings.Contains(strings.Join(rooms, ","), "r1") {
			t.Fatalf("AllRooms: %v %v", rooms, err)
		}
	}
	// Server-side emit with acks, B answers.
	b.srv.OnServerSideEmit("hello", func(e *sio.ServerSideEvent) { e.Ack("hi from B") })
	answers, err := a.srv.ServerSideEmitWithAck(ctx, "hello")
	if err != nil || len(answers) != 1 {
		t.Fatalf("ServerSideEmitWithAck: %v %v", answers, err)
	}
	var hi string
	answers[0].Decode(&hi)
	if hi != "hi from B" {
		t.Fatalf("answer %q", hi)
	}
	// Broadcast with acks across nodes.
	c.On("ask", func(ev *client.Event) { ev.Ack("yes") })
	replies, err := a.srv.To("r1").EmitWithAck(ctx, "ask")
	if err != nil || len(replies) != 1 {
		t.Fatalf("EmitWithAck: %v %v", replies, err)
	}
	// socketsJoin from A reaches B's socket.
	if err := a.srv.In("r1").SocketsJoin(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for len(b.srv.In("r2").LocalSockets()) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("socketsJoin did not reach B")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := a.ra.Stats(); st.Malformed != 0 || st.Failures != 0 {
		t.Fatalf("stats %+v", st)
	}
}
