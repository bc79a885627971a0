package sio_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sioloop/sioloop/sio"
)

// stressClient is one raw WebSocket client of the stress test, with a
// reader goroutine that checks and counts what arrives.
type stressClient struct {
	c      *wsClient
	stable bool
	// Per broadcaster, the next sequence number expected (stable only).
	next   []int64
	relays atomic.Int64
	acks   chan int // ack ids, for the client's own sender
	mu     sync.Mutex
	err    error
	done   chan struct{}
}

func (sc *stressClient) fail(err error) {
	sc.mu.Lock()
	if sc.err == nil {
		sc.err = err
	}
	sc.mu.Unlock()
}

func (sc *stressClient) failure() error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.err
}

func (sc *stressClient) seq(g int) int64 {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.next[g]
}

// read consumes messages until the connection ends or stopping is set.
func (sc *stressClient) read(stopping *atomic.Bool) {
	defer close(sc.done)
	for {
		m, err := sc.c.readMessage(time.Minute)
		if err != nil {
			if !stopping.Load() {
				sc.fail(fmt.Errorf("read: %v", err))
			}
			return
		}
		if m.op != ws.OpText {
			sc.fail(fmt.Errorf("unexpected %v message %q (close code %d)", m.op, m.data, m.closeCode))
			return
		}
		msg := string(m.data)
		switch {
		case strings.HasPrefix(msg, `42["b",`):
			if !sc.stable {
				continue
			}
			gs, ss, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(msg, `42["b",`), "]"), ",")
			g, err1 := strconv.Atoi(gs)
			s, err2 := strconv.ParseInt(ss, 10, 64)
			if err1 != nil || err2 != nil || g < 0 || g >= len(sc.next) {
				sc.fail(fmt.Errorf("bad broadcast %q", msg))
				return
			}
			sc.mu.Lock()
			want := sc.next[g]
			sc.next[g]++
			sc.mu.Unlock()
			if s != want {
				sc.fail(fmt.Errorf("broadcaster %d: got seq %d, want %d (lost or reordered)", g, s, want))
				return
			}
		case strings.HasPrefix(msg, `42["relay",`):
			sc.relays.Add(1)
		case strings.HasPrefix(msg, "43"):
			id, err := strconv.Atoi(msg[2:strings.IndexByte(msg, '[')])
			if err != nil {
				sc.fail(fmt.Errorf("bad ack %q", msg))
				return
			}
			select {
			case sc.acks <- id:
			default:
				sc.fail(fmt.Errorf("unexpected ack %q", msg))
				return
			}
		case strings.HasPrefix(msg, `42["direct"`):
		default:
			sc.fail(fmt.Errorf("unexpected message %q", msg))
			return
		}
	}
}

// TestStressRoomsAndBroadcasts races, for about a second: broadcasts from
// server goroutines (To, Except, unions), handlers on 25 connections that
// join and leave rooms and broadcast themselves, server-side SocketsJoin /
// SocketsLeave / FetchSockets, direct emits, and clients that connect and
// disconnect. 25 other clients stay in room "stable" throughout and must
// receive every broadcast, once, in order per sender, and every relay that
// was acknowledged.
func TestStressRoomsAndBroadcasts(t *testing.T) {
	checkLeaks(t)
	const (
		nStable      = 25
		nChurn       = 20
		nFlappers    = 5
		broadcasters = 3
		duration     = time.Second
	)
	ts := startServer(t, sio.Config{Loops: 2, PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}, func(s *sio.Server) {
		s.OnConnection(func(sock *sio.Socket) {
			sock.On("join", func(ev *sio.Event) {
				var room string
				_ = ev.Decode(&room)
				sock.Join(room)
				_ = ev.Ack()
			})
			sock.On("leave", func(ev *sio.Event) {
				var room string
				_ = ev.Decode(&room)
				sock.Leave(room)
				_ = ev.Ack()
			})
			sock.On("relay", func(ev *sio.Event) {
				// Queued for every stable socket before the ack leaves.
				_ = sock.To("stable").Emit("relay", ev.Arg(0))
				_ = ev.Ack()
			})
		})
	})

	var stopping atomic.Bool
	newClient := func(stable bool) *stressClient {
		c, _ := ts.connectWS(t)
		sc := &stressClient{c: c, stable: stable, next: make([]int64, broadcasters), acks: make(chan int, 1), done: make(chan struct{})}
		go sc.read(&stopping)
		return sc
	}
	// request sends one event with ack id and waits for the ack.
	request := func(sc *stressClient, id int, event, arg string) error {
		if err := sc.c.trySend(ws.OpText, []byte("42"+strconv.Itoa(id)+`["`+event+`",`+arg+`]`)); err != nil {
			return err
		}
		select {
		case got := <-sc.acks:
			if got != id {
				return fmt.Errorf("ack %d, want %d", got, id)
			}
			return nil
		case <-sc.done:
			return fmt.Errorf("connection ended waiting for ack %d: %v", id, sc.failure())
		case <-time.After(wait):
			return fmt.Errorf("no ack %d within %v", id, wait)
		}
	}

	stable := make([]*stressClient, nStable)
	for i := range stable {
		stable[i] = newClient(true)
		if err := request(stable[i], 1, "join", `"stable"`); err != nil {
			t.Fatal(err)
		}
	}
	churn := make([]*stressClient, nChurn)
	for i := range churn {
		churn[i] = newClient(false)
	}

	stop := make(chan struct{})
	var (
		wg        sync.WaitGroup
		sent      [broadcasters]atomic.Int64
		relayed   atomic.Int64
		errMu     sync.Mutex
		firstErr  error
		flapCount atomic.Int64
	)
	fail := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
	}
	running := func() bool {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}

	// Server-side broadcasters; every form reaches every stable socket.
	for g := 0; g < broadcasters; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := int64(0); running(); seq++ {
				var err error
				switch seq % 4 {
				case 0:
					err = ts.To("stable").Emit("b", g, seq)
				case 1:
					err = ts.To("stable", "r1").Emit("b", g, seq)
				case 2:
					err = ts.Except("r2").Emit("b", g, seq)
				case 3:
					err = ts.In("stable").Except("r3").Emit("b", g, seq)
				}
				if err != nil {
					fail(err)
					return
				}
				sent[g].Store(seq + 1)
				time.Sleep(time.Millisecond)
			}
		}()
	}

	// Server-side membership changes and queries.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for running() {
			ts.In("r1").SocketsJoin(context.Background(), "r4")
			ts.In("r4").SocketsLeave(context.Background(), "r4")
			ts.Except("stable").SocketsJoin(context.Background(), "r5")
			for _, s := range ts.In("r5").LocalSockets() {
				_ = s.Emit("direct", 1)
				s.Leave("r5")
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()

	// Churn clients: joins, leaves and relays through their handlers.
	for i, sc := range churn {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for id := 1; running(); id++ {
				var err error
				room := `"r` + strconv.Itoa(rng.IntN(6)) + `"`
				switch rng.IntN(3) {
				case 0:
					err = request(sc, id, "join", room)
				case 1:
					err = request(sc, id, "leave", room)
				case 2:
					err = request(sc, id, "relay", strconv.Itoa(id))
					if err == nil {
						relayed.Add(1)
					}
				}
				if err != nil {
					fail(fmt.Errorf("churn client %d: %v", i, err))
					return
				}
			}
		}()
	}

	// Flappers: connect, join rooms, leave abruptly, again.
	for i := 0; i < nFlappers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for running() {
				c, err := tryDialWS(ts.url("ws", "EIO=4&transport=websocket"))
				if err != nil {
					fail(err)
					return
				}
				_ = c.trySend(ws.OpText, []byte("40"))
				_ = c.trySend(ws.OpText, []byte(`421["join","stable"]`))
				_ = c.trySend(ws.OpText, []byte(`422["join","r1"]`))
				time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond)
				c.conn.Close()
				flapCount.Add(1)
			}
		}()
	}

	time.Sleep(duration)
	close(stop)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}

	// Every stable client gets everything that was sent before the stop.
	for i, sc := range stable {
		for g := 0; g < broadcasters; g++ {
			want := sent[g].Load()
			eventually(t, fmt.Sprintf("stable client %d: %d broadcasts from %d (has %d, err %v)", i, want, g, sc.seq(g), sc.failure()), func() bool {
				return sc.seq(g) >= want || sc.failure() != nil
			})
			if err := sc.failure(); err != nil {
				t.Fatalf("stable client %d: %v", i, err)
			}
			if got := sc.seq(g); got != want {
				t.Fatalf("stable client %d: %d broadcasts from %d, want %d", i, got, g, want)
			}
		}
		want := relayed.Load()
		eventually(t, fmt.Sprintf("stable client %d: %d relays", i, want), func() bool { return sc.relays.Load() >= want })
		if got := sc.relays.Load(); got != want {
			t.Fatalf("stable client %d: %d relays, want %d", i, got, want)
		}
	}
	for i, sc := range churn {
		if err := sc.failure(); err != nil {
			t.Fatalf("churn client %d: %v", i, err)
		}
	}
	t.Logf("%d stable and %d churn clients; broadcasts %d/%d/%d; %d relays; %d flaps",
		nStable, nChurn, sent[0].Load(), sent[1].Load(), sent[2].Load(), relayed.Load(), flapCount.Load())
	if relayed.Load() == 0 || sent[0].Load() < 10 || flapCount.Load() == 0 {
		t.Fatal("too little happened to call this a stress test")
	}

	stopping.Store(true)
	for _, sc := range append(stable, churn...) {
		sc.c.conn.Close()
		<-sc.done
	}
	ts.waitSessions(t, 0)
	// Sockets leave in their mailboxes, just after their sessions end.
	deadline := time.Now().Add(wait)
	for len(ts.Of("/").Sockets()) != 0 {
		if time.Now().After(deadline) {
			left := ts.Of("/").Sockets()
			s := left[0]
			t.Fatalf("%d sockets still in the namespace after every session closed; e.g. %s: connected=%v rooms=%q",
				len(left), s.ID(), s.Connected(), s.Rooms())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if rooms := ts.Of("/").Adapter().(*sio.MemoryAdapter).Rooms(); len(rooms) != 0 {
		t.Fatalf("rooms left: %q", rooms)
	}
}

// A socket that has disconnected cannot be put back into rooms: socket.io
// turns join into a no-op in _cleanup. Otherwise a Join racing with the
// disconnect (from SocketsJoin, or any goroutine holding the *Socket)
// re-adds a dead socket to the adapter, where it stays forever.
func TestJoinAfterDisconnect(t *testing.T) {
	ts := startServer(t, sio.Config{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second}, nil)
	c, id := ts.connectWS(t)
	sock := ts.Of("/").Socket(id)
	if sock == nil {
		t.Fatal("socket not found")
	}
	sock.Join("before")
	c.send(t, "1")
	c.expectClose(t, closeNoCode)
	ts.reason(t, id)
	// socket.io: socket.rooms is empty once the socket has left.
	if rooms := sock.Rooms(); len(rooms) != 0 {
		t.Errorf("Rooms() after disconnect: %q, want none", rooms)
	}
	sock.Join("late")
	if rooms := sock.Rooms(); slices.Contains(rooms, "late") {
		t.Fatalf("Join after disconnect: the socket is in %q", rooms)
	}
	if n := len(ts.In("late").LocalSockets()); n != 0 {
		t.Fatalf("Join after disconnect: %d sockets in room \"late\"", n)
	}
	if n := len(ts.Of("/").Sockets()); n != 0 {
		t.Fatalf("Join after disconnect: %d sockets in the namespace", n)
	}
}
