package sio_test

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// TestServerHooks: OnAnyConnection runs before the namespace's own
// connection handlers (after the socket joined its own room), for static
// and dynamic namespaces; OnEngineConnection and OnEngineClose see the
// Engine.IO connection open and close with its reason; OnSetData follows
// SetData; OnBroadcast sees a broadcast; Namespaces lists the namespaces.
func TestServerHooks(t *testing.T) {
	var mu sync.Mutex
	var log []string
	add := func(s string) {
		mu.Lock()
		log = append(log, s)
		mu.Unlock()
	}
	closed := make(chan string, 1)
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) {
		srv.OnAnyConnection(func(s *sio.Socket) {
			add("any " + s.Namespace().Name() + " rooms=" + strconv.Itoa(len(s.Rooms())))
		})
		srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
		srv.OnConnection(func(s *sio.Socket) {
			add("connection " + s.Namespace().Name())
			s.SetData(map[string]int{"n": 1})
			s.Disconnect(true)
		})
		srv.OnEngineConnection(func(id, transport string) { add("open " + transport) })
		srv.OnEngineClose(func(id, reason string) { closed <- reason })
		srv.OnSetData(func(s *sio.Socket) { add("data " + s.Namespace().Name()) })
	})
	ts.connectWS(t)
	var reason string
	select {
	case reason = <-closed:
	case <-time.After(wait):
		t.Fatal("OnEngineClose never ran")
	}
	if reason != "forced close" {
		t.Errorf("close reason %q, want %q", reason, "forced close")
	}
	mu.Lock()
	got := append([]string(nil), log...)
	mu.Unlock()
	want := []string{"open websocket", "any / rooms=1", "connection /", "data /"}
	if len(got) != len(want) {
		t.Fatalf("hooks ran %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("hooks ran %q, want %q", got, want)
		}
	}
	// A dynamic namespace's first socket, whose namespace OnNewNamespace
	// would announce only on another goroutine.
	dyn := make(chan string, 1)
	ts.OnAnyConnection(func(s *sio.Socket) {
		if s.Namespace().Name() == "/dyn-1" {
			dyn <- s.ID()
		}
	})
	c, _ := ts.openWS(t)
	c.send(t, "40/dyn-1,")
	reply := c.next(t)
	select {
	case id := <-dyn:
		if !strings.Contains(reply, id) {
			t.Errorf("CONNECT reply %q, hook saw %s", reply, id)
		}
	case <-time.After(wait):
		t.Fatalf("OnAnyConnection did not run for a dynamic namespace (reply %q)", reply)
	}
	// OnBroadcast: once per broadcast, with its packet and options.
	bc := make(chan string, 4)
	ts.OnBroadcast(func(a *sio.MemoryAdapter, p *sio.Packet, opts *sio.BroadcastOptions) {
		bc <- a.Namespace().Name() + " " + string(p.Data) + " " + strings.Join(opts.Rooms, ",")
	})
	if err := ts.To("r1").Emit("x", 1); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-bc:
		if got != `/ ["x",1] r1` {
			t.Errorf("OnBroadcast saw %q", got)
		}
	case <-time.After(wait):
		t.Fatal("OnBroadcast never ran")
	}
	names := map[string]bool{}
	for _, ns := range ts.Namespaces() {
		names[ns.Name()] = true
	}
	if !names["/"] || !names["/dyn-1"] {
		t.Errorf("Namespaces lacks /: %v", names)
	}
}

// TestHookPanicContained: a panicking OnEngineConnection hook is logged,
// and the connection is served.
func TestHookPanicContained(t *testing.T) {
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) {
		srv.OnEngineConnection(func(string, string) { panic("hook bug") })
	})
	ts.connectWS(t) // fails the test if the connection is not served
}
