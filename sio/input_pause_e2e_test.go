package sio_test

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/sioloop/sioloop/sio"
)

// TestSlowHandlerPausesItsClient floods a WebSocket client's events at a
// handler that is blocked. The server must stop reading that connection
// once its mailbox holds MaxQueuedInputBytes (the client's writes then
// stall: what it got in is bounded by the mailbox, the paused-input cap and
// the kernel's socket buffers, not by what it sent), other clients on the
// same loop go on, and once the handler runs again every event is handled,
// in order.
func TestSlowHandlerPausesItsClient(t *testing.T) {
	const (
		flood   = 64 << 20 // what the client tries to send
		payload = 16 << 10
		bounded = 24 << 20 // 1 MiB mailbox + paused cap (~5 MiB) + kernel buffers
	)
	release := make(chan struct{})
	var handled, outOfOrder atomic.Int64
	ts := startServer(t, sio.Config{}, func(srv *sio.Server) {
		srv.OnConnection(func(s *sio.Socket) {
			s.On("flood", func(ev *sio.Event) {
				<-release
				var n int64
				var pad string
				if ev.Decode(&n, &pad) != nil || n != handled.Load() {
					outOfOrder.Add(1)
				}
				handled.Add(1)
			})
		})
	})
	b := startBuddy(t, ts)
	c, _ := ts.connectWS(t)
	c.autoPong = true
	unblock := func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}
	t.Cleanup(unblock)

	pad := strings.Repeat("p", payload)
	var sent int64
	var count int64
	for sent < flood {
		msg := []byte(`42["flood",` + strconv.FormatInt(count, 10) + `,"` + pad + `"]`)
		_ = c.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if err := wsutil.WriteClientMessage(c.conn, ws.OpText, msg); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break // the server stopped reading
			}
			t.Fatalf("write: %v", err)
		}
		sent += int64(len(msg))
		count++
	}
	if sent >= flood {
		t.Fatalf("the server took all %d MiB from a client whose handler was blocked", flood>>20)
	}
	if sent > bounded {
		t.Fatalf("the server took %d MiB before the client stalled, want under %d", sent>>20, bounded>>20)
	}
	t.Logf("the client stalled after %.1f MiB (%d events)", float64(sent)/(1<<20), count)
	b.progress(t, b.mark())

	// The partly written frame at the stall is lost with the deadline; the
	// events before it must all be handled, in order.
	unblock()
	eventually(t, "every event handled", func() bool { return handled.Load() >= count })
	if n := outOfOrder.Load(); n > 0 {
		t.Fatalf("%d events out of order", n)
	}
}
