package main

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/sioloop/sioloop/bench/scenario"
	"github.com/sioloop/sioloop/sio"
)

// startBenchServer runs sioloop's scenario server in this process: the
// handlers of bench/server (package bench/scenario) on a sio.Server, with
// whatever more setup registers (nil: nothing).
func startBenchServer(t *testing.T, setup func(*sio.Server)) string {
	t.Helper()
	srv := sio.NewServer(sio.Config{})
	scenario.Register(srv)
	if setup != nil {
		setup(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe(addr, nil) }()
	select {
	case <-srv.Ready():
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("bench server not ready in 10s")
	}
	t.Cleanup(func() { srv.Close() })
	return addr
}

// goroutines returns the lowest goroutine count seen over a short while, so
// that goroutines about to exit are not counted.
func goroutines() int {
	n := runtime.NumGoroutine()
	for i := 0; i < 5; i++ {
		time.Sleep(20 * time.Millisecond)
		n = min(n, runtime.NumGoroutine())
	}
	return n
}

// TestLoopNeedsNoGoroutinePerConnection opens connections (handshake and an
// acked join) against sioloop's scenario server and checks that with -io
// loop the process's goroutine count does not grow with them, while with
// -io goroutine it grows by one per connection. The server runs in this
// process: its handlers run on worker goroutines that outlive a burst by
// two seconds, so the echo check that starts many at once comes last.
func TestLoopNeedsNoGoroutinePerConnection(t *testing.T) {
	addr := startBenchServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const first, more = 50, 300
	pools := map[string]*pool{}
	for _, mode := range ioModes {
		p := &pool{handshakes: newHist()}
		pools[mode] = p
		defer func() {
			if err := p.Close(); err != nil {
				t.Error(err)
			}
		}()
		spec := openSpec{Addr: addr, Path: "/socket.io/?EIO=4&transport=websocket", Rooms: 1, Concurrency: 16, IO: mode}
		open := func(from, n int) int {
			spec.First, spec.Count = from, n
			r, err := p.Open(ctx, spec)
			if err != nil || r.Opened != n {
				t.Fatalf("%s: opened %d of %d: %v %v", mode, r.Opened, n, err, r.Errors)
			}
			return goroutines()
		}
		g1 := open(0, first)
		g2 := open(first, more)
		t.Logf("-io %s: %d goroutines with %d connections, %d with %d more", mode, g1, first, g2, more)
		// At most Concurrency join handlers ran at once on the server, so
		// its idle workers that may exit meanwhile are few.
		switch mode {
		case ioLoop:
			if g2-g1 > more/10 {
				t.Errorf("-io loop: %d more connections added %d goroutines", more, g2-g1)
			}
		case ioGoroutine:
			if g2-g1 < more*9/10 {
				t.Errorf("-io goroutine: %d more connections added only %d goroutines", more, g2-g1)
			}
		}
	}
	// The connections work: a short closed-loop echo on all of them. It
	// runs for 3 s: with 300 ms, a loaded 2-core machine (a CPU hog beside
	// the tests) completed 178 round trips of the 350 wanted.
	for mode, p := range pools {
		er, err := p.Echo(ctx, 3*time.Second)
		if err != nil || er.Completed < first+more || er.Mismatched != 0 || er.Disconnects != 0 {
			t.Fatalf("-io %s: echo %+v: %v", mode, er, err)
		}
	}
}
