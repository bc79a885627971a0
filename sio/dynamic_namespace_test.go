package sio

import (
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dynServer is a server with dynamic namespaces /tenant-N under parent,
// whose main namespace answers "sync": a connection's mailbox handles its
// packets in order, so once "sync" is handled every packet sent before it
// on that connection has been.
type dynServer struct {
	srv     *Server
	parent  *ParentNamespace
	waiters sync.Map // token -> chan struct{}
	tokens  atomic.Int64
}

func newDynServer(t *testing.T, cfg Config) *dynServer {
	t.Helper()
	d := &dynServer{srv: NewServer(cfg)}
	d.parent = d.srv.OfRegexp(regexp.MustCompile(`^/tenant-\d+$`))
	d.srv.OnConnection(func(s *Socket) {
		s.On("sync", func(ev *Event) {
			var tok string
			if err := ev.Decode(&tok); err != nil {
				t.Error(err)
				return
			}
			if ch, ok := d.waiters.Load(tok); ok {
				close(ch.(chan struct{}))
			}
		})
	})
	return d
}

// sync waits until c's packets sent so far are handled.
func (d *dynServer) sync(t *testing.T, c *fakeWS) {
	t.Helper()
	tok := fmt.Sprint(d.tokens.Add(1))
	ch := make(chan struct{})
	d.waiters.Store(tok, ch)
	c.fh.OnMessage(c, false, []byte(`42["sync","`+tok+`"]`))
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatal("the connection's packets were not handled in time")
	}
}

// registered reports whether the server knows namespace name.
func (d *dynServer) registered(name string) bool {
	d.srv.mu.RLock()
	defer d.srv.mu.RUnlock()
	return d.srv.nsps[name] != nil
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// CONNECTs the parent's middleware refuses, to as many distinct matching
// names, create no namespace and keep no memory.
func TestDynamicNamespaceRefusedConnectLeavesNothing(t *testing.T) {
	d := newDynServer(t, Config{Loops: 1})
	var refused atomic.Int64
	d.parent.Use(func(*Socket) error {
		refused.Add(1)
		return errors.New("no")
	})
	c := connectFake(t, d.srv, 0)
	d.sync(t, c)
	before := heapInUse()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocBefore := ms.TotalAlloc
	const n = 10000
	for i := 0; i < n; i++ {
		c.fh.OnMessage(c, false, []byte(fmt.Sprintf("40/tenant-%d,", i)))
	}
	d.sync(t, c)
	runtime.ReadMemStats(&ms)
	// Refusing costs a Socket and a reply, not a namespace with its room
	// index (~16 KB each): the garbage a hostile client can make the
	// server collect stays proportional to what it sends.
	perConnect := (ms.TotalAlloc - allocBefore) / n
	t.Logf("%d bytes allocated per refused CONNECT", perConnect)
	if perConnect > 4<<10 {
		t.Errorf("%d bytes allocated per refused CONNECT, want <= 4 KiB", perConnect)
	}
	if got := refused.Load(); got != n {
		t.Fatalf("parent middleware ran %d times, want %d", got, n)
	}
	if kids := d.parent.Children(); len(kids) != 0 {
		t.Fatalf("%d children after %d refused CONNECTs", len(kids), n)
	}
	for _, name := range []string{"/tenant-0", fmt.Sprintf("/tenant-%d", n-1)} {
		if d.registered(name) {
			t.Fatalf("server has namespace %s after a refused CONNECT", name)
		}
	}
	// A namespace costs ~16 KB: 10,000 kept would be ~160 MB.
	if after := heapInUse(); after > before+8<<20 {
		t.Fatalf("heap grew from %d to %d bytes over %d refused CONNECTs", before, after, n)
	}
}

func TestDynamicNamespaceChildren(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cleanup bool
	}{
		{name: "cleanup", cleanup: true},
		{name: "no cleanup", cleanup: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDynServer(t, Config{Loops: 1, CleanupEmptyChildNamespaces: tc.cleanup})
			var connected atomic.Int64
			var used atomic.Int64
			d.parent.Use(func(*Socket) error { used.Add(1); return nil })
			d.parent.OnConnection(func(s *Socket) { connected.Add(1) })
			c := connectFake(t, d.srv, 0)
			for round := 1; round <= 3; round++ {
				c.fh.OnMessage(c, false, []byte("40/tenant-1,"))
				d.sync(t, c)
				kids := d.parent.Children()
				if len(kids) != 1 || kids[0].Name() != "/tenant-1" || len(kids[0].Sockets()) != 1 {
					t.Fatalf("round %d: children %v after a connect, want /tenant-1 with one socket", round, kids)
				}
				if connected.Load() != int64(round) || used.Load() != int64(round) {
					t.Fatalf("round %d: parent middleware ran %d times, OnConnection %d times", round, used.Load(), connected.Load())
				}
				c.fh.OnMessage(c, false, []byte("41/tenant-1,"))
				d.sync(t, c)
				kids = d.parent.Children()
				if tc.cleanup && (len(kids) != 0 || d.registered("/tenant-1")) {
					t.Fatalf("round %d: child still there after its last socket left: %v", round, kids)
				}
				if !tc.cleanup && (len(kids) != 1 || !d.registered("/tenant-1")) {
					t.Fatalf("round %d: child removed without cleanup: %v", round, kids)
				}
			}
		})
	}
}

// Connections joining and leaving the same dynamic namespace at the same
// time, with cleanup on, end with exactly one child holding every socket
// that stayed, and none once they leave.
func TestDynamicNamespaceCleanupConcurrent(t *testing.T) {
	d := newDynServer(t, Config{Loops: 2, CleanupEmptyChildNamespaces: true})
	const conns, rounds = 20, 50
	cs := make([]*fakeWS, conns)
	for i := range cs {
		cs[i] = connectFake(t, d.srv, i%2)
	}
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				c.fh.OnMessage(c, false, []byte("40/tenant-7,"))
				c.fh.OnMessage(c, false, []byte("41/tenant-7,"))
			}
			c.fh.OnMessage(c, false, []byte("40/tenant-7,"))
			d.sync(t, c)
		}()
	}
	wg.Wait()
	kids := d.parent.Children()
	if len(kids) != 1 || len(kids[0].Sockets()) != conns {
		t.Fatalf("children %v, want one holding %d sockets", kids, conns)
	}
	d.srv.mu.RLock()
	same := d.srv.nsps["/tenant-7"] == kids[0]
	d.srv.mu.RUnlock()
	if !same {
		t.Fatal("the server's namespace /tenant-7 is not the parent's child")
	}
	for _, c := range cs {
		c.fh.OnMessage(c, false, []byte("41/tenant-7,"))
		d.sync(t, c)
	}
	if kids := d.parent.Children(); len(kids) != 0 || d.registered("/tenant-7") {
		t.Fatalf("children %v after every socket left", kids)
	}
}
