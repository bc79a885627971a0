package sio_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// Issue 12, item 6: a typed handler whose result cannot be encoded still
// answers the client's callback (with ErrorReply), and its context is
// cancelled, with ErrDisconnected as the cause, when the client goes.
func TestHandleEncodeErrorAndContext(t *testing.T) {
	causes := make(chan error, 1)
	after := make(chan error, 1)
	started := make(chan struct{})
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) {
		srv.OnConnection(func(s *sio.Socket) {
			sio.Handle(s, "bad", func(context.Context, int) (chan int, error) {
				return make(chan int), nil // json cannot encode a channel
			})
			sio.Handle(s, "wait", func(ctx context.Context, _ int) (int, error) {
				close(started)
				select {
				case <-ctx.Done():
					causes <- context.Cause(ctx)
				case <-time.After(2 * wait):
					causes <- errors.New("the context outlived the client")
				}
				return 0, ctx.Err()
			})
			s.OnDisconnect(func(string) {
				select {
				case <-s.Context().Done():
					after <- context.Cause(s.Context())
				default:
					after <- errors.New("Context not done in OnDisconnect")
				}
			})
		})
	})
	c := dialClient(t, ts)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	reply, err := c.EmitWithAck(ctx, "bad", 1)
	if err != nil {
		t.Fatalf("bad: %v (the callback never fired)", err)
	}
	var er sio.ErrorReply
	if err := reply.Decode(&er); err != nil || !strings.Contains(er.Error, "cannot be encoded") {
		t.Fatalf("bad: %+v %v, want an ErrorReply about encoding", er, err)
	}

	c.Emit("wait", 1)
	select {
	case <-started:
	case <-time.After(wait):
		t.Fatal("the wait handler never ran")
	}
	c.Disconnect()
	select {
	case cause := <-causes:
		if !errors.Is(cause, sio.ErrDisconnected) {
			t.Fatalf("handler context ended with %v, want ErrDisconnected", cause)
		}
	case <-time.After(3 * wait):
		t.Fatal("handler never returned")
	}
	select {
	case cause := <-after:
		if !errors.Is(cause, sio.ErrDisconnected) {
			t.Fatalf("after disconnect: %v", cause)
		}
	case <-time.After(wait):
		t.Fatal("OnDisconnect never ran")
	}
}
