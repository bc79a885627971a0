package redis_test

import (
	"context"
	"net"
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ra, err := redis.New(ctx, redis.Config{Addr: addr, RequestsTimeout: 3 * time.Second})
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
	a := startNode(t, rs.Addr(), joiner)
	b := startNode(t, rs.Addr(), joiner)

	box := newInbox()
	c := client.New(b.url, client.Options{Transports: []string{"websocket"}})
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
	if err := a.srv.To("r1").Emit("news", "from A to r1"); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.To("elsewhere").Emit("news", "not for you"); err != nil {
		t.Fatal(err)
	}
	a.srv.Emit("news", "from A to all")
	if got := box.wait(t, 2); strings.Join(got, "|") != "from A to r1|from A to all" {
		t.Fatalf("got %v", got)
	}
	rsocks, err := a.srv.In("r1").FetchSockets(ctx)
	if err != nil || len(rsocks) != 1 || rsocks[0].Local() != nil || strings.Join(rsocks[0].Rooms, ",") != rsocks[0].ID+",r1" {
		t.Fatalf("FetchSockets from A: %v %v", rsocks, err)
	}
	rooms, err := a.srv.Of("/").AllRooms(ctx)
	if err != nil || !strings.Contains(strings.Join(rooms, ","), "r1") {
		t.Fatalf("AllRooms: %v %v", rooms, err)
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
	deadline := time.Now().Add(20 * time.Second)
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
