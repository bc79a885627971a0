package loop_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/sioloop/sioloop/eio"
	"github.com/sioloop/sioloop/loop"
)

// fillOutbound writes 64 KiB messages to sc until done accepts the loop's
// queued output (its bytes and connections), or fails the test after wait.
func fillOutbound(t *testing.T, l *loop.Loop, sc eio.WSConn, done func(bytes, conns int64) bool) {
	t.Helper()
	chunk := bytes.Repeat([]byte("p"), 64<<10)
	deadline := time.Now().Add(wait)
	for {
		if done(l.OutboundQueued()) {
			return
		}
		if time.Now().After(deadline) {
			b, n := l.OutboundQueued()
			t.Fatalf("queued output stopped at %d bytes on %d connections", b, n)
		}
		sc.WriteMessage(true, chunk)
		time.Sleep(200 * time.Microsecond) // let the loop flush, so gnet holds it
	}
}

// TestOutboundPressure checks loop/pressure.go: output queued for one
// reader that stopped, however large, does not overload the loop (that
// reader alone is cut at MaxOutboundBytes); once a quarter of the loop's
// connections have stopped and their output passes MaxLoopOutboundBytes
// the loop is Overloaded and WaitBacklog holds its callers; when the
// readers read again, without any new write to the loop, WaitBacklog
// returns and the loop is no longer overloaded.
func TestOutboundPressure(t *testing.T) {
	const limit = 1 << 20
	s, addr, conns := wsServer(t, loop.Config{MaxLoopOutboundBytes: limit, MaxOutboundBytes: 256 << 20}, false)
	const n = 8
	clients := make([]*client, n)
	server := make([]eio.WSConn, n)
	for i := range clients {
		clients[i] = upgrade(t, addr)
		server[i] = (<-conns).conn
	}
	l := s.Loop(0)

	fillOutbound(t, l, server[0], func(b, _ int64) bool { return b > 4*limit })
	if l.Overloaded() {
		b, k := l.OutboundQueued()
		t.Fatalf("Overloaded with %d bytes held by %d of %d connections", b, k, n)
	}
	fillOutbound(t, l, server[1], func(_, k int64) bool { return k == 2 })
	if b, k := l.OutboundQueued(); k != 2 || !l.Overloaded() {
		t.Fatalf("Overloaded() = %v with %d bytes held by %d of %d connections, want true with 2", l.Overloaded(), b, k, n)
	}
	if l.WaitBacklog(100 * time.Millisecond) {
		t.Fatal("WaitBacklog returned while the readers had stopped")
	}

	released := make(chan bool, 1)
	go func() { released <- l.WaitBacklog(2 * wait) }()
	for _, c := range clients[:2] {
		go io.Copy(io.Discard, c.conn)
	}
	select {
	case ok := <-released:
		if !ok {
			t.Fatal("WaitBacklog timed out after the readers caught up")
		}
	case <-time.After(3 * wait):
		t.Fatal("WaitBacklog never returned")
	}
	if l.Overloaded() {
		b, k := l.OutboundQueued()
		t.Fatalf("still Overloaded with %d bytes on %d connections after the readers caught up", b, k)
	}
}
