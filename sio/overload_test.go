package sio_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// TestBroadcastBacklogBounded offers broadcasts faster than the loop runs
// them (the loop is held busy): the publisher must be held once the loop's
// backlog passes Config.MaxLoopBacklog instead of queueing without bound, a
// volatile broadcast offered meanwhile is dropped, and once the loop runs
// again every other broadcast is delivered, in order.
func TestBroadcastBacklogBounded(t *testing.T) {
	const (
		members = 10
		bound   = 1000 // recipient visits: 100 broadcasts to the room
		offered = 300
	)
	ts := startServer(t, sio.Config{MaxLoopBacklog: bound}, func(srv *sio.Server) {
		srv.OnConnection(func(s *sio.Socket) { s.Join("r") })
	})
	clients := make([]*wsClient, members)
	for i := range clients {
		clients[i], _ = ts.connectWS(t)
	}
	// OnConnection joins r after the socket is in the namespace: count
	// the room, so that every broadcast costs members visits.
	eventually(t, "every member in the room", func() bool { return len(ts.To("r").LocalSockets()) == members })

	// Hold the loop, as a burst of work larger than it can run would.
	release := make(chan struct{})
	var releaseOnce sync.Once
	unhold := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unhold) // a failing check must not leave the loop held
	held := make(chan struct{})
	sio.PostToLoop(ts.Server, 0, func() { close(held); <-release })
	<-held

	var emitted atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < offered; i++ {
			if err := ts.To("r").Emit("b", i); err != nil {
				t.Errorf("Emit: %v", err)
			}
			emitted.Add(1)
		}
	}()
	// The publisher queues 100 broadcasts (1,000 visits), then one more
	// that finds the loop at its bound, and must wait there.
	eventually(t, "the backlog to reach its bound", func() bool { return sio.LoopBacklog(ts.Server, 0) >= bound })
	if err := ts.Volatile().To("r").Emit("v", "dropped"); err != nil {
		t.Fatalf("volatile Emit: %v", err)
	}
	// A bounded negative check, not a synchronisation: a publisher that
	// was not held would run ahead within 200ms.
	time.Sleep(200 * time.Millisecond)
	if n := emitted.Load(); n > bound/members+1 {
		t.Fatalf("the publisher queued %d broadcasts past a bound of %d", n, bound/members)
	}
	if b := sio.LoopBacklog(ts.Server, 0); b > bound+members {
		t.Fatalf("backlog %d, bound %d", b, bound)
	}
	unhold()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("the publisher was not released once the loop ran")
	}
	for i, c := range clients {
		for want := 0; want < offered; want++ {
			if got, exp := c.next(t), `42["b",`+strconv.Itoa(want)+`]`; got != exp {
				t.Fatalf("member %d: got %q, want %q", i, got, exp)
			}
		}
	}
	// Nothing else is queued for them: the volatile packet was dropped.
	ts.Emit("end")
	for i, c := range clients {
		if got := c.next(t); got != `42["end"]` {
			t.Fatalf("member %d: got %q after the broadcasts, want the end marker", i, got)
		}
	}
}
