package sio_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// With InlineHandlers, an event whose connection has nothing queued is
// handled on the goroutine that read it, and acks and emits from the
// handler work as from a worker.
func TestInlineHandlersRunInline(t *testing.T) {
	inline := make(chan bool, 1)
	ts := startServer(t, sio.Config{InlineHandlers: true}, func(srv *sio.Server) {
		srv.Of("/in").OnConnection(func(s *sio.Socket) {
			s.On("q", func(ev *sio.Event) {
				inline <- sio.HandlerInline(s)
				_ = ev.Ack(ev.Arg(0))
				_ = s.Emit("after", 1)
			})
		})
	})
	c, _ := ts.openWS(t)
	c.send(t, "40/in,")
	if r := c.next(t); !strings.HasPrefix(r, `40/in,{"sid":`) {
		t.Fatalf("CONNECT reply %q", r)
	}
	c.send(t, `42/in,7["q","x"]`)
	if r := c.next(t); r != `43/in,7["x"]` {
		t.Fatalf("ack %q", r)
	}
	if r := c.next(t); r != `42/in,["after",1]` {
		t.Fatalf("emit %q", r)
	}
	if !<-inline {
		t.Fatal("the handler ran on a worker, not inline")
	}
}

// Events that arrive while their connection's handler is still running
// (here a connection handler that waits) queue behind it, as without
// InlineHandlers: the order of one connection's callbacks is kept.
func TestInlineHandlersKeepOrder(t *testing.T) {
	gate, open := newGate(t)
	var mu sync.Mutex
	var got []string
	note := func(s string) { mu.Lock(); got = append(got, s); mu.Unlock() }
	done := make(chan struct{})
	entered := make(chan *sio.Socket, 1)
	ts := startServer(t, sio.Config{InlineHandlers: true}, func(srv *sio.Server) {
		srv.Of("/in").OnConnection(func(s *sio.Socket) {
			entered <- s
			s.On("e", func(ev *sio.Event) {
				note(string(ev.Arg(0)))
				if string(ev.Arg(0)) == "3" {
					close(done)
				}
			})
			select {
			case <-gate:
			case <-s.Context().Done(): // the test failed and its server closes
				return
			}
			note("connected")
		})
	})
	c, _ := ts.openWS(t)
	// A client need not wait for the CONNECT reply to send events.
	c.send(t, "40/in,")
	c.send(t, `42/in,["e",1]`)
	c.send(t, `42/in,["e",2]`)
	s := <-entered
	// The CONNECT being handled, and both events behind it.
	eventually(t, "both events to queue behind the handler", func() bool { return sio.QueuedEvents(s) == 3 })
	open()
	if r := c.next(t); !strings.HasPrefix(r, `40/in,{"sid":`) {
		t.Fatalf("CONNECT reply %q", r)
	}
	c.send(t, `42/in,["e",3]`)
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("the third event was not handled")
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, " ") != "connected 1 2 3" {
		t.Fatalf("callbacks ran in the order %q, want connected 1 2 3", got)
	}
}

// An inline handler cannot wait for its own client's answer (the answer
// would be read by the goroutine it blocks): EmitWithAck fails at once
// with ErrInlineWait, and EmitWithAckFunc works.
func TestInlineHandlersEmitWithAck(t *testing.T) {
	errs := make(chan error, 1)
	answers := make(chan string, 1)
	ts := startServer(t, sio.Config{InlineHandlers: true}, func(srv *sio.Server) {
		srv.Of("/in").OnConnection(func(s *sio.Socket) {
			s.On("go", func(*sio.Event) {
				_, err := s.Timeout(wait).EmitWithAck(context.Background(), "sync")
				errs <- err
				_ = s.EmitWithAckFunc("async", func(m sio.Message, err error) {
					if err != nil {
						answers <- "error: " + err.Error()
						return
					}
					answers <- string(m.Arg(0))
				})
			})
		})
	})
	c, _ := ts.openWS(t)
	c.send(t, "40/in,")
	c.next(t)
	c.send(t, `42/in,["go"]`)
	if err := <-errs; !errors.Is(err, sio.ErrInlineWait) {
		t.Fatalf("EmitWithAck from an inline handler: %v, want ErrInlineWait", err)
	}
	if r := c.next(t); r != `42/in,0["async"]` {
		t.Fatalf("got %q, want the question", r)
	}
	c.send(t, `43/in,0["yes"]`)
	select {
	case a := <-answers:
		if a != `"yes"` {
			t.Fatalf("callback got %s", a)
		}
	case <-time.After(wait):
		t.Fatal("the callback did not run")
	}
}

// A panic in an inline handler is contained to its connection: the loop
// that ran it goes on serving the others.
func TestInlineHandlersPanic(t *testing.T) {
	ts := startServer(t, sio.Config{InlineHandlers: true}, func(srv *sio.Server) {
		srv.Of("/in").OnConnection(func(s *sio.Socket) {
			s.On("boom", func(*sio.Event) { panic("inline boom") })
		})
	})
	other, _ := ts.connectWS(t)
	c, _ := ts.openWS(t)
	c.send(t, "40/in,")
	c.next(t)
	c.send(t, `42/in,["boom"]`)
	// Closed as Disconnect(true) closes: DISCONNECT, then the close.
	if r := c.next(t); r != "41/in," {
		t.Fatalf("got %q, want the DISCONNECT", r)
	}
	c.expectClose(t, -1)
	other.echoAck(t, 1, `"still served"`)
}
