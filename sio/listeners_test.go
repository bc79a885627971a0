package sio_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// TestListeners covers the socket's callback registry: On, Once, Off,
// OnAny, OffAny, Use with OnError, OnAnyOutgoing, OnDisconnecting and
// OnDisconnect, their order and their removal.
func TestListeners(t *testing.T) {
	var mu sync.Mutex
	var log []string
	add := func(s string) {
		mu.Lock()
		log = append(log, s)
		mu.Unlock()
	}
	done := make(chan struct{})
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) {
		srv.OnConnection(func(s *sio.Socket) {
			s.Join("room")
			s.OnAny(func(ev *sio.Event) { add("any:" + ev.Name) })
			s.Use(func(ev *sio.Event) error {
				if ev.Name == "blocked" {
					return errors.New("no")
				}
				return nil
			})
			s.OnError(func(err error) { add("error:" + err.Error()) })
			s.On("a", func(*sio.Event) { add("a1") })
			s.Once("a", func(*sio.Event) { add("a-once") })
			s.On("a", func(*sio.Event) { add("a2") })
			s.On("blocked", func(*sio.Event) { add("blocked-handler") })
			s.On("off", func(*sio.Event) {
				add("off")
				s.Off("a")
				s.OffAny()
			})
			s.OnAnyOutgoing(func(name string, args []any) { add("out:" + name) })
			s.On("ping", func(ev *sio.Event) { _ = s.Emit("pong") })
			s.OnDisconnecting(func(reason string) { add("disconnecting:" + strings.Join(s.Rooms(), ",")) })
			s.OnDisconnect(func(reason string) {
				add("disconnect:" + reason)
				close(done)
			})
		})
	})
	c, _ := ts.connectWS(t)
	for _, m := range []string{`42["a"]`, `42["a"]`, `42["blocked"]`, `42["ping"]`} {
		c.send(t, m)
	}
	if got := c.next(t); got != `42["pong"]` {
		t.Fatalf("got %q, want pong", got)
	}
	c.send(t, `42["off"]`)
	c.send(t, `42["a"]`)
	c.send(t, `41`)
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("no disconnect")
	}
	want := []string{
		"any:a", "a1", "a-once", "a2", // Once fires with the others, in order
		"any:a", "a1", "a2", // then it is gone
		"error:no", // Use stops the event: no OnAny, no handler
		"any:ping", "out:pong",
		"any:off", "off", // Off and OffAny: the last "a" reaches nobody
		"disconnecting:", // Rooms lists the socket's own room and "room"
		"disconnect:client namespace disconnect",
	}
	mu.Lock()
	defer mu.Unlock()
	if len(log) != len(want) {
		t.Fatalf("log %q,\nwant %q", log, want)
	}
	for i := range want {
		if want[i] == "disconnecting:" {
			if !strings.HasPrefix(log[i], "disconnecting:") || !strings.Contains(log[i], "room") {
				t.Errorf("log[%d] = %q, want the rooms listed", i, log[i])
			}
			continue
		}
		if log[i] != want[i] {
			t.Errorf("log[%d] = %q, want %q (log %q)", i, log[i], want[i], log)
		}
	}
}
