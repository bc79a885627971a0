package sio_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sioloop/sioloop/sio"
)

// Faults (cases I1, I2, ...), injected on loopback. Each checks the
// outcome described above its test, that the server's descriptors go back
// to where they were, and (through a buddy on the same event loop) that
// the other clients did not notice.

// openFiles counts this process's open descriptors.
func openFiles(t testing.TB) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(fds)
}

// reset closes c with a TCP RST instead of a FIN.
func reset(t testing.TB, c net.Conn) {
	t.Helper()
	tc, ok := c.(*net.TCPConn)
	if !ok {
		t.Fatalf("%T is not a TCP connection", c)
	}
	if err := tc.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	if err := tc.Close(); err != nil {
		t.Fatal(err)
	}
}

// joinRoom lets sockets join room "r" with an acked "join" event.
func joinRoom(srv *sio.Server) {
	srv.OnConnection(func(s *sio.Socket) {
		s.On("join", func(ev *sio.Event) {
			s.Join("r")
			_ = ev.Ack()
		})
	})
}

// join joins c's socket to room "r".
func join(t testing.TB, c *wsClient) {
	t.Helper()
	c.send(t, `42900["join"]`)
	if got := c.next(t); got != "43900[]" {
		t.Fatalf("join ack %q", got)
	}
}

func inRoom(ts *testServer, id string) bool {
	for _, s := range ts.To("r").LocalSockets() {
		if s.ID() == id {
			return true
		}
	}
	return false
}

// I1: a client that vanishes (no FIN, nothing read or answered) is ended
// by the heartbeat: "ping timeout" at pingInterval + pingTimeout, its room
// membership and its connection released, while broadcasts go on to the
// others.
func TestFaultClientVanishes(t *testing.T) {
	ts := startServer(t, sio.Config{PingInterval: 300 * time.Millisecond, PingTimeout: 300 * time.Millisecond}, joinRoom)
	b := startBuddy(t, ts)
	other, _ := ts.connectWS(t)
	join(t, other)
	other.autoPong = true
	// other reads all along, so that it answers its pings.
	received := make(chan string, 16)
	go func() {
		for {
			m, err := other.readMessage(wait)
			if err != nil {
				close(received)
				return
			}
			received <- string(m.data)
		}
	}()
	gone, id := ts.connectWS(t)
	join(t, gone)
	if !inRoom(ts, id) {
		t.Fatal("the socket is not in its room")
	}
	mark := b.mark()
	if r := ts.reason(t, id); r != sio.ReasonPingTimeout {
		t.Fatalf("reason %q, want %q", r, sio.ReasonPingTimeout)
	}
	if inRoom(ts, id) {
		t.Fatal("the vanished socket is still in its room")
	}
	// The server closed its end: reading the silent client's socket ends
	// (after the pings it queued) with EOF.
	_ = gone.conn.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.Copy(io.Discard, gone.conn); err != nil && !isReset(err) {
		t.Fatalf("the server did not close the vanished client's connection: %v", err)
	}
	ts.To("r").Emit("after", 1)
	if got := <-received; got != `42["after",1]` {
		t.Fatalf("the other member got %q", got)
	}
	b.progress(t, mark)
}

// I2: a TCP RST in the middle of an HTTP request, of a WebSocket frame, and
// of an upgrade: no panic, the session ends with a transport reason and its
// descriptor is freed, or, mid-upgrade, it keeps running on polling.
func TestFaultResetMidStream(t *testing.T) {
	ts := startServer(t, sio.Config{}, nil)
	b := startBuddy(t, ts)

	t.Run("mid request", func(t *testing.T) {
		mark := b.mark()
		base := openFiles(t)
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, "POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Len"); err != nil {
			t.Fatal(err)
		}
		reset(t, c)
		eventually(t, "the server's descriptor freed", func() bool { return openFiles(t) <= base })
		b.progress(t, mark)
	})

	t.Run("mid frame", func(t *testing.T) {
		mark := b.mark()
		base := openFiles(t)
		c, id := ts.connectWS(t)
		// The first 5 bytes of a masked text frame of 100 bytes.
		c.writeRaw(t, []byte{0x81, 0x80 | 100, 1, 2, 3})
		reset(t, c.conn)
		if r := ts.reason(t, id); r != sio.ReasonTransportError && r != sio.ReasonTransportClose {
			t.Fatalf("reason %q, want a transport reason", r)
		}
		eventually(t, "the server's descriptor freed", func() bool { return openFiles(t) <= base })
		b.progress(t, mark)
	})

	t.Run("mid upgrade", func(t *testing.T) {
		mark := b.mark()
		p := ts.openPolling(t)
		id := p.connect(t)
		probe := dialWS(t, ts.url("ws", "EIO=4&transport=websocket&sid="+p.sid))
		probe.send(t, "2probe")
		if got := probe.next(t); got != "3probe" {
			t.Fatalf("probe answer %q", got)
		}
		reset(t, probe.conn)
		// The session carries on over polling: an acked event goes
		// through, and the socket was not disconnected.
		p.mustPost(t, `421["echo","still here"]`)
		deadline := time.Now().Add(wait)
		var got string
		for !strings.Contains(got, `431["still here"]`) {
			if time.Now().After(deadline) {
				t.Fatalf("no ack over polling after the reset probe; polled %q", got)
			}
			_, body := p.get(t)
			got += body
		}
		if r, ok := ts.hasReason(id); ok {
			t.Fatalf("the socket was disconnected (%q) by the reset probe", r)
		}
		b.progress(t, mark)
	})
}

// I3 and H4: some members of a room stop reading during a broadcast. The
// others get every message, in order; the stalled ones are cut when their
// queued bytes pass MaxOutboundBytes, not kept at the cost of the server's
// memory.
func TestFaultPeersStopReading(t *testing.T) {
	const (
		members = 6
		stalled = 2
		count   = 2000
		size    = 4 << 10 // 8 MB per member in all: past the kernel's buffers
		window  = 32      // messages the slowest reader may lag: 128 KB
	)
	ts := startServer(t, sio.Config{MaxOutboundBytes: 256 << 10}, joinRoom)
	b := startBuddy(t, ts)
	var clients []*wsClient
	var ids []string
	for i := 0; i < members; i++ {
		c, id := ts.connectWS(t)
		join(t, c)
		c.autoPong = true
		clients = append(clients, c)
		ids = append(ids, id)
	}
	mark := b.mark()
	pad := strings.Repeat("x", size)
	// The publisher keeps within window messages of the slowest reading
	// member, so that only the stalled ones can pass MaxOutboundBytes.
	progress := make([]atomic.Int64, members-stalled)
	slowest := func() int64 {
		m := progress[0].Load()
		for i := range progress {
			m = min(m, progress[i].Load())
		}
		return m
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(wait)
		for i := 0; i < count; i++ {
			for int64(i)-slowest() > window && time.Now().Before(deadline) {
				time.Sleep(100 * time.Microsecond) // waiting on the readers' counters
			}
			_ = ts.To("r").Emit("m", i, pad)
		}
	}()
	errs := make(chan error, members)
	for k, c := range clients[stalled:] {
		go func() {
			for i := 0; i < count; i++ {
				progress[k].Store(int64(i))
				m, err := c.readMessage(wait)
				if err != nil {
					errs <- fmt.Errorf("message %d: %v", i, err)
					return
				}
				if want := fmt.Sprintf(`42["m",%d,"%s"]`, i, pad); string(m.data) != want {
					errs <- fmt.Errorf("message %d: got %.40q", i, m.data)
					return
				}
			}
			errs <- nil
		}()
	}
	for range members - stalled {
		if err := <-errs; err != nil {
			t.Fatalf("a reading member: %v", err)
		}
	}
	<-done
	for _, id := range ids[:stalled] {
		if r := ts.reason(t, id); r != sio.ReasonTransportError && r != sio.ReasonTransportClose {
			t.Fatalf("stalled member: reason %q, want a transport reason", r)
		}
	}
	for _, id := range ids[stalled:] {
		if r, ok := ts.hasReason(id); ok {
			t.Fatalf("a reading member was disconnected: %q", r)
		}
	}
	b.progress(t, mark)
}

// I5: half-closed sockets. A WebSocket client that shuts down its sending
// side ends its session as a clean close; an HTTP client that sends a
// request and then its FIN still gets the answer to it.
func TestFaultHalfClose(t *testing.T) {
	ts := startServer(t, sio.Config{}, nil)
	b := startBuddy(t, ts)

	t.Run("websocket", func(t *testing.T) {
		mark := b.mark()
		c, id := ts.connectWS(t)
		if err := c.conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if r := ts.reason(t, id); r != sio.ReasonTransportClose && r != sio.ReasonTransportError {
			t.Fatalf("reason %q, want a transport reason", r)
		}
		b.progress(t, mark)
	})

	t.Run("http", func(t *testing.T) {
		mark := b.mark()
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if err := c.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(wait))
		got, err := io.ReadAll(c)
		if err != nil && !isReset(err) {
			t.Fatalf("reading the answer: %v", err)
		}
		if !strings.HasPrefix(string(got), "HTTP/1.1 200 ") || !strings.Contains(string(got), `0{"sid":`) {
			t.Fatalf("answer %.200q, want the handshake", got)
		}
		b.progress(t, mark)
	})
}
