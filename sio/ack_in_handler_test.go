package sio_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/sioloop/sioloop/client"
	"github.com/sioloop/sioloop/sio"
)

// dialClient connects a client of the project's own client package to
// namespace "/" of ts over WebSocket, with question answered by reply.
func dialClient(t *testing.T, ts *testServer) *client.Socket {
	t.Helper()
	m := client.NewManager("http://"+ts.addr, client.Options{Transports: []string{client.WebSocket}})
	t.Cleanup(m.Close)
	s := m.Socket("/", client.SocketOptions{})
	s.On("question", func(ev *client.Event) {
		var q string
		if err := ev.Decode(&q); err != nil {
			t.Errorf("question: %v", err)
		}
		_ = ev.Ack("answer to " + q)
	})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.ConnectContext(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
	return s
}

// TestEmitWithAckFromOwnHandler calls EmitWithAck to the socket whose
// handler is running, without a deadline (sio.Handle gives the handler
// the socket's context, which has none), and a broadcast EmitWithAck to a room holding that
// socket. The client's answer used to be queued in the connection's
// mailbox behind the handler waiting for it, so the handler, its worker
// and every later event of the connection hung. The handler must get the
// answer, and later events must still arrive in order.
func TestEmitWithAckFromOwnHandler(t *testing.T) {
	var mu sync.Mutex
	var seq []int
	joined := make(chan struct{}, 2)
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) {
		srv.OnConnection(func(s *sio.Socket) {
			s.Join("r")
			joined <- struct{}{}
			sio.Handle(s, "ask", func(ctx context.Context, q string) (string, error) {
				reply, err := s.EmitWithAck(ctx, "question", q)
				if err != nil {
					return "", err
				}
				var a string
				err = reply.Decode(&a)
				return a, err
			})
			sio.Handle(s, "askRoom", func(ctx context.Context, q string) ([]string, error) {
				replies, err := srv.To("r").EmitWithAck(ctx, "question", q)
				if err != nil {
					return nil, err
				}
				out := make([]string, len(replies))
				for i := range replies {
					if err := replies[i].Decode(&out[i]); err != nil {
						return nil, err
					}
				}
				slices.Sort(out)
				return out, nil
			})
			s.On("seq", func(ev *sio.Event) {
				var n int
				_ = ev.Decode(&n)
				mu.Lock()
				seq = append(seq, n)
				mu.Unlock()
			})
			sio.Handle(s, "seqDone", func(context.Context, int) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				return len(seq), nil
			})
		})
	})
	c := dialClient(t, ts)
	dialClient(t, ts) // a second member of room r
	// A client sees its CONNECT answered before the connection handler
	// has run (as in socket.io): wait for both joins.
	for range 2 {
		<-joined
	}

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	reply, err := c.EmitWithAck(ctx, "ask", "one")
	if err != nil {
		t.Fatalf("ask: %v (the handler never got its answer)", err)
	}
	var got string
	if err := reply.Decode(&got); err != nil || got != "answer to one" {
		t.Fatalf("ask: %q %v, want %q", got, err, "answer to one")
	}

	reply, err = c.EmitWithAck(ctx, "askRoom", "two")
	if err != nil {
		t.Fatalf("askRoom: %v (the handler never got the answers)", err)
	}
	var all []string
	if err := reply.Decode(&all); err != nil {
		t.Fatal(err)
	}
	if want := []string{"answer to two", "answer to two"}; !slices.Equal(all, want) {
		t.Fatalf("askRoom: %q, want %q", all, want)
	}

	const n = 50
	for i := 0; i < n; i++ {
		if err := c.Emit("seq", i); err != nil {
			t.Fatal(err)
		}
	}
	reply, err = c.EmitWithAck(ctx, "seqDone", 0)
	if err != nil {
		t.Fatalf("seqDone: %v", err)
	}
	var count int
	if err := reply.Decode(&count); err != nil || count != n {
		t.Fatalf("seqDone: %d %v, want %d", count, err, n)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, v := range seq {
		if v != i {
			t.Fatalf("events out of order: %v", fmt.Sprint(seq))
		}
	}
}
