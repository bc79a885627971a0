package sio_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// Shutdown right after a burst of room broadcasts: the broadcasts are still
// queued on the event loops, and every member must get all of them, in
// order, before its connection ends.
func TestShutdownDeliversQueuedBroadcasts(t *testing.T) {
	for _, loops := range []int{1, 4} {
		t.Run(fmt.Sprintf("loops=%d", loops), func(t *testing.T) {
			const n = 500
			done := make(chan error, 1)
			ts := startServer(t, sio.Config{Loops: loops}, func(srv *sio.Server) {
				srv.OnConnection(func(s *sio.Socket) {
					s.On("join", func(ev *sio.Event) {
						s.Join("r")
						_ = ev.Ack("ok")
					})
					s.On("burst", func(*sio.Event) {
						for i := 0; i < n; i++ {
							_ = srv.To("r").Emit("b", i)
						}
						go func() {
							ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
							defer cancel()
							done <- srv.Shutdown(ctx)
						}()
					})
				})
			})
			members := joinedMembers(t, ts, 8)
			members[0].send(t, `42["burst"]`)
			for m, c := range members {
				for i := 0; i < n; i++ {
					if got, want := c.next(t), `42["b",`+strconv.Itoa(i)+`]`; got != want {
						t.Fatalf("member %d, packet %d: %q, want %q", m, i, got, want)
					}
				}
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Shutdown did not return")
			}
		})
	}
}
