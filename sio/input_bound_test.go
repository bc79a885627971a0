package sio

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/eio"
)

// pausableWS is a fakeWS whose provider can pause reads (eio.ReadPauser),
// as package loop's connections do: it records the calls the session makes.
type pausableWS struct {
	fakeWS
	onPause, onResume func()
}

func (c *pausableWS) PauseRead()  { c.onPause() }
func (c *pausableWS) ResumeRead() { c.onResume() }

// pausableExchange upgrades to a pausableWS.
type pausableExchange struct {
	fakeExchange
	c *pausableWS
}

func (x *pausableExchange) Upgrade(h http.Header, fh eio.FrameHandler) (eio.WSConn, error) {
	x.c.fh = fh
	return x.c, nil
}

// connectPausable opens a WebSocket session on c and joins namespace "/".
func connectPausable(srv *Server, c *pausableWS) {
	r := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=websocket", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	srv.serveExchange(&pausableExchange{fakeExchange: fakeExchange{r: r}, c: c})
	c.fh.OnMessage(c, false, []byte("40"))
}

// A connection whose handler is blocked has its input paused once its
// mailbox holds more than MaxQueuedInputBytes, and resumed once half of it
// is handled; every event is handled once, in order, and another
// connection's handlers keep running meanwhile.
func TestMailboxBoundPausesOnlyTheSlowConnection(t *testing.T) {
	const bound = 64 << 10
	srv := NewServer(Config{Loops: 1, MaxQueuedInputBytes: bound})
	started, release := make(chan struct{}), make(chan struct{})
	var handled atomic.Int64 // flood events handled so far
	var order []int          // touched only by the slow socket's handlers
	srv.OnConnection(func(s *Socket) {
		s.On("flood", func(ev *Event) {
			var i int
			if err := ev.Decode(&i); err != nil {
				t.Error(err)
			}
			if i == 0 {
				close(started)
				<-release
			}
			order = append(order, i)
			handled.Add(1)
		})
		s.On("ping", func(ev *Event) {
			if err := s.Emit("pong"); err != nil {
				t.Error(err)
			}
		})
	})

	var mu sync.Mutex
	var calls []string // "pause@handled" / "resume@handled", guarded by mu
	resumed := make(chan struct{}, 1)
	slow := &pausableWS{}
	slow.onPause = func() {
		mu.Lock()
		calls = append(calls, fmt.Sprint("pause@", handled.Load()))
		mu.Unlock()
	}
	slow.onResume = func() {
		mu.Lock()
		calls = append(calls, fmt.Sprint("resume@", handled.Load()))
		mu.Unlock()
		resumed <- struct{}{}
	}
	other := &pausableWS{fakeWS: fakeWS{group: 0}}
	other.onPause = func() { t.Error("the other connection was paused") }
	other.onResume = func() {}
	connectPausable(srv, slow)
	connectPausable(srv, other)
	waitSockets(t, srv.root, 2)

	pad := strings.Repeat("x", 1000)
	const n = 200
	costs := make([]int, n)
	sum, pauseAt := 0, -1
	for i := 0; i < n; i++ {
		data := fmt.Sprintf(`["flood",%d,"%s"]`, i, pad)
		costs[i] = max(jobOverhead+len(data), minJobCost)
		sum += costs[i]
		slow.fh.OnMessage(slow, false, []byte("42"+data))
		if i == 0 {
			<-started // the rest queues behind a handler that is running
		}
		mu.Lock()
		paused := len(calls) > 0
		mu.Unlock()
		if sum > bound && pauseAt < 0 {
			pauseAt = i
			if !paused {
				t.Fatalf("mailbox holds %d bytes after event %d, past the bound %d, and input is not paused", sum, i, bound)
			}
		}
		if sum <= bound && paused {
			t.Fatalf("input paused at event %d with %d bytes queued, under the bound %d", i, sum, bound)
		}
	}

	// The slow connection's first handler is still blocked: another
	// connection's events are handled meanwhile.
	before := other.frames.Load()
	other.fh.OnMessage(other, false, []byte(`42["ping"]`))
	waitUntil(t, "the other connection's reply", func() bool { return other.frames.Load() > before })

	// Resume comes once what is left costs half the bound or less.
	wantResumeAt := 0
	for left := sum; 2*left > bound; wantResumeAt++ {
		left -= costs[wantResumeAt]
	}
	close(release)
	select {
	case <-resumed:
	case <-time.After(10 * time.Second):
		t.Fatal("input was not resumed after the handler was released")
	}
	waitUntil(t, "every flood event handled", func() bool { return handled.Load() == n })
	mu.Lock()
	got := strings.Join(calls, " ")
	mu.Unlock()
	if want := fmt.Sprintf("pause@0 resume@%d", wantResumeAt); got != want {
		t.Errorf("session input calls %q, want %q", got, want)
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("event %d handled in position %d: %v", v, i, order)
		}
	}
	// Costs are taken off exactly once: an empty mailbox counts nothing.
	for _, s := range srv.root.Sockets() {
		c := s.client
		m := &c.mb
		waitUntil(t, "empty mailboxes", func() bool {
			m.mu.Lock()
			defer m.mu.Unlock()
			return !c.mbState.has(mbRunning)
		})
		m.mu.Lock()
		q := m.queued
		m.mu.Unlock()
		if q != 0 {
			t.Errorf("socket %s: an empty mailbox counts %d bytes", s.ID(), q)
		}
	}
}

// waitUntil polls cond until it holds, for at most 10 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Pushes and drains decide to pause and resume on different goroutines;
// however their calls interleave, the session must not be left paused once
// the mailbox is empty (a stalled client), nor see two pauses in a row.
func TestMailboxBoundNeverLeavesInputPaused(t *testing.T) {
	const bound = 2 << 10 // a few events: many pause/resume cycles
	srv := NewServer(Config{Loops: 1, MaxQueuedInputBytes: bound})
	const n = 20000
	var handled atomic.Int64
	all := make(chan struct{})
	srv.OnConnection(func(s *Socket) {
		s.On("e", func(ev *Event) {
			if handled.Add(1) == n {
				close(all)
			}
		})
	})
	var paused atomic.Bool
	var pauses, bad atomic.Int64
	c := &pausableWS{}
	c.onPause = func() {
		pauses.Add(1)
		if paused.Swap(true) {
			bad.Add(1)
		}
	}
	c.onResume = func() {
		if !paused.Swap(false) {
			bad.Add(1)
		}
	}
	connectPausable(srv, c)
	waitSockets(t, srv.root, 1)
	msg := []byte(`42["e","` + strings.Repeat("x", 200) + `"]`)
	for i := 0; i < n; i++ {
		c.fh.OnMessage(c, false, msg)
	}
	select {
	case <-all:
	case <-time.After(20 * time.Second):
		t.Fatalf("%d of %d events handled", handled.Load(), n)
	}
	m := &srv.root.Sockets()[0].client.mb
	waitUntil(t, "an empty mailbox", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.queued == 0
	})
	waitUntil(t, "input resumed", func() bool { return !paused.Load() })
	if bad.Load() != 0 {
		t.Fatalf("%d pause/resume calls out of turn", bad.Load())
	}
	t.Logf("%d pause/resume cycles", pauses.Load())
}
