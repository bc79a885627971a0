package sio_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// Issue 12, item 2: the callback form of acks. A handler asks its own
// client and returns; the answer, a timeout or the disconnect reaches the
// callback later, in the socket's handler order; a room can be asked the
// same way.
func TestEmitWithAckFunc(t *testing.T) {
	order := make(chan string, 8)
	errs := make(chan error, 4)
	rooms := make(chan []string, 1)
	joined := make(chan struct{}, 2)
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) {
		srv.OnConnection(func(s *sio.Socket) {
			s.Join("r")
			joined <- struct{}{}
			s.On("ask", func(ev *sio.Event) {
				var q string
				_ = ev.Decode(&q)
				err := s.Timeout(wait).EmitWithAckFunc("question", func(m sio.Message, err error) {
					var a string
					if err == nil {
						err = m.Decode(&a)
					}
					order <- "callback"
					if err != nil {
						_ = ev.Ack(err.Error())
						return
					}
					_ = ev.Ack("got " + a)
				}, q)
				if err != nil {
					t.Errorf("EmitWithAckFunc: %v", err)
				}
				order <- "handler returned"
			})
			s.On("silent", func(ev *sio.Event) {
				_ = s.Timeout(200*time.Millisecond).EmitWithAckFunc("unanswered", func(_ sio.Message, err error) { errs <- err })
				_ = s.EmitWithAckFunc("unanswered", func(_ sio.Message, err error) { errs <- err })
				_ = ev.Ack("asked")
			})
			s.On("room", func(ev *sio.Event) {
				_ = srv.To("r").Timeout(wait).EmitWithAckFunc("question", func(ms []sio.Message, err error) {
					var out []string
					for _, m := range ms {
						var a string
						_ = m.Decode(&a)
						out = append(out, a)
					}
					if err != nil {
						out = append(out, err.Error())
					}
					slices.Sort(out)
					rooms <- out
				}, "r")
			})
		})
	})
	c := dialClient(t, ts)
	dialClient(t, ts) // a second member of room r
	for range 2 {     // the CONNECT is answered before the handler's Join
		<-joined
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	reply, err := c.EmitWithAck(ctx, "ask", "one")
	if err != nil {
		t.Fatalf("ask: %v", err)
	}
	var got string
	if err := reply.Decode(&got); err != nil || got != "got answer to one" {
		t.Fatalf("ask: %q %v", got, err)
	}
	if a, b := <-order, <-order; a != "handler returned" || b != "callback" {
		t.Fatalf("order %q, %q: the callback must run after its handler, in the socket's order", a, b)
	}

	if _, err := c.EmitWithAck(ctx, "silent"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, sio.ErrAckTimeout) {
			t.Fatalf("timed callback got %v, want ErrAckTimeout", err)
		}
	case <-time.After(wait):
		t.Fatal("the timed callback never ran")
	}

	c.Emit("room")
	select {
	case out := <-rooms:
		if want := []string{"answer to r", "answer to r"}; !slices.Equal(out, want) {
			t.Fatalf("room answers %q, want %q", out, want)
		}
	case <-time.After(2 * wait):
		t.Fatal("the room callback never ran")
	}

	c.Disconnect()
	select {
	case err := <-errs:
		if !errors.Is(err, sio.ErrDisconnected) {
			t.Fatalf("untimed callback got %v, want ErrDisconnected", err)
		}
	case <-time.After(wait):
		t.Fatal("the untimed callback never ran after the disconnect")
	}
}
